// Helpers for rule tests: one valid base request, engines for a profile text, and assertions
// on one diagnostic (code, JSON pointer, exact message), so each case changes one thing.
#pragma once

#include <catch2/catch.hpp>

#include "corpus_support.hpp"

namespace rules_support {

using nlohmann::json;
using appforge::Diagnostics;
using appforge::Severity;

/// The smallest valid GitOps request; cases change one field of it.
inline json base_app() {
    return json{{"operatorId", "alice"},          {"appName", "demo"},
                {"containerImage", "ghcr.io/example/demo:1.0.0"}, {"storagePattern", "ephemeral"},
                {"ingressPattern", "internal-only"}, {"backupStrategy", "none"}};
}

/// An Engine over the default profile merged with this profile text.
inline std::shared_ptr<const appforge::Engine> engine_with(const std::string& profile_yaml,
                                                           const std::vector<std::string>& pattern_dirs = {}) {
    appforge::EngineOptions o;
    if (!profile_yaml.empty()) o.profile_text = profile_yaml;
    o.pattern_dirs = pattern_dirs;
    auto e = appforge::Engine::create(o);
    INFO(corpus::diagnostics_json(e.diagnostics).dump(1));
    REQUIRE(e.ok());
    return *e.value;
}

/// The shipped default profile's Engine.
inline std::shared_ptr<const appforge::Engine> default_engine() { return corpus::engine_for({}); }

/// Every diagnostic of schema plus rules for one document.
inline Diagnostics check(const json& doc, const appforge::Engine& e = *default_engine()) {
    return e.check_document(doc, nullptr).diagnostics;
}

/// The diagnostics with one code (so a case asserts its own rule, not the whole list).
inline Diagnostics with_code(const Diagnostics& ds, const std::string& code) {
    Diagnostics out;
    for (const auto& d : ds)
        if (d.code == code) out.push_back(d);
    return out;
}

/// Asserts the document has no errors (warnings allowed).
inline void expect_ok(const json& doc, const appforge::Engine& e = *default_engine()) {
    auto ds = check(doc, e);
    INFO(doc.dump() << "\n" << corpus::diagnostics_json(ds).dump(1));
    CHECK_FALSE(appforge::has_errors(ds));
}

/// Asserts exactly one diagnostic with this code, at this pointer, with this exact message.
inline void expect_one(const json& doc, const std::string& code, const std::string& path, const std::string& message,
                       const appforge::Engine& e = *default_engine(), Severity sev = Severity::error) {
    auto ds = check(doc, e);
    INFO(doc.dump() << "\n" << corpus::diagnostics_json(ds).dump(1));
    auto hit = with_code(ds, code);
    REQUIRE(hit.size() == 1);
    CHECK(hit[0].path == path);
    CHECK(hit[0].message == message);
    CHECK(hit[0].severity == sev);
}

/// Renders a document that must be valid; the bundle's files by path.
inline appforge::Bundle render_ok(const json& doc, const appforge::Engine& e = *default_engine()) {
    auto r = e.render_text(doc.dump());
    INFO(doc.dump() << "\n" << corpus::diagnostics_json(r.diagnostics).dump(1));
    REQUIRE(r.ok());
    return *r.value;
}

}  // namespace rules_support
