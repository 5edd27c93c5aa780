// Shared helpers of the corpus, golden, round-trip and injection tests (not a test itself).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/engine.hpp"

namespace corpus {

namespace fs = std::filesystem;

/// The repository root, so tests find their data wherever ctest runs them.
inline fs::path source_dir() { return fs::path(APPFORGE_SOURCE_DIR); }

/// The whole file as bytes; throws so a missing fixture fails loudly instead of comparing nothing.
inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Request files of one corpus folder (valid or invalid), sorted, without the sidecars.
inline std::vector<fs::path> request_files(const std::string& which) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(source_dir() / "tests/data/requests" / which)) {
        std::string name = e.path().filename().string();
        auto ends = [&](const std::string& s) {
            return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
        };
        if (ends(".expected.json") || ends(".profile")) continue;
        if (ends(".yaml") || ends(".json")) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// "<dir>/<stem>.expected.json" next to a request file.
inline fs::path expected_path(const fs::path& request) {
    return request.parent_path() / (request.stem().string() + ".expected.json");
}

/// The profile a corpus file needs (sidecar "<stem>.profile" naming a path relative to
/// tests/data), or an empty path for the shipped default profile.
inline fs::path profile_for(const fs::path& request) {
    fs::path side = request.parent_path() / (request.stem().string() + ".profile");
    if (!fs::exists(side)) return {};
    std::string rel = read_file(side);
    while (!rel.empty() && (rel.back() == '\n' || rel.back() == '\r' || rel.back() == ' ')) rel.pop_back();
    return source_dir() / "tests/data" / rel;
}

/// One Engine per profile file, built once (engines are immutable and cheap to share).
inline std::shared_ptr<const appforge::Engine> engine_for(const fs::path& profile) {
    static std::map<std::string, std::shared_ptr<const appforge::Engine>> cache;
    auto& slot = cache[profile.string()];
    if (!slot) {
        appforge::EngineOptions opts;
        if (!profile.empty()) {
            opts.profile_text = read_file(profile);
            opts.profile_name = profile.string();
        }
        auto e = appforge::Engine::create(opts);
        if (!e.ok()) {
            std::string why;
            for (const auto& d : e.diagnostics) why += d.message + "; ";
            throw std::runtime_error("engine for '" + profile.string() + "' failed: " + why);
        }
        slot = *e.value;
    }
    return slot;
}

/// Diagnostics in the corpus format: validate --output json without the "file" key.
inline nlohmann::json diagnostics_json(const appforge::Diagnostics& ds) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : ds)
        out.push_back({{"path", d.path}, {"code", d.code}, {"message", d.message},
                       {"severity", appforge::to_string(d.severity)}});
    return out;
}

}  // namespace corpus
