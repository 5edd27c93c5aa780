#include "appforge/diagnostic.hpp"

namespace appforge {

const char* to_string(Severity s) { return s == Severity::error ? "error" : "warning"; }

bool has_errors(const Diagnostics& ds) {
    for (const auto& d : ds)
        if (d.severity == Severity::error) return true;
    return false;
}

bool is_parse_failure(const Diagnostics& ds) {
    for (const auto& d : ds)
        if (d.severity == Severity::error && d.code.rfind("parse.", 0) == 0) return true;
    return false;
}

std::string pointer_token(const std::string& key) {
    std::string out;
    out.reserve(key.size());
    for (char c : key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out.push_back(c);
    }
    return out;
}

}  // namespace appforge
