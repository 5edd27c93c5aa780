// JSON Schema checking (valijson), turning valijson's errors into diagnostics with pointers.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"

namespace appforge {

/// A compiled JSON Schema (draft-07). Its verdicts never change after construction (the caches
/// inside are synchronised), so one instance is shared by every thread of an Engine.
class JsonSchema {
public:
    /// Compiles a schema document; throws std::runtime_error for a broken schema (a build bug,
    /// since every schema appforge uses is bundled or loaded by the pattern author at start-up).
    JsonSchema(const nlohmann::json& schema_document, std::string title);
    ~JsonSchema();
    JsonSchema(const JsonSchema&) = delete;
    JsonSchema& operator=(const JsonSchema&) = delete;

    /// All schema violations of one document, each with the JSON pointer of the offending field
    /// and a code under "schema." (schema.required, schema.unknown_field, schema.type, ...).
    Diagnostics validate(const nlohmann::json& document, const std::string& pointer_prefix = "") const;

    /// The title used in messages ("AppRequest", "Deployment", ...).
    const std::string& title() const { return title_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string title_;
};

}  // namespace appforge
