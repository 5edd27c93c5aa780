// JsonSchema checks `pattern`s outside valijson (memoized) and runs valijson on the schema without
// them; any failure falls back to the full schema. Verdicts and diagnostics must not change.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "appforge/engine.hpp"
#include "appforge/schema.hpp"

using nlohmann::json;
using namespace appforge;

namespace {

/// "propertyNames": {} accepts everything but is a keyword the pattern fast path does not
/// follow, so this copy of the schema always takes valijson with its patterns: the reference.
json without_fast_path(json schema) {
    schema["propertyNames"] = json::object();
    return schema;
}

std::vector<std::string> render(const Diagnostics& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.path + " " + d.code + " " + d.message);
    return out;
}

void same_verdicts(const json& schema, const std::vector<json>& docs) {
    JsonSchema fast(schema, "T");
    JsonSchema full(without_fast_path(schema), "T");
    for (int round = 0; round < 2; ++round)  // the second round answers from the memo
        for (const auto& d : docs) {
            INFO(d.dump());
            CHECK(render(fast.validate(d, "/x")) == render(full.validate(d, "/x")));
        }
}

}  // namespace

TEST_CASE("pattern fast path gives valijson's verdicts and diagnostics", "[schema]") {
    json schema = json::parse(R"({
      "type": "object",
      "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "size": {"anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": "^[0-9]+Gi$"},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^t-"}},
        "pair": {"type": "array", "items": [{"pattern": "^a"}, {"pattern": "^b"}]},
        "labels": {"type": "object", "properties": {"fixed": {"type": "string"}},
                   "additionalProperties": {"type": "string", "pattern": "^v"}},
        "host": {"type": "string", "allOf": [{"pattern": "\\.example\\.net$"}],
                 "not": {"pattern": "\\.lan\\.example\\.net$"}},
        "either": {"oneOf": [{"type": "string", "pattern": "^x"}, {"type": "string", "pattern": "^y"}]}
      },
      "additionalProperties": false
    })");
    std::vector<json> docs = {
        json::object(),
        {{"name", "abc"}},
        {{"name", "ABC"}},
        {{"name", 7}},
        {{"size", "10Gi"}},
        {{"size", "10 Gi"}},
        {{"size", 10}},
        {{"tags", {"t-a", "t-b"}}},
        {{"tags", {"t-a", "x"}}},
        {{"pair", {"a1", "b1", "zz"}}},
        {{"pair", {"b1"}}},
        {{"labels", {{"fixed", "anything"}, {"other", "v1"}}}},
        {{"labels", {{"fixed", "anything"}, {"other", "w1"}}}},
        {{"host", "app.example.net"}},
        {{"host", "app.lan.example.net"}},
        {{"host", "app.example.org"}},
        {{"either", "x1"}},
        {{"either", "z1"}},
        {{"name", "abc"}, {"unknown", 1}},
        {{"name", "ABC"}, {"tags", {"bad"}}, {"size", "1 Gi"}},
    };
    same_verdicts(schema, docs);
}

TEST_CASE("pattern fast path on the bundled Volsync schema", "[schema]") {
    json schema = json::parse(std::string(*embedded_file("schemas/kubernetes/replicationsource-volsync.backube-v1alpha1.json")));
    json good = json::parse(R"({
      "apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
      "metadata": {"name": "app", "namespace": "app"},
      "spec": {"sourcePVC": "app-data", "trigger": {"schedule": "0 2 * * *"},
               "restic": {"repository": "app-restic", "copyMethod": "Snapshot", "cacheCapacity": "1Gi",
                          "pruneIntervalDays": 7, "retain": {"daily": 30}}}
    })");
    std::vector<json> docs = {good};
    for (const char* bad : {"1 Gi", "lots", "", "1Gi\n"}) {
        json d = good;
        d["spec"]["restic"]["cacheCapacity"] = bad;
        docs.push_back(d);
    }
    for (const char* bad : {"every day", "0 2 * *", "@often"}) {
        json d = good;
        d["spec"]["trigger"]["schedule"] = bad;
        docs.push_back(d);
    }
    JsonSchema fast(schema, "ReplicationSource");
    CHECK(fast.validate(good).empty());
    CHECK_FALSE(fast.validate(docs[1]).empty());  // a pattern failure is still reported
    same_verdicts(schema, docs);
}
