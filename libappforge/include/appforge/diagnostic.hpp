// Diagnostics: the one currency every layer of appforge reports bad input in.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace appforge {

/// Errors block a workflow; warnings are shown to the operator but never block.
enum class Severity { error, warning };

/// One problem with the input, located by a JSON pointer so every face can point at the field.
struct Diagnostic {
    std::string path;     ///< JSON pointer into the document ("" is the whole document)
    std::string code;     ///< stable identifier such as "app.name.pattern"
    std::string message;  ///< human sentence, exact where the data model fixes it
    Severity severity = Severity::error;

    /// Diagnostics compare by value so tests can assert whole lists.
    bool operator==(const Diagnostic& o) const {
        return path == o.path && code == o.code && message == o.message && severity == o.severity;
    }
};

using Diagnostics = std::vector<Diagnostic>;

/// "error" or "warning", the spelling used in every output format.
const char* to_string(Severity s);

/// True when any diagnostic is an error; warnings alone still let a request through.
bool has_errors(const Diagnostics& ds);

/// True when the input could not even be read as a document (the CLI maps this to exit 2).
bool is_parse_failure(const Diagnostics& ds);

/// Escapes one JSON pointer reference token (RFC 6901) so keys with '/' or '~' stay addressable.
std::string pointer_token(const std::string& key);

/// A value or the diagnostics explaining why there is none; bad input never throws.
template <class T>
struct Result {
    std::optional<T> value;
    Diagnostics diagnostics;

    /// A result is usable when it has a value, even if warnings came with it.
    bool ok() const { return value.has_value(); }
};

}  // namespace appforge
