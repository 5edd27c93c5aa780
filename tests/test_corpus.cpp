// The request corpus: every file in tests/data/requests/{valid,invalid} checked by the Engine
// and compared, exactly, with the diagnostics recorded next to it.
#include <catch2/catch.hpp>

#include <set>

#include "corpus_support.hpp"

using nlohmann::json;

namespace {

/// Checks one corpus file against its .expected.json; returns the actual diagnostics.
appforge::Diagnostics check_against_expected(const corpus::fs::path& file) {
    INFO("corpus file: " << file.string());
    REQUIRE(corpus::fs::exists(corpus::expected_path(file)));
    auto engine = corpus::engine_for(corpus::profile_for(file));
    auto checked = engine->check(corpus::read_file(file));
    json expected = json::parse(corpus::read_file(corpus::expected_path(file)));
    json actual = corpus::diagnostics_json(checked.diagnostics);
    INFO("expected: " << expected.dump(2));
    INFO("actual:   " << actual.dump(2));
    CHECK(actual == expected);
    return checked.diagnostics;
}

}  // namespace

TEST_CASE("every valid corpus request passes with exactly its recorded diagnostics", "[corpus]") {
    auto files = corpus::request_files("valid");
    REQUIRE(files.size() >= 20);
    std::size_t with_warnings = 0;
    for (const auto& f : files) {
        auto ds = check_against_expected(f);
        INFO(f.string());
        CHECK_FALSE(appforge::has_errors(ds));
        if (!ds.empty()) ++with_warnings;
    }
    CHECK(with_warnings >= 2);  // the corpus must exercise the warning cases too
}

TEST_CASE("every invalid corpus request fails with exactly its recorded diagnostics", "[corpus]") {
    auto files = corpus::request_files("invalid");
    REQUIRE(files.size() >= 60);
    std::set<std::string> codes;
    for (const auto& f : files) {
        auto ds = check_against_expected(f);
        INFO(f.string());
        CHECK(appforge::has_errors(ds));
        for (const auto& d : ds) codes.insert(d.code);
    }
    // The corpus covers every rule family the issue lists; a rule renamed or lost shows up here.
    for (const char* code :
         {"app.name.pattern", "app.name.dns1035", "app.name.length", "app.name.derived_length", "namespace.format",
          "namespace.reserved", "image.format", "storage.s3Bucket.format", "storage.s3Region.unknown",
          "storage.s3.credentials", "storage.nasEndpoint.unknown", "storage.nasSubpath.traversal",
          "storage.nasSubpath.format", "resources.cpu.format", "resources.memory.format", "resources.cpu.required",
          "resources.memory.required", "ingress.host.internal", "ingress.host.external", "backup.storage",
          "backup.schedule.format", "backup.retentionDays.range", "storage.sizeGi.range", "storage.sizeGi.required",
          "schema.unknown_field", "schema.type", "schema.required", "schema.enum", "pattern.storage.unknown",
          "komodo.appVersion.required", "komodo.storageLocation.format", "komodo.storageLocation.root",
          "komodo.url.format", "komodo.appName.mismatch", "parse.duplicate_key", "parse.alias"})
        CHECK(codes.count(code) == 1);
}

TEST_CASE("every expectation and profile sidecar belongs to a request file", "[corpus]") {
    for (const char* which : {"valid", "invalid"}) {
        for (const auto& e : corpus::fs::directory_iterator(corpus::source_dir() / "tests/data/requests" / which)) {
            std::string name = e.path().filename().string();
            std::string stem;
            if (name.size() > 14 && name.substr(name.size() - 14) == ".expected.json") stem = name.substr(0, name.size() - 14);
            else if (name.size() > 8 && name.substr(name.size() - 8) == ".profile") stem = name.substr(0, name.size() - 8);
            else continue;
            INFO(e.path().string());
            auto dir = e.path().parent_path();
            CHECK((corpus::fs::exists(dir / (stem + ".yaml")) || corpus::fs::exists(dir / (stem + ".json"))));
            if (name.size() > 8 && name.substr(name.size() - 8) == ".profile")
                CHECK(corpus::fs::exists(corpus::profile_for(dir / (stem + ".yaml"))));
        }
    }
}

TEST_CASE("the data model's exact messages appear in the corpus expectations", "[corpus]") {
    std::set<std::string> messages;
    for (const auto& f : corpus::request_files("invalid"))
        for (const auto& d : json::parse(corpus::read_file(corpus::expected_path(f))))
            messages.insert(d["message"].get<std::string>());
    for (const char* m : {"App name must be lowercase alphanumeric with hyphens",
                          "Namespace is reserved. Choose a different namespace",
                          "Internal apps must use .internal.hypyr.space domain",
                          "External apps must use .hypyr.space domain",
                          "Subpath must not contain relative directory references",
                          "S3 credentials not configured in cluster", "Storage size must be between 1 and 1000 Gi"})
        CHECK(messages.count(m) == 1);
}

TEST_CASE("corpus stems are unique, so each expectation has exactly one request", "[corpus]") {
    for (const char* which : {"valid", "invalid"}) {
        std::set<std::string> stems;
        for (const auto& f : corpus::request_files(which)) {
            INFO(f.string());
            CHECK(stems.insert(f.stem().string()).second);
        }
    }
}
