// GitOps for Komodo: the Resource Sync change set of a NAS request. TOML is read and values are
// written by toml11 (Debian's libtoml11-dev); the file itself is edited as text so comments and
// the order of existing tables survive, then re-read to prove the edit.
#include "appforge/komodo_sync.hpp"

#include <exception>
#include <sstream>

#include <toml.hpp>

#include "appforge/engine.hpp"
#include "appforge/komodo.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

namespace {

Diagnostic err(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error};
}

// toml11's syntax errors span several lines with a source excerpt: one bounded line for a message.
std::string one_line(const std::string& s, std::size_t limit = 300) {
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    if (out.size() > limit) out = out.substr(0, limit) + "...";
    return out;
}

const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

// One TOML `key = value` line, the value spelled by the library (quoting and escapes included).
std::string kv(const char* key, const toml::value& v) { return std::string(key) + " = " + toml::format(v) + "\n"; }

toml::value string_array(const std::vector<std::string>& items) {
    toml::array a;
    for (const auto& s : items) a.push_back(toml::value(s));
    return toml::value(a);
}

const std::string& stack_name(const KomodoRequest& r) {
    return r.komodoRequest.appName.empty() ? r.appName : r.komodoRequest.appName;
}

std::string md(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|' || c == '`' || c == '*' || c == '_' || c == '[' || c == ']' || c == '<' || c == '>' || c == '\\')
            out += '\\';
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return out;
}

std::string code(const std::string& s) {
    std::string t;
    for (char c : s) t += (c == '`' || static_cast<unsigned char>(c) < 0x20) ? '\'' : c;
    return "`" + t + "`";
}

constexpr int kMaxNesting = 64;  // far beyond any Resource Sync file; toml11 recurses per level

// toml11 parses arrays and inline tables recursively, so a file nested 100 000 levels deep
// overflows the stack. Before the library sees a text, its deepest [ / { nesting outside strings
// and comments is measured (a guard, not a parser: the library still decides what is TOML).
bool too_deep(std::string_view t) {
    int depth = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (c == '#') {
            while (i < t.size() && t[i] != '\n') ++i;
        } else if (c == '"' || c == '\'') {
            const bool triple = t.compare(i, 3, std::string(3, c)) == 0;
            i += triple ? 3 : 1;
            while (i < t.size()) {
                if (c == '"' && t[i] == '\\') {
                    i += 2;
                    continue;
                }
                if (triple ? t.compare(i, 3, std::string(3, c)) == 0 : (t[i] == c || t[i] == '\n')) break;
                ++i;
            }
            if (triple) i += 2;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxNesting) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

}  // namespace

Result<std::vector<std::string>> sync_stack_names(std::string_view toml_text, const std::string& diag_path) {
    Result<std::vector<std::string>> res;
    if (too_deep(toml_text)) {
        res.diagnostics.push_back(err(diag_path, "komodo.sync.parse",
                                      "the Resource Sync file nests arrays or inline tables deeper than " +
                                          std::to_string(kMaxNesting) + " levels; appforge does not read it"));
        return res;
    }
    try {
        std::istringstream in{std::string(toml_text)};
        const toml::value doc = toml::parse(in, diag_path.empty() ? "resources.toml" : diag_path);
        std::vector<std::string> names;
        if (doc.is_table() && doc.contains("stack")) {
            const toml::value& stacks = doc.at("stack");
            if (!stacks.is_array()) {
                res.diagnostics.push_back(err(diag_path, "komodo.sync.parse", "'stack' is not an array of [[stack]] tables"));
                return res;
            }
            for (const auto& t : stacks.as_array()) {
                if (!t.is_table() || !t.contains("name") || !t.at("name").is_string()) {
                    res.diagnostics.push_back(
                        err(diag_path, "komodo.sync.parse", "a [[stack]] table has no string 'name' (Komodo requires one)"));
                    return res;
                }
                names.push_back(t.at("name").as_string().str);
            }
        }
        res.value = std::move(names);
    } catch (const std::exception& e) {
        res.diagnostics.push_back(err(diag_path, "komodo.sync.parse", "the Resource Sync file is not valid TOML: " + one_line(e.what())));
    }
    return res;
}

Result<std::string> komodo_sync_stack_table(const KomodoRequest& r, const ClusterProfile& profile) {
    Result<std::string> res;
    const json& cfg = r.komodoRequest.appConfig;
    std::optional<std::string> server = profile.komodoServer;
    if (const json* s = member(cfg, "server"); s && s->is_string()) server = s->get<std::string>();
    if (!server && !profile.komodoSwarm)
        res.diagnostics.push_back(err("", "komodo.sync.target",
                                      "the [[stack]] table needs a server or swarm: set komodo.server or komodo.swarm in "
                                      "the profile, appConfig.server, or pass --server / --swarm"));
    if (!profile.komodoLinkedRepo)
        res.diagnostics.push_back(err("", "komodo.sync.linkedRepo",
                                      "komodo.linkedRepo is not set in the profile: a synced stack reads its compose file "
                                      "from the Komodo Repo resource of this repository (linked_repo)"));
    std::vector<std::string> after;
    if (const json* a = member(cfg, "after")) {
        bool ok = a->is_array();
        if (ok)
            for (const auto& v : *a) ok = ok && v.is_string() && rules::is_dns1123_label(v.get<std::string>());
        if (!ok)
            res.diagnostics.push_back(err("/komodoRequest/appConfig/after", "komodo.after",
                                          "appConfig.after must be a list of stack names (DNS-1123 labels) deployed first"));
        else
            for (const auto& v : *a) after.push_back(v.get<std::string>());
    }
    if (has_errors(res.diagnostics)) return res;

    const KomodoStackLayout layout = komodo_stack_layout(r, profile);
    std::string t = "[[stack]]\n";
    t += kv("name", toml::value(stack_name(r)));
    if (r.appDescription) t += kv("description", toml::value(*r.appDescription));
    if (!profile.komodoTags.empty()) t += kv("tags", string_array(profile.komodoTags));
    t += kv("deploy", toml::value(true));
    if (!after.empty()) t += kv("after", string_array(after));
    t += "[stack.config]\n";
    if (server) t += kv("server", toml::value(*server));
    else t += kv("swarm", toml::value(*profile.komodoSwarm));
    t += kv("linked_repo", toml::value(*profile.komodoLinkedRepo));
    t += kv("run_directory", toml::value(layout.run_directory));
    t += kv("file_paths", string_array({"compose.yaml"}));
    std::string env = komodo_stack_environment(r, profile);
    // names are [A-Za-z0-9_.-] only, so a literal string (no escapes) always holds them
    if (!env.empty()) t += kv("environment", toml::value(env, toml::string_t::literal));
    res.value = t;
    return res;
}

Result<KustomizationEdit> append_sync_stack(const std::string& path, std::string_view text, const std::string& table,
                                            const std::string& name) {
    Result<KustomizationEdit> res;
    auto before = sync_stack_names(text, path);
    if (!before.ok()) {
        res.diagnostics = before.diagnostics;
        return res;
    }
    for (const auto& n : *before.value)
        if (n == name) {
            res.diagnostics.push_back(err("/komodoRequest/appName", "komodo.sync.exists",
                                          path + " already declares a [[stack]] named '" + name +
                                              "'; choose another appName or edit that table"));
            return res;
        }
    KustomizationEdit e;
    e.path = path;
    e.old_text = std::string(text);
    e.new_text = e.old_text;
    if (!e.new_text.empty() && e.new_text.back() != '\n') e.new_text += '\n';
    if (!e.new_text.empty()) e.new_text += '\n';
    e.line = 1;
    for (char c : e.new_text) e.line += c == '\n';
    e.new_text += table;
    e.entry = "[[stack]] " + name;

    // The proof: the edited file parses and holds the old stacks, in order, then the new one.
    auto after = sync_stack_names(e.new_text, path);
    std::vector<std::string> expected = *before.value;
    expected.push_back(name);
    if (!after.ok() || *after.value != expected) {
        res.diagnostics.push_back(err("", "komodo.sync.verify",
                                      path + ": appending the [[stack]] table would not give a file with exactly the "
                                             "existing stacks plus '" + name + "' (" +
                                          (after.ok() ? "the stack list differs" : one_line(after.diagnostics[0].message)) +
                                          "); edit the file by hand"));
        return res;
    }
    res.value = std::move(e);
    return res;
}

std::string komodo_feature_branch_name(const KomodoRequest& request) {
    std::string canonical = canonical_request_text(to_json(request));
    return "feat/app/" + stack_name(request) + "-" + rules::sha256_hex(canonical).substr(0, 8);
}

KomodoPlannedRequest plan_komodo_checked_request(const Engine& engine, const CheckedRequest& checked,
                                                 const RepoView& repo) {
    KomodoPlannedRequest p;
    p.diagnostics = checked.diagnostics;
    if (checked.komodo) p.komodo = checked.komodo;
    if (checked.document && checked.kind != RequestKind::komodo) {
        p.diagnostics.push_back(err("", "komodo.kind", "this is a GitOps request (no komodoRequest member); use `appforge plan`"));
        return p;
    }
    if (!checked.ok() || !checked.komodo) return p;
    const KomodoRequest& r = *checked.komodo;
    const ClusterProfile& profile = engine.profile();
    if (r.status && *r.status != Status::pending) {
        p.diagnostics.push_back(err("/status", "komodo.status",
                                    std::string("only a pending request can be planned or applied; this one is ") +
                                        to_string(*r.status)));
        return p;
    }
    auto compose = komodo_compose(r, profile);
    p.diagnostics.insert(p.diagnostics.end(), compose.diagnostics.begin(), compose.diagnostics.end());
    auto table = komodo_sync_stack_table(r, profile);
    p.diagnostics.insert(p.diagnostics.end(), table.diagnostics.begin(), table.diagnostics.end());
    if (!compose.ok() || !table.ok()) return p;

    Plan plan;
    const KomodoStackLayout layout = komodo_stack_layout(r, profile);
    plan.appDir = layout.run_directory;
    plan.namespaceDir = profile.komodoSyncFile;
    const std::string& name = stack_name(r);
    bool linked = false;
    for (const std::string* path : {&layout.compose_path, &profile.komodoSyncFile})
        if (auto link = repo.symlink_on_path(*path)) {
            linked = true;
            plan.diagnostics.push_back(err("", "komodo.sync.symlink",
                                           *link + " is a symbolic link: nothing is written through a link"));
        }
    if (!linked && repo.exists(layout.compose_path))
        plan.diagnostics.push_back(err("", "komodo.sync.compose.exists",
                                       layout.compose_path + " already exists; another stack uses this tier/group "
                                                             "(set appConfig.tier or appConfig.group)"));
    if (plan.ok()) {
        if (auto text = repo.read_file(profile.komodoSyncFile)) {
            auto edit = append_sync_stack(profile.komodoSyncFile, *text, *table.value, name);
            plan.diagnostics.insert(plan.diagnostics.end(), edit.diagnostics.begin(), edit.diagnostics.end());
            if (edit.ok()) plan.edits.push_back(*edit.value);
        } else if (repo.exists(profile.komodoSyncFile)) {
            plan.diagnostics.push_back(err("", "komodo.sync.unreadable",
                                           profile.komodoSyncFile + " exists but is not a readable regular file"));
        } else {
            plan.creates.push_back(PlannedFile{profile.komodoSyncFile,
                                               "# Komodo Resource Sync: stacks declared in git (written by appforge).\n\n" +
                                                   *table.value});
        }
        plan.creates.insert(plan.creates.begin(), PlannedFile{layout.compose_path, *compose.value});
    }

    // Risk: what a human should look at before the sync deploys it.
    json cfg = r.komodoRequest.appConfig;
    if (const json* ing = member(cfg, "ingress"); ing && ing->is_object() && member(*ing, "host") &&
                                                   (*ing)["host"].is_string() &&
                                                   rules::is_under_zone((*ing)["host"].get<std::string>(), profile.publicZone) &&
                                                   !rules::is_under_zone((*ing)["host"].get<std::string>(), profile.internalZone))
        plan.risk.reasons.push_back(RiskReason{"risk.public-dns", "public host name: " + (*ing)["host"].get<std::string>() +
                                                                      " is under the public zone " + profile.publicZone});
    if (const json* se = member(cfg, "secretEnv"); se && se->is_array() && !se->empty())
        plan.risk.reasons.push_back(RiskReason{"risk.secret-reference", "the stack reads " + std::to_string(se->size()) +
                                                                            " Komodo secret(s) or variable(s) through its environment"});
    if (const json* net = member(cfg, "network"); net && member(*net, "ports") && (*net)["ports"].is_array() &&
                                                   !(*net)["ports"].empty())
        plan.risk.reasons.push_back(RiskReason{"risk.host-port", "the stack publishes " +
                                                                     std::to_string((*net)["ports"].size()) +
                                                                     " port(s) on the NAS host"});
    plan.risk.verdict = plan.risk.reasons.empty() ? RiskVerdict::auto_merge : RiskVerdict::needs_review;

    plan.branch = komodo_feature_branch_name(r);
    auto image = komodo_image(r);
    const std::string image_text = image.ok() ? *image.value : std::string("?");
    const std::string target = member(cfg, "server") && cfg["server"].is_string()
                                   ? "server " + cfg["server"].get<std::string>()
                                   : profile.komodoServer ? "server " + *profile.komodoServer
                                                          : "swarm " + profile.komodoSwarm.value_or("?");
    plan.commitMessage = "feat(app): add " + name + "\n\nRequest: " + r.id.value_or("(none)") + "\nOperator: " +
                         r.operatorId + "\nImage: " + image_text + "\nStack: " + name + " on " + target +
                         "\nCompose: " + layout.compose_path + "\nRisk: " + to_string(plan.risk.verdict) + "\n";
    plan.prTitle = "feat: deploy " + name;
    std::string b = "## Deploy " + code(name) + " (Komodo stack)\n\n| Field | Value |\n|---|---|\n";
    b += "| Operator | " + md(r.operatorId) + " |\n";
    b += "| Timestamp | " + md(r.timestamp.value_or("(not recorded)")) + " |\n";
    b += "| Request id | " + code(r.id.value_or("(none)")) + " |\n";
    b += "| App | " + code(name) + " |\n";
    b += "| Image | " + code(image_text) + " |\n";
    b += "| Target | " + md(target) + " |\n";
    b += "| Storage | " + code(effective_storage_location(r, profile)) + " |\n";
    b += "| Branch | " + code(plan.branch) + " |\n";
    b += "\n### Generated files\n\n";
    for (const auto& e : plan.edits) b += "- " + code(e.path) + " (edited: adds " + code(e.entry) + ")\n";
    for (const auto& f : plan.creates) b += "- " + code(f.path) + " (new)\n";
    b += "\n### Validation\n\n";
    std::size_t warnings = 0;
    for (const auto& d : p.diagnostics) warnings += d.severity == Severity::warning;
    b += "Passed: request schema and rules, compose file, Resource Sync TOML re-read (no conflicts).";
    b += warnings ? " " + std::to_string(warnings) + " warning(s).\n" : "\n";
    b += "\n### Risk: **" + std::string(to_string(plan.risk.verdict)) + "**\n\n";
    if (plan.risk.reasons.empty()) b += "No public host name, no secret references, no published host ports.\n";
    for (const auto& rr : plan.risk.reasons) b += "- " + md(rr.message) + " (" + code(rr.code) + ")\n";
    b += "\n_Generated by appforge._\n";
    plan.prBody = b;
    p.diagnostics.insert(p.diagnostics.end(), plan.diagnostics.begin(), plan.diagnostics.end());
    p.plan = std::move(plan);
    return p;
}

KomodoPlannedRequest plan_komodo_request(const Engine& engine, std::string_view request_text, const RepoView& repo) {
    return plan_komodo_checked_request(engine, engine.check(request_text), repo);
}

json komodo_planned_request_to_json(const KomodoPlannedRequest& planned) {
    if (!planned.plan) return json{{"ok", false}, {"diagnostics", diagnostics_to_json(planned.diagnostics)}};
    json j = plan_to_json(*planned.plan);
    j.erase("appDir");
    j.erase("namespaceDir");
    j.erase("newNamespace");
    j["stackDir"] = planned.plan->appDir;
    j["syncFile"] = planned.plan->namespaceDir;
    j["diagnostics"] = diagnostics_to_json(planned.diagnostics);
    j["ok"] = planned.ok();
    return j;
}

json komodo_audit_record(const KomodoRequest* request, const AuditOutcome& outcome, const std::string& utc_timestamp) {
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    json j;
    j["timestamp"] = utc_timestamp;
    j["id"] = request ? opt(request->id) : json(nullptr);
    j["operatorId"] = request ? json(request->operatorId) : json(nullptr);
    j["app"] = request ? json(stack_name(*request)) : json(nullptr);
    j["workflow"] = "komodo-sync";
    j["appVersion"] = request ? json(request->komodoRequest.appVersion) : json(nullptr);
    j["outcome"] = outcome.outcome;
    j["diagnostics"] = outcome.diagnostics;
    j["branch"] = opt(outcome.branch);
    j["commit"] = opt(outcome.commit);
    return j;
}

}  // namespace appforge
