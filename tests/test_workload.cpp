// The workload as pattern data: the Deployment comes from workload/deployment.yaml, other
// patterns join it through slots, a catalog may replace it, and a request may pick only the
// workloads its profile allows.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "rules_support.hpp"

using namespace rules_support;
namespace fs = std::filesystem;

namespace {

/// A fresh pattern folder holding the given files (relative path -> text).
std::string pattern_dir(const std::vector<std::pair<std::string, std::string>>& files) {
    std::string tmpl = (fs::temp_directory_path() / "appforge-workload-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()));
    for (const auto& [rel, text] : files) {
        fs::path p = fs::path(tmpl) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    return tmpl;
}

/// The built-in deployment pattern's text with one replacement applied (must match once).
std::string builtin_deployment(const std::string& from = "", const std::string& to = "") {
    std::string t = corpus::read_file(corpus::source_dir() / "libappforge/patterns/workload/deployment.yaml");
    if (!from.empty()) {
        auto at = t.find(from);
        REQUIRE(at != std::string::npos);
        REQUIRE(t.find(from, at + 1) == std::string::npos);
        t.replace(at, from.size(), to);
    }
    return t;
}

appforge::Diagnostics load(const std::string& text) {
    appforge::Catalog c;
    return c.add("w.yaml", text);
}

}  // namespace

TEST_CASE("the Deployment is pattern data: a catalog's workload/deployment.yaml replaces it", "[workload]") {
    auto dir = pattern_dir({{"workload/deployment.yaml", builtin_deployment("replicas: 1", "replicas: 2")}});
    auto e = engine_with("", {dir});
    auto b = render_ok(base_app(), *e);
    REQUIRE(b.files.front().path == "deployment.yaml");  // first in the kustomization
    CHECK(b.files.front().object["spec"]["replicas"] == 2);
    CHECK(render_ok(base_app()).files.front().object["spec"]["replicas"] == 1);
    fs::remove_all(dir);
}

TEST_CASE("slots join the storage pattern's volume and env ahead of the workload's own", "[workload]") {
    json s3 = base_app();
    s3["storagePattern"] = "s3-external";
    s3["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}};
    // A workload that has an env entry and a volume of its own: the storage pattern's go first.
    std::string own = builtin_deployment(
        "            containers:\n",
        "            volumes:\n              - name: own\n                emptyDir: {}\n            containers:\n");
    const std::string image_line = "                image: \"{{image}}\"\n";
    own.replace(own.find(image_line), image_line.size(),
                image_line + "                env:\n                  - name: OWN\n                    value: \"1\"\n");
    auto dir = pattern_dir({{"workload/deployment.yaml", own}});
    auto b = render_ok(s3, *engine_with("", {dir}));
    const json& pod = b.files.front().object["spec"]["template"]["spec"];
    INFO(pod.dump(1));
    REQUIRE(pod["volumes"].size() == 2);
    CHECK(pod["volumes"][0]["name"] == "app-data");
    CHECK(pod["volumes"][1]["name"] == "own");
    const json& env = pod["containers"][0]["env"];
    REQUIRE(env.size() >= 3);
    CHECK(env[0]["name"] == "S3_BUCKET");
    CHECK(env.back()["name"] == "OWN");
    // Nothing contributed and nothing of its own: no key at all (not an empty or null list).
    auto plain = render_ok(base_app());
    CHECK_FALSE(plain.files.front().object["spec"]["template"]["spec"]["containers"][0].contains("env"));
    fs::remove_all(dir);
}

TEST_CASE("workload patterns are checked at load: manifests, slots and their pointers", "[workload]") {
    const std::string head = "id: w\nkind: workload\nname: W\ndescription: d\n";
    const std::string obj = "manifests:\n  - file: w.yaml\n    template: |\n      apiVersion: v1\n      kind: ConfigMap\n"
                            "      metadata:\n        name: \"{{appName}}\"\n      data: {}\n";
    CHECK(load(head + obj).empty());
    auto none = load(head);
    REQUIRE(none.size() == 1);
    CHECK(none[0].code == "pattern.workload.manifest");
    CHECK(none[0].message == "w.yaml: a workload pattern needs at least one manifest");
    auto bad = load(head + "slots:\n  env: /spec/missing/env\n" + obj);
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].code == "pattern.slot");
    CHECK(bad[0].message == "w.yaml: slot 'env' at /spec/missing/env is not a list under an object of the first manifest");
    auto scalar = load(head + "slots:\n  volumes: /metadata/name\n" + obj);
    REQUIRE(scalar.size() == 1);
    CHECK(scalar[0].code == "pattern.slot");
    CHECK(load(head + "slots:\n  volumes: /data/volumes\n" + obj).empty());
    auto storage = load("id: s\nkind: storage\nname: S\ndescription: d\nvolumeName: v\nvolume: |\n  name: v\n  emptyDir: {}\n"
                        "slots:\n  env: /x\n");
    REQUIRE(storage.size() == 1);
    CHECK(storage[0].code == "pattern.slot");
    CHECK(storage[0].message == "w.yaml: only workload patterns have slots");
    auto kind = load("id: s\nkind: daemon\nname: S\ndescription: d\n");
    REQUIRE_FALSE(kind.empty());
    CHECK(kind[0].code == "pattern.schema.enum");
}

TEST_CASE("workloadPattern: one the catalog has, and the profile allows", "[workload][rules]") {
    json j = base_app();
    j["workloadPattern"] = "deployment";
    expect_ok(j);
    j["workloadPattern"] = "daemonset";
    expect_one(j, "pattern.workload.unknown", "/workloadPattern",
               "Unknown workload pattern 'daemonset'; valid ids are: deployment");
    auto dir = pattern_dir({{"workload/statefulset.yaml", builtin_deployment("id: deployment", "id: statefulset")}});
    j["workloadPattern"] = "statefulset";
    expect_one(j, "workload.not_allowed", "/workloadPattern",
               "Workload pattern 'statefulset' is not allowed in this cluster; allowed: deployment",
               *engine_with("", {dir}));
    expect_ok(j, *engine_with("workload: {allowed: [deployment, statefulset]}\n", {dir}));
    // The profile's default is always allowed.
    expect_ok(j, *engine_with("workload: {default: statefulset, allowed: []}\n", {dir}));
    json plain = base_app();
    expect_one(plain, "workload.default.unknown", "/workloadPattern",
               "This cluster's default workload pattern 'daemonset' is not in the catalog; valid ids are: deployment",
               *engine_with("workload: {default: daemonset}\n"));
    // An unset workloadPattern is not written back: ids and branch names of existing apps stay.
    CHECK_FALSE(appforge::to_json(appforge::app_request_from_json(plain)).contains("workloadPattern"));
    fs::remove_all(dir);
}

TEST_CASE("the pattern schema's kinds are the catalog's kind table", "[workload]") {
    json schema = json::parse(corpus::read_file(corpus::source_dir() / "schemas/pattern.schema.json"));
    std::vector<std::string> names;
    for (auto k : appforge::pattern_kinds()) names.push_back(appforge::to_string(k));
    CHECK(schema["properties"]["kind"]["enum"].get<std::vector<std::string>>() == names);
}

TEST_CASE("a slot whose list is missing from one rendering is render.slot, not a silent drop", "[workload]") {
    // The load-time probe renders the {{#recreate}} part; an ephemeral app does not.
    std::string w = builtin_deployment("          type: Recreate\n", "          type: Recreate\n          rollingUpdate: {}\n");
    w.replace(w.find("  env: /spec/template/spec/containers/0/env"), 43, "  env: /spec/strategy/rollingUpdate/env");
    auto dir = pattern_dir({{"workload/deployment.yaml", w}});
    auto e = engine_with("", {dir});
    json longhorn = base_app();
    longhorn["storagePattern"] = "longhorn-persistent";
    longhorn["storageConfig"] = {{"sizeGi", 1}};
    CHECK(e->render_text(longhorn.dump()).ok());
    auto r = e->render_text(base_app().dump());
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].code == "render.slot");
    CHECK(r.diagnostics[0].path == "");
    CHECK(r.diagnostics[0].message == dir + "/workload/deployment.yaml deployment.yaml has no list where its slots point");
    fs::remove_all(dir);
}
