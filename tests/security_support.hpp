// Shared helpers of the security tests (not a test itself): diagnostics lookups, a scratch folder
// for run-time patterns, and text indentation for patterns embedded in block scalars.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "appforge/diagnostic.hpp"

namespace sectest {

namespace fs = std::filesystem;

/// Whether a diagnostic with this code (and, when given, this JSON pointer) is among ds.
inline bool has_code(const appforge::Diagnostics& ds, const std::string& code, const std::string& path = "") {
    for (const auto& d : ds)
        if (d.code == code && (path.empty() || d.path == path)) return true;
    return false;
}

/// Every diagnostic on its own line, for INFO() when a check fails.
inline std::string dump(const appforge::Diagnostics& ds) {
    std::string s;
    for (const auto& d : ds) s += d.path + " [" + d.code + "] " + d.message + "\n";
    return s;
}

/// A fresh folder under the temp dir, removed at scope exit.
struct Scratch {
    fs::path dir;
    Scratch() {
        std::random_device rd;
        dir = fs::temp_directory_path() / ("appforge-sec-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(dir);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    /// Writes one file below the folder, creating its parents.
    void write(const std::string& rel, const std::string& text) const {
        fs::create_directories((dir / rel).parent_path());
        std::ofstream(dir / rel, std::ios::binary) << text;
    }
};

/// Every line of text prefixed with by (a block scalar's indentation).
inline std::string indent(const std::string& text, const std::string& by) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        out += by + text.substr(start, nl - start) + "\n";
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return out;
}

}  // namespace sectest
