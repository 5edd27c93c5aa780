// Reading and writing documents: YAML or JSON text <-> nlohmann::json, with hard limits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"

namespace appforge {

/// Bounds that keep hostile input cheap: every limit turns into a diagnostic, never a crash.
struct ParseLimits {
    std::size_t max_bytes = 1u << 20;       ///< whole input
    int max_depth = 64;                     ///< nested maps and sequences
    std::size_t max_nodes = 200000;         ///< scalars + collections
    std::size_t max_documents = 1;          ///< a request file holds one document
};

/// Parses YAML (1.2 core schema) or JSON into JSON values; rejects aliases, duplicate keys,
/// invalid UTF-8 and NUL bytes so that what validation sees is exactly what was written.
Result<std::vector<nlohmann::json>> parse_documents(std::string_view text,
                                                    const ParseLimits& limits = {});

/// Parses exactly one document (the shape of every request, profile and pattern file).
Result<nlohmann::json> parse_document(std::string_view text, const ParseLimits& limits = {});

/// Deterministic block YAML: sorted keys, 2-space indent, strings quoted whenever a YAML 1.1
/// or 1.2 reader could take them for anything but a string; ends with a newline.
std::string to_yaml(const nlohmann::json& value);

/// Deterministic pretty JSON (sorted keys, 2-space indent) ending with a newline.
std::string to_json_text(const nlohmann::json& value);

/// Writes a string as a YAML double-quoted scalar body (no surrounding quotes): the escape used
/// for every value that reaches a template, so no value can change a document's structure.
std::string yaml_double_quoted_body(std::string_view s);

/// True when the string can be written as a plain YAML scalar and read back as the same string.
bool yaml_plain_safe(std::string_view s);

}  // namespace appforge
