// Internal to JsonSchema (schema.cpp): proves documents valid by checking only what changed
// since a valid document of the same key structure.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/validator.hpp>

namespace appforge::detail {

/// Why this exists: valijson's cost is per visited node (it copies its context path and builds a
/// set of matched names at every object), and a rendered Deployment is about 100 nodes. Rendered
/// objects of one pattern combination have the same keys, array lengths and scalar types every
/// time, and most of their content (probes, securityContext, selectors' shape) repeats too.
///
/// Once a document of some structure has been found valid by the full schema, a later document
/// with exactly that structure passes every structural keyword the valid one passed (`type`,
/// `required`, `additionalProperties: false`, min/max properties and items), and every subtree
/// equal to the valid one's passes its subschema. Only the value keywords (`enum`, `const`,
/// `pattern`, bounds, lengths, ...) on the parts that differ remain to check: a "slim" schema with
/// just those is compiled per structure and run by valijson. This holds only where a subschema
/// must pass for the whole to pass: when a value that varies reaches anyOf/oneOf/not (or keywords
/// that reach values another way), the schema stops being slimmed. Anything not proven valid goes to the full schema, which also
/// writes every diagnostic.
class ShapeCache {
public:
    /// `schema` must outlive the cache; local `$ref`s are resolved against it.
    explicit ShapeCache(const nlohmann::json& schema);
    ~ShapeCache();
    ShapeCache(const ShapeCache&) = delete;
    ShapeCache& operator=(const ShapeCache&) = delete;

    /// The result of looking a document up.
    struct Probe {
        bool proven = false;     // valid by a slim schema
        bool cacheable = false;  // small and shallow enough to remember
        std::uint64_t hash = 0;  // of the key structure
    };

    /// Proves `doc` valid when a slim schema of its structure exists and its fixed parts match.
    Probe probe(valijson::Validator& validator, const nlohmann::json& doc) const;

    /// Records a document the full schema found valid; the second valid document of a structure
    /// builds its slim schema (a one-off document, like a single CLI render, pays only for a copy).
    void remember_valid(const Probe& probe, const nlohmann::json& doc);

    struct Mask;   // which subtrees of a structure kept their content (schema_shapes.cpp)
    struct Slim;   // one structure's slim schema and the valid document it was cut for
    struct Entry;  // what is remembered of one structure

private:
    const nlohmann::json& schema_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Entry>> entries_;
    std::atomic<bool> disabled_{false};  // the schema cannot be slimmed (set under mutex_)
};

}  // namespace appforge::detail
