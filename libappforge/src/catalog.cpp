#include "appforge/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <kainjow/mustache.hpp>

#include "appforge/document.hpp"
#include "appforge/resources.hpp"
#include "appforge/schema.hpp"

namespace appforge {

using nlohmann::json;
namespace mus = kainjow::mustache;

const char* to_string(PatternKind k) {
    switch (k) {
        case PatternKind::storage: return "storage";
        case PatternKind::ingress: return "ingress";
        case PatternKind::backup: return "backup";
    }
    return "storage";
}

// ---------------------------------------------------------------------------------------------
// Template

struct Template::Impl {
    explicit Impl(const std::string& text) : m(text) {}
    mus::mustache m;
};

namespace {

/// Variables holding integers the rules layer has already range-checked; only these may stand
/// outside double quotes, where YAML reads them as numbers.
const std::set<std::string>& numeric_variables() {
    static const std::set<std::string> names{"sizeGi", "retentionDays", "servicePort", "containerPort"};
    return names;
}

/// Every value tag must sit inside a double-quoted YAML scalar, the context the escape is for.
std::string lint_template(const std::string& text, const std::string& source, int first_line) {
    int line = first_line;
    bool in_double = false;
    bool in_single = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n') {
            ++line;
            in_double = in_single = false;
            continue;
        }
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            std::size_t end = text.find("}}", i + 2);
            if (end == std::string::npos) break;  // the mustache parser reports it
            std::string tag = text.substr(i + 2, end - i - 2);
            char sigil = tag.empty() ? ' ' : tag[0];
            std::string where = source + ":" + std::to_string(line) + ": ";
            if (sigil == '{' || sigil == '&')
                return where + "unescaped tag {{" + tag + "}} is not allowed: every value must go through the YAML escape";
            if (sigil == '=' || sigil == '>')
                return where + "tag {{" + tag + "}} is not allowed in patterns (no partials or delimiter changes)";
            if (sigil != '#' && sigil != '^' && sigil != '/' && sigil != '!') {
                std::string name = tag;
                name.erase(0, name.find_first_not_of(' '));
                name.erase(name.find_last_not_of(' ') + 1);
                if (in_single)
                    return where + "{{" + name + "}} is inside single quotes; use double quotes";
                if (!in_double && numeric_variables().count(name) == 0)
                    return where + "{{" + name + "}} must be inside a double-quoted YAML string (\"...\") so the escape applies";
            }
            i = end + 1;
            continue;
        }
        if (in_double) {
            if (c == '\\') ++i;
            else if (c == '"') in_double = false;
        } else if (in_single) {
            if (c == '\'') in_single = false;
        } else if (c == '"') {
            in_double = true;
        } else if (c == '\'' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == ':')) {
            in_single = true;
        } else if (c == '#' && (i == 0 || text[i - 1] == ' ')) {
            // a comment: skip to end of line
            while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
        }
    }
    return {};
}

mus::data to_data(const json& v) {
    switch (v.type()) {
        case json::value_t::object: {
            mus::data d{mus::data::type::object};
            for (auto it = v.begin(); it != v.end(); ++it) d.set(it.key(), to_data(*it));
            return d;
        }
        case json::value_t::array: {
            mus::data d{mus::data::type::list};
            for (const auto& e : v) d.push_back(to_data(e));
            return d;
        }
        case json::value_t::string: return mus::data(v.get<std::string>());
        case json::value_t::boolean: return mus::data(v.get<bool>());
        case json::value_t::null: return mus::data(false);
        default: return mus::data(v.dump());
    }
}

}  // namespace

Template::Template(std::string source_name, std::string text, int first_line) : text_(std::move(text)) {
    impl_.reset(new Impl(text_));
    if (!impl_->m.is_valid()) {
        error_ = source_name + ":" + std::to_string(first_line) + ": template does not parse: " + impl_->m.error_message();
        return;
    }
    impl_->m.set_custom_escape([](const std::string& s) { return yaml_double_quoted_body(s); });
    error_ = lint_template(text_, source_name, first_line);
}

Template::~Template() = default;

std::string Template::render(const json& context) const {
    // kainjow's render is not const, but with plain data (no lambdas/partials) it only reads.
    return const_cast<mus::mustache&>(impl_->m).render(to_data(context));
}

// ---------------------------------------------------------------------------------------------
// Catalog

namespace {

const JsonSchema& pattern_schema() {
    static const JsonSchema schema = [] {
        auto text = resources::find("schemas/pattern.schema.json");
        return JsonSchema(json::parse(text.value()), "Pattern");
    }();
    return schema;
}

/// Where a block scalar starts in the file, so template errors name real file lines.
int line_of(std::string_view file_text, const std::string& key, std::size_t nth = 0) {
    std::size_t pos = 0;
    std::size_t found = 0;
    while (true) {
        std::size_t p = file_text.find(key + ":", pos);
        if (p == std::string_view::npos) return 1;
        bool at_line_start = p == 0 || file_text[p - 1] == '\n' || file_text[p - 1] == ' ' || file_text[p - 1] == '-';
        if (at_line_start && found++ == nth) {
            int line = 1;
            for (std::size_t i = 0; i < p; ++i)
                if (file_text[i] == '\n') ++line;
            return line + 1;
        }
        pos = p + 1;
    }
}

/// Values that exercise every section, used once at load to prove the template renders YAML.
json probe_context() {
    return json{{"appName", "probe"},
                {"namespace", "probe"},
                {"image", "registry.example/probe:1"},
                {"requestId", "00000000-0000-5000-8000-000000000000"},
                {"operatorId", "probe"},
                {"volumeName", "app-data"},
                {"mountPath", "/data"},
                {"sizeGi", "1"},
                {"storageClass", "sc"},
                {"nasServer", "nas.example"},
                {"nasPath", "/p"},
                {"nasCapacity", "1Gi"},
                {"s3Bucket", "b"},
                {"s3Region", "r"},
                {"s3UseExternalSecrets", true},
                {"s3SecretName", "probe-s3"},
                {"secretStore", {{"name", "s"}, {"kind", "ClusterSecretStore"}}},
                {"host", "probe.example"},
                {"ingressClass", "c"},
                {"dnsPrefix", "external-dns.alpha.kubernetes.io/"},
                {"tunnelTarget", "t.example"},
                {"cloudflareProxied", true},
                {"servicePort", "80"},
                {"containerPort", "8080"},
                {"schedule", "0 2 * * *"},
                {"retentionDays", "30"},
                {"repositorySecret", "r"},
                {"repositoryKey", "k"},
                {"snapshotClass", "s"},
                {"cacheCapacity", "1Gi"},
                {"claimName", "probe-data"}};
}

}  // namespace

std::map<std::string, std::shared_ptr<const Pattern>>& Catalog::table(PatternKind k) {
    return k == PatternKind::storage ? storage_ : k == PatternKind::ingress ? ingress_ : backup_;
}
const std::map<std::string, std::shared_ptr<const Pattern>>& Catalog::table(PatternKind k) const {
    return k == PatternKind::storage ? storage_ : k == PatternKind::ingress ? ingress_ : backup_;
}

Diagnostics Catalog::add(const std::string& source_name, std::string_view text) {
    Diagnostics out;
    auto fail = [&](std::string code, std::string message) {
        out.push_back(Diagnostic{"", std::move(code), std::move(message), Severity::error});
        return out;
    };
    auto doc = parse_document(text);
    if (!doc.ok()) {
        for (auto& d : doc.diagnostics) {
            d.message = source_name + ": " + d.message;
            out.push_back(d);
        }
        return out;
    }
    for (auto d : pattern_schema().validate(*doc.value)) {
        d.message = source_name + ": " + d.path + ": " + d.message;
        d.code = "pattern." + d.code;
        out.push_back(d);
    }
    if (!out.empty()) return out;
    const json& j = *doc.value;
    auto p = std::make_shared<Pattern>();
    std::string kind = j["kind"].get<std::string>();
    p->kind = kind == "storage" ? PatternKind::storage : kind == "ingress" ? PatternKind::ingress : PatternKind::backup;
    p->id = j["id"].get<std::string>();
    p->name = j["name"].get<std::string>();
    p->description = j["description"].get<std::string>();
    p->requiredFields = j.value("requiredFields", std::vector<std::string>{});
    p->persistent = j.value("persistent", false);
    p->is_public = j.value("public", false);
    p->volumeName = j.value("volumeName", std::string());
    p->source = source_name;
    p->document = j;
    std::string errors;
    auto compile = [&](const std::string& body, const std::string& key, std::size_t nth,
                       bool list) -> std::shared_ptr<const Template> {
        auto t = std::make_shared<const Template>(source_name, body, line_of(text, key, nth));
        if (!t->error().empty()) {
            errors += (errors.empty() ? "" : "; ") + t->error();
            return t;
        }
        // Prove once, at load, that the template renders one YAML document of the right shape.
        auto probe = parse_documents(t->render(probe_context()), ParseLimits{1u << 20, 64, 200000, 1});
        if (!probe.ok() || probe.value->size() != 1) {
            std::string why = probe.diagnostics.empty() ? "renders no YAML document" : probe.diagnostics.front().message;
            errors += (errors.empty() ? "" : "; ") + source_name + ":" + std::to_string(line_of(text, key, nth)) +
                      ": template does not render valid YAML: " + why;
        } else if (list != probe.value->front().is_array()) {
            errors += (errors.empty() ? "" : "; ") + source_name + ":" + std::to_string(line_of(text, key, nth)) +
                      ": template must render a YAML " + (list ? "list" : "mapping");
        }
        return t;
    };
    if (j.contains("volume")) p->volume = compile(j["volume"].get<std::string>(), "volume", 0, false);
    if (j.contains("env")) p->env = compile(j["env"].get<std::string>(), "env", 0, true);
    if (j.contains("manifests")) {
        std::size_t n = 0;
        for (const auto& m : j["manifests"])
            p->manifests.push_back(PatternManifest{m["file"].get<std::string>(),
                                                   compile(m["template"].get<std::string>(), "template", n++, false)});
    }
    if (p->kind == PatternKind::storage && (!p->volume || p->volumeName.empty()))
        return fail("pattern.storage.volume", source_name + ": a storage pattern needs 'volumeName' and 'volume'");
    if (!errors.empty()) return fail("pattern.template", errors);
    table(p->kind)[p->id] = std::move(p);
    return out;
}

Result<Catalog> Catalog::builtin() {
    Result<Catalog> out;
    Catalog c;
    for (const auto& path : resources::list("libappforge/patterns/")) {
        auto more = c.add(path, *resources::find(path));
        out.diagnostics.insert(out.diagnostics.end(), more.begin(), more.end());
    }
    if (!has_errors(out.diagnostics)) out.value = std::move(c);
    return out;
}

Diagnostics Catalog::load_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    Diagnostics out;
    Catalog staged = *this;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        out.push_back(Diagnostic{"", "pattern.dir", "patterns directory '" + dir + "' does not exist", Severity::error});
        return out;
    }
    std::vector<fs::path> files;
    for (const char* kind : {"storage", "ingress", "backup"}) {
        fs::path sub = fs::path(dir) / kind;
        if (!fs::is_directory(sub, ec)) continue;
        for (const auto& e : fs::directory_iterator(sub, ec))
            if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        auto more = staged.add(f.string(), ss.str());
        if (more.empty()) {
            // The file name is the id: a mismatch would make overrides silently miss.
            std::string stem = f.stem().string();
            std::string kind = f.parent_path().filename().string();
            PatternKind k = kind == "storage" ? PatternKind::storage
                            : kind == "ingress" ? PatternKind::ingress : PatternKind::backup;
            if (!staged.find(k, stem))
                more.push_back(Diagnostic{"", "pattern.file_name",
                                          f.string() + ": file name must be '<id>.yaml' and the folder its kind",
                                          Severity::error});
        }
        out.insert(out.end(), more.begin(), more.end());
    }
    if (!has_errors(out)) *this = std::move(staged);
    return out;
}

const Pattern* Catalog::find(PatternKind kind, const std::string& id) const {
    const auto& t = table(kind);
    auto it = t.find(id);
    return it == t.end() ? nullptr : it->second.get();
}

std::vector<std::string> Catalog::ids(PatternKind kind) const {
    std::vector<std::string> out;
    for (const auto& kv : table(kind)) out.push_back(kv.first);
    return out;
}

std::vector<const Pattern*> Catalog::patterns(PatternKind kind) const {
    std::vector<const Pattern*> out;
    for (const auto& kv : table(kind)) out.push_back(kv.second.get());
    return out;
}

}  // namespace appforge
