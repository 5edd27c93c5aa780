#include "schema_shapes.hpp"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <valijson/schema_parser.hpp>

namespace appforge::detail {

using nlohmann::json;

namespace {

/// At most this many structures per schema are remembered; the rest take the full schema.
constexpr std::size_t kMaxEntries = 64;
/// A structure whose "fixed" parts keep changing stops refining its slim schema after this many.
constexpr int kMaxRebuilds = 8;
/// Larger or deeper documents are not remembered: each remembered structure keeps a copy of a
/// document, so hostile ones (a huge string set from C++ or Python, past the parser's limits)
/// must not be able to pin memory.
constexpr std::size_t kMaxNodes = 4096;
constexpr std::size_t kMaxBytes = 64 * 1024;  // of keys and strings
constexpr int kMaxDepth = 64;

struct Budget {
    std::size_t nodes = 0;
    std::size_t bytes = 0;
};

/// FNV-1a over the key structure: keys, nesting, array lengths and scalar types (1 and 1.0
/// differ for "integer"), not scalar values. Collisions are caught by alike(). False when the
/// document is over the budget.
bool structure_hash(const json& doc, std::uint64_t& h, Budget& budget, int depth) {
    if (++budget.nodes > kMaxNodes || depth > kMaxDepth) return false;
    auto mix = [&h](unsigned char c) {
        h ^= c;
        h *= 1099511628211ull;
    };
    mix(static_cast<unsigned char>(doc.type()));
    if (doc.is_object()) {
        for (auto it = doc.begin(); it != doc.end(); ++it) {
            if ((budget.bytes += it.key().size()) > kMaxBytes) return false;
            for (unsigned char c : it.key()) mix(c);
            mix(0xff);  // not a UTF-8 byte: ends the key
            if (!structure_hash(*it, h, budget, depth + 1)) return false;
        }
        mix(0xfe);
    } else if (doc.is_array()) {
        for (const auto& e : doc)
            if (!structure_hash(e, h, budget, depth + 1)) return false;
        mix(0xfe);
    } else if (doc.is_string()) {
        if ((budget.bytes += doc.get_ref<const std::string&>().size()) > kMaxBytes) return false;
    }
    return true;
}

/// Same keys, array lengths and types everywhere, and with `values` the same scalars too (json's
/// own == calls 1 and 1.0 equal, which "integer" does not).
bool alike(const json& a, const json& b, bool values) {
    if (a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
            if (ia.key() != ib.key() || !alike(*ia, *ib, values)) return false;
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!alike(a[i], b[i], values)) return false;
        return true;
    }
    return !values || a == b;
}

}  // namespace

/// Which subtrees held the same content in the valid runs so far; `children` follow the
/// document's own order (object members sorted, array elements).
struct ShapeCache::Mask {
    bool fixed = false;
    std::vector<Mask> children;
};

/// One structure's slim schema, immutable once published (readers hold it by shared_ptr).
struct ShapeCache::Slim {
    json reference;  // the last valid document of this structure
    Mask mask;
    std::unique_ptr<valijson::Schema> schema;  // null: nothing left to check
};

struct ShapeCache::Entry {
    json first;  // the first valid document, until the slim schema exists
    std::shared_ptr<const Slim> slim;
    int rebuilds = 0;
};

namespace {

using Mask = ShapeCache::Mask;

/// Marks what is the same in `a` and `b` (one structure), within what `prior` marks fixed.
Mask build_mask(const json& a, const json& b, const Mask* prior) {
    Mask m;
    if ((!prior || prior->fixed) && alike(a, b, true)) {
        m.fixed = true;
        return m;
    }
    const bool descend = prior && !prior->fixed && prior->children.size() == a.size();
    if (a.is_object()) {
        std::size_t i = 0;
        for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib, ++i)
            m.children.push_back(build_mask(*ia, *ib, descend ? &prior->children[i] : nullptr));
    } else if (a.is_array()) {
        for (std::size_t i = 0; i < a.size(); ++i)
            m.children.push_back(build_mask(a[i], b[i], descend ? &prior->children[i] : nullptr));
    }
    return m;
}

/// True when `doc` has the reference's structure and equals it wherever the mask says fixed.
bool matches(const json& doc, const json& ref, const Mask& m) {
    if (m.fixed) return alike(doc, ref, true);
    if (doc.type() != ref.type() || doc.size() != ref.size()) return false;
    if (doc.is_object()) {
        std::size_t i = 0;
        for (auto id = doc.begin(), ir = ref.begin(); id != doc.end(); ++id, ++ir, ++i)
            if (id.key() != ir.key() || !matches(*id, *ir, m.children[i])) return false;
    } else if (doc.is_array()) {
        for (std::size_t i = 0; i < doc.size(); ++i)
            if (!matches(doc[i], ref[i], m.children[i])) return false;
    }
    return true;
}

/// A value a subschema applies to, with the part of the mask that covers it.
struct Reach {
    const json* value;
    const Mask* mask;
};

const Mask kFixed{true, {}};

Reach child(const Reach& r, const json& value, std::size_t index) {
    return {&value, r.mask->fixed ? &kFixed : &r.mask->children[index]};
}

/// Keywords decided by the structure alone: a document of a valid document's structure passes them.
bool structural(const std::string& k) {
    return k == "type" || k == "required" || k == "minProperties" || k == "maxProperties" || k == "minItems" ||
           k == "maxItems";
}

/// Keywords valijson checks against a value's content.
bool value_keyword(const std::string& k) {
    static const char* const words[] = {"enum",      "const",   "pattern",          "minLength",
                                        "maxLength", "minimum", "maximum",          "exclusiveMinimum",
                                        "exclusiveMaximum",     "multipleOf",       "uniqueItems", "format"};
    return std::any_of(std::begin(words), std::end(words), [&](const char* w) { return k == w; });
}

/// The part of `node` still to check for the values in `at`: value keywords on values that are
/// not fixed, through properties, additionalProperties, items, allOf and local $refs. An empty
/// object means nothing is left. Clears `ok` for anything it cannot reason about.
json slim_schema(const json& root, const json& node, const std::vector<Reach>& at, bool& ok, int depth) {
    if (!ok || depth > 256) {
        ok = false;
        return json();
    }
    if (at.empty() || std::all_of(at.begin(), at.end(), [](const Reach& r) { return r.mask->fixed; }))
        return json::object();  // never applied, or applied only to what a valid run proved
    if (node.is_boolean()) {
        if (node.get<bool>()) return json::object();
        ok = false;  // `false` cannot have passed in a valid run
        return json();
    }
    if (!node.is_object()) {
        ok = false;
        return json();
    }
    static const char* const refused[] = {"anyOf", "oneOf", "not", "patternProperties", "additionalItems", "contains",
                                          "propertyNames", "dependencies", "if", "then", "else"};
    for (const char* k : refused)
        if (node.contains(k)) {
            ok = false;  // a subschema inside may fail while the whole passes, or values are reached another way
            return json();
        }
    auto ref = node.find("$ref");
    if (ref != node.end()) {
        // Draft 7 ignores a $ref's siblings; only local references are followed.
        // valijson percent-decodes pointer tokens and trims a trailing '/', nlohmann does neither:
        // refuse those spellings rather than risk following a different node.
        const std::string* target = ref->is_string() ? &ref->get_ref<const std::string&>() : nullptr;
        if (!target || target->rfind("#", 0) != 0 || target->find('%') != std::string::npos ||
            (target->size() > 1 && target->back() == '/')) {
            ok = false;
            return json();
        }
        try {
            return slim_schema(root, root.at(json::json_pointer(ref->get<std::string>().substr(1))), at, ok, depth + 1);
        } catch (const std::exception&) {
            ok = false;
            return json();
        }
    }
    json out = json::object();
    auto declared = node.find("properties");
    const bool has_declared = declared != node.end() && declared->is_object();
    json props = json::object();
    bool keep_declared = false;  // an additionalProperties schema needs every present declared name kept
    json additional;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string& k = it.key();
        std::vector<Reach> values;
        if (k == "properties" && it->is_object()) {
            for (auto p = it->begin(); p != it->end(); ++p) {
                values.clear();
                for (const Reach& r : at)
                    if (r.value->is_object()) {
                        auto f = r.value->find(p.key());
                        if (f != r.value->end())
                            values.push_back(child(r, *f, static_cast<std::size_t>(std::distance(r.value->begin(), f))));
                    }
                if (!values.empty()) props[p.key()] = slim_schema(root, *p, values, ok, depth + 1);
            }
        } else if (k == "additionalProperties") {
            if (it->is_boolean()) continue;  // structural: the valid run had no unknown key
            for (const Reach& r : at)
                if (r.value->is_object()) {
                    std::size_t i = 0;
                    for (auto m = r.value->begin(); m != r.value->end(); ++m, ++i)
                        if (!has_declared || !declared->contains(m.key())) values.push_back(child(r, *m, i));
                }
            additional = slim_schema(root, *it, values, ok, depth + 1);
            if (!additional.empty()) keep_declared = true;
        } else if (k == "items" && it->is_object()) {
            for (const Reach& r : at)
                if (r.value->is_array())
                    for (std::size_t i = 0; i < r.value->size(); ++i) values.push_back(child(r, (*r.value)[i], i));
            json sub = slim_schema(root, *it, values, ok, depth + 1);
            if (!sub.empty()) out[k] = std::move(sub);
        } else if (k == "items" && it->is_array()) {
            json tuple = json::array();
            bool any = false;
            for (std::size_t i = 0; i < it->size(); ++i) {
                values.clear();
                for (const Reach& r : at)
                    if (r.value->is_array() && i < r.value->size()) values.push_back(child(r, (*r.value)[i], i));
                tuple.push_back(slim_schema(root, (*it)[i], values, ok, depth + 1));
                any = any || !tuple.back().empty();
            }
            if (any) out[k] = std::move(tuple);
        } else if (k == "allOf" && it->is_array()) {
            json branches = json::array();
            for (const auto& b : *it) {
                json sub = slim_schema(root, b, at, ok, depth + 1);
                if (!sub.empty()) branches.push_back(std::move(sub));
            }
            if (!branches.empty()) out[k] = std::move(branches);
        } else if (value_keyword(k)) {
            out[k] = *it;
        } else if (structural(k) || k == "definitions") {
            continue;
        }
        // Anything else is an annotation valijson ignores (description, default, x-kubernetes-*)
        // or `id`/`$id`, which only matter to $refs this cut does not follow.
    }
    if (keep_declared) {
        out["additionalProperties"] = std::move(additional);
        out["properties"] = std::move(props);  // every present declared name, so none counts as additional
    } else {
        json kept = json::object();
        for (auto p = props.begin(); p != props.end(); ++p)
            if (!p->empty()) kept[p.key()] = std::move(*p);
        if (!kept.empty()) out["properties"] = std::move(kept);
    }
    return out;
}

/// The slim schema for `doc`, fixing what it shares with `reference` (within `prior`); null
/// when the schema cannot be slimmed.
std::shared_ptr<const ShapeCache::Slim> make_slim(const json& schema, const json& reference, const json& doc,
                                                  const Mask* prior) {
    auto slim = std::make_shared<ShapeCache::Slim>();
    slim->mask = build_mask(reference, doc, prior);
    bool ok = true;
    json cut = slim_schema(schema, schema, {Reach{&doc, &slim->mask}}, ok, 0);
    if (!ok) return nullptr;
    if (!cut.empty()) {
        try {
            slim->schema = std::make_unique<valijson::Schema>();
            valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
            valijson::adapters::NlohmannJsonAdapter adapter(cut);
            parser.populateSchema(adapter, *slim->schema);
        } catch (const std::exception&) {
            return nullptr;
        }
    }
    slim->reference = doc;
    return slim;
}

}  // namespace

ShapeCache::ShapeCache(const json& schema) : schema_(schema) {}
ShapeCache::~ShapeCache() = default;

ShapeCache::Probe ShapeCache::probe(valijson::Validator& validator, const json& doc) const {
    Probe p;
    if (disabled_.load(std::memory_order_relaxed)) return p;
    Budget budget;
    p.hash = 14695981039346656037ull;
    p.cacheable = structure_hash(doc, p.hash, budget, 0);
    if (!p.cacheable) return p;
    std::shared_ptr<const Slim> slim;
    {
        std::shared_lock<std::shared_mutex> lock(mutex_);
        auto it = entries_.find(p.hash);
        if (it != entries_.end()) slim = it->second->slim;
    }
    if (slim && matches(doc, slim->reference, slim->mask)) {
        valijson::adapters::NlohmannJsonAdapter target(doc);
        p.proven = !slim->schema || validator.validate(*slim->schema, target, nullptr);
    }
    return p;
}

void ShapeCache::remember_valid(const Probe& p, const json& doc) {
    if (!p.cacheable) return;
    std::unique_lock<std::shared_mutex> lock(mutex_);
    if (disabled_.load(std::memory_order_relaxed)) return;
    auto it = entries_.find(p.hash);
    if (it == entries_.end()) {
        if (entries_.size() >= kMaxEntries) return;
        it = entries_.emplace(p.hash, std::make_unique<Entry>()).first;
        it->second->first = doc;
        return;
    }
    Entry& e = *it->second;
    if (e.rebuilds >= kMaxRebuilds) return;
    const json& reference = e.slim ? e.slim->reference : e.first;
    if (!alike(reference, doc, false)) return;  // a hash collision: leave that structure alone
    auto slim = make_slim(schema_, reference, doc, e.slim ? &e.slim->mask : nullptr);
    if (!slim) {
        // A value that varies reached anyOf/oneOf/not or the like: stop slimming this schema.
        disabled_.store(true, std::memory_order_relaxed);
        entries_.clear();
        return;
    }
    e.slim = std::move(slim);
    e.first = json();
    ++e.rebuilds;
}

}  // namespace appforge::detail
