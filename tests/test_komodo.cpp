// The NAS workflow core: payload, compose file and the sans-I/O Komodo protocol machine.
#include <catch2/catch.hpp>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/komodo.hpp"
#include "appforge/validate.hpp"

using namespace appforge;
using nlohmann::json;

namespace {

// The data model's "Example Komodo Request Payload", verbatim.
const char* kDataModelPayload = R"({
  "appName": "myapp",
  "appVersion": "1.0.0",
  "appConfig": {
    "storage": {"enabled": true, "size": "50Gi", "path": "/data"},
    "network": {"ports": [8080]}
  },
  "storageLocation": "/mnt/pool/apps/myapp"
})";

KomodoRequest request_with(json payload) {
    json doc = {{"operatorId", "erin"},
                {"appName", payload.value("appName", "myapp")},
                {"komodoRequest", payload},
                {"komodoApiUrl", "https://komodo.internal.hypyr.space"}};
    return komodo_request_from_json(doc);
}

KomodoRequest example_request() { return request_with(json::parse(kDataModelPayload)); }

// A deploy needs the profile's Komodo URL (the request's komodoApiUrl is never the target). No
// tags, so the call sequence is the bare one; the tag step has its own test.
ClusterProfile komodo_profile() {
    ClusterProfile p;
    p.komodoUrl = "https://komodo.internal.hypyr.space";
    p.komodoTags.clear();
    return p;
}

// The compose file of the data model's example, written out by hand from the compose spec (not
// produced by appforge): one service, the bind mount below storageLocation, sorted keys.
const char* kExampleCompose = R"(services:
  myapp:
    image: myapp:1.0.0
    ports:
      - "8080:8080"
    restart: unless-stopped
    volumes:
      - bind:
          create_host_path: true
        source: /mnt/pool/apps/myapp/data
        target: /data
        type: bind
)";

KomodoDeploy start_machine(const KomodoRequest& r, KomodoDeployOptions o = {}) {
    if (!o.server) o.server = "truenas";
    o.poll_interval_ms = 1500;
    auto m = KomodoDeploy::start(r, komodo_profile(), o);
    REQUIRE(m.diagnostics.empty());
    REQUIRE(m.ok());
    return *m.value;
}

KomodoCall expect_call(const KomodoDeploy& m, const std::string& path, const std::string& type) {
    auto c = m.next();
    REQUIRE(c.has_value());
    CHECK(c->method == "POST");
    CHECK(c->path == path);
    CHECK(c->type == type);
    CHECK(c->body["type"] == type);
    for (const auto& [k, v] : c->headers) {
        CHECK(k != "X-Api-Key");
        CHECK(k != "X-Api-Secret");
    }
    return *c;
}

json update(const std::string& status, bool success, json logs = json::array()) {
    return json{{"_id", {{"$oid", "upd-1"}}}, {"operation", "DeployStack"}, {"status", status},
                {"success", success}, {"logs", logs}};
}

}  // namespace

TEST_CASE("komodo payload is the data model's document exactly", "[komodo]") {
    json expected = json::parse(kDataModelPayload);
    CHECK(komodo_payload(example_request(), ClusterProfile{}) == expected);
}

TEST_CASE("storageLocation defaults to the first NAS app root plus appName", "[komodo]") {
    json p = json::parse(kDataModelPayload);
    p.erase("storageLocation");
    KomodoRequest r = request_with(p);
    CHECK(komodo_payload(r, ClusterProfile{})["storageLocation"] == "/mnt/pool/apps/myapp");

    ClusterProfile profile;
    profile.nasAppRoots = {"/mnt/apps01/appdata/", "/mnt/pool/apps"};
    json out = komodo_payload(r, profile);
    CHECK(out["storageLocation"] == "/mnt/apps01/appdata/myapp");
    CHECK(out.size() == 4);

    // A given location is kept as written, whatever the profile says.
    CHECK(komodo_payload(example_request(), profile)["storageLocation"] == "/mnt/pool/apps/myapp");
}

TEST_CASE("compose file: image, ports, volume under storageLocation, environment, restart", "[komodo]") {
    json p = json::parse(kDataModelPayload);
    p["appConfig"]["environment"] = {{"TZ", "Europe/Berlin"}, {"PRICE", "$5"}, {"DEBUG", false}, {"WORKERS", 4}};
    p["appConfig"]["network"]["ports"] = {8080, "53:5353/udp"};
    auto c = komodo_compose(request_with(p), ClusterProfile{});
    REQUIRE(c.diagnostics.empty());
    auto doc = parse_document(*c.value);
    REQUIRE(doc.ok());
    const json& svc = (*doc.value)["services"]["myapp"];
    CHECK(svc["image"] == "myapp:1.0.0");
    CHECK(svc["restart"] == "unless-stopped");
    CHECK(svc["ports"] == json::array({"8080:8080", "53:5353/udp"}));
    CHECK(svc["volumes"][0]["type"] == "bind");
    CHECK(svc["volumes"][0]["source"] == "/mnt/pool/apps/myapp/data");
    CHECK(svc["volumes"][0]["target"] == "/data");
    CHECK(svc["environment"]["TZ"] == "Europe/Berlin");
    CHECK(svc["environment"]["PRICE"] == "$$5");  // compose would interpolate a single '$'
    CHECK(svc["environment"]["DEBUG"] == "false");
    CHECK(svc["environment"]["WORKERS"] == "4");
    // A port spec like 8080:8080 is a base-60 integer to YAML 1.1 readers: it must be quoted.
    CHECK(c.value->find("\"8080:8080\"") != std::string::npos);
}

TEST_CASE("compose file is deterministic whatever the key order", "[komodo]") {
    json a = json::parse(kDataModelPayload);
    a["appConfig"]["environment"] = {{"A", "1"}, {"B", "2"}, {"C", "3"}};
    json b = json::parse(R"({"storageLocation": "/mnt/pool/apps/myapp", "appConfig": {"environment": {"C": "3",
        "A": "1", "B": "2"}, "network": {"ports": [8080]}, "storage": {"path": "/data", "size": "50Gi",
        "enabled": true}}, "appVersion": "1.0.0", "appName": "myapp"})");
    auto ca = komodo_compose(request_with(a), ClusterProfile{});
    auto cb = komodo_compose(request_with(b), ClusterProfile{});
    REQUIRE(ca.ok());
    REQUIRE(cb.ok());
    CHECK(*ca.value == *cb.value);
    CHECK(*ca.value == *komodo_compose(request_with(a), ClusterProfile{}).value);
}

TEST_CASE("compose image comes from appConfig.image, tagged with appVersion when untagged", "[komodo]") {
    json p = json::parse(kDataModelPayload);
    p["appConfig"]["image"] = "ghcr.io/acme/myapp";
    CHECK(*komodo_image(request_with(p)).value == "ghcr.io/acme/myapp:1.0.0");
    p["appConfig"]["image"] = "ghcr.io/acme/myapp:2.3";
    CHECK(*komodo_image(request_with(p)).value == "ghcr.io/acme/myapp:2.3");
    p["appConfig"]["image"] = "Not An Image";
    auto bad = komodo_image(request_with(p));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.diagnostics[0].path == "/komodoRequest/appConfig/image");
}

TEST_CASE("bad appConfig fields get diagnostics naming the field", "[komodo]") {
    json p = json::parse(kDataModelPayload);
    p["appConfig"]["network"]["ports"] = {8080, 70000, "x:1", 8080};
    p["appConfig"]["environment"] = {{"1BAD", "x"}, {"OK", json::array()}};
    p["appConfig"]["storage"]["path"] = "../etc";
    p["appVersion"] = "1.0.0+build";
    Diagnostics ds = check_komodo_app_config(request_with(p), ClusterProfile{});
    std::vector<std::string> paths;
    for (const auto& d : ds) paths.push_back(d.path);
    CHECK(paths == std::vector<std::string>{
                       "/komodoRequest/appVersion",
                       "/komodoRequest/appConfig/network/ports/1",
                       "/komodoRequest/appConfig/network/ports/2",
                       "/komodoRequest/appConfig/network/ports/3",
                       "/komodoRequest/appConfig/storage/path",
                       "/komodoRequest/appConfig/environment/1BAD",
                       "/komodoRequest/appConfig/environment/OK",
                   });
    CHECK_FALSE(komodo_compose(request_with(p), ClusterProfile{}).ok());
    CHECK_FALSE(KomodoDeploy::start(request_with(p), komodo_profile()).ok());
}

TEST_CASE("deploy: create stack, deploy, poll until Complete, success", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    CHECK(m.request().status == Status::pending);

    auto c = expect_call(m, "/read", "ListStacks");
    CHECK(c.read);
    CHECK(c.body["params"]["query"]["names"] == json::array({"myapp"}));
    m.on_response(200, R"([{"id": "other", "name": "myapp-2"}])");

    c = expect_call(m, "/write", "CreateStack");
    CHECK_FALSE(c.read);
    CHECK(c.body["params"]["name"] == "myapp");
    const json& config = c.body["params"]["config"];
    CHECK(config["file_contents"] == kExampleCompose);
    // Pinned to the UI-defined file; run_directory is not sent (Periphery ignores it for such a stack).
    CHECK(config == json{{"file_contents", kExampleCompose}, {"files_on_host", false}, {"repo", ""},
                         {"linked_repo", ""}, {"server_id", "truenas"}});
    m.on_response(200, R"({"_id": {"$oid": "stk-9"}, "name": "myapp", "config": {}})");

    c = expect_call(m, "/execute", "DeployStack");
    CHECK_FALSE(c.read);
    CHECK(c.body["params"] == json{{"stack", "stk-9"}});
    // Komodo returns the Update at once, InProgress with success true (init_execution_update).
    m.on_response(200, update("InProgress", true).dump());

    c = expect_call(m, "/read", "GetUpdate");
    CHECK(c.read);
    CHECK(c.delay_ms == 1500);
    CHECK(c.body["params"] == json{{"id", "upd-1"}});
    m.on_response(200, update("InProgress", true).dump());
    CHECK(m.request().submissionStatus == std::string("DeployStack update upd-1: InProgress"));
    CHECK_FALSE(m.finished());

    expect_call(m, "/read", "GetUpdate");
    m.on_response(200, update("Complete", true).dump());
    REQUIRE(m.finished());
    CHECK(m.outcome() == KomodoOutcome::succeeded);
    CHECK(m.request().status == Status::success);
    CHECK(m.request().submissionStatus == std::string("DeployStack update upd-1: Complete"));
    CHECK_FALSE(m.request().errorMessage.has_value());
    CHECK_FALSE(m.next().has_value());
}

TEST_CASE("deploy: an existing stack is updated by id", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    m.on_response(200, R"([{"id": "stk-1", "name": "myapp"}])");
    auto c = expect_call(m, "/write", "UpdateStack");
    CHECK(c.body["params"]["id"] == "stk-1");
    CHECK(c.body["params"]["config"]["file_contents"] == kExampleCompose);
    m.on_response(200, R"({"_id": {"$oid": "stk-1"}})");
    expect_call(m, "/execute", "DeployStack");
    m.on_response(200, update("Complete", true).dump());  // Komodo may answer with a finished Update
    CHECK(m.outcome() == KomodoOutcome::succeeded);
}

TEST_CASE("deploy: a failed Update puts its logs into errorMessage", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    m.on_response(200, "[]");
    m.on_response(200, R"({"_id": {"$oid": "stk-9"}})");
    m.on_response(200, update("InProgress", false).dump());
    json logs = json::array({{{"stage", "Write Compose File"}, {"stdout", "ok"}, {"stderr", ""}, {"success", true}},
                             {{"stage", "Compose Up"}, {"command", "docker compose up -d"},
                              {"stderr", "pull access denied for myapp\nrepository does not exist"}, {"success", false}}});
    m.on_response(200, update("Complete", false, logs).dump());
    REQUIRE(m.finished());
    CHECK(m.outcome() == KomodoOutcome::deploy_failed);
    CHECK(m.request().status == Status::failed);
    REQUIRE(m.request().errorMessage.has_value());
    const std::string& e = *m.request().errorMessage;
    CHECK(e.find("Compose Up: pull access denied for myapp repository does not exist") != std::string::npos);
    CHECK(e.find("Write Compose File") == std::string::npos);
}

TEST_CASE("deploy: 401, 403, 404 and 405 are rejections with their own messages", "[komodo]") {
    struct Case { int code; const char* needle; };
    for (auto k : {Case{401, "KOMODO_API_KEY"}, Case{403, "not allowed"}, Case{404, "check the Komodo URL"},
                   Case{405, "check the Komodo URL"}}) {
        KomodoDeploy m = start_machine(example_request());
        m.on_response(k.code, R"({"error": "nope", "trace": ["auth.rs:12"]})");
        REQUIRE(m.finished());
        CHECK(m.outcome() == KomodoOutcome::rejected);
        CHECK(m.request().status == Status::failed);
        const std::string& e = *m.request().errorMessage;
        CHECK(e.find(std::to_string(k.code)) != std::string::npos);
        CHECK(e.find(k.needle) != std::string::npos);
        CHECK(e.find("nope (trace: auth.rs:12)") != std::string::npos);
    }
}

TEST_CASE("deploy: a read answered 500 is retried with backoff, then succeeds", "[komodo]") {
    KomodoDeployOptions o;
    o.retry = RetryPolicy{3, 100, 1000};
    KomodoDeploy m = start_machine(example_request(), o);
    m.on_response(500, R"({"error": "database busy", "trace": []})");
    auto c = expect_call(m, "/read", "ListStacks");
    CHECK(c.attempt == 2);
    CHECK(c.delay_ms == 100);
    m.on_transport_error(TransportError::connect, "connection refused");
    c = expect_call(m, "/read", "ListStacks");
    CHECK(c.attempt == 3);
    CHECK(c.delay_ms == 200);
    m.on_response(200, "[]");
    c = expect_call(m, "/write", "CreateStack");
    CHECK(c.attempt == 1);
    CHECK(c.delay_ms == 0);
}

TEST_CASE("deploy: reads give up after the last attempt", "[komodo]") {
    KomodoDeployOptions o;
    o.retry = RetryPolicy{2, 10, 100};
    KomodoDeploy m = start_machine(example_request(), o);
    m.on_response(503, "busy");
    m.on_response(503, "busy");
    REQUIRE(m.finished());
    CHECK(m.outcome() == KomodoOutcome::transport_failed);
    CHECK(m.request().errorMessage->find("after 2 attempt(s)") != std::string::npos);
}

TEST_CASE("deploy: writes are never retried", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    m.on_response(200, "[]");
    expect_call(m, "/write", "CreateStack");
    m.on_response(500, R"({"error": "stack name taken", "trace": []})");
    REQUIRE(m.finished());
    CHECK_FALSE(m.next().has_value());
    CHECK(m.outcome() == KomodoOutcome::deploy_failed);
    CHECK(m.request().errorMessage->find("writes are not retried") != std::string::npos);

    KomodoDeploy t = start_machine(example_request());
    t.on_response(200, "[]");
    t.on_response(200, R"({"_id": {"$oid": "stk-9"}})");
    expect_call(t, "/execute", "DeployStack");
    t.on_transport_error(TransportError::timeout, "Operation timed out");
    REQUIRE(t.finished());
    CHECK(t.outcome() == KomodoOutcome::transport_failed);
    CHECK(t.request().errorMessage->find("may or may not have been applied") != std::string::npos);
}

TEST_CASE("deploy: a caller time-out fails the request while polling", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    m.on_response(200, "[]");
    m.on_response(200, R"({"_id": {"$oid": "stk-9"}})");
    m.on_response(200, update("InProgress", false).dump());
    m.on_timeout(30);
    REQUIRE(m.finished());
    CHECK(m.outcome() == KomodoOutcome::timed_out);
    CHECK(m.request().status == Status::failed);
    CHECK(m.request().errorMessage->find("timed out after 30 s") != std::string::npos);
    CHECK(m.request().errorMessage->find("upd-1") != std::string::npos);
}

TEST_CASE("deploy: a missing stack without a server cannot be created", "[komodo]") {
    auto m = KomodoDeploy::start(example_request(), komodo_profile());
    REQUIRE(m.ok());
    m.value->on_response(200, "[]");
    REQUIRE(m.value->finished());
    CHECK(m.value->outcome() == KomodoOutcome::deploy_failed);
    CHECK(*m.value->request().errorMessage ==
          "stack 'myapp' does not exist on Komodo and no server was given to create it on (set komodo.server or "
          "komodo.swarm in the profile, appConfig.server, or --server / --swarm)");

    json p = json::parse(kDataModelPayload);
    p["appConfig"]["server"] = "nas-01";
    auto s = KomodoDeploy::start(request_with(p), komodo_profile());
    REQUIRE(s.ok());
    s.value->on_response(200, "[]");
    CHECK(s.value->next()->body["params"]["config"]["server_id"] == "nas-01");
}

TEST_CASE("deploy: status only moves pending -> success/failed", "[komodo]") {
    for (Status st : {Status::success, Status::failed}) {
        KomodoRequest r = example_request();
        r.status = st;
        auto m = KomodoDeploy::start(r, komodo_profile(), KomodoDeployOptions{std::string("truenas")});
        CHECK_FALSE(m.ok());
        REQUIRE(m.diagnostics.size() == 1);
        CHECK(m.diagnostics[0].path == "/status");
        CHECK(m.diagnostics[0].code == "komodo.status");
    }
    // Once finished, later answers change nothing.
    KomodoDeploy m = start_machine(example_request());
    m.on_response(401, "{}");
    REQUIRE(m.request().status == Status::failed);
    std::string msg = *m.request().errorMessage;
    m.on_response(200, update("Complete", true).dump());
    m.on_timeout(1);
    CHECK(m.request().status == Status::failed);
    CHECK(*m.request().errorMessage == msg);
    CHECK(m.outcome() == KomodoOutcome::rejected);
    CHECK(m.diagnostics().empty());
    CHECK_FALSE(check_status_transition(Status::success, Status::failed).empty());
    CHECK(check_status_transition(Status::pending, Status::failed).empty());
}

TEST_CASE("deploy: bodies that are not Komodo's shape are transport failures", "[komodo]") {
    KomodoDeploy m = start_machine(example_request());
    m.on_response(200, "<html>proxy login</html>");
    CHECK(m.outcome() == KomodoOutcome::transport_failed);
    KomodoDeploy n = start_machine(example_request());
    n.on_response(200, R"({"not": "a list"})");
    CHECK(n.outcome() == KomodoOutcome::transport_failed);
}

TEST_CASE("retry policy: reads only, 5xx or no answer, exponential and capped", "[komodo]") {
    RetryPolicy p{4, 100, 300};
    CHECK(should_retry(true, 0, 1, p));
    CHECK(should_retry(true, 502, 3, p));
    CHECK_FALSE(should_retry(true, 502, 4, p));
    CHECK_FALSE(should_retry(true, 404, 1, p));
    CHECK_FALSE(should_retry(false, 500, 1, p));
    CHECK_FALSE(should_retry(false, 0, 1, p));
    CHECK(backoff_delay_ms(1, p) == 100);
    CHECK(backoff_delay_ms(2, p) == 200);
    CHECK(backoff_delay_ms(3, p) == 300);
    CHECK(backoff_delay_ms(30, p) == 300);
}

TEST_CASE("komodo_error_text reads Komodo's error body and bounds raw text", "[komodo]") {
    CHECK(komodo_error_text(R"({"error": "bad", "trace": ["a", "b"]})") == "bad (trace: a; b)");
    CHECK(komodo_error_text("plain\ntext") == "plain text");
    CHECK(komodo_error_text("") == "(empty body)");
    CHECK(komodo_error_text(std::string(5000, 'x')).size() < 1100);
}

TEST_CASE("the engine reports appConfig problems during validation", "[komodo]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    json p = json::parse(kDataModelPayload);
    p["appConfig"]["network"]["ports"] = {0};
    json doc = {{"operatorId", "erin"}, {"appName", "myapp"}, {"komodoRequest", p},
                {"komodoApiUrl", "https://komodo.internal.hypyr.space"}};
    auto c = (*engine.value)->check_document(doc);
    REQUIRE(c.diagnostics.size() == 1);
    CHECK(c.diagnostics[0].path == "/komodoRequest/appConfig/network/ports/0");
    CHECK(c.diagnostics[0].code == "komodo.port.format");
}
