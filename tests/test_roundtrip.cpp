// Exact round trips (parse -> write -> parse, JSON and YAML) for every valid corpus request and
// every example, plus the values appforge fills in (id, timestamp, status, namespace).
#include <catch2/catch.hpp>

#include "appforge/document.hpp"
#include "appforge/value_rules.hpp"
#include "corpus_support.hpp"

using nlohmann::json;
namespace fs = corpus::fs;

namespace {

std::vector<fs::path> round_trip_files() {
    auto files = corpus::request_files("valid");
    for (const auto& e : fs::directory_iterator(corpus::source_dir() / "examples/requests")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

json parse(const std::string& text) {
    auto r = appforge::parse_document(text);
    INFO(text);
    REQUIRE(r.ok());
    return *r.value;
}

/// Document -> model -> document, for either request kind.
json through_model(const json& doc) {
    if (appforge::is_komodo_document(doc)) return appforge::to_json(appforge::komodo_request_from_json(doc));
    return appforge::to_json(appforge::app_request_from_json(doc));
}

}  // namespace

TEST_CASE("parse -> write -> parse gives an equal object, in JSON and YAML", "[roundtrip]") {
    auto files = round_trip_files();
    REQUIRE(files.size() >= 25);
    for (const auto& f : files) {
        INFO(f.string());
        json doc = parse(corpus::read_file(f));
        json model = through_model(doc);
        CHECK(model == doc);  // the model keeps every field, and adds none
        for (const std::string& text : {appforge::to_yaml(model), appforge::to_json_text(model)}) {
            json again = parse(text);
            CHECK(again == doc);
            CHECK(through_model(again) == model);
            if (!appforge::is_komodo_document(doc))
                CHECK(appforge::app_request_from_json(again) == appforge::app_request_from_json(doc));
            else
                CHECK(appforge::komodo_request_from_json(again) == appforge::komodo_request_from_json(doc));
        }
        // Writing is deterministic: the written text of the re-read object is the same text.
        CHECK(appforge::to_yaml(parse(appforge::to_yaml(model))) == appforge::to_yaml(model));
    }
}

// Read back with appforge's own YAML 1.2 parser, this proves the strings survive the syntax
// (quotes, escapes, indicators); it cannot see YAML 1.1 typing (a plain `yes` is a string to
// YAML 1.2 too). The YAML 1.1 read-back is done by PyYAML: tests/python/test_yaml11.py (to_yaml)
// and tests/integration/test_yaml11_readback.py (rendered files through the CLI).
TEST_CASE("YAML output round-trips tricky strings through appforge's own YAML 1.2 reader", "[roundtrip]") {
    json doc = parse(corpus::read_file(corpus::source_dir() / "tests/data/requests/valid/minimal.yaml"));
    for (const char* tricky : {"yes", "on", "NO", "0123", "1e3", "12:30", "2026-01-25", "~", "null", "- x", "a: b",
                               "#x", "x #y", "*a", "&a", "!t", "{a}", "[a]", "'q'", "\"q\"", "line\nbreak", " lead",
                               "trail ", "", "---", "...", "@x", "%x", "|", ">"}) {
        doc["operatorId"] = tricky;
        json again = parse(appforge::to_yaml(doc));
        INFO("value: [" << tricky << "]\n" << appforge::to_yaml(doc));
        REQUIRE(again["operatorId"].is_string());
        CHECK(again["operatorId"].get<std::string>() == tricky);
        CHECK(again == doc);
    }
}

TEST_CASE("id, timestamp and status are filled; id is content-derived", "[roundtrip]") {
    auto e = corpus::engine_for({});
    std::string text = corpus::read_file(corpus::source_dir() / "examples/requests/whoami-internal.yaml");
    auto a = e->check(text);
    auto b = e->check(text);
    REQUIRE(a.ok());
    REQUIRE(a.app->id);
    // A UUID, version 5 (name-based), RFC 4122 variant.
    const std::string& id = *a.app->id;
    CHECK(appforge::rules::is_uuid(id));
    CHECK(id[14] == '5');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    CHECK(*b.app->id == id);  // same request, same id
    CHECK(*e->check(appforge::to_json_text(*a.document)).app->id == id);  // same content in JSON: same id
    // Comments and key order do not matter; content does.
    std::string reordered = "backupStrategy: none\n# note\n" + text;
    reordered.erase(reordered.rfind("backupStrategy: none\n"), 21);
    CHECK(*e->check(reordered).app->id == id);
    std::string other = text;
    other.replace(other.find("alice"), 5, "alicf");
    CHECK(*e->check(other).app->id != id);
    CHECK(*a.app->status == appforge::Status::pending);
    REQUIRE(a.app->timestamp);
    CHECK(appforge::rules::is_iso8601_utc_or_offset(*a.app->timestamp));
    CHECK(a.app->timestamp->back() == 'Z');
    // Given values are kept (and validated), never overwritten.
    json doc = *a.document;
    doc["id"] = "6f1c2a9e-6b1d-4c1e-9a51-2d6f3b7a8c01";
    doc["timestamp"] = "2026-01-25T10:00:00+01:00";
    doc["status"] = "failed";
    auto c = e->check_document(doc);
    REQUIRE(c.ok());
    CHECK(*c.app->id == "6f1c2a9e-6b1d-4c1e-9a51-2d6f3b7a8c01");
    CHECK(*c.app->timestamp == "2026-01-25T10:00:00+01:00");
    CHECK(*c.app->status == appforge::Status::failed);
    // The filled timestamp never reaches the manifests: two renders are identical.
    CHECK(e->render(*a.app).value->stream() == e->render(*b.app).value->stream());
    CHECK(e->render(*a.app).value->stream().find(id) != std::string::npos);
}

TEST_CASE("Komodo requests get the same filling", "[roundtrip]") {
    auto e = corpus::engine_for({});
    std::string text = corpus::read_file(corpus::source_dir() / "examples/requests/myapp-komodo.yaml");
    auto a = e->check(text);
    REQUIRE(a.ok());
    REQUIRE(a.komodo);
    CHECK(appforge::rules::is_uuid(*a.komodo->id));
    CHECK(*e->check(text).komodo->id == *a.komodo->id);
    CHECK(*a.komodo->status == appforge::Status::pending);
    CHECK(appforge::rules::is_iso8601_utc_or_offset(*a.komodo->timestamp));
}

TEST_CASE("namespace defaults to appName", "[roundtrip]") {
    auto e = corpus::engine_for({});
    auto c = e->check(corpus::read_file(corpus::source_dir() / "examples/requests/whoami-internal.yaml"));
    REQUIRE(c.ok());
    CHECK_FALSE(c.app->namespace_);
    CHECK(c.app->effective_namespace() == "whoami");
    auto bundle = e->render(*c.app);
    REQUIRE(bundle.ok());
    CHECK(bundle.value->namespace_ == "whoami");
    for (const auto& f : bundle.value->files)
        if (f.object.contains("metadata") && f.object["metadata"].contains("namespace"))
            CHECK(f.object["metadata"]["namespace"] == "whoami");
    // An explicit namespace wins.
    auto d = e->check(corpus::read_file(corpus::source_dir() / "examples/requests/paperless-longhorn-backup.yaml"));
    REQUIRE(d.ok());
    CHECK(d.app->effective_namespace() == "documents");
    CHECK(e->render(*d.app).value->find("deployment.yaml")->object["metadata"]["namespace"] == "documents");
}
