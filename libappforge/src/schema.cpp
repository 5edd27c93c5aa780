#include "appforge/schema.hpp"

#include "schema_shapes.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <unordered_map>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace appforge {

using nlohmann::json;

namespace {

/// The `pattern` keywords of a schema, as a tree pruned to the branches that hold one.
struct PatternNode {
    std::optional<std::string> pattern;
    std::string memo_prefix;  // identifies this node's pattern in the per-thread memo
    std::vector<std::pair<std::string, std::unique_ptr<PatternNode>>> properties;
    std::set<std::string> declared;  // every name under "properties" (additionalProperties skips them)
    std::unique_ptr<PatternNode> additional;
    std::unique_ptr<PatternNode> items;
    std::vector<std::unique_ptr<PatternNode>> tuple;
    std::vector<std::unique_ptr<PatternNode>> branches;  // allOf / anyOf / oneOf / not
};

}  // namespace

struct JsonSchema::Impl {
    json document;
    valijson::Schema schema;  // with the fast path, parsed on the first failure (see full())
    std::once_flag full_once;
    std::uint64_t serial = 0;
    // Fast path for schemas with `pattern`s (CRDs): valijson runs std::regex on every value on
    // every request. When `fast` is set, `stripped` is the schema without its patterns and
    // `patterns` checks them with per-thread memoized results; any failure of either falls back
    // to the full schema, so diagnostics are valijson's own.
    bool fast = false;
    valijson::Schema stripped;
    std::unique_ptr<PatternNode> patterns;
    json stripped_document;  // what `stripped` was parsed from (the shapes are slimmed from it)

    // Documents of a key structure already found valid are checked only where they differ.
    std::unique_ptr<detail::ShapeCache> shapes;

    /// The schema the shapes are slimmed from: patterns stripped when the pattern path applies.
    const json& base() const { return fast ? stripped_document : document; }

    /// True when `document` is valid, by the quickest schema that gives the full schema's verdict;
    /// false means "run the full schema for diagnostics", not necessarily invalid.
    bool quick_validate(valijson::Validator& validator, const json& document,
                        const valijson::adapters::NlohmannJsonAdapter& target, const std::string& title);

    /// The schema with its patterns, parsed once on first need.
    const valijson::Schema& full(const std::string& title) {
        std::call_once(full_once, [&] {
            try {
                valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
                valijson::adapters::NlohmannJsonAdapter adapter(document);
                parser.populateSchema(adapter, schema);
            } catch (const std::exception& e) {
                throw std::runtime_error("schema " + title + " does not compile: " + e.what());
            }
        });
        return schema;
    }
};

namespace {
std::atomic<std::uint64_t> next_serial{1};

/// valijson's Validator caches compiled regexes in mutable state: one per schema per thread
/// keeps validation lock-free and pays regex compilation once (350 us -> 35 us per Deployment).
valijson::Validator& thread_validator(std::uint64_t serial) {
    thread_local std::unordered_map<std::uint64_t, std::unique_ptr<valijson::Validator>> cache;
    auto it = cache.find(serial);
    if (it != cache.end()) return *it->second;
    if (cache.size() > 512) cache.clear();  // engines come and go in long-lived processes
    auto v = std::make_unique<valijson::Validator>(valijson::Validator::kStrongTypes);
    return *cache.emplace(serial, std::move(v)).first->second;
}

std::atomic<std::uint64_t> next_regex{1};

/// A quick scan (no allocation) so that schemas without any `pattern` skip the copy and the walk.
bool mentions_pattern(const json& v) {
    if (v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it)
            if (it.key() == "pattern" || mentions_pattern(*it)) return true;
    } else if (v.is_array()) {
        for (const auto& e : v)
            if (mentions_pattern(e)) return true;
    }
    return false;
}

/// Builds the pattern tree of one schema node of the stripped copy, erasing its `pattern`s on the
/// way. Clears `supported` on any keyword that could reach a subschema by a way the tree does not
/// follow, since then stripping could change the verdict.
std::unique_ptr<PatternNode> compile_patterns(json& node, bool& supported) {
    if (!node.is_object()) return nullptr;
    static const char* const unsupported[] = {"$ref", "patternProperties", "additionalItems", "contains",
                                              "propertyNames", "dependencies", "if", "then", "else"};
    for (const char* k : unsupported)
        if (node.contains(k)) supported = false;
    std::unique_ptr<PatternNode> n;
    auto get = [&]() -> PatternNode& {
        if (!n) n = std::make_unique<PatternNode>();
        return *n;
    };
    auto p = node.find("pattern");
    if (p != node.end()) {
        if (!p->is_string()) {
            supported = false;
            return nullptr;
        }
        get().pattern = p->get<std::string>();  // compiled on first use, as valijson does
        std::uint64_t id = next_regex.fetch_add(1);
        n->memo_prefix.assign(reinterpret_cast<const char*>(&id), sizeof id);
        node.erase(p);
    }
    auto props = node.find("properties");
    if (props != node.end() && props->is_object())
        for (auto it = props->begin(); it != props->end(); ++it)
            if (auto c = compile_patterns(*it, supported)) get().properties.emplace_back(it.key(), std::move(c));
    auto add = node.find("additionalProperties");
    if (add != node.end())
        if (auto c = compile_patterns(*add, supported)) {
            get().additional = std::move(c);
            if (props != node.end() && props->is_object())
                for (auto it = props->begin(); it != props->end(); ++it) n->declared.insert(it.key());
        }
    auto items = node.find("items");
    if (items != node.end()) {
        if (items->is_array()) {
            std::vector<std::unique_ptr<PatternNode>> tuple;
            bool any = false;
            for (auto& e : *items) {
                tuple.push_back(compile_patterns(e, supported));
                any = any || tuple.back();
            }
            if (any) get().tuple = std::move(tuple);
        } else if (auto c = compile_patterns(*items, supported)) {
            get().items = std::move(c);
        }
    }
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
        auto b = node.find(k);
        if (b == node.end() || !b->is_array()) continue;
        for (auto& e : *b)
            if (auto c = compile_patterns(e, supported)) get().branches.push_back(std::move(c));
    }
    auto nt = node.find("not");
    if (nt != node.end())
        if (auto c = compile_patterns(*nt, supported)) get().branches.push_back(std::move(c));
    return n;
}

/// True when every `pattern` valijson could apply to `doc` matches, so the stripped schema gives
/// the full schema's verdict. Values repeat across requests ("Snapshot", "1Gi", "0 2 * * *"):
/// each (pattern, value) result is memoized per thread.
bool patterns_match(const PatternNode& n, const json& doc) {
    if (n.pattern && doc.is_string()) {
        thread_local std::unordered_map<std::string, bool> memo;
        const std::string& value = doc.get_ref<const std::string&>();
        std::string key = n.memo_prefix;
        key += value;
        auto it = memo.find(key);
        if (it == memo.end()) {
            if (memo.size() >= 4096) memo.clear();
            // The same engine and flags as valijson; compiling every CRD pattern up front would
            // cost more than Engine creation itself.
            thread_local std::unordered_map<std::string, std::regex> compiled;
            auto re = compiled.find(*n.pattern);
            if (re == compiled.end()) {
                if (compiled.size() >= 256) compiled.clear();  // engines come and go in long-lived processes
                re = compiled.emplace(*n.pattern, std::regex(*n.pattern)).first;
            }
            it = memo.emplace(std::move(key), std::regex_search(value, re->second)).first;
        }
        if (!it->second) return false;
    }
    if (doc.is_object()) {
        for (const auto& p : n.properties) {
            auto it = doc.find(p.first);
            if (it != doc.end() && !patterns_match(*p.second, *it)) return false;
        }
        if (n.additional)
            for (auto it = doc.begin(); it != doc.end(); ++it)
                if (!n.declared.count(it.key()) && !patterns_match(*n.additional, *it)) return false;
    }
    if (doc.is_array()) {
        for (std::size_t i = 0; i < doc.size(); ++i) {
            const PatternNode* c = n.items.get();
            if (!n.tuple.empty()) c = i < n.tuple.size() ? n.tuple[i].get() : nullptr;
            if (c && !patterns_match(*c, doc[i])) return false;
        }
    }
    for (const auto& b : n.branches)
        if (!patterns_match(*b, doc)) return false;
    return true;
}

}  // namespace

bool JsonSchema::Impl::quick_validate(valijson::Validator& validator, const json& doc,
                                      const valijson::adapters::NlohmannJsonAdapter& target, const std::string& title) {
    if (fast && !patterns_match(*patterns, doc)) return false;
    const auto probe = shapes->probe(validator, doc);
    if (probe.proven) return true;
    if (!validator.validate(fast ? stripped : full(title), target, nullptr)) return false;
    shapes->remember_valid(probe, doc);
    return true;
}

JsonSchema::JsonSchema(const json& schema_document, std::string title) : impl_(new Impl), title_(std::move(title)) {
    impl_->document = schema_document;
    impl_->serial = next_serial.fetch_add(1);
    try {
        json stripped = mentions_pattern(impl_->document) ? impl_->document : json();
        bool supported = true;
        impl_->patterns = compile_patterns(stripped, supported);
        if (supported && impl_->patterns) {
            valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
            valijson::adapters::NlohmannJsonAdapter adapter(stripped);
            parser.populateSchema(adapter, impl_->stripped);
            impl_->fast = true;
            impl_->stripped_document = std::move(stripped);
        }
    } catch (const std::exception&) {
        impl_->fast = false;  // an odd schema: the full parse below reports what is wrong
    }
    // Valid documents never need the full schema when the fast path applies: parsing the large
    // CRDs twice would double Engine creation. Everything else compiles it now, as before.
    if (!impl_->fast) impl_->full(title_);
    impl_->shapes = std::make_unique<detail::ShapeCache>(impl_->base());
}

JsonSchema::~JsonSchema() = default;

namespace {

/// valijson names each step "[key]" or "[index]" after a "<root>" element.
std::vector<std::string> context_tokens(const std::vector<std::string>& context) {
    std::vector<std::string> out;
    for (const auto& c : context) {
        if (c == "<root>") continue;
        if (c.size() >= 2 && c.front() == '[' && c.back() == ']') out.push_back(c.substr(1, c.size() - 2));
        else out.push_back(c);
    }
    return out;
}

std::string to_pointer(const std::string& prefix, const std::vector<std::string>& tokens) {
    std::string p = prefix;
    for (const auto& t : tokens) p += "/" + pointer_token(t);
    return p;
}

/// Follows "properties"/"items"/"$ref" in the schema to find what type a field was meant to have.
const json* schema_at(const json& root, const json& doc, const std::vector<std::string>& tokens) {
    const json* s = &root;
    const json* d = &doc;
    auto deref = [&](const json* node) -> const json* {
        for (int guard = 0; guard < 16 && node->is_object() && node->contains("$ref"); ++guard) {
            std::string ref = (*node)["$ref"].get<std::string>();
            if (ref.rfind("#", 0) != 0) return node;
            try {
                node = &root.at(json::json_pointer(ref.substr(1)));
            } catch (...) {
                return node;
            }
        }
        return node;
    };
    // The schema of property `t`: declared by `s` itself or, since allOf branches always apply, by
    // one of its allOf branches (app-template's values schema wraps most objects so), else the
    // additionalProperties schema.
    std::function<const json*(const json*, const std::string&, int)> declaring =
        [&](const json* node, const std::string& t, int depth) -> const json* {
        node = deref(node);
        if (!node->is_object() || depth > 8) return nullptr;
        auto props = node->find("properties");
        if (props != node->end() && props->is_object() && props->contains(t)) return &(*props)[t];
        auto all = node->find("allOf");
        if (all != node->end() && all->is_array())
            for (const auto& b : *all)
                if (const json* hit = declaring(&b, t, depth + 1)) return hit;
        // A map's entries (controllers.<name>, persistence.<name>) have the additionalProperties schema.
        auto extra = node->find("additionalProperties");
        if (extra != node->end() && extra->is_object()) return &*extra;
        return nullptr;
    };
    for (const auto& t : tokens) {
        s = deref(s);
        if (!s->is_object()) return nullptr;
        if (d->is_object()) {
            const json* prop = declaring(s, t, 0);
            if (prop == nullptr) return nullptr;
            s = prop;
            auto it = d->find(t);
            if (it == d->end()) return nullptr;
            d = &*it;
        } else if (d->is_array()) {
            auto items = s->find("items");
            if (items == s->end()) return nullptr;
            s = &*items;
            std::size_t idx = 0;
            try {
                idx = std::stoul(t);
            } catch (...) {
                return nullptr;
            }
            if (idx >= d->size()) return nullptr;
            d = &(*d)[idx];
        } else {
            return nullptr;
        }
    }
    return deref(s);
}

std::string type_words(const json& type) {
    auto word = [](const std::string& t) {
        if (t == "object") return std::string("an object");
        if (t == "array") return std::string("a list");
        if (t == "integer") return std::string("an integer");
        if (t == "null") return std::string("null");
        return "a " + t;
    };
    if (type.is_string()) return word(type.get<std::string>());
    std::string out;
    if (type.is_array()) {
        std::vector<std::string> words;
        for (const auto& t : type)
            if (t.is_string() && t != "null") words.push_back(word(t.get<std::string>()));
        for (std::size_t i = 0; i < words.size(); ++i) out += (i ? " or " : "") + words[i];
    }
    return out.empty() ? "another type" : out;
}

/// valijson puts the offending name in the last '...' of its message (earlier quotes name keywords).
std::string between_quotes(const std::string& s) {
    auto b = s.rfind('\'');
    if (b == std::string::npos || b == 0) return {};
    auto a = s.rfind('\'', b - 1);
    if (a == std::string::npos) return {};
    return s.substr(a + 1, b - a - 1);
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

Diagnostics JsonSchema::validate(const json& document, const std::string& pointer_prefix) const {
    Diagnostics out;
    valijson::Validator& validator = thread_validator(impl_->serial);
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(document);
    try {
        if (impl_->quick_validate(validator, document, target, title_)) return out;
    } catch (const std::exception&) {
        // the full run below reports it
    }
    try {
        if (validator.validate(impl_->full(title_), target, &results)) return out;
    } catch (const std::exception& e) {
        out.push_back(Diagnostic{pointer_prefix, "schema.internal",
                                 title_ + " schema could not be applied: " + e.what(), Severity::error});
        return out;
    }
    valijson::ValidationResults::Error err;
    std::vector<std::pair<std::string, std::string>> seen;
    while (results.popError(err)) {
        const std::string& d = err.description;
        // Wrapper errors restate a child failure already reported at a deeper path.
        if (starts_with(d, "Failed to validate")) continue;
        auto tokens = context_tokens(err.context);
        Diagnostic diag;
        diag.severity = Severity::error;
        if (starts_with(d, "Missing required property")) {
            std::string name = between_quotes(d);
            tokens.push_back(name);
            diag.code = "schema.required";
            diag.message = "required field '" + name + "' is missing";
        } else if (starts_with(d, "Object contains a property that could not be validated")) {
            // valijson names only the first unknown key of an object: list every one of them.
            std::vector<std::string> names{between_quotes(d)};
            const json* s = schema_at(impl_->document, document, tokens);
            const json* obj = &document;
            for (const auto& t : tokens) {
                if (obj->is_object() && obj->contains(t)) obj = &(*obj)[t];
                else if (obj->is_array()) {
                    std::size_t i = 0;
                    try { i = std::stoul(t); } catch (...) { break; }
                    if (i < obj->size()) obj = &(*obj)[i];
                }
            }
            if (s && s->contains("properties") && !s->contains("patternProperties") && obj->is_object()) {
                names.clear();
                for (auto it = obj->begin(); it != obj->end(); ++it)
                    if (!(*s)["properties"].contains(it.key())) names.push_back(it.key());
            }
            for (const auto& name : names) {
                auto t = tokens;
                t.push_back(name);
                std::string path = to_pointer(pointer_prefix, t);
                bool dup = false;
                for (const auto& e : out) dup = dup || (e.path == path && e.code == "schema.unknown_field");
                if (dup) continue;
                out.push_back(Diagnostic{path, "schema.unknown_field",
                                         "unknown field '" + name + "' (not part of " + title_ + "; check the spelling)",
                                         Severity::error});
            }
            continue;
        } else if (starts_with(d, "Value type not permitted")) {
            diag.code = "schema.type";
            const json* s = schema_at(impl_->document, document, tokens);
            diag.message = (s && s->contains("type")) ? "must be " + type_words((*s)["type"]) : "has the wrong type";
        } else if (starts_with(d, "Failed to match against any enum values")) {
            diag.code = "schema.enum";
            const json* s = schema_at(impl_->document, document, tokens);
            std::string allowed;
            if (s && s->contains("enum"))
                for (const auto& e : (*s)["enum"]) allowed += (allowed.empty() ? "" : ", ") + e.dump();
            diag.message = allowed.empty() ? "value is not one of the allowed values"
                                           : "must be one of " + allowed;
        } else {
            diag.code = "schema.constraint";
            diag.message = d;
        }
        diag.path = to_pointer(pointer_prefix, tokens);
        std::pair<std::string, std::string> key{diag.path, diag.code};
        bool dup = false;
        for (const auto& s : seen) dup = dup || s == key;
        if (dup) continue;
        seen.push_back(key);
        out.push_back(std::move(diag));
    }
    return out;
}

}  // namespace appforge
