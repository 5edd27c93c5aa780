#include "appforge/gitops.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/policy.hpp"
#include "appforge/validate.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// MemoryRepo
// ---------------------------------------------------------------------------------------

std::optional<std::string> MemoryRepo::read_file(const std::string& path) const {
    auto it = files_.find(path);
    if (it == files_.end() || symlink_on_path(path)) return std::nullopt;
    return it->second;
}

bool MemoryRepo::exists(const std::string& path) const {
    if (files_.count(path) || symlink_on_path(path)) return true;
    std::string prefix = path + "/";
    auto it = files_.lower_bound(prefix);
    return it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::vector<std::string> MemoryRepo::list_files(const std::string& dir) const {
    std::vector<std::string> out;
    std::string prefix = dir.empty() ? "" : dir + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (!symlink_on_path(it->first)) out.push_back(it->first);
    }
    return out;
}

std::optional<std::string> MemoryRepo::symlink_on_path(const std::string& path) const {
    for (std::size_t end = path.find('/');; end = path.find('/', end + 1)) {
        std::string prefix = path.substr(0, end);
        if (links_.count(prefix)) return prefix;
        if (end == std::string::npos) return std::nullopt;
    }
}

std::vector<std::string> MemoryRepo::list_symlinks(const std::string& dir) const {
    std::vector<std::string> out;
    std::string prefix = dir.empty() ? "" : dir + "/";
    for (const auto& l : links_)
        if (l.compare(0, prefix.size(), prefix) == 0 && l.size() > prefix.size() && symlink_on_path(l) == l) out.push_back(l);
    return out;
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

namespace {

Diagnostic error(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error};
}

Diagnostic warning(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::warning};
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// Text from a request shown in commit messages and logs: no control characters, bounded length.
std::string printable(const std::string& s, std::size_t max = 200) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    }
    return out;
}

/// Escapes Markdown so operator-controlled text cannot add links, HTML or table cells to the PR body.
std::string md(const std::string& s) {
    std::string out;
    for (char c : printable(s)) {
        if (std::string_view("\\`*_{}[]<>()#+!|~").find(c) != std::string_view::npos) out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

/// An inline code span; backticks inside would end it, so they become quotes.
std::string code(const std::string& s) {
    std::string v = printable(s);
    std::replace(v.begin(), v.end(), '`', '\'');
    return "`" + v + "`";
}

/// One repo-relative folder segment of the profile's layout: no traversal, no absolute paths.
bool safe_layout_path(const std::string& p) {
    if (p.empty() || p.front() == '/' || p.back() == '/' || rules::contains_control_chars(p)) return false;
    if (p.find('\\') != std::string::npos) return false;
    std::size_t start = 0;
    while (start <= p.size()) {
        std::size_t slash = p.find('/', start);
        std::string seg = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return true;
}

/// "./x", "x", "x/" and "./x/" all name the folder x in a resources list.
std::string normalize_entry(std::string e) {
    while (e.rfind("./", 0) == 0) e.erase(0, 2);
    while (!e.empty() && e.back() == '/') e.pop_back();
    return e;
}

struct Line {
    std::string body;  // without the line ending
    std::string eol;   // "\n", "\r\n" or "" (last line without one)
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        Line l;
        if (nl == std::string_view::npos) {
            l.body = std::string(text.substr(start));
            start = text.size();
        } else {
            l.body = std::string(text.substr(start, nl - start));
            l.eol = "\n";
            if (!l.body.empty() && l.body.back() == '\r') {
                l.body.pop_back();
                l.eol = "\r\n";
            }
            start = nl + 1;
        }
        out.push_back(std::move(l));
    }
    return out;
}

std::size_t indent_of(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
}

bool is_blank_or_comment(const std::string& s) {
    std::size_t i = indent_of(s);
    return i == s.size() || s[i] == '#';
}

bool is_item(const std::string& s, std::size_t indent) {
    return s.size() > indent && s[indent] == '-' && (s.size() == indent + 1 || s[indent + 1] == ' ');
}

/// The parsed resources list of a kustomization, or the diagnostic saying why there is none.
struct ParsedKustomization {
    json document;
    std::vector<std::string> resources;
    bool has_resources_key = false;
};

Result<ParsedKustomization> parse_kustomization(const std::string& path, std::string_view text,
                                                const std::string& diag_path) {
    Result<ParsedKustomization> r;
    auto doc = parse_document(text);
    if (!doc.ok()) {
        std::string why = doc.diagnostics.empty() ? "unknown error" : doc.diagnostics.front().message;
        r.diagnostics.push_back(
            error(diag_path, "gitops.kustomization.parse", path + " does not parse as YAML: " + printable(why)));
        return r;
    }
    ParsedKustomization k;
    k.document = *doc.value;
    if (!k.document.is_object()) {
        r.diagnostics.push_back(
            error(diag_path, "gitops.kustomization.shape", path + " is not a kustomization (not a mapping)"));
        return r;
    }
    auto it = k.document.find("resources");
    if (it != k.document.end()) {
        k.has_resources_key = true;
        if (!it->is_null()) {
            if (!it->is_array()) {
                r.diagnostics.push_back(
                    error(diag_path, "gitops.kustomization.shape", path + ": resources is not a list"));
                return r;
            }
            for (const auto& e : *it) {
                if (!e.is_string()) {
                    r.diagnostics.push_back(error(diag_path, "gitops.kustomization.shape",
                                                  path + ": resources holds an entry that is not a string"));
                    return r;
                }
                k.resources.push_back(e.get<std::string>());
            }
        }
    }
    r.value = std::move(k);
    return r;
}

bool lists(const std::vector<std::string>& resources, const std::string& name) {
    for (const auto& e : resources)
        if (normalize_entry(e) == name) return true;
    return false;
}

}  // namespace

const char* to_string(RiskVerdict v) { return v == RiskVerdict::auto_merge ? "auto-merge" : "needs-review"; }

// ---------------------------------------------------------------------------------------
// Kustomization text edit
// ---------------------------------------------------------------------------------------

Result<KustomizationEdit> insert_resource_entry(const std::string& path, std::string_view text, const std::string& name,
                                                const std::string& diag_path) {
    Result<KustomizationEdit> r;
    auto parsed = parse_kustomization(path, text, diag_path);
    if (!parsed.ok()) {
        r.diagnostics = parsed.diagnostics;
        return r;
    }
    const auto& old_res = parsed.value->resources;
    if (lists(old_res, name)) {
        r.diagnostics.push_back(
            error(diag_path, "gitops.kustomization.listed", path + " already lists '" + name + "' in resources"));
        return r;
    }
    // Style: "./name" like the platform layout, unless the existing folder entries all go without "./"
    // (file entries such as namespace.yaml say nothing about how folders are written).
    bool dot = true;
    for (const auto& e : old_res) {
        bool file = e.size() > 5 && (e.compare(e.size() - 5, 5, ".yaml") == 0 || e.compare(e.size() - 4, 4, ".yml") == 0);
        if (file || e.find("://") != std::string::npos) continue;
        if (e.rfind("./", 0) == 0) {
            dot = true;
            break;
        }
        dot = false;
    }
    std::string entry = (dot ? "./" : "") + name;

    auto lines = split_lines(text);
    std::string eol = "\n";
    for (const auto& l : lines)
        if (!l.eol.empty()) {
            eol = l.eol;
            break;
        }

    std::size_t insert_at = 0;  // index in lines before which the new line goes
    std::size_t item_indent = 2;
    bool found = false;
    for (std::size_t h = 0; h < lines.size() && !found; ++h) {
        const std::string& b = lines[h].body;
        if (b.rfind("resources:", 0) != 0) continue;
        std::string rest = trim(b.substr(10));
        if (!rest.empty() && rest[0] != '#') {
            if (rest == "[]" || rest.rfind("[]", 0) == 0) {
                r.diagnostics.push_back(error(diag_path, "gitops.kustomization.flow",
                                              path + ": resources is written as a flow list ('[]'); write it as a "
                                              "block list so entries can be added without rewriting it"));
            } else if (rest[0] == '[') {
                r.diagnostics.push_back(error(diag_path, "gitops.kustomization.flow",
                                              path + ": resources is written as a flow list ([a, b]); write it as "
                                              "a block list so entries can be added without rewriting it"));
            } else {
                r.diagnostics.push_back(error(diag_path, "gitops.kustomization.shape",
                                              path + ": cannot locate the resources list in the text"));
            }
            return r;
        }
        found = true;
        insert_at = h + 1;
        std::optional<std::size_t> indent;
        for (std::size_t i = h + 1; i < lines.size(); ++i) {
            const std::string& s = lines[i].body;
            if (is_blank_or_comment(s)) continue;
            std::size_t k = indent_of(s);
            if (!indent) {
                if (!is_item(s, k)) break;  // empty list: the next key follows
                indent = k;
                item_indent = k;
                insert_at = i + 1;
                continue;
            }
            if (k > *indent || (k == *indent && is_item(s, k))) {
                insert_at = i + 1;  // continuation of an item, or the next item
                continue;
            }
            break;
        }
    }

    std::string out;
    std::size_t new_line_no = 0;
    if (!found) {
        if (parsed.value->has_resources_key) {
            r.diagnostics.push_back(error(diag_path, "gitops.kustomization.shape",
                                          path + ": cannot locate the resources list in the text (indented or "
                                          "quoted key); add the entry by hand"));
            return r;
        }
        // No resources key at all: append a block at the end, after the last line.
        out = std::string(text);
        if (!out.empty() && out.back() != '\n') out += eol;
        new_line_no = split_lines(out).size() + 2;
        out += "resources:" + eol + "  - " + entry + eol;
    } else {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (i == insert_at) {
                out += std::string(item_indent, ' ') + "- " + entry + eol;
                new_line_no = i + 1;
            }
            out += lines[i].body;
            // the line before the insertion point may lack a newline only if it was the file's last line
            out += lines[i].eol.empty() && i + 1 == insert_at ? eol : lines[i].eol;
        }
        if (insert_at >= lines.size()) {
            out += std::string(item_indent, ' ') + "- " + entry + eol;
            new_line_no = lines.size() + 1;
        }
    }

    // Prove the edit: it parses, it lists the old entries in order plus the new one, nothing else changed.
    auto check = parse_kustomization(path, out, diag_path);
    bool same = check.ok();
    if (same) {
        std::vector<std::string> want = old_res;
        want.push_back(entry);
        json a = parsed.value->document, b = check.value->document;
        a.erase("resources");
        b.erase("resources");
        same = check.value->resources == want && a == b;
    }
    if (!same) {
        r.diagnostics.push_back(error(diag_path, "gitops.edit.verify",
                                      path + ": adding '" + entry + "' as a text edit would change more than the "
                                      "resources list; add the entry by hand"));
        return r;
    }
    r.value = KustomizationEdit{path, std::string(text), std::move(out), entry, new_line_no};
    return r;
}

// ---------------------------------------------------------------------------------------
// Hosts, risk, branch
// ---------------------------------------------------------------------------------------

std::vector<std::string> served_hosts(const json& object, const std::string& external_dns_prefix) {
    std::vector<std::string> out;
    auto add = [&](const json& v) {
        if (!v.is_string()) return;
        std::string h = lower(trim(v.get<std::string>()));
        if (!h.empty() && std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
    };
    if (!object.is_object()) return out;
    std::string kind = object.value("kind", json()).is_string() ? object["kind"].get<std::string>() : "";
    const json* spec = object.contains("spec") && object["spec"].is_object() ? &object["spec"] : nullptr;
    if (kind == "Ingress" && spec) {
        if (spec->contains("rules") && (*spec)["rules"].is_array())
            for (const auto& rule : (*spec)["rules"])
                if (rule.is_object() && rule.contains("host")) add(rule["host"]);
        if (spec->contains("tls") && (*spec)["tls"].is_array())
            for (const auto& t : (*spec)["tls"])
                if (t.is_object() && t.contains("hosts") && t["hosts"].is_array())
                    for (const auto& h : t["hosts"]) add(h);
    }
    if (kind == "HTTPRoute" && spec && spec->contains("hostnames") && (*spec)["hostnames"].is_array())
        for (const auto& h : (*spec)["hostnames"]) add(h);
    if (object.contains("metadata") && object["metadata"].is_object()) {
        const json& md = object["metadata"];
        if (md.contains("annotations") && md["annotations"].is_object()) {
            auto it = md["annotations"].find(external_dns_prefix + "hostname");
            if (it != md["annotations"].end() && it->is_string()) {
                std::string list = it->get<std::string>();
                std::size_t start = 0;
                while (start <= list.size()) {
                    std::size_t comma = list.find(',', start);
                    add(json(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
                    if (comma == std::string::npos) break;
                    start = comma + 1;
                }
            }
        }
    }
    return out;
}

namespace {

std::string object_label(const json& o) {
    std::string kind = o.contains("kind") && o["kind"].is_string() ? o["kind"].get<std::string>() : "object";
    std::string name = "?";
    if (o.contains("metadata") && o["metadata"].is_object() && o["metadata"].contains("name") &&
        o["metadata"]["name"].is_string())
        name = o["metadata"]["name"].get<std::string>();
    return kind + " '" + printable(name) + "'";
}

/// Every Secret an object reads, with how it reads it, in document order.
void collect_secret_refs(const json& v, std::vector<std::pair<std::string, std::string>>& out) {
    if (v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it) {
            const json& x = it.value();
            if ((it.key() == "secretKeyRef" || it.key() == "secretRef") && x.is_object() && x.contains("name") &&
                x["name"].is_string())
                out.emplace_back(x["name"].get<std::string>(), it.key());
            else if (it.key() == "secret" && x.is_object() && x.contains("secretName") && x["secretName"].is_string())
                out.emplace_back(x["secretName"].get<std::string>(), "secret volume");
            collect_secret_refs(x, out);
        }
    } else if (v.is_array()) {
        for (const auto& x : v) collect_secret_refs(x, out);
    }
}

bool matches_any(const std::vector<std::string>& globs, const std::string& s) {
    for (const auto& g : globs)
        if (rules::glob_match(g, s)) return true;
    return false;
}

}  // namespace

RiskAssessment assess_risk(const AppRequest& request, const Bundle& bundle, const ClusterProfile& profile,
                           const std::vector<std::string>& existing_hosts) {
    RiskAssessment risk;
    auto reason = [&](std::string c, std::string m) { risk.reasons.push_back(RiskReason{std::move(c), std::move(m)}); };
    std::set<std::string> known;
    for (const auto& h : existing_hosts) known.insert(lower(h));
    std::set<std::string> reported_dns;

    for (const auto& f : bundle.files) {
        const json& o = f.object;
        std::string kind = o.contains("kind") && o["kind"].is_string() ? o["kind"].get<std::string>() : "";
        // Public exposure: any served host outside the internal zone is reachable from the internet.
        auto hosts = served_hosts(o, profile.externalDnsPrefix);
        std::vector<std::string> pub;
        for (const auto& h : hosts)
            if (!rules::is_under_zone(h, lower(profile.internalZone))) pub.push_back(h);
        if (!pub.empty() && (kind == "Ingress" || kind == "HTTPRoute")) {
            std::string list;
            for (const auto& h : pub) list += (list.empty() ? "" : ", ") + h;
            reason("risk.external-ingress", "external ingress: " + object_label(o) + " serves " + list +
                                                " outside the internal zone " + profile.internalZone);
        }
        for (const auto& h : pub)
            if (!known.count(h) && reported_dns.insert(h).second)
                reason("risk.public-dns", "new public DNS name: " + h + " is not served anywhere in the repo yet");
        // Secret references: the app gains access to credentials.
        if (kind == "ExternalSecret") {
            std::string store = "?";
            if (o.contains("spec") && o["spec"].is_object() && o["spec"].contains("secretStoreRef") &&
                o["spec"]["secretStoreRef"].is_object() && o["spec"]["secretStoreRef"].value("name", json()).is_string())
                store = o["spec"]["secretStoreRef"]["name"].get<std::string>();
            reason("risk.secret-reference",
                   "new secret reference: " + object_label(o) + " pulls credentials from the store '" + printable(store) + "'");
        }
        // The profile's shared restic repository Secret is platform-provided, not a new credential.
        if ((kind == "ReplicationSource" || kind == "ReplicationDestination") && o.contains("spec") &&
            o["spec"].is_object() && o["spec"].contains("restic") && o["spec"]["restic"].is_object() &&
            o["spec"]["restic"].value("repository", json()).is_string() &&
            o["spec"]["restic"]["repository"].get<std::string>() != profile.volsyncRepositorySecret)
            reason("risk.secret-reference", "new secret reference: " + object_label(o) + " reads Secret '" +
                                                printable(o["spec"]["restic"]["repository"].get<std::string>()) +
                                                "' (restic repository)");
        std::vector<std::pair<std::string, std::string>> refs;
        collect_secret_refs(o, refs);
        std::set<std::string> seen;
        for (const auto& [name, how] : refs)
            if (seen.insert(name).second)
                reason("risk.secret-reference",
                       "new secret reference: " + object_label(o) + " reads Secret '" + printable(name) + "' (" + how + ")");
    }
    const std::string& ns = request.effective_namespace();
    if (matches_any(profile.managementNamespaces, ns))
        reason("risk.management-namespace",
               "management namespace: '" + printable(ns) + "' is listed in the profile's management namespaces");
    // What the profile's policy allows is still sensitive: a human looks at it.
    for (const auto& f : policy_findings(bundle, profile))
        if (f.allowed) reason("risk.policy", "sensitive but allowed: " + f.message + " at " + f.path);
    risk.verdict = risk.reasons.empty() ? RiskVerdict::auto_merge : RiskVerdict::needs_review;
    return risk;
}

std::string feature_branch_name(const AppRequest& request) {
    std::string canonical = canonical_request_text(to_json(request));
    return "feat/app/" + request.appName + "-" + rules::sha256_hex(canonical).substr(0, 8);
}

json request_choices(const AppRequest& request) {
    json full = to_json(request);
    json out = json::object();
    for (const char* k : {"storagePattern", "storageConfig", "ingressPattern", "ingressConfig", "backupStrategy",
                          "backupConfig", "resourceRequests"})
        if (full.contains(k)) out[k] = full[k];
    return out;
}

// ---------------------------------------------------------------------------------------
// Commit and PR text
// ---------------------------------------------------------------------------------------

namespace {

/// "key=value, key=value" of a config object, for one-line summaries.
std::string config_summary(const json& choices, const char* key) {
    if (!choices.contains(key) || !choices[key].is_object() || choices[key].empty()) return "";
    std::string out;
    for (auto it = choices[key].begin(); it != choices[key].end(); ++it)
        out += (out.empty() ? "" : ", ") + it.key() + "=" +
               (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
    return printable(out, 400);
}

std::string choice_line(const json& choices, const char* pattern_key, const char* config_key) {
    std::string id = choices.contains(pattern_key) && choices[pattern_key].is_string()
                         ? choices[pattern_key].get<std::string>()
                         : "?";
    std::string cfg = config_summary(choices, config_key);
    return printable(id) + (cfg.empty() ? "" : " (" + cfg + ")");
}

std::vector<std::string> bundle_hosts(const Bundle& bundle, const ClusterProfile& profile) {
    std::vector<std::string> out;
    for (const auto& f : bundle.files)
        for (const auto& h : served_hosts(f.object, profile.externalDnsPrefix))
            if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
    return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

std::string make_commit_message(const AppRequest& r, const Plan& p, const std::vector<std::string>& hosts) {
    json ch = request_choices(r);
    std::string m = "feat(app): add " + r.appName + "\n\n";
    m += "Request: " + printable(r.id.value_or("(none)")) + "\n";
    m += "Operator: " + printable(r.operatorId) + "\n";
    m += "Image: " + printable(r.containerImage, 300) + "\n";
    m += "Namespace: " + r.effective_namespace() + (p.newNamespace ? " (new)" : "") + "\n";
    m += "Storage: " + choice_line(ch, "storagePattern", "storageConfig") + "\n";
    m += "Ingress: " + choice_line(ch, "ingressPattern", "ingressConfig") + "\n";
    m += "Backup: " + choice_line(ch, "backupStrategy", "backupConfig") + "\n";
    if (ch.contains("resourceRequests")) m += "Resources: " + config_summary(ch, "resourceRequests") + "\n";
    if (!hosts.empty()) m += "Hosts: " + join(hosts, ", ") + "\n";
    m += "Risk: " + std::string(to_string(p.risk.verdict)) + "\n";
    return m;
}

std::string make_pr_body(const AppRequest& r, const Plan& p, const std::vector<std::string>& hosts,
                         const Diagnostics& validation) {
    json ch = request_choices(r);
    std::string b;
    b += "## Deploy " + code(r.appName) + "\n\n";
    b += "| Field | Value |\n|---|---|\n";
    b += "| Operator | " + md(r.operatorId) + " |\n";
    b += "| Timestamp | " + md(r.timestamp.value_or("(not recorded)")) + " |\n";
    b += "| Request id | " + code(r.id.value_or("(none)")) + " |\n";
    b += "| App | " + code(r.appName) + " |\n";
    b += "| Image | " + code(r.containerImage) + " |\n";
    b += "| Namespace | " + code(r.effective_namespace()) + (p.newNamespace ? " (new)" : "") + " |\n";
    b += "| Storage | " + md(choice_line(ch, "storagePattern", "storageConfig")) + " |\n";
    b += "| Ingress | " + md(choice_line(ch, "ingressPattern", "ingressConfig")) + " |\n";
    b += "| Backup | " + md(choice_line(ch, "backupStrategy", "backupConfig")) + " |\n";
    if (ch.contains("resourceRequests"))
        b += "| Resources | " + md(config_summary(ch, "resourceRequests")) + " |\n";
    if (!hosts.empty()) {
        std::vector<std::string> hs;
        for (const auto& h : hosts) hs.push_back(code(h));
        b += "| Hosts | " + join(hs, ", ") + " |\n";
    }
    b += "| Branch | " + code(p.branch) + " |\n";

    b += "\n### Generated files\n\n";
    for (const auto& e : p.edits) b += "- " + code(e.path) + " (edited: adds " + code(e.entry) + " to resources)\n";
    for (const auto& f : p.creates) b += "- " + code(f.path) + " (new)\n";

    b += "\n### Validation\n\n";
    Diagnostics all = validation;
    all.insert(all.end(), p.diagnostics.begin(), p.diagnostics.end());
    std::size_t errors = 0, warnings = 0;
    for (const auto& d : all) (d.severity == Severity::error ? errors : warnings)++;
    if (errors == 0)
        b += "Passed: request schema and rules, Kubernetes and CRD schemas, bundle invariants, repository checks "
             "(no conflicts).";
    else
        b += "Failed: " + std::to_string(errors) + " error(s).";
    b += warnings ? " " + std::to_string(warnings) + " warning(s):\n\n" : "\n";
    for (const auto& d : all)
        b += "- " + std::string(d.severity == Severity::error ? "error" : "warning") + " " +
             code(d.path.empty() ? "/" : d.path) + ": " + md(d.message) + " (" + code(d.code) + ")\n";

    b += "\n### Risk: **" + std::string(to_string(p.risk.verdict)) + "**\n\n";
    if (p.risk.reasons.empty())
        b += "No public exposure, no new secret references, not a management namespace.\n";
    for (const auto& rr : p.risk.reasons) b += "- " + md(rr.message) + " (" + code(rr.code) + ")\n";
    b += "\n_Generated by appforge._\n";
    return b;
}

struct RepoHost {
    std::string host, file, owner;
};

/// Hosts already served by any object under the cluster folder (multi-document files included).
std::vector<RepoHost> scan_repo_hosts(const RepoView& repo, const std::string& dir, const ClusterProfile& profile,
                                      Diagnostics& diags) {
    std::vector<RepoHost> out;
    ParseLimits limits;
    limits.max_bytes = 8u << 20;
    limits.max_documents = 10000;
    for (const auto& file : repo.list_files(dir)) {
        auto ends = [&](const char* s) {
            std::string_view e(s);
            return file.size() >= e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0;
        };
        // kustomize takes JSON resources too (JSON is YAML), so they can serve hostnames as well.
        if (!ends(".yaml") && !ends(".yml") && !ends(".json")) continue;
        auto text = repo.read_file(file);
        if (!text) continue;
        // Cheap filter: only files that can declare a host are parsed.
        if (text->find("Ingress") == std::string::npos && text->find("HTTPRoute") == std::string::npos &&
            text->find("hostname") == std::string::npos)
            continue;
        auto docs = parse_documents(*text, limits);
        if (!docs.ok()) {
            diags.push_back(warning("", "gitops.scan.unparsed",
                                    file + " does not parse as YAML; its hostnames were not checked for conflicts"));
            continue;
        }
        for (const auto& d : *docs.value)
            for (const auto& h : served_hosts(d, profile.externalDnsPrefix)) {
                std::string owner = object_label(d);
                if (d.contains("metadata") && d["metadata"].is_object() && d["metadata"].value("namespace", json()).is_string())
                    owner += " in namespace '" + printable(d["metadata"]["namespace"].get<std::string>()) + "'";
                out.push_back(RepoHost{h, file, owner});
            }
    }
    return out;
}

/// Links under the cluster folder: the host scan does not follow them (a link may point anywhere,
/// outside the repo or into a cycle, and nothing is read through a link), so each is a warning and,
/// in plan_change, a reason for review. At most 10 are named one by one.
std::vector<std::string> unscanned_links(const RepoView& repo, const std::string& dir, Diagnostics& diags) {
    auto links = repo.list_symlinks(dir);
    constexpr std::size_t kNamed = 10;
    for (std::size_t i = 0; i < links.size() && i < kNamed; ++i)
        diags.push_back(warning("", "gitops.scan.symlink",
                                printable(links[i]) + " is a symbolic link and was not followed; hostnames behind it "
                                "were not checked for conflicts"));
    if (links.size() > kNamed)
        diags.push_back(warning("", "gitops.scan.symlink",
                                std::to_string(links.size() - kNamed) + " more symbolic link(s) under " + dir +
                                    " were not followed; hostnames behind them were not checked for conflicts"));
    return links;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The planner
// ---------------------------------------------------------------------------------------

Plan plan_change(const AppRequest& request, const Bundle& bundle, const ClusterProfile& profile, const RepoView& repo,
                 const Diagnostics& validation) {
    Plan p;
    auto& diags = p.diagnostics;
    const std::string& app = request.appName;
    const std::string& ns = request.effective_namespace();
    const std::string ns_path = request.namespace_ ? "/namespace" : "/appName";

    // Names become folder names: only DNS labels, so nothing can escape the layout.
    if (!rules::is_dns1123_label(app))
        diags.push_back(error("/appName", "gitops.name.invalid", "App name must be a DNS-1123 label to name a folder"));
    if (!rules::is_dns1123_label(ns))
        diags.push_back(error(ns_path, "gitops.name.invalid", "Namespace must be a DNS-1123 label to name a folder"));
    const std::pair<const char*, const std::string*> layout[] = {{"/gitops/root", &profile.gitopsRoot},
                                                                 {"/gitops/cluster", &profile.gitopsCluster},
                                                                 {"/gitops/namespacesDir", &profile.gitopsNamespacesDir}};
    for (const auto& [ptr, value] : layout)
        if (!safe_layout_path(*value))
            diags.push_back(error(ptr, "gitops.layout.invalid",
                                  std::string("profile ") + ptr + " must be a relative folder path without '.' or '..' "
                                  "segments, got '" + printable(*value) + "'"));
    if (bundle.appName != app || bundle.namespace_ != ns)
        diags.push_back(error("", "gitops.bundle.mismatch", "the bundle was rendered for another app or namespace"));
    for (const auto& f : bundle.files)
        if (f.path.empty() || f.path.find('/') != std::string::npos || f.path == "." || f.path == "..")
            diags.push_back(error("", "gitops.bundle.path", "bundle file name '" + printable(f.path) + "' is not a plain file name"));
    if (has_errors(diags)) return p;

    const std::string cluster_dir = profile.gitopsRoot + "/" + profile.gitopsCluster;
    const std::string ns_root = cluster_dir + "/" + profile.gitopsNamespacesDir;
    p.namespaceDir = ns_root + "/" + ns;
    p.appDir = p.namespaceDir + "/" + app;
    const std::string root_kust = ns_root + "/kustomization.yaml";
    const std::string ns_kust = p.namespaceDir + "/kustomization.yaml";

    if (is_reserved_namespace(profile, ns))
        diags.push_back(error(ns_path, "gitops.namespace.reserved",
                              std::string(messages::namespace_reserved) + " ('" + ns + "' matches the profile's reserved namespaces)"));
    // apply never writes into a folder, or edits a file, through a link: it may point outside the repo,
    // and git tracks the link, not what it points to. plan refuses the same paths so both agree.
    {
        std::set<std::string> links;
        const std::string* paths[] = {&root_kust, &ns_kust, &p.appDir};
        for (const std::string* path : paths)
            if (auto link = repo.symlink_on_path(*path); link && links.insert(*link).second)
                diags.push_back(error(*link == p.appDir ? "/appName" : ns_path, "gitops.symlink",
                                      printable(*link) + " is a symbolic link; appforge never writes into a folder or "
                                      "edits a file through a link (replace it with the real folder or file)"));
        if (!links.empty()) return p;
    }
    if (repo.exists(p.appDir))
        diags.push_back(error("/appName", "gitops.app.exists",
                              p.appDir + " already exists in the repo; choose another app name or namespace"));

    // The namespaces kustomization must exist and parse, whether or not it is edited.
    std::optional<ParsedKustomization> root_parsed;
    auto root_text = repo.read_file(root_kust);
    if (!root_text) {
        diags.push_back(error(ns_path, "gitops.kustomization.missing",
                              root_kust + " is missing: the namespaces folder must be listed by a kustomization"));
    } else {
        auto r = parse_kustomization(root_kust, *root_text, ns_path);
        diags.insert(diags.end(), r.diagnostics.begin(), r.diagnostics.end());
        if (r.ok()) root_parsed = std::move(*r.value);
    }

    p.newNamespace = !repo.exists(p.namespaceDir);
    if (p.newNamespace) {
        if (root_parsed) {
            if (lists(root_parsed->resources, ns)) {
                diags.push_back(warning(ns_path, "gitops.namespace.listed",
                                        root_kust + " already lists '" + ns + "' although its folder is missing; "
                                        "the folder is created and the list is left as it is"));
            } else {
                auto e = insert_resource_entry(root_kust, *root_text, ns, ns_path);
                diags.insert(diags.end(), e.diagnostics.begin(), e.diagnostics.end());
                if (e.ok()) p.edits.push_back(std::move(*e.value));
            }
        }
        json ns_obj = {{"apiVersion", "v1"},
                       {"kind", "Namespace"},
                       {"metadata", {{"name", ns}, {"labels", {{"app.kubernetes.io/managed-by", "appforge"}}}}}};
        json ns_k = {{"apiVersion", "kustomize.config.k8s.io/v1beta1"},
                     {"kind", "Kustomization"},
                     {"resources", {"namespace.yaml", "./" + app}}};
        p.creates.push_back(PlannedFile{p.namespaceDir + "/namespace.yaml", to_yaml(ns_obj)});
        p.creates.push_back(PlannedFile{ns_kust, to_yaml(ns_k)});
    } else {
        if (root_parsed && !lists(root_parsed->resources, ns))
            diags.push_back(warning(ns_path, "gitops.namespace.unlisted",
                                    root_kust + " does not list '" + ns + "': the app is committed but Flux will not "
                                    "deploy it until the namespace folder is listed"));
        auto ns_text = repo.read_file(ns_kust);
        if (!ns_text) {
            diags.push_back(error(ns_path, "gitops.kustomization.missing",
                                  ns_kust + " is missing: the namespace folder exists but has no kustomization to list the app"));
        } else {
            auto e = insert_resource_entry(ns_kust, *ns_text, app, "/appName");
            if (!e.ok())
                for (auto& d : e.diagnostics)
                    if (d.code == "gitops.kustomization.listed") d.code = "gitops.app.listed";
            diags.insert(diags.end(), e.diagnostics.begin(), e.diagnostics.end());
            if (e.ok()) p.edits.push_back(std::move(*e.value));
        }
    }
    for (const auto& f : bundle.files) p.creates.push_back(PlannedFile{p.appDir + "/" + f.path, f.text});

    // Hostnames: one Ingress per name in the whole cluster folder.
    auto hosts = bundle_hosts(bundle, profile);
    auto repo_hosts = scan_repo_hosts(repo, cluster_dir, profile, diags);
    auto unscanned = unscanned_links(repo, cluster_dir, diags);
    std::vector<std::string> existing;
    for (const auto& rh : repo_hosts) existing.push_back(rh.host);
    for (const auto& h : hosts)
        for (const auto& rh : repo_hosts)
            if (rh.host == h) {
                std::string field = "/appName";
                if (request.ingressConfig) {
                    if (request.ingressConfig->internalHostname && lower(*request.ingressConfig->internalHostname) == h)
                        field = "/ingressConfig/internalHostname";
                    if (request.ingressConfig->externalHostname && lower(*request.ingressConfig->externalHostname) == h)
                        field = "/ingressConfig/externalHostname";
                }
                diags.push_back(error(field, "gitops.host.taken",
                                      "Hostname " + h + " is already used by " + rh.owner + " in " + rh.file));
                break;
            }

    p.risk = assess_risk(request, bundle, profile, existing);
    if (!unscanned.empty()) {
        p.risk.reasons.push_back(RiskReason{
            "risk.unscanned-link", "unchecked hostnames: " + std::to_string(unscanned.size()) +
                                       " symbolic link(s) in " + cluster_dir + " (first: " + printable(unscanned.front()) +
                                       ") were not followed, so a hostname conflict behind them cannot be ruled out"});
        p.risk.verdict = RiskVerdict::needs_review;
    }
    p.branch = feature_branch_name(request);
    p.prTitle = "feat: deploy " + app;
    p.commitMessage = make_commit_message(request, p, hosts);
    p.prBody = make_pr_body(request, p, hosts, validation);
    return p;
}

json risk_to_json(const RiskAssessment& risk) {
    json reasons = json::array();
    for (const auto& r : risk.reasons) reasons.push_back({{"code", r.code}, {"message", r.message}});
    return {{"verdict", to_string(risk.verdict)}, {"reasons", reasons}};
}

json plan_review_to_json(const Plan& p) {
    return {{"branch", p.branch},
            {"commitMessage", p.commitMessage},
            {"prTitle", p.prTitle},
            {"prBody", p.prBody},
            {"risk", risk_to_json(p.risk)}};
}

json plan_to_json(const Plan& p) {
    json creates = json::array(), edits = json::array();
    for (const auto& f : p.creates) creates.push_back({{"path", f.path}, {"content", f.content}});
    for (const auto& e : p.edits)
        edits.push_back({{"path", e.path}, {"entry", e.entry}, {"line", e.line}, {"oldText", e.old_text}, {"newText", e.new_text}});
    json j = plan_review_to_json(p);
    j.update(json{{"ok", p.ok()},
                  {"appDir", p.appDir},
                  {"namespaceDir", p.namespaceDir},
                  {"newNamespace", p.newNamespace},
                  {"creates", creates},
                  {"edits", edits},
                  {"diagnostics", diagnostics_to_json(p.diagnostics)}});
    return j;
}

json diagnostics_to_json(const Diagnostics& ds) {
    json a = json::array();
    for (const auto& d : ds)
        a.push_back({{"path", d.path}, {"code", d.code}, {"message", d.message}, {"severity", to_string(d.severity)}});
    return a;
}

// ---------------------------------------------------------------------------------------
// The request -> plan pipeline
// ---------------------------------------------------------------------------------------

PlannedRequest plan_checked_request(const Engine& engine, const CheckedRequest& checked, const RepoView& repo) {
    PlannedRequest p;
    p.diagnostics = checked.diagnostics;
    if (checked.app) p.app = checked.app;
    if (checked.kind != RequestKind::app) {
        p.diagnostics.push_back(
            error("", "gitops.kind", "this is a NAS (Komodo) request; use `appforge komodo`"));
        return p;
    }
    if (!checked.ok() || !checked.app) return p;
    // A request that already went through the workflow would be committed a second time (and its
    // recorded outcome overwritten): only a pending request with no recorded commit is planned.
    if (checked.app->status && *checked.app->status != Status::pending) {
        p.diagnostics.push_back(error("/status", "gitops.request.done",
                                      std::string("the request's status is '") + to_string(*checked.app->status) +
                                          "'; only a pending request can be planned or applied"));
        return p;
    }
    if (checked.app->commitSha || checked.app->mergedAt) {
        const bool merged = !checked.app->commitSha;
        p.diagnostics.push_back(error(merged ? "/mergedAt" : "/commitSha", "gitops.request.applied",
                                      merged ? "the request records a merge; it was applied before"
                                             : "the request records commit " + *checked.app->commitSha +
                                                   "; it was applied before (submit it without the workflow outputs)"));
        return p;
    }
    auto bundle = engine.render(*checked.app);
    p.diagnostics.insert(p.diagnostics.end(), bundle.diagnostics.begin(), bundle.diagnostics.end());
    if (!bundle.ok()) return p;
    Plan plan = plan_change(*checked.app, *bundle.value, engine.profile(), repo, p.diagnostics);
    p.diagnostics.insert(p.diagnostics.end(), plan.diagnostics.begin(), plan.diagnostics.end());
    p.plan = std::move(plan);
    return p;
}

PlannedRequest plan_request(const Engine& engine, std::string_view request_text, const RepoView& repo) {
    return plan_checked_request(engine, engine.check(request_text), repo);
}

json planned_request_to_json(const PlannedRequest& p) {
    json j = p.plan ? plan_to_json(*p.plan) : json{{"ok", false}};
    j["diagnostics"] = diagnostics_to_json(p.diagnostics);
    j["ok"] = p.ok();
    return j;
}

// ---------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------

namespace {

bool is_hex(const std::string& s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

/// The subset of git's ref-name rules a feature branch can break (check-ref-format).
bool is_branch_name(const std::string& b) {
    if (b.empty() || b.size() > 255 || b.front() == '/' || b.back() == '/' || b.back() == '.' || b.front() == '-')
        return false;
    if (b.find("..") != std::string::npos || b.find("//") != std::string::npos || b.find("@{") != std::string::npos ||
        b.find("/.") != std::string::npos || b.front() == '.')
        return false;
    if (b.size() >= 5 && b.compare(b.size() - 5, 5, ".lock") == 0) return false;
    for (unsigned char c : b)
        if (c <= 0x20 || c == 0x7f || std::string_view("~^:?*[\\").find(static_cast<char>(c)) != std::string_view::npos)
            return false;
    return true;
}

Diagnostics require_pending(const AppRequest& r, const char* action) {
    Diagnostics out;
    Status s = r.status.value_or(Status::pending);
    if (s != Status::pending)
        out.push_back(error("/status", "lifecycle.not-pending",
                            std::string("cannot ") + action + ": the request is " + to_string(s) + ", not pending"));
    return out;
}

}  // namespace

Diagnostics record_commit(AppRequest& request, const std::string& branch, const std::string& commit_sha) {
    Diagnostics out = require_pending(request, "record a commit");
    if (!is_branch_name(branch))
        out.push_back(error("/featureBranch", "lifecycle.featureBranch.format",
                            "featureBranch '" + printable(branch) + "' is not a valid git branch name"));
    if (!((commit_sha.size() == 40 || commit_sha.size() == 64) && is_hex(commit_sha)))
        out.push_back(error("/commitSha", "lifecycle.commitSha.format",
                            "commitSha must be 40 (SHA-1) or 64 (SHA-256) lowercase hex digits"));
    if (request.commitSha && *request.commitSha != commit_sha)
        out.push_back(error("/commitSha", "lifecycle.commitSha.recorded",
                            "a different commit (" + *request.commitSha + ") is already recorded"));
    if (!out.empty()) return out;
    request.featureBranch = branch;
    request.commitSha = commit_sha;
    if (!request.status) request.status = Status::pending;
    return out;
}

Diagnostics record_pull_request(AppRequest& request, std::int64_t number, const std::string& url) {
    Diagnostics out = require_pending(request, "record a pull request");
    if (!request.commitSha || !request.featureBranch)
        out.push_back(error("/commitSha", "lifecycle.order", "record the commit before the pull request"));
    if (number < 1) out.push_back(error("/prNumber", "lifecycle.prNumber.range", "prNumber must be at least 1"));
    if (!rules::is_http_url(url))
        out.push_back(error("/prUrl", "lifecycle.prUrl.format", "prUrl must be an http(s) URL"));
    if (request.prNumber && *request.prNumber != number)
        out.push_back(error("/prNumber", "lifecycle.prNumber.recorded",
                            "a different pull request (#" + std::to_string(*request.prNumber) + ") is already recorded"));
    if (!out.empty()) return out;
    request.prNumber = number;
    request.prUrl = url;
    return out;
}

Diagnostics record_merge(AppRequest& request, const std::string& merged_at) {
    Diagnostics out = check_status_transition(request.status.value_or(Status::pending), Status::success);
    if (!request.prNumber)
        out.push_back(error("/prNumber", "lifecycle.order", "record the pull request before its merge"));
    if (!rules::is_iso8601_utc_or_offset(merged_at))
        out.push_back(error("/mergedAt", "lifecycle.mergedAt.format", "mergedAt must be an RFC 3339 timestamp"));
    if (!out.empty()) return out;
    request.mergedAt = merged_at;
    request.status = Status::success;
    return out;
}

Diagnostics record_failure(AppRequest& request, const std::string& reason) {
    Diagnostics out = check_status_transition(request.status.value_or(Status::pending), Status::failed);
    if (!out.empty()) return out;
    request.status = Status::failed;
    if (!reason.empty()) {
        if (!request.validationErrors) request.validationErrors.emplace();
        request.validationErrors->push_back(printable(reason, 1000));
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

json audit_record(const AppRequest* request, const AuditOutcome& outcome, const std::string& utc_timestamp) {
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    json j;
    j["timestamp"] = utc_timestamp;
    j["id"] = request ? opt(request->id) : json(nullptr);
    j["operatorId"] = request ? json(request->operatorId) : json(nullptr);
    j["app"] = request ? json(request->appName) : json(nullptr);
    j["namespace"] = request ? json(request->effective_namespace()) : json(nullptr);
    j["image"] = request ? json(request->containerImage) : json(nullptr);
    j["choices"] = request ? request_choices(*request) : json(nullptr);
    j["outcome"] = outcome.outcome;
    j["diagnostics"] = outcome.diagnostics;
    j["branch"] = opt(outcome.branch);
    j["commit"] = opt(outcome.commit);
    return j;
}

}  // namespace appforge
