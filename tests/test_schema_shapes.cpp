// Once two documents of one key structure were valid, JsonSchema checks later documents of that
// structure only where they differ from the last valid one (a "slim" schema, schema_shapes.hpp).
// That must never change a verdict or a diagnostic: every case compares a warmed schema (slim
// schema in use) with a fresh one (full schema) on documents of the warmed structure whose values
// were changed, and on documents whose structure differs.
#include <catch2/catch.hpp>

#include <fstream>
#include <atomic>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "appforge/engine.hpp"
#include "appforge/schema.hpp"

using nlohmann::json;
using namespace appforge;

namespace {

const std::string kSchemas = std::string(APPFORGE_SOURCE_DIR) + "/schemas/kubernetes/";

json load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

std::vector<std::string> lines(const Diagnostics& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.path + " " + d.code + " " + d.message);
    return out;
}

/// The bundled schema file for an object, from schemas/kubernetes/index.json.
std::string schema_file(const json& object) {
    static const json index = load(kSchemas + "index.json");
    for (const auto& e : index)
        if (e["apiVersion"] == object.value("apiVersion", "") && e["kind"] == object.value("kind", ""))
            return kSchemas + e["file"].get<std::string>();
    return {};
}

/// Every pointer to a scalar in `doc`.
void leaves(const json& doc, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
    if (doc.is_object()) {
        for (auto it = doc.begin(); it != doc.end(); ++it) leaves(*it, at / it.key(), out);
    } else if (doc.is_array()) {
        for (std::size_t i = 0; i < doc.size(); ++i) leaves(doc[i], at / i, out);
    } else {
        out.push_back(at);
    }
}

/// Values that keep the key structure but may break a type, enum, const or bound.
std::vector<json> replacements(const json& v) {
    return {json(12345), json(-1), json("x"), json(""), json(true), json(nullptr), json(1.5),
            json(std::string(300, 'a')), v.is_string() ? json(v.get<std::string>() + "!") : json("7")};
}

std::string slurp_example(const char* name) {
    std::ifstream in(std::string(APPFORGE_SOURCE_DIR) + "/examples/requests/" + name, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The same request under another app name: every object keeps its key structure, and the
/// values derived from the name (names, labels, selectors, claims, hosts) differ.
std::string renamed(std::string text) {
    for (const char* key : {"appName: ", "\"appName\": \""}) {
        auto at = text.find(key);
        if (at != std::string::npos) text.insert(at + std::string(key).size(), "z");
    }
    return text;
}

/// Pairs of bundles (request, renamed request) for four examples.
std::vector<std::pair<Bundle, Bundle>> example_bundles() {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    std::vector<std::pair<Bundle, Bundle>> out;
    for (const char* name : {"paperless-longhorn-backup.yaml", "jellyfin-nas.yaml", "whoami-internal.yaml",
                             "archiver-s3.json"}) {
        const std::string text = slurp_example(name);
        auto a = (*engine.value)->render_text(text);
        auto b = (*engine.value)->render_text(renamed(text));
        INFO(name);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        REQUIRE(a.value->files.size() == b.value->files.size());
        out.emplace_back(*a.value, *b.value);
    }
    return out;
}

}  // namespace

TEST_CASE("a slim schema gives the full schema's verdicts on every rendered object", "[schema]") {
    std::size_t compared = 0, rejected = 0;
    for (const auto& [bundle, other] : example_bundles())
        for (std::size_t f = 0; f < bundle.files.size(); ++f) {
            const auto& file = bundle.files[f];
            const std::string path = schema_file(file.object);
            if (path.empty()) continue;
            const json schema = load(path);
            JsonSchema warmed(schema, "T");
            // Two valid runs that differ where the app name shows make the slim schema: the values
            // derived from the name are checked by it, the rest must equal these runs'.
            REQUIRE(warmed.validate(other.files[f].object, "/b").empty());
            REQUIRE(warmed.validate(file.object, "/b").empty());
            std::vector<json::json_pointer> at;
            leaves(file.object, json::json_pointer(), at);
            for (const auto& p : at)
                for (const auto& v : replacements(file.object[p])) {
                    json changed = file.object;
                    changed[p] = v;
                    JsonSchema fresh(schema, "T");
                    auto expected = lines(fresh.validate(changed, "/b"));
                    INFO(file.path << " " << p.to_string() << " = " << v.dump());
                    CHECK(lines(warmed.validate(changed, "/b")) == expected);
                    ++compared;
                    rejected += expected.empty() ? 0 : 1;
                }
        }
    // The replacements must exercise rejections, not only passes.
    CHECK(compared > 500);
    CHECK(rejected > compared / 4);
}

TEST_CASE("documents of another structure are not judged by a slim schema", "[schema]") {
    json schema = json::parse(R"({
      "type": "object", "additionalProperties": false, "required": ["a"],
      "properties": {
        "a": {"type": "string"},
        "b": {"type": "object", "additionalProperties": false,
              "properties": {"c": {"type": "integer"}, "d": {"enum": ["x", "y"]}}},
        "list": {"type": "array", "items": {"$ref": "#/definitions/item"}},
        "map": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}}
      },
      "definitions": {"item": {"type": "object", "additionalProperties": false, "required": ["n"],
                               "properties": {"n": {"type": "string"}, "m": {"type": "integer"}}}}
    })");
    const json base = json::parse(R"({"a": "s", "b": {"c": 1}, "list": [{"n": "1"}], "map": {"k": "v"}})");
    JsonSchema warmed(schema, "T");
    for (int i = 0; i < 3; ++i) REQUIRE(warmed.validate(base).empty());
    const std::vector<std::function<void(json&)>> edits = {
        [](json& d) { d["b"]["d"] = "z"; },          // a key the valid runs lacked, with a bad value
        [](json& d) { d["b"]["d"] = "x"; },          // the same key, fine
        [](json& d) { d["b"]["e"] = 1; },            // unknown key
        [](json& d) { d["list"].push_back({{"m", 2}}); },  // longer list, missing "n"
        [](json& d) { d["list"][0]["m"] = "two"; },  // a dropped key of an item, wrong type
        [](json& d) { d["map"]["other"] = "long!"; },  // another additional property, too long
        [](json& d) { d["map"]["k"] = "long!"; },    // same structure, too long
        [](json& d) { d.erase("a"); },               // required key gone
        [](json& d) { d["b"] = json::array(); },     // object turned list
    };
    for (std::size_t i = 0; i < edits.size(); ++i) {
        json d = base;
        edits[i](d);
        JsonSchema fresh(schema, "T");
        INFO("edit " << i << ": " << d.dump());
        CHECK(lines(warmed.validate(d)) == lines(fresh.validate(d)));
    }
    // The fine edit (1) became valid; the others must be rejected by both.
    json ok = base;
    ok["b"]["d"] = "x";
    CHECK(warmed.validate(ok).empty());
    json bad = base;
    bad["map"]["k"] = "long!";
    CHECK_FALSE(warmed.validate(bad).empty());
}

TEST_CASE("parts that varied between valid runs are still checked", "[schema]") {
    json schema = json::parse(R"({
      "type": "object", "additionalProperties": false,
      "properties": {
        "name": {"type": "string", "maxLength": 8},
        "fixed": {"type": "object", "properties": {"port": {"type": "integer", "maximum": 9000}}},
        "items": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}}
      }
    })");
    const json one = json::parse(R"({"name": "one", "fixed": {"port": 80}, "items": ["a", "b"]})");
    json two = one;
    two["name"] = "two";
    two["items"][1] = "c";
    JsonSchema warmed(schema, "T");
    // Two valid runs that differ in /name and /items/1: those are checked, the rest is proven.
    REQUIRE(warmed.validate(one).empty());
    REQUIRE(warmed.validate(two).empty());
    struct Case {
        const char* pointer;
        json value;
        bool valid;
    };
    const std::vector<Case> cases = {
        {"/name", "three", true},        {"/name", "far-too-long", false}, {"/name", 3, false},
        {"/items/1", "a", true},         {"/items/1", "z", false},         {"/items/1", 1, false},
        {"/fixed/port", 8080, true},     {"/fixed/port", 9999, false},     {"/items/0", "z", false},
        {"/name", "four", true},
    };
    for (const auto& c : cases) {
        json d = two;
        d[json::json_pointer(c.pointer)] = c.value;
        JsonSchema fresh(schema, "T");
        INFO(c.pointer << " = " << c.value.dump());
        auto got = lines(warmed.validate(d));
        CHECK(got == lines(fresh.validate(d)));
        CHECK(got.empty() == c.valid);
    }
}

TEST_CASE("$ref spellings valijson reads differently are not followed", "[schema]") {
    // valijson percent-decodes "a%20b" to "a b"; nlohmann's pointer would pick the other entry.
    json schema = json::parse(R"({
      "definitions": {"a b": {"maxLength": 1}, "a%20b": {}},
      "properties": {"x": {"$ref": "#/definitions/a%20b"}}
    })");
    JsonSchema warmed(schema, "T");
    json one = {{"x", "1"}}, two = {{"x", "2"}}, long_value = {{"x", "22"}};
    JsonSchema fresh(schema, "T");
    auto expected = lines(fresh.validate(long_value));
    REQUIRE_FALSE(expected.empty());
    REQUIRE(warmed.validate(one).empty());
    REQUIRE(warmed.validate(two).empty());
    CHECK(lines(warmed.validate(long_value)) == expected);
}

TEST_CASE("the slim schemas are shared safely between threads", "[schema][threads]") {
    const auto pair = example_bundles().front();
    const json& object = pair.first.files.front().object;
    const std::string path = schema_file(object);
    REQUIRE_FALSE(path.empty());
    JsonSchema shared(load(path), "T");
    REQUIRE(shared.validate(pair.second.files.front().object).empty());
    REQUIRE(shared.validate(object).empty());
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                json named = object;  // a value the slim schema checks, new on every call
                named["metadata"]["name"] = "t" + std::to_string(t) + "-" + std::to_string(i);
                if (!shared.validate(named).empty()) ++wrong;
                json broken = named;  // another structure: the full schema
                broken["metadata"]["name"] = i;
                if (shared.validate(broken).empty()) ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
}
