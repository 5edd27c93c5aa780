// Catch2 prints a Diagnostic as "path [code] message (severity)" in failed comparisons
// (test_verify.cpp, test_codes.cpp, test_rules_proven.cpp).
#pragma once

#include <catch2/catch.hpp>

#include "appforge/diagnostic.hpp"

namespace Catch {
template <>
struct StringMaker<appforge::Diagnostic> {
    static std::string convert(const appforge::Diagnostic& d) {
        return "{" + d.path + " [" + d.code + "] " + d.message + " (" + appforge::to_string(d.severity) + ")}";
    }
};
}  // namespace Catch
