#include "appforge/catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kainjow/mustache.hpp>

#include "appforge/document.hpp"
#include "appforge/resources.hpp"
#include "appforge/schema.hpp"

namespace appforge {

using nlohmann::json;
namespace mus = kainjow::mustache;

namespace {
constexpr const char* kKindNames[] = {"storage", "ingress", "backup", "workload"};
}  // namespace

const std::vector<PatternKind>& pattern_kinds() {
    static const std::vector<PatternKind> kinds{PatternKind::storage, PatternKind::ingress, PatternKind::backup,
                                                PatternKind::workload};
    return kinds;
}

const char* to_string(PatternKind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<PatternKind> pattern_kind_from_string(std::string_view s) {
    for (PatternKind k : pattern_kinds())
        if (s == to_string(k)) return k;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Template

namespace {

/// A template rendered once for one shape of context, with marker values, and parsed.
struct Skeleton {
    bool fast = false;       ///< false: contexts of this shape always take the slow path
    std::vector<json> docs;  ///< strings hold markers where the values go
};

}  // namespace

struct Template::Impl {
    explicit Impl(const std::string& text) : m(text) {}
    mus::mustache m;
    bool fast_ok = false;  ///< the template text cannot be confused with the markers
    /// Top-level context names the template's tags start with: only these shape its output, so
    /// a list this template never reads does not multiply its skeletons.
    std::set<std::string, std::less<>> referenced;
    std::mutex mu;         ///< guards skeletons
    std::unordered_map<std::string, std::shared_ptr<const Skeleton>> skeletons;  ///< by context shape
};

namespace {

/// Variables holding integers the rules layer has already range-checked; only these may stand
/// outside double quotes, where YAML reads them as numbers.
const std::set<std::string>& numeric_variables() {
    static const std::set<std::string> names{"sizeGi", "retentionDays", "servicePort", "containerPort", "port"};
    return names;
}

/// A '"' starts a double-quoted scalar only where a scalar starts (line start, after ": ", "- ",
/// "[", "{" or ","); inside a plain scalar such as 8"{{x}}" it is a literal quote and the escape
/// does not apply there: a value with ": " then broke the YAML (found by fuzzing).
bool opens_scalar(const std::string& text, std::size_t i) {
    std::size_t j = i;
    while (j > 0 && (text[j - 1] == ' ' || text[j - 1] == '\t')) --j;
    if (j == 0 || text[j - 1] == '\n') return true;
    char p = text[j - 1];
    if (p == '[' || p == '{' || p == ',') return true;
    if (j == i) return false;  // an indicator must be followed by a space
    if (p == ':') return true;
    // "-" and "?" are indicators only at a node start, not inside a plain scalar ("na--- ").
    return (p == '-' || p == '?') && (j == 1 || text[j - 2] == ' ' || text[j - 2] == '\n');
}

/// One mustache tag as kainjow reads it with the default delimiters: "{{{" opens an unescaped
/// tag closed by "}}}", anything else is closed by the next "}}", and the contents are trimmed of
/// every isspace() character before the sigil is read. The safety checks classify tags through
/// this one reader, so "{{ &x}}", "{{\t>x}}" or "{{\n=<% %>=}}" look to them as they look to kainjow.
struct MustacheTag {
    std::size_t begin = 0;  ///< offset of "{{"
    std::size_t end = 0;    ///< offset just past the closing delimiter
    bool triple = false;    ///< {{{x}}}: always unescaped
    std::string contents;   ///< trimmed like kainjow does
};

bool is_mustache_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/// The next tag at or after from; false when there is none or it is unclosed (kainjow reports that).
bool next_tag(const std::string& text, std::size_t from, MustacheTag& t) {
    std::size_t i = text.find("{{", from);
    if (i == std::string::npos) return false;
    t.begin = i;
    std::size_t c = i + 2;
    t.triple = c < text.size() && text[c] == '{';
    if (t.triple) ++c;
    std::size_t close = text.find(t.triple ? "}}}" : "}}", c);
    if (close == std::string::npos) return false;
    t.end = close + (t.triple ? 3 : 2);
    std::size_t a = c, b = close;
    while (a < b && is_mustache_space(text[a])) ++a;
    while (b > a && is_mustache_space(text[b - 1])) --b;
    t.contents = text.substr(a, b - a);
    return true;
}

/// Why a tag may not appear in a pattern at all (empty: it may): unescaped values skip the YAML
/// escape, partials and delimiter changes hide text from these checks.
std::string forbidden_tag(const MustacheTag& t) {
    char sigil = t.contents.empty() ? ' ' : t.contents[0];
    if (t.triple || sigil == '&')
        return "unescaped tag {{" + std::string(t.triple ? "{" : "") + t.contents + (t.triple ? "}" : "") +
               "}} is not allowed: every value must go through the YAML escape";
    if (sigil == '=' || sigil == '>')
        return "tag {{" + t.contents + "}} is not allowed in patterns (no partials or delimiter changes)";
    return {};
}

/// Every value tag must sit inside a double-quoted YAML scalar, the context the escape is for.
std::string lint_template(const std::string& text, const std::string& source, int first_line) {
    // Forbidden tags first, over the whole text: whatever this lexer makes of the YAML around them
    // (a comment, a string), kainjow expands them all.
    {
        int tag_line = first_line;
        std::size_t counted = 0;
        MustacheTag tag;
        for (std::size_t i = 0; next_tag(text, i, tag); i = tag.end) {
            tag_line += static_cast<int>(std::count(text.begin() + counted, text.begin() + tag.begin, '\n'));
            counted = tag.begin;
            if (auto why = forbidden_tag(tag); !why.empty()) return source + ":" + std::to_string(tag_line) + ": " + why;
        }
    }
    int line = first_line;
    bool in_double = false;
    bool in_single = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n') {
            ++line;  // quoted scalars of both kinds may span lines: they stay open until their closing quote
            continue;
        }
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            MustacheTag tag;
            if (!next_tag(text, i, tag)) break;  // the mustache parser reports it
            std::string where = source + ":" + std::to_string(line) + ": ";
            if (auto why = forbidden_tag(tag); !why.empty()) return where + why;
            char sigil = tag.contents.empty() ? ' ' : tag.contents[0];
            if (sigil != '#' && sigil != '^' && sigil != '/' && sigil != '!') {
                const std::string& name = tag.contents;
                if (in_single)
                    return where + "{{" + name + "}} is inside single quotes; use double quotes";
                if (!in_double && numeric_variables().count(name) == 0)
                    return where + "{{" + name + "}} must be inside a double-quoted YAML string (\"...\") so the escape applies";
            }
            for (std::size_t k = tag.begin; k < tag.end; ++k)
                if (text[k] == '\n') ++line;
            i = tag.end - 1;
            continue;
        }
        if (in_double) {
            if (c == '\\') ++i;
            else if (c == '"') in_double = false;
        } else if (in_single) {
            if (c == '\'') in_single = false;
        } else if (c == '"' && opens_scalar(text, i)) {
            in_double = true;
        } else if (c == '\'' && opens_scalar(text, i)) {
            // Only where a scalar starts: in "a:'b" or "it's" the quote is part of a plain scalar.
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

namespace {

/// kainjow copies every section's inner text into the section, so nesting costs depth x size:
/// 20k nested sections took 2 GB before the parser finished (hostile-corpus finding). Patterns need
/// a few levels; the scan runs before kainjow sees the text. Delimiter changes would hide tags
/// from the scan (and the lint forbids them anyway).
std::string section_nesting_problem(const std::string& text) {
    constexpr int kMaxDepth = 16;
    int depth = 0;
    MustacheTag t;
    for (std::size_t i = 0; next_tag(text, i, t); i = t.end) {
        char sigil = t.contents.empty() ? ' ' : t.contents[0];
        if (sigil == '=') return "delimiter changes ({{=...=}}) are not allowed in patterns";
        if (sigil == '#' || sigil == '^') {
            if (++depth > kMaxDepth)
                return "sections nest deeper than " + std::to_string(kMaxDepth) + " levels";
        } else if (sigil == '/' && depth > 0) {
            --depth;
        }
    }
    return {};
}

}  // namespace

Template::Template(std::string source_name, std::string text, int first_line) : text_(std::move(text)) {
    if (auto why = section_nesting_problem(text_); !why.empty()) {
        impl_.reset(new Impl(std::string()));
        error_ = source_name + ":" + std::to_string(first_line) + ": template does not parse: " + why;
        return;
    }
    impl_.reset(new Impl(text_));
    if (!impl_->m.is_valid()) {
        error_ = source_name + ":" + std::to_string(first_line) + ": template does not parse: " + impl_->m.error_message();
        return;
    }
    impl_->m.set_custom_escape([](const std::string& s) { return yaml_double_quoted_body(s); });
    error_ = lint_template(text_, source_name, first_line);
    impl_->fast_ok = error_.empty() && text_.find_first_of("\\\x01\x02") == std::string::npos;
    MustacheTag tag;
    for (std::size_t i = 0; next_tag(text_, i, tag); i = tag.end) {
        std::string_view name = tag.contents;
        if (!name.empty() && (name[0] == '#' || name[0] == '^' || name[0] == '/' || name[0] == '!')) name.remove_prefix(1);
        while (!name.empty() && is_mustache_space(name.front())) name.remove_prefix(1);
        impl_->referenced.emplace(name.substr(0, name.find('.')));
    }
}

Template::~Template() = default;

std::string Template::render(const json& context) const {
    // kainjow's render is not const, but with plain data (no lambdas/partials) it only reads.
    return const_cast<mus::mustache&>(impl_->m).render(to_data(context));
}

// The fast path. A marker "\x01<path>\x02" stands for a context value. The YAML escape turns
// the marker bytes into the text \x01 ... \x02; inside a double-quoted scalar YAML turns that
// back into the bytes, anywhere else (plain scalars: the numeric variables) it stays text. So
// after parsing, a byte marker is a quoted slot and a text marker is a plain slot. Values are
// limited to printable ASCII (quoted) and digits (plain), where escape + parse is the identity
// and YAML reads digits as an unsigned integer; each shape is also proven against the slow path
// once before it is used.
namespace {

constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';
constexpr std::size_t kMaxFastValue = 1024;
constexpr std::size_t kMaxSkeletons = 256;
const std::string kOpenText = "\\x01";
const std::string kCloseText = "\\x02";

/// Appends the shape of a context (keys, types, truthiness, list lengths) to sig and, when
/// shadow is given, builds the marker context; false when a key or value is outside what the
/// fast path handles. At the top level (names given) only the names the template reads count.
bool context_shape(const json& v, std::string& path, std::string& sig, json* shadow,
                   const std::set<std::string, std::less<>>* names = nullptr) {
    switch (v.type()) {
        case json::value_t::object: {
            sig += '{';
            if (shadow) *shadow = json::object();
            for (auto it = v.begin(); it != v.end(); ++it) {
                const std::string& k = it.key();
                if (names && names->count(k) == 0) continue;
                if (k.empty()) return false;
                for (char c : k)
                    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
                std::size_t mark = path.size();
                if (!path.empty()) path += '.';
                path += k;
                sig += k;
                sig += ':';
                bool ok = context_shape(*it, path, sig, shadow ? &(*shadow)[k] : nullptr);
                path.resize(mark);
                if (!ok) return false;
            }
            sig += '}';
            return true;
        }
        case json::value_t::string:  // the alphabet is checked where a value is substituted
            if (v.get_ref<const std::string&>().size() > kMaxFastValue) return false;
            sig += 's';
            break;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: sig += 'n'; break;
        case json::value_t::boolean: sig += v.get<bool>() ? 't' : 'f'; return shadow ? (*shadow = v, true) : true;
        case json::value_t::null: sig += 'z'; return shadow ? (*shadow = v, true) : true;
        case json::value_t::array: {
            // Sections iterate lists: each length is its own shape, items are addressed by index.
            sig += '[';
            sig += std::to_string(v.size());
            if (shadow) *shadow = json::array();
            for (std::size_t i = 0; i < v.size(); ++i) {
                std::size_t mark = path.size();
                path += '.';
                path += std::to_string(i);
                json* item = nullptr;
                if (shadow) {
                    shadow->push_back(json());
                    item = &shadow->back();
                }
                bool ok = context_shape(v[i], path, sig, item);
                path.resize(mark);
                if (!ok) return false;
            }
            sig += ']';
            return true;
        }
        default: return false;  // floats print in many ways
    }
    if (shadow) *shadow = std::string(1, kOpen) + path + kClose;
    sig += ',';
    return true;
}

/// The text mustache substitutes for the value at a dotted path (strings as is, integers dumped).
const json* value_at(const json& ctx, std::string_view path) {
    const json* cur = &ctx;
    while (true) {
        std::size_t dot = path.find('.');
        std::string_view k = path.substr(0, dot);
        if (cur->is_array()) {
            std::size_t i = 0;
            for (char c : k) i = i * 10 + static_cast<std::size_t>(c - '0');  // context_shape wrote it
            if (k.empty() || i >= cur->size()) return nullptr;
            cur = &(*cur)[i];
        } else {
            if (!cur->is_object()) return nullptr;
            auto it = cur->find(std::string(k));
            if (it == cur->end()) return nullptr;
            cur = &*it;
        }
        if (dot == std::string_view::npos) return cur;
        path.remove_prefix(dot + 1);
    }
}

bool value_text(const json& ctx, std::string_view path, std::string& out) {
    const json* v = value_at(ctx, path);
    if (!v) return false;
    if (v->is_string()) {
        // Printable ASCII only: there the YAML escape followed by parsing is the identity.
        const std::string& s = v->get_ref<const std::string&>();
        for (char c : s)
            if (c < 0x20 || c > 0x7e) return false;
        out += s;
    } else if (v->is_number_integer()) {
        out += v->dump();
    } else {
        return false;
    }
    return true;
}

/// One skeleton string with its values filled in; false when the result is not provably what
/// parsing the rendered text would give.
bool fill_string(const std::string& s, const json& ctx, json& out) {
    if (s.find(kOpenText) != std::string::npos) {
        // A plain slot: only a whole scalar holding one numeric value.
        if (s.size() < 8 || s.compare(0, 4, kOpenText) != 0 || s.compare(s.size() - 4, 4, kCloseText) != 0) return false;
        std::string digits;
        if (!value_text(ctx, std::string_view(s).substr(4, s.size() - 8), digits)) return false;
        if (digits.empty() || digits.size() > 18) return false;
        for (char c : digits)
            if (c < '0' || c > '9') return false;
        out = static_cast<std::uint64_t>(std::strtoull(digits.c_str(), nullptr, 10));
        return true;
    }
    if (s.find(kOpen) == std::string::npos) {
        out = s;
        return true;
    }
    std::string r;
    r.reserve(s.size() + 32);
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t a = s.find(kOpen, i);
        if (a == std::string::npos) {
            r.append(s, i, std::string::npos);
            break;
        }
        std::size_t b = s.find(kClose, a + 1);
        if (b == std::string::npos) return false;
        r.append(s, i, a - i);
        if (!value_text(ctx, std::string_view(s).substr(a + 1, b - a - 1), r)) return false;
        i = b + 1;
    }
    out = std::move(r);
    return true;
}

bool fill(const json& skel, const json& ctx, json& out) {
    switch (skel.type()) {
        case json::value_t::string: return fill_string(skel.get_ref<const std::string&>(), ctx, out);
        case json::value_t::array: {
            out = json::array();
            out.get_ref<json::array_t&>().reserve(skel.size());
            for (const auto& e : skel) {
                json v;
                if (!fill(e, ctx, v)) return false;
                out.push_back(std::move(v));
            }
            return true;
        }
        case json::value_t::object: {
            out = json::object();
            for (auto it = skel.begin(); it != skel.end(); ++it) {
                json key;
                if (!fill_string(it.key(), ctx, key) || !key.is_string()) return false;
                // YAML caps implicit keys at 1024 characters: long ones get the parser's verdict.
                if (key.get_ref<const std::string&>().size() > 256) return false;
                json v;
                if (!fill(*it, ctx, v)) return false;
                // Two keys that only differ by their values: the slow path reports the duplicate.
                if (!out.emplace(std::move(key.get_ref<std::string&>()), std::move(v)).second) return false;
            }
            return true;
        }
        default: out = skel; return true;
    }
}

bool fill_all(const std::vector<json>& docs, const json& ctx, std::vector<json>& out) {
    out.clear();
    out.reserve(docs.size());
    for (const auto& d : docs) {
        json v;
        if (!fill(d, ctx, v)) return false;
        out.push_back(std::move(v));
    }
    return true;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

Result<std::vector<json>> Template::render_documents(const json& context, const ParseLimits& limits) const {
    std::string sig;
    std::string path;
    if (!impl_->fast_ok || !context.is_object() || !context_shape(context, path, sig, nullptr, &impl_->referenced))
        return parse_documents(render(context), limits);
    sig += '|' + std::to_string(limits.max_bytes) + ',' + std::to_string(limits.max_depth) + ',' +
           std::to_string(limits.max_nodes) + ',' + std::to_string(limits.max_documents);
    std::shared_ptr<const Skeleton> sk;
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        auto it = impl_->skeletons.find(sig);
        if (it != impl_->skeletons.end()) sk = it->second;
    }
    if (!sk) {
        auto built = std::make_shared<Skeleton>();
        json shadow;
        path.clear();
        std::string ignored;
        context_shape(context, path, ignored, &shadow, &impl_->referenced);
        std::string text = render(shadow);
        auto parsed = parse_documents(text, limits);
        // Escaped values are at most twice their length: stay far inside the size limit.
        std::size_t slots = count_of(text, kOpenText);
        if (parsed.ok() && text.size() + slots * 2 * kMaxFastValue <= limits.max_bytes) {
            built->docs = std::move(*parsed.value);
            auto slow = parse_documents(render(context), limits);
            std::vector<json> mine;
            // A value outside the alphabet says nothing about the shape: answer slowly, cache nothing.
            if (!fill_all(built->docs, context, mine)) return slow;
            built->fast = slow.ok() && mine == *slow.value;
        }
        sk = built;
        std::lock_guard<std::mutex> lock(impl_->mu);
        if (impl_->skeletons.size() < kMaxSkeletons) impl_->skeletons.emplace(sig, sk);
    }
    if (sk->fast) {
        Result<std::vector<json>> out;
        std::vector<json> docs;
        if (fill_all(sk->docs, context, docs)) {
            out.value = std::move(docs);
            return out;
        }
    }
    return parse_documents(render(context), limits);
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
                {"claimName", "probe-data"},
                {"recreate", true},
                {"ports", json::array({json{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}},
                                       json{{"name", "mqtt"}, {"port", 1883}, {"protocol", "UDP"}}})},
                {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}, {"limits", {{"cpu", "1"}, {"memory", nullptr}}}}},
                {"httpPort", "http"},
                {"extraPorts", json::array({json{{"name", "mqtt"}, {"port", 1883}, {"protocol", "UDP"}}})},
                {"hasEnv", true},
                {"env", json::array({json{{"name", "TZ"}, {"value", "UTC"}}, json{{"name", "A"}, {"value", "b"}}})},
                {"hasCommand", true},
                {"command", json::array({"/bin/app", "serve"})},
                {"hasArgs", true},
                {"args", json::array({"--port", "8080"})},
                {"liveness", {{"http", true}, {"tcp", false}, {"path", "/health"}, {"port", "http"}}},
                {"readiness", {{"http", false}, {"tcp", true}, {"path", nullptr}, {"port", "http"}}},
                {"startup", {{"http", true}, {"tcp", false}, {"path", "/"}, {"port", "mqtt"}}},
                {"hasMounts", true},
                {"mounts", json::array({json{{"name", "app-data"}, {"mountPath", "/data"}},
                                        json{{"name", "scratch"}, {"mountPath", "/tmp"}}})}};
}

}  // namespace

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
    p->kind = *pattern_kind_from_string(kind);  // the schema's kind enum is pattern_kinds() (a test holds them equal)
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
        } else if (list ? !probe.value->front().is_array() : !probe.value->front().is_object()) {
            // A scalar is neither: "apiVersion" alone once loaded as a manifest (found by fuzzing).
            errors += (errors.empty() ? "" : "; ") + source_name + ":" + std::to_string(line_of(text, key, nth)) +
                      ": template must render a YAML " + (list ? "list" : "mapping");
        }
        return t;
    };
    if (j.contains("volume")) p->volume = compile(j["volume"].get<std::string>(), "volume", 0, false);
    if (j.contains("env")) {
        p->env = compile(j["env"].get<std::string>(), "env", 0, true);
        // The names, from the load-time rendering: a request env of the same name would be a
        // duplicate entry (server-side apply refuses it; otherwise the later one wins).
        if (p->env->error().empty()) {
            auto probe = parse_documents(p->env->render(probe_context()), ParseLimits{1u << 20, 64, 200000, 1});
            if (probe.ok() && !probe.value->empty() && probe.value->front().is_array())
                for (const auto& e : probe.value->front())
                    if (e.is_object() && e.contains("name") && e["name"].is_string())
                        p->envNames.push_back(e["name"].get<std::string>());
        }
    }
    if (j.contains("manifests")) {
        std::size_t n = 0;
        for (const auto& m : j["manifests"])
            p->manifests.push_back(PatternManifest{m["file"].get<std::string>(),
                                                   compile(m["template"].get<std::string>(), "template", n++, false)});
    }
    if (p->kind == PatternKind::storage && (!p->volume || p->volumeName.empty()))
        return fail("pattern.storage.volume", source_name + ": a storage pattern needs 'volumeName' and 'volume'");
    if (!errors.empty()) return fail("pattern.template", errors);
    if (p->kind == PatternKind::workload && p->manifests.empty())
        return fail("pattern.workload.manifest", source_name + ": a workload pattern needs at least one manifest");
    if (j.contains("slots")) {
        if (p->kind != PatternKind::workload)
            return fail("pattern.slot", source_name + ": only workload patterns have slots");
        // Proven at load like the templates: the probe rendering must hold the slot's parent object.
        auto probe = p->manifests.front().tmpl->render_documents(probe_context(), ParseLimits{1u << 20, 64, 200000, 1});
        for (auto it = j["slots"].begin(); it != j["slots"].end(); ++it) {
            json::json_pointer at(it.value().get<std::string>());
            const json* parent = nullptr;
            if (probe.ok() && !probe.value->empty() && probe.value->front().contains(at.parent_pointer()))
                parent = &probe.value->front().at(at.parent_pointer());
            const json* here = parent && parent->is_object() && parent->contains(at.back()) ? &(*parent)[at.back()] : nullptr;
            if (!parent || !parent->is_object() || (here && !here->is_array() && !here->is_null()))
                return fail("pattern.slot", source_name + ": slot '" + it.key() + "' at " + at.to_string() +
                                                " is not a list under an object of the first manifest");
            p->slots.push_back(PatternSlot{it.key(), std::move(at)});
        }
    }
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

namespace {

/// A pattern file is a few kilobytes; the cap is the request limit, so a huge or endless file
/// (a 3 GB file once took 6.3 GB) costs at most this much.
constexpr std::size_t kMaxPatternFileBytes = 1u << 20;

/// Reads a regular file without following a link in its last component (the entry may have been
/// swapped for a link since it was listed) and without reading past the cap; on failure sets code
/// and returns why.
std::string read_pattern_file(const std::filesystem::path& path, std::string& text, const char*& code) {
    code = "pattern.read";
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ELOOP) return std::string("cannot be read: ") + std::strerror(errno);
        code = "pattern.symlink";
        return "is a symbolic link; pattern files must be regular files";
    }
    struct stat st {};
    std::string why;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = "is not a regular file";
    } else if (static_cast<std::uint64_t>(st.st_size) > kMaxPatternFileBytes) {
        code = "pattern.too_large";
        why = "is " + std::to_string(st.st_size) + " bytes; the limit is " + std::to_string(kMaxPatternFileBytes) + " bytes";
    } else {
        // Read to the cap plus one byte whatever fstat said: the file may grow while it is read.
        text.clear();
        char buf[65536];
        while (why.empty()) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) why = std::string("cannot be read: ") + std::strerror(errno);
            if (n <= 0) break;
            text.append(buf, static_cast<std::size_t>(n));
            if (text.size() > kMaxPatternFileBytes) code = "pattern.too_large";
            if (text.size() > kMaxPatternFileBytes)
                why = "is larger than the limit of " + std::to_string(kMaxPatternFileBytes) + " bytes";
        }
    }
    ::close(fd);
    return why;
}

}  // namespace

Diagnostics Catalog::load_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    Diagnostics out;
    Catalog staged = *this;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        out.push_back(Diagnostic{"", "pattern.dir", "patterns directory '" + dir + "' does not exist", Severity::error});
        return out;
    }
    auto refuse = [&](const fs::path& p, const char* code, const std::string& why) {
        out.push_back(Diagnostic{"", code, p.string() + ": " + why, Severity::error});
    };
    // The folder named on the command line is the caller's choice; links below it are not: a
    // link could pull files from anywhere into the catalog.
    std::vector<fs::path> files;
    for (PatternKind k : pattern_kinds()) {
        fs::path sub = fs::path(dir) / to_string(k);
        auto st = fs::symlink_status(sub, ec);
        if (ec || st.type() == fs::file_type::not_found) continue;
        if (st.type() == fs::file_type::symlink) {
            refuse(sub, "pattern.symlink", "is a symbolic link; pattern folders must be real folders");
            continue;
        }
        if (st.type() != fs::file_type::directory) continue;
        for (const auto& e : fs::directory_iterator(sub, ec)) {
            if (e.path().extension() != ".yaml") continue;
            auto est = e.symlink_status(ec);
            if (est.type() == fs::file_type::symlink)
                refuse(e.path(), "pattern.symlink", "is a symbolic link; pattern files must be regular files");
            else if (est.type() == fs::file_type::directory)
                continue;
            else
                files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::string text;
        const char* code = nullptr;
        if (auto why = read_pattern_file(f, text, code); !why.empty()) {
            refuse(f, code, why);
            continue;
        }
        auto more = staged.add(f.string(), text);
        if (more.empty()) {
            // The file name is the id: a mismatch would make overrides silently miss.
            std::string stem = f.stem().string();
            auto k = pattern_kind_from_string(f.parent_path().filename().string());
            if (!k || !staged.find(*k, stem))
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
