// Rules whose mutants survived the suite (issue 19): invalid UTF-8 in nested fields of a document
// built in memory, DEL (0x7F) in YAML output, and percent-encoded traversal in any letter case.
// tools/mutants.txt holds the mutants these tests kill.
#include <catch2/catch.hpp>

#include <string>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "diag_support.hpp"
#include "security_support.hpp"

using appforge::Diagnostic;
using appforge::Diagnostics;
using appforge::Severity;
using nlohmann::json;
using sectest::dump;

namespace {

std::shared_ptr<const appforge::Engine> engine() {
    static auto e = [] {
        auto r = appforge::Engine::create();
        REQUIRE(r.ok());
        return *r.value;
    }();
    return e;
}

json nas_app(const std::string& subpath) {
    return json{{"operatorId", "alice"},
                {"appName", "demo"},
                {"containerImage", "ghcr.io/example/demo:1.0.0"},
                {"storagePattern", "nas-mount"},
                {"storageConfig", {{"nasEndpoint", "nfs://nas.internal:2049"}, {"nasSubpath", subpath}}},
                {"ingressPattern", "internal-only"},
                {"backupStrategy", "none"}};
}

Diagnostics with_code(const Diagnostics& ds, const std::string& code) {
    Diagnostics out;
    for (const auto& d : ds)
        if (d.code == code) out.push_back(d);
    return out;
}

}  // namespace

TEST_CASE("utf8: invalid UTF-8 in a nested field of an in-memory document is parse.utf8 at its pointer", "[rules][utf8]") {
    REQUIRE(engine()->check_document(nas_app("/mnt/apps/demo")).ok());
    auto c = engine()->check_document(nas_app("/mnt/apps/d\xc3("));  // a lead byte without its continuation
    INFO(dump(c.diagnostics));
    CHECK_FALSE(c.ok());
    CHECK(with_code(c.diagnostics, "parse.utf8") ==
          Diagnostics{Diagnostic{"/storageConfig/nasSubpath", "parse.utf8", "value is not valid UTF-8", Severity::error}});
    // Deeper still, inside an array element of a nested object, and in a key.
    json doc = nas_app("/mnt/apps/demo");
    doc["resourceRequests"] = {{"cpu", "100m"}};
    doc["labels"] = json::array({json{{"k", "ok"}}, json{{"k", "bad\xff"}}});
    c = engine()->check_document(doc);
    CHECK(with_code(c.diagnostics, "parse.utf8") ==
          Diagnostics{Diagnostic{"/labels/1/k", "parse.utf8", "value is not valid UTF-8", Severity::error}});
    doc = nas_app("/mnt/apps/demo");
    doc["storageConfig"]["bad\xfe"] = "x";
    c = engine()->check_document(doc);
    CHECK(with_code(c.diagnostics, "parse.utf8") ==
          Diagnostics{Diagnostic{"/storageConfig", "parse.utf8", "a key is not valid UTF-8", Severity::error}});
}

TEST_CASE("yaml: DEL (0x7F) is escaped, never written raw", "[rules][yaml]") {
    CHECK(appforge::yaml_double_quoted_body("a\x7f" "b") == "a\\x7Fb");
    CHECK(appforge::yaml_double_quoted_body("\x1f") == "\\x1F");
    CHECK(appforge::yaml_double_quoted_body("~") == "~");  // 0x7E is printable
    CHECK_FALSE(appforge::yaml_plain_safe("a\x7f"));
    const std::string out = appforge::to_yaml(json{{"k", "a\x7f"}});
    CHECK(out == "k: \"a\\x7F\"\n");
    CHECK(out.find('\x7f') == std::string::npos);
    // And it reads back as the same value.
    auto back = appforge::parse_document(out);
    REQUIRE(back.ok());
    CHECK(*back.value == json{{"k", "a\x7f"}});
}

TEST_CASE("traversal: percent-encoded dots are traversal in any letter case", "[rules][traversal]") {
    for (const char* p : {"/mnt/apps/%2e%2e/etc", "/mnt/apps/%2E%2E/etc", "/mnt/apps/%2E./etc", "/mnt/apps/x%2Ey"}) {
        auto ds = engine()->check_document(nas_app(p)).diagnostics;
        INFO(p << "\n" << dump(ds));
        CHECK(with_code(ds, "storage.nasSubpath.traversal") ==
              Diagnostics{Diagnostic{"/storageConfig/nasSubpath", "storage.nasSubpath.traversal",
                                     "Subpath must not contain relative directory references", Severity::error}});
    }
}
