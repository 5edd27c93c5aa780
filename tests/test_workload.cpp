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
    s3["env"] = json::array({json{{"name", "OWN"}, {"value", "1"}}});  // the workload's own env
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

// ---------------------------------------------------------------------------------------------
// The container: ports, env, command and args, limits, probes

namespace {

json mosquitto() {
    json j = base_app();
    j["appName"] = "mosquitto";
    j["containerImage"] = "eclipse-mosquitto:2.0.20";
    j["ports"] = json::array({json{{"name", "http"}, {"port", 9001}}, json{{"name", "mqtt"}, {"port", 1883}, {"protocol", "TCP"}}});
    j["env"] = json::array({json{{"name", "TZ"}, {"value", "Europe/Berlin"}}, json{{"name", "LOG_LEVEL"}, {"value", "info"}}});
    j["command"] = json::array({"/usr/sbin/mosquitto"});
    j["args"] = json::array({"-c", "/mosquitto/config/mosquitto.conf"});
    j["resourceRequests"] = {{"cpu", "50m"}};
    j["resourceLimits"] = {{"memory", "128Mi"}};
    j["probes"] = {{"liveness", {{"type", "tcp"}, {"port", "mqtt"}}},
                   {"readiness", {{"type", "http"}, {"path", "/"}}},
                   {"startup", {{"type", "none"}}}};
    return j;
}

}  // namespace

TEST_CASE("a real app's container: ports, env, command, args, limits and probes reach the Deployment and Service",
          "[workload]") {
    auto b = render_ok(mosquitto());
    const json& c = b.find("deployment.yaml")->object["spec"]["template"]["spec"]["containers"][0];
    INFO(c.dump(1));
    CHECK(c["ports"] == json::parse(R"([{"name":"http","containerPort":9001,"protocol":"TCP"},
                                        {"name":"mqtt","containerPort":1883,"protocol":"TCP"}])"));
    CHECK(c["env"] == json::parse(R"([{"name":"TZ","value":"Europe/Berlin"},{"name":"LOG_LEVEL","value":"info"}])"));
    CHECK(c["command"] == json::array({"/usr/sbin/mosquitto"}));
    CHECK(c["args"] == json::array({"-c", "/mosquitto/config/mosquitto.conf"}));
    CHECK(c["resources"] == json::parse(R"({"requests":{"cpu":"50m"},"limits":{"memory":"128Mi"}})"));
    CHECK(c["livenessProbe"] == json::parse(R"({"tcpSocket":{"port":"mqtt"}})"));
    CHECK(c["readinessProbe"] == json::parse(R"({"httpGet":{"path":"/","port":"http"}})"));
    CHECK_FALSE(c.contains("startupProbe"));
    const json& svc = b.find("service.yaml")->object["spec"]["ports"];
    CHECK(svc == json::parse(R"([{"name":"http","port":80,"targetPort":"http","protocol":"TCP"},
                                 {"name":"mqtt","port":1883,"targetPort":"mqtt","protocol":"TCP"}])"));
    // The first port is the HTTP port whatever its name: the Service targets it.
    json paperless = base_app();
    paperless["ports"] = json::array({json{{"name", "web"}, {"port", 8000}}});
    auto p = render_ok(paperless);
    CHECK(p.find("service.yaml")->object["spec"]["ports"][0]["targetPort"] == "web");
    CHECK(p.find("deployment.yaml")->object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8000);
    // Verified like every bundle: the target port names a container port.
    auto e = default_engine();
    auto checked = e->check_document(paperless, nullptr);
    REQUIRE(checked.app);
    CHECK(appforge::verify_bundle(p, *checked.app, e->profile(), e->catalog(), e->kube_schemas()).empty());
}

TEST_CASE("S3 storage env comes first, the request's env after it", "[workload]") {
    json j = base_app();
    j["storagePattern"] = "s3-external";
    j["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}};
    j["env"] = json::array({json{{"name", "TZ"}, {"value", "UTC"}}});
    auto b = render_ok(j);
    const json& env = b.find("deployment.yaml")->object["spec"]["template"]["spec"]["containers"][0]["env"];
    INFO(env.dump());
    REQUIRE(env.size() >= 2);
    CHECK(env[0]["name"] == "S3_BUCKET");
    CHECK(env.back() == json({{"name", "TZ"}, {"value", "UTC"}}));
}

TEST_CASE("ports: names, numbers, protocol of the HTTP port", "[workload][rules]") {
    json j = mosquitto();
    expect_ok(j);
    auto with_port = [&](std::size_t i, const char* key, json v) {
        json d = mosquitto();
        d["ports"][i][key] = std::move(v);
        return d;
    };
    expect_one(with_port(1, "name", "MQTT"), "ports.name.format", "/ports/1/name",
               "Port name must be an IANA service name: 1-15 lowercase letters, digits and '-', with a letter");
    expect_one(with_port(1, "name", "1883"), "ports.name.format", "/ports/1/name",
               "Port name must be an IANA service name: 1-15 lowercase letters, digits and '-', with a letter");
    expect_one(with_port(1, "name", "a-very-long-name"), "ports.name.format", "/ports/1/name",
               "Port name must be an IANA service name: 1-15 lowercase letters, digits and '-', with a letter");
    expect_one(with_port(1, "name", "a--b"), "ports.name.format", "/ports/1/name",
               "Port name must be an IANA service name: 1-15 lowercase letters, digits and '-', with a letter");
    json renamed = with_port(1, "name", "m-q-t-t-2");
    renamed["probes"]["liveness"]["port"] = "m-q-t-t-2";
    expect_ok(renamed);
    expect_one(with_port(0, "name", "mqtt"), "ports.name.duplicate", "/ports/1/name", "Port name 'mqtt' is used twice");
    expect_one(with_port(1, "name", "http"), "ports.name.duplicate", "/ports/1/name", "Port name 'http' is used twice");
    json swapped = mosquitto();
    swapped["ports"][0]["name"] = "web";
    swapped["ports"][1]["name"] = "http";
    swapped["probes"].erase("readiness");
    expect_one(swapped, "ports.name.http", "/ports/1/name",
               "Only the first port may be named 'http': the Service's HTTP port has that name");
    expect_one(with_port(1, "port", 0), "ports.port.range", "/ports/1/port", "Port must be between 1 and 65535");
    expect_one(with_port(1, "port", 65536), "ports.port.range", "/ports/1/port", "Port must be between 1 and 65535");
    expect_ok(with_port(1, "port", 65535));
    expect_one(with_port(1, "port", 9001), "ports.port.duplicate", "/ports/1/port", "Port 9001/TCP is declared twice");
    json udp = with_port(1, "protocol", "UDP");
    udp["probes"].erase("liveness");  // a probe on a UDP port is probes.port.protocol
    expect_ok(udp);
    expect_one(with_port(0, "protocol", "UDP"), "ports.http.protocol", "/ports/0/protocol",
               "The first port is the app's HTTP port and must be TCP");
    expect_one(with_port(0, "protocol", "QUIC"), "schema.enum", "/ports/0/protocol",
               "must be one of \"TCP\", \"UDP\", \"SCTP\"");
    json none = base_app();
    none["ports"] = json::array();
    expect_one(none, "ports.empty", "/ports", "ports must list at least one port (the first is the HTTP port)");
    json many = base_app();
    many["ports"] = json::array();
    for (int i = 0; i < 17; ++i) many["ports"].push_back(json{{"name", "p" + std::to_string(i)}, {"port", 1000 + i}});
    expect_one(many, "ports.count", "/ports", "at most 16 ports are allowed");
}

TEST_CASE("env: names, duplicates, and no credential as a literal value", "[workload][rules]") {
    auto with_env = [](const std::string& name, const std::string& value) {
        json d = base_app();
        d["env"] = json::array({json{{"name", "TZ"}, {"value", "UTC"}}, json{{"name", name}, {"value", value}}});
        return d;
    };
    expect_ok(with_env("PUID", "1000"));
    expect_ok(with_env("my.setting-x", "1"));
    expect_one(with_env("1ST", "x"), "env.name.format", "/env/1/name",
               "Environment variable name must be letters, digits, '_', '-' or '.', not starting with a digit");
    expect_one(with_env("A=B", "x"), "env.name.format", "/env/1/name",
               "Environment variable name must be letters, digits, '_', '-' or '.', not starting with a digit");
    expect_one(with_env("TZ", "x"), "env.name.duplicate", "/env/1/name", "Environment variable 'TZ' is set twice");
    for (const char* cred : {"DB_PASSWORD", "PAPERLESS_SECRET_KEY", "github_token", "OPENAI_API_KEY", "api-key"})
        expect_one(with_env(cred, "hunter2"), "env.credential", "/env/1/value",
                   "'" + std::string(cred) + "' looks like a credential: it must come from the cluster's secret store, "
                   "never as a literal value in the request");
    expect_one(with_env("MOTD", "a\x01z"), "env.value.control", "/env/1/value",
               "environment variable value must not contain control characters");
    expect_one(with_env("MOTD", std::string(4097, 'x')), "env.value.length", "/env/1/value",
               "environment variable value is 4097 characters; at most 4096 are allowed");
    expect_one(with_env(std::string(257, 'A'), "x"), "env.name.length", "/env/1/name",
               "environment variable name is 257 characters; at most 256 are allowed");
    json many = base_app();
    many["env"] = json::array();
    for (int i = 0; i < 129; ++i) many["env"].push_back(json{{"name", "V" + std::to_string(i)}, {"value", "1"}});
    expect_one(many, "env.count", "/env", "at most 128 environment variables are allowed");
    json no_value = base_app();
    no_value["env"] = json::array({json{{"name", "X"}}});
    expect_one(no_value, "schema.required", "/env/0/value", "required field 'value' is missing");
}

TEST_CASE("command, args and limits: bounded strings and quantities", "[workload][rules]") {
    json j = base_app();
    j["command"] = json::array({"/bin/sh", std::string("a\nb")});
    expect_one(j, "command.item.control", "/command/1", "command entry must not contain control characters");
    j = base_app();
    j["args"] = json::array({std::string(4097, 'a')});
    expect_one(j, "args.item.length", "/args/0", "argument is 4097 characters; at most 4096 are allowed");
    j = base_app();
    j["command"] = json::array();
    for (int i = 0; i < 65; ++i) j["command"].push_back("x");
    expect_one(j, "command.count", "/command", "at most 64 command entries are allowed");
    j = base_app();
    j["args"] = j["command"] = json::array();
    for (int i = 0; i < 65; ++i) j["args"].push_back("x");
    expect_one(j, "args.count", "/args", "at most 64 args are allowed");
    j = base_app();
    j["resourceLimits"] = {{"cpu", "two"}, {"memory", "1Gi"}};
    expect_one(j, "limits.cpu.format", "/resourceLimits/cpu", "cpu limit must be a Kubernetes quantity such as 1 or 500m");
    j["resourceLimits"] = {{"cpu", "2"}, {"memory", "lots"}};
    expect_one(j, "limits.memory.format", "/resourceLimits/memory",
               "memory limit must be a Kubernetes quantity such as 512Mi or 1Gi");
    j["resourceLimits"] = {{"cpu", std::string(65, '1')}};
    expect_one(j, "limits.cpu.length", "/resourceLimits/cpu", "cpu is 65 characters; at most 64 are allowed");
    j["resourceLimits"] = {{"memory", "1\tGi"}};
    expect_one(j, "limits.memory.control", "/resourceLimits/memory", "memory must not contain control characters");
    j["resourceLimits"] = {{"cpu", "500m"}};
    expect_ok(j);
}

TEST_CASE("probes: an http path, a known port", "[workload][rules]") {
    auto with_probe = [](json probe) {
        json d = mosquitto();
        d["probes"]["startup"] = std::move(probe);
        return d;
    };
    expect_ok(with_probe({{"type", "http"}, {"path", "/api/health?full=1"}}));
    expect_one(with_probe({{"type", "http"}}), "probes.path.required", "/probes/startup/path",
               "An http probe needs a path, such as /health");
    expect_one(with_probe({{"type", "http"}, {"path", "health"}}), "probes.path.format", "/probes/startup/path",
               "Probe path must be an absolute URL path such as /health");
    expect_one(with_probe({{"type", "http"}, {"path", "/a b"}}), "probes.path.format", "/probes/startup/path",
               "Probe path must be an absolute URL path such as /health");
    expect_one(with_probe({{"type", "http"}, {"path", "/" + std::string(1024, 'a')}}), "probes.path.length",
               "/probes/startup/path", "probe path is 1025 characters; at most 1024 are allowed");
    expect_one(with_probe({{"type", "http"}, {"path", "/\x7f"}}), "probes.path.control", "/probes/startup/path",
               "probe path must not contain control characters");
    expect_one(with_probe({{"type", "tcp"}, {"port", "amqp"}}), "probes.port.unknown", "/probes/startup/port",
               "Probe port 'amqp' is not one of the app's ports: http, mqtt");
    json plain = base_app();
    plain["probes"] = {{"liveness", {{"type", "tcp"}, {"port", "web"}}}};
    expect_one(plain, "probes.port.unknown", "/probes/liveness/port", "Probe port 'web' is not one of the app's ports: http");
    expect_ok(with_probe({{"type", "none"}, {"port", "whatever"}}));
    expect_one(with_probe({{"type", "exec"}}), "schema.enum", "/probes/startup/type",
               "must be one of \"http\", \"tcp\", \"none\"");
}

TEST_CASE("unset container fields stay out of the request's JSON (ids and branches unchanged)", "[workload]") {
    json j = base_app();
    json back = appforge::to_json(appforge::app_request_from_json(j));
    CHECK(back == j);
    json m = mosquitto();
    CHECK(appforge::to_json(appforge::app_request_from_json(m)) == m);
}

TEST_CASE("every new free-text field is bounded: length and control characters", "[workload][rules]") {
    struct Row {
        const char* pointer;
        const char* length_code;
        const char* control_code;
        const char* what;
        std::size_t max;
    };
    const Row rows[] = {
        {"/ports/0/name", "ports.name.length", "ports.name.control", "port name", 64},
        {"/env/0/name", "env.name.length", "env.name.control", "environment variable name", 256},
        {"/env/0/value", "env.value.length", "env.value.control", "environment variable value", 4096},
        {"/command/0", "command.item.length", "command.item.control", "command entry", 4096},
        {"/args/0", "args.item.length", "args.item.control", "argument", 4096},
        {"/resourceLimits/cpu", "limits.cpu.length", "limits.cpu.control", "cpu", 64},
        {"/resourceLimits/memory", "limits.memory.length", "limits.memory.control", "memory", 64},
        {"/probes/liveness/path", "probes.path.length", "probes.path.control", "probe path", 1024},
    };
    for (const Row& row : rows) {
        for (bool too_long : {true, false}) {
            json j = base_app();
            j["ports"] = json::array({json{{"name", "http"}, {"port", 80}}});
            j["env"] = json::array({json{{"name", "TZ"}, {"value", "UTC"}}});
            j["command"] = json::array({"app"});
            j["args"] = json::array({"serve"});
            j["resourceLimits"] = {{"cpu", "1"}, {"memory", "1Gi"}};
            j["probes"] = {{"liveness", {{"type", "http"}, {"path", "/health"}}}};
            std::string v = too_long ? "/" + std::string(row.max, 'a') : std::string("/a\x01");
            j[json::json_pointer(row.pointer)] = v;
            INFO(row.pointer << (too_long ? " too long" : " control"));
            if (too_long)
                expect_one(j, row.length_code, row.pointer,
                           std::string(row.what) + " is " + std::to_string(row.max + 1) + " characters; at most " +
                               std::to_string(row.max) + " are allowed");
            else
                expect_one(j, row.control_code, row.pointer,
                           std::string(row.what) + " must not contain control characters");
        }
    }
}

TEST_CASE("review findings: env the storage pattern sets, the Service's port 80, probes on UDP, credential spellings",
          "[workload][rules]") {
    json s3 = base_app();
    s3["storagePattern"] = "s3-external";
    s3["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}};
    s3["env"] = json::array({json{{"name", "S3_BUCKET"}, {"value", "other"}}});
    expect_one(s3, "env.name.storage", "/env/0/name",
               "Environment variable 'S3_BUCKET' is set by storage pattern 's3-external'; a second entry would override or "
               "duplicate it");
    s3["env"] = json::array({json{{"name", "TZ"}, {"value", "UTC"}}});
    expect_ok(s3);
    json alt = base_app();
    alt["ports"] = json::array({json{{"name", "web"}, {"port", 8080}}, json{{"name", "alt"}, {"port", 80}}});
    expect_one(alt, "ports.port.service", "/ports/1/port",
               "Port 80/TCP is the Service's HTTP port; give this port another number");
    alt["ports"][1]["protocol"] = "UDP";
    expect_ok(alt);
    json dns = base_app();
    dns["ports"] = json::array({json{{"name", "http"}, {"port", 8080}}, json{{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}});
    dns["probes"] = {{"liveness", {{"type", "tcp"}, {"port", "dns"}}}};
    expect_one(dns, "probes.port.protocol", "/probes/liveness/port", "Probe port 'dns' is not TCP; probes connect over TCP");
    for (const char* cred : {"DB_PASS", "API.KEY", "SSH_PRIVATE_KEY", "AWS_ACCESS_KEY_ID", "GOOGLE_CREDENTIALS", "PASSWD",
                             "PASS_WORD_HINT"}) {
        INFO(cred);
        CHECK(appforge::rules::is_credential_name(cred));
    }
    for (const char* plain : {"PASSPORT_NUMBER", "COMPASS_URL", "TZ", "PUID", "BYPASS_CACHE_X"}) {
        INFO(plain);
        CHECK_FALSE(appforge::rules::is_credential_name(plain));
    }
    for (const char* bad : {".", "..", "..x"}) CHECK_FALSE(appforge::rules::is_env_var_name(bad));
    for (const char* ok : {"a..b", ".x", "x."}) CHECK(appforge::rules::is_env_var_name(ok));
}
