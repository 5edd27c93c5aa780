// The NAS workflow as Komodo really behaves (issue 17): every komodo.* diagnostic with its code,
// pointer and message; the take-over rule; secrets as [[VAR]] references; compose features;
// status and destroy; the Resource Sync planner. Expected texts are written out by hand.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/komodo.hpp"
#include "appforge/komodo_sync.hpp"
#include "appforge/profile.hpp"
#include "appforge/validate.hpp"
#include "corpus_support.hpp"

using namespace appforge;
using nlohmann::json;

namespace {

json base_doc() {
    return json{{"operatorId", "erin"},
                {"appName", "myapp"},
                {"komodoRequest",
                 {{"appName", "myapp"}, {"appVersion", "1.0.0"}, {"appConfig", json::object()}}}};
}

KomodoRequest with_config(json config, json doc = base_doc()) {
    doc["komodoRequest"]["appConfig"] = std::move(config);
    return komodo_request_from_json(doc);
}

ClusterProfile nas_profile() {
    ClusterProfile p;
    p.komodoUrl = "https://komodo.internal.hypyr.space";
    p.komodoServer = "truenas";
    p.komodoLinkedRepo = "homelab";
    p.komodoProxy = "caddy";
    return p;
}

// Exactly one diagnostic, equal in code, pointer and message.
void expect_one(const Diagnostics& ds, const std::string& code, const std::string& path, const std::string& message) {
    INFO("expected " << code << " at " << path);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == code);
    CHECK(ds[0].path == path);
    CHECK(ds[0].message == message);
    CHECK(ds[0].severity == Severity::error);
}

const std::string kCfg = "/komodoRequest/appConfig";

}  // namespace

TEST_CASE("every appConfig rule: code, pointer and message", "[komodo][diagnostics]") {
    struct Case {
        json config;
        const char* code;
        std::string path;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{{"network", 5}}, "komodo.network.type", kCfg + "/network", "appConfig.network must be an object"},
        {{{"network", {{"ports", 8080}}}}, "komodo.ports.type", kCfg + "/network/ports", "appConfig.network.ports must be a list"},
        {{{"network", {{"ports", {0}}}}}, "komodo.port.format", kCfg + "/network/ports/0",
         "port must be an integer 1-65535 or \"host:container[/tcp|/udp]\""},
        {{{"network", {{"ports", {8080, "8080:80"}}}}}, "komodo.port.duplicate", kCfg + "/network/ports/1",
         "host port 8080 is published twice"},
        {{{"storage", "x"}}, "komodo.storage.type", kCfg + "/storage", "appConfig.storage must be an object"},
        {{{"storage", {{"enabled", "yes"}}}}, "komodo.storage.enabled", kCfg + "/storage/enabled", "enabled must be true or false"},
        {{{"storage", {{"path", "../etc"}}}}, "komodo.storage.path", kCfg + "/storage/path",
         "storage.path must be an absolute container path other than '/', without '.', '..' or empty segments"},
        {{{"environment", json::array()}}, "komodo.environment.type", kCfg + "/environment",
         "appConfig.environment must be a map of NAME: value"},
        {{{"environment", {{"1BAD", "x"}}}}, "komodo.environment.name", kCfg + "/environment/1BAD",
         "environment variable names must match [A-Za-z_][A-Za-z0-9_]*"},
        {{{"environment", {{"A", json::array()}}}}, "komodo.environment.value", kCfg + "/environment/A",
         "environment values must be strings, numbers or booleans"},
        {{{"environment", {{"A", std::string("a\0b", 3)}}}}, "komodo.environment.value", kCfg + "/environment/A",
         "environment values must not contain NUL"},
        {{{"secretEnv", json::object()}}, "komodo.secretEnv.type", kCfg + "/secretEnv",
         "appConfig.secretEnv must be a list of {name, komodoVariable}"},
        {{{"secretEnv", {5}}}, "komodo.secretEnv.type", kCfg + "/secretEnv/0", "each secretEnv entry must be {name, komodoVariable}"},
        {{{"secretEnv", {{{"name", "1X"}, {"komodoVariable", "V"}}}}}, "komodo.secretEnv.name", kCfg + "/secretEnv/0/name",
         "secretEnv name must be an environment variable name matching [A-Za-z_][A-Za-z0-9_]*"},
        {{{"secretEnv", {{{"name", "X"}, {"komodoVariable", "a]]b"}}}}}, "komodo.secretEnv.variable",
         kCfg + "/secretEnv/0/komodoVariable",
         "komodoVariable must name a Komodo variable or secret ([A-Za-z0-9_.-], as written inside [[...]]); the value "
         "itself never goes into the request"},
        {{{"secretEnv", {{{"name", "X"}, {"komodoVariable", "V"}}, {{"name", "X"}, {"komodoVariable", "W"}}}}},
         "komodo.secretEnv.duplicate", kCfg + "/secretEnv/1/name", "secretEnv name X is listed twice"},
        {{{"environment", {{"X", 1}}}, {"secretEnv", {{{"name", "X"}, {"komodoVariable", "V"}}}}},
         "komodo.secretEnv.conflict", kCfg + "/secretEnv/0/name",
         "secretEnv name X is also set in appConfig.environment: a variable is either a plain value or a secret"},
        {{{"probe", json::object()}}, "komodo.probe.type", kCfg + "/probe",
         "appConfig.probe must be {command} (a shell command) or {path, port} (an HTTP GET inside the container)"},
        {{{"probe", {{"command", ""}}}}, "komodo.probe.command", kCfg + "/probe/command", "probe.command must be a one-line shell command"},
        {{{"probe", {{"path", "/a;b"}, {"port", 80}}}}, "komodo.probe.path", kCfg + "/probe/path",
         "probe.path must be an absolute URL path without spaces, quotes or shell characters"},
        {{{"probe", {{"path", "/healthz"}, {"port", 0}}}}, "komodo.probe.port", kCfg + "/probe/port",
         "probe.port must be the container port 1-65535 the path is served on"},
        {{{"runAs", 5}}, "komodo.runAs.type", kCfg + "/runAs", "appConfig.runAs must be {user, group} numeric ids"},
        {{{"runAs", {{"group", 1}}}}, "komodo.runAs.id", kCfg + "/runAs/user", "runAs.user is required"},
        {{{"runAs", {{"user", -1}}}}, "komodo.runAs.id", kCfg + "/runAs/user", "runAs.user must be a numeric id 0-2147483647"},
        {{{"resources", json::array()}}, "komodo.resources.type", kCfg + "/resources", "appConfig.resources must be {memory, cpus}"},
        {{{"resources", {{"memory", "1Gi"}}}}, "komodo.resources.memory", kCfg + "/resources/memory",
         "resources.memory must be a byte count with an optional unit b, k, m or g (e.g. 512m)"},
        {{{"resources", {{"cpus", 0}}}}, "komodo.resources.cpus", kCfg + "/resources/cpus",
         "resources.cpus must be a number of CPUs above 0 (e.g. 0.5)"},
        {{{"ingress", "x"}}, "komodo.ingress.type", kCfg + "/ingress", "appConfig.ingress must be {host, port}"},
        {{{"ingress", {{"host", "app.evilhypyr.space"}, {"port", 80}}}}, "komodo.ingress.host", kCfg + "/ingress/host",
         "ingress.host must be a host name under the profile's zones (internal.hypyr.space or hypyr.space)"},
        {{{"ingress", {{"host", "app.internal.hypyr.space"}, {"port", "80"}}}}, "komodo.ingress.port", kCfg + "/ingress/port",
         "ingress.port must be the container port 1-65535 the proxy forwards to"},
        {{{"tier", "Bad_Tier"}}, "komodo.layout.folder", kCfg + "/tier",
         "appConfig.tier must be a folder name (a DNS-1123 label: lowercase letters, digits and '-')"},
        {{{"group", ""}}, "komodo.layout.folder", kCfg + "/group",
         "appConfig.group must be a folder name (a DNS-1123 label: lowercase letters, digits and '-')"},
        {{{"server", ""}}, "komodo.server", kCfg + "/server", "appConfig.server must be a Komodo server name or id"},
        {{{"image", 5}}, "komodo.image.type", kCfg + "/image", "appConfig.image must be an image reference string"},
    };
    for (const auto& c : cases) {
        INFO(c.config.dump());
        expect_one(check_komodo_app_config(with_config(c.config), nas_profile()), c.code, c.path, c.message);
    }

    // Ingress without a proxy in the profile: the labels would have no reader.
    ClusterProfile no_proxy = nas_profile();
    no_proxy.komodoProxy = "none";
    expect_one(check_komodo_app_config(with_config({{"ingress", {{"host", "a.internal.hypyr.space"}, {"port", 80}}}}), no_proxy),
               "komodo.ingress.proxy", kCfg + "/ingress",
               "appConfig.ingress needs a reverse proxy: set komodo.proxy in the profile (caddy or traefik)");

    // appVersion that cannot be an image tag.
    json doc = base_doc();
    doc["komodoRequest"]["appVersion"] = "1.0.0+build";
    auto tag = check_komodo_app_config(komodo_request_from_json(doc), nas_profile());
    REQUIRE(tag.size() == 1);
    CHECK(tag[0].code == "komodo.image.tag");
    CHECK(tag[0].path == "/komodoRequest/appVersion");
    CHECK(tag[0].message.rfind("appVersion '1.0.0+build' cannot be used as the image tag: ", 0) == 0);

    // Storage without any location: no storageLocation and a profile without NAS roots.
    ClusterProfile rootless = nas_profile();
    rootless.nasAppRoots.clear();
    expect_one(komodo_compose(with_config({{"storage", {{"enabled", true}}}}), rootless).diagnostics,
               "komodo.storageLocation.required", "/komodoRequest/storageLocation",
               "storageLocation is needed for appConfig.storage and the profile has no NAS app root");
}

TEST_CASE("request-level komodo rules: code, pointer and message", "[komodo][diagnostics]") {
    struct Case {
        std::function<void(json&)> edit;
        const char* code;
        const char* path;
        std::string message;
    };
    const std::string long_text(4097, 'a');
    const std::vector<Case> cases = {
        {[&](json& d) { d["appDescription"] = long_text; }, "komodo.description.length", "/appDescription",
         "appDescription is 4097 characters; at most 4096 are allowed"},
        {[](json& d) { d["appDescription"] = "a\x01z"; }, "komodo.description.control", "/appDescription",
         "appDescription must not contain control characters"},
        {[](json& d) { d["komodoRequest"]["appVersion"] = std::string(129, '1'); }, "komodo.appVersion.length",
         "/komodoRequest/appVersion", "appVersion is 129 characters; at most 128 are allowed"},
        {[](json& d) { d["komodoRequest"]["appVersion"] = "1\x02"; }, "komodo.appVersion.control", "/komodoRequest/appVersion",
         "appVersion must not contain control characters"},
        {[](json& d) { d["komodoRequest"]["appVersion"] = "1 0"; }, "komodo.appVersion.format", "/komodoRequest/appVersion",
         "appVersion must not contain spaces"},
        {[](json& d) { d["komodoRequest"]["appVersion"] = ""; }, "komodo.appVersion.required", "/komodoRequest/appVersion",
         "appVersion must not be empty"},
        {[](json& d) { d["komodoRequest"]["appName"] = "other"; }, "komodo.appName.mismatch", "/komodoRequest/appName",
         "komodoRequest.appName must equal appName ('myapp')"},
        {[&](json& d) { d["komodoRequest"]["storageLocation"] = "/mnt/pool/apps/" + long_text; },
         "komodo.storageLocation.length", "/komodoRequest/storageLocation",
         "storageLocation is 4112 characters; at most 4096 are allowed"},
        {[](json& d) { d["komodoRequest"]["storageLocation"] = "/mnt/pool/apps/a\x1b"; }, "komodo.storageLocation.control",
         "/komodoRequest/storageLocation", "storageLocation must not contain control characters"},
        {[](json& d) { d["komodoRequest"]["storageLocation"] = "/mnt/pool/apps/../x"; }, "komodo.storageLocation.format",
         "/komodoRequest/storageLocation", "storageLocation must be an absolute path without '.', '..' or empty segments"},
        {[](json& d) { d["komodoRequest"]["storageLocation"] = "/srv/myapp"; }, "komodo.storageLocation.root",
         "/komodoRequest/storageLocation", "storageLocation must be under one of the NAS app roots: /mnt/pool/apps, /mnt/apps"},
        {[](json& d) { d["komodoApiUrl"] = "https://komodo.internal.hypyr.space/" + std::string(2100, 'a'); },
         "komodo.url.length", "/komodoApiUrl", "komodoApiUrl is 2136 characters; at most 2048 are allowed"},
        {[](json& d) { d["komodoApiUrl"] = "https://komodo\x07.x"; }, "komodo.url.control", "/komodoApiUrl",
         "komodoApiUrl must not contain control characters"},
        {[](json& d) { d["komodoApiUrl"] = "ftp://komodo"; }, "komodo.url.format", "/komodoApiUrl",
         "komodoApiUrl must be an http(s) URL"},
    };
    for (const auto& c : cases) {
        json d = base_doc();
        c.edit(d);
        INFO(c.code);
        expect_one(check_komodo_request(komodo_request_from_json(d), nas_profile()), c.code, c.path, c.message);
    }
}

TEST_CASE("protocol-level komodo rules: code, pointer and message", "[komodo][diagnostics]") {
    ClusterProfile p = nas_profile();
    p.komodoUrl.reset();
    expect_one(KomodoSession::start(with_config(json::object()), p).diagnostics, "komodo.url.missing", "",
               "no Komodo URL is configured: set komodo.url in the profile or pass --url (a request's komodoApiUrl is "
               "never used as the target)");
    p.komodoUrl = "http://komodo.lan:9120";
    expect_one(KomodoSession::start_status("myapp", p).diagnostics, "komodo.url.insecure", "",
               "the Komodo URL must use https; plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost)");
    expect_one(KomodoSession::start_destroy("", nas_profile()).diagnostics, "komodo.stack.name", "",
               "the stack name must be 1-256 printable characters");
    json doc = base_doc();
    doc["komodoRequest"]["appName"] = "";
    doc["appName"] = "";
    auto started = KomodoSession::start(komodo_request_from_json(doc), nas_profile());
    REQUIRE_FALSE(started.ok());
    bool named = false;
    for (const auto& d : started.diagnostics)
        if (d.code == "komodo.appName.required") {
            named = true;
            CHECK(d.path == "/komodoRequest/appName");
            CHECK(d.message == "appName must not be empty");
        }
    CHECK(named);
}

TEST_CASE("profile komodo section: paths, sync file and target", "[komodo][diagnostics][profile]") {
    ClusterProfile p;
    p.komodoStacksDir = "../stacks";
    expect_one(check_profile_safety(p), "profile.komodo.path", "/komodo/stacksDir",
               "komodo.stacksDir must be a relative repo path without '.', '..' or empty segments");
    p = ClusterProfile{};
    p.komodoSyncFile = ".git/resources.toml";
    expect_one(check_profile_safety(p), "profile.layout.git", "/komodo/syncFile",
               "komodo.syncFile must not contain a '.git' folder: apply would write into the repository's own metadata");
    p = ClusterProfile{};
    p.komodoSyncFile = "komodo/resources.yaml";
    expect_one(check_profile_safety(p), "profile.komodo.syncFile", "/komodo/syncFile", "komodo.syncFile must name a .toml file");
    p = ClusterProfile{};
    p.komodoServer = "truenas";
    p.komodoSwarm = "homelab";
    expect_one(check_profile_safety(p), "profile.komodo.target", "/komodo/swarm",
               "komodo.server and komodo.swarm exclude each other: a stack runs on one server or on one swarm");
    // The profile file reads the section.
    auto engine = Engine::create(EngineOptions{
        "komodo:\n  url: https://k.example\n  swarm: homelab\n  tags: [nas, apps]\n  stacksDir: deploy/stacks\n"
        "  syncFile: komodo/sync.toml\n  linkedRepo: homelab\n  proxy: traefik\n"});
    REQUIRE(engine.ok());
    const ClusterProfile& q = (*engine.value)->profile();
    CHECK(q.komodoSwarm == std::string("homelab"));
    CHECK_FALSE(q.komodoServer);
    CHECK(q.komodoTags == std::vector<std::string>{"nas", "apps"});
    CHECK(q.komodoStacksDir == "deploy/stacks");
    CHECK(q.komodoSyncFile == "komodo/sync.toml");
    CHECK(q.komodoLinkedRepo == std::string("homelab"));
    CHECK(q.komodoProxy == "traefik");
}

TEST_CASE("a stack managed from files on the host or a repo is refused, or taken over", "[komodo]") {
    struct Case {
        const char* info;
        const char* how;
    };
    for (auto c : {Case{R"({"files_on_host": true, "repo": "", "linked_repo": ""})", "files on the host"},
                   Case{R"({"files_on_host": false, "repo": "me/stacks", "linked_repo": ""})", "the git repo 'me/stacks'"},
                   Case{R"({"files_on_host": false, "repo": "", "linked_repo": "homelab"})", "the linked repo 'homelab'"}}) {
        const std::string list = std::string(R"([{"id": "stk-1", "type": "Stack", "name": "myapp", "template": false,
            "tags": [], "info": )") + c.info + "}]";
        auto m = KomodoSession::start(with_config(json::object()), nas_profile());
        REQUIRE(m.ok());
        m.value->on_response(200, list);
        REQUIRE(m.value->finished());
        CHECK(m.value->outcome() == KomodoOutcome::deploy_failed);
        const std::string msg = std::string("stack 'myapp' exists on Komodo but takes its compose file from ") + c.how +
                                ", which Komodo prefers over the file appforge sends: appforge's deploy would be ignored. "
                                "Switch it back in Komodo, or pass --take-over to pin it to appforge's compose file";
        expect_one(m.value->diagnostics(), "komodo.stack.managed", "/komodoRequest/appName", msg);
        CHECK(m.value->request().errorMessage == msg);

        KomodoDeployOptions take;
        take.take_over = true;
        auto t = KomodoSession::start(with_config(json::object()), nas_profile(), take);
        t.value->on_response(200, list);
        auto call = t.value->next();
        REQUIRE(call);
        REQUIRE(t.value->diagnostics().size() == 1);
        CHECK(t.value->diagnostics()[0] ==
              Diagnostic{"/komodoRequest/appName", "komodo.stack.taken_over",
                         std::string("stack 'myapp' took its compose file from ") + c.how +
                             "; --take-over pins it to appforge's compose file",
                         Severity::warning});
        CHECK(call->type == "UpdateStack");
        CHECK(call->body["params"]["id"] == "stk-1");
        CHECK(call->body["params"]["config"]["files_on_host"] == false);
        CHECK(call->body["params"]["config"]["repo"] == "");
        CHECK(call->body["params"]["config"]["linked_repo"] == "");
    }
}

TEST_CASE("tags and description are set after the write, then the deploy", "[komodo]") {
    json doc = base_doc();
    doc["appDescription"] = "Example app";
    ClusterProfile p = nas_profile();
    p.komodoTags = {"appforge", "nas"};
    auto m = KomodoSession::start(with_config(json::object(), doc), p);
    REQUIRE(m.ok());
    m.value->on_response(200, "[]");
    CHECK(m.value->next()->body["params"]["config"]["server_id"] == "truenas");  // komodo.server of the profile
    m.value->on_response(200, R"({"_id": {"$oid": "stk-9"}})");
    auto meta = m.value->next();
    REQUIRE(meta);
    CHECK(meta->path == "/write");
    CHECK(meta->body == json{{"type", "UpdateResourceMeta"},
                             {"params", {{"target", {{"type", "Stack"}, {"id", "stk-9"}}},
                                         {"description", "Example app"},
                                         {"tags", {"appforge", "nas"}}}}});
    m.value->on_response(200, "{}");  // NoData
    CHECK(m.value->next()->type == "DeployStack");
}

TEST_CASE("409 on create and a failed pull inside the Update", "[komodo]") {
    auto m = KomodoSession::start(with_config(json::object()), nas_profile());
    m.value->on_response(200, "[]");
    m.value->on_response(409, R"({"error": "Resource with name 'myapp' already exists", "trace": []})");
    CHECK(m.value->outcome() == KomodoOutcome::deploy_failed);
    CHECK(*m.value->request().errorMessage ==
          "Komodo refused CreateStack (HTTP 409): a stack named 'myapp' already exists: Resource with name 'myapp' "
          "already exists");

    auto d = KomodoSession::start(with_config(json::object()), nas_profile());
    d.value->on_response(200, "[]");
    d.value->on_response(200, R"({"_id": {"$oid": "stk-9"}})");
    d.value->on_response(200, "{}");
    d.value->on_response(200, R"({"_id": {"$oid": "u1"}, "status": "InProgress", "success": true, "logs": []})");
    d.value->on_response(200, R"({"_id": {"$oid": "u1"}, "status": "Complete", "success": false, "logs": [
        {"stage": "Write Compose File", "stdout": "ok", "stderr": "", "success": true},
        {"stage": "Compose Pull", "stdout": "", "stderr": "pull access denied for myapp", "success": false}]})");
    CHECK(d.value->outcome() == KomodoOutcome::deploy_failed);
    CHECK(*d.value->request().errorMessage == "Komodo deploy of stack 'myapp' failed: Compose Pull: pull access denied for myapp");
}

TEST_CASE("secret environment: a compose reference plus a Komodo variable in the stack environment", "[komodo]") {
    json cfg = {{"environment", {{"PRICE", "$5"}, {"REF", "${HOME}"}}},
                {"secretEnv", {{{"name", "DB_PASSWORD"}, {"komodoVariable", "PAPERLESS_DB_PASSWORD"}},
                               {{"name", "API_TOKEN"}, {"komodoVariable", "paperless.token"}}}}};
    KomodoRequest r = with_config(cfg);
    CHECK(*komodo_compose(r, nas_profile()).value == R"(services:
  myapp:
    environment:
      API_TOKEN: "${API_TOKEN}"
      DB_PASSWORD: "${DB_PASSWORD}"
      PRICE: "$$5"
      REF: "$${HOME}"
    image: myapp:1.0.0
    restart: unless-stopped
)");
    CHECK(komodo_stack_environment(r, nas_profile()) ==
          "DB_PASSWORD='[[PAPERLESS_DB_PASSWORD]]'\nAPI_TOKEN='[[paperless.token]]'\n");
    auto m = KomodoSession::start(r, nas_profile());
    m.value->on_response(200, "[]");
    CHECK(m.value->next()->body["params"]["config"]["environment"] ==
          "DB_PASSWORD='[[PAPERLESS_DB_PASSWORD]]'\nAPI_TOKEN='[[paperless.token]]'\n");
    // Without secretEnv the stack's environment is left as the operator set it in Komodo.
    auto plain = KomodoSession::start(with_config(json::object()), nas_profile());
    plain.value->on_response(200, R"([{"id": "s", "name": "myapp", "info": {}}])");
    CHECK_FALSE(plain.value->next()->body["params"]["config"].contains("environment"));
}

TEST_CASE("compose the way real stacks are written: healthcheck, user, limits, proxy labels", "[komodo]") {
    json cfg = {{"image", "ghcr.io/acme/app"},
                {"probe", {{"path", "/healthz"}, {"port", 8080}}},
                {"runAs", {{"user", 1000}, {"group", 100}}},
                {"resources", {{"memory", "512M"}, {"cpus", 0.5}}},
                {"ingress", {{"host", "app.internal.hypyr.space"}, {"port", 8080}}}};
    ClusterProfile p = nas_profile();
    CHECK(*komodo_compose(with_config(cfg), p).value == R"(services:
  myapp:
    cpus: "0.5"
    healthcheck:
      interval: 30s
      retries: 3
      start_period: 30s
      test:
        - CMD-SHELL
        - "wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1"
      timeout: 5s
    image: ghcr.io/acme/app:1.0.0
    labels:
      caddy: app.internal.hypyr.space
      caddy.reverse_proxy: "{{upstreams 8080}}"
    mem_limit: 512m
    restart: unless-stopped
    user: "1000:100"
)");
    // Swarm: limits and labels under deploy, the proxy's network joined; Traefik's label set.
    p.komodoServer.reset();
    p.komodoSwarm = "homelab";
    p.komodoProxy = "traefik";
    p.komodoProxyNetwork = "proxy";
    cfg.erase("probe");
    cfg["probe"] = {{"command", "pg_isready -U app"}};
    CHECK(*komodo_compose(with_config(cfg), p).value == R"Y(networks:
  proxy:
    external: true
services:
  myapp:
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.myapp.rule: "Host(`app.internal.hypyr.space`)"
        traefik.http.services.myapp.loadbalancer.server.port: "8080"
      resources:
        limits:
          cpus: "0.5"
          memory: 512m
      restart_policy:
        condition: any
    healthcheck:
      interval: 30s
      retries: 3
      start_period: 30s
      test:
        - CMD-SHELL
        - pg_isready -U app
      timeout: 5s
    image: ghcr.io/acme/app:1.0.0
    networks:
      - proxy
    user: "1000:100"
)Y");
    auto m = KomodoSession::start(with_config(cfg), p);
    REQUIRE(m.ok());
    m.value->on_response(200, "[]");
    auto create = m.value->next();
    REQUIRE(create);
    CHECK(create->type == "CreateStack");
    const json config = create->body["params"]["config"];
    CHECK(config["swarm_id"] == "homelab");
    CHECK_FALSE(config.contains("server_id"));
    // A request that names its own server gets a plain compose file there, whatever the profile's swarm.
    cfg["server"] = "nas-02";
    const std::string own = *komodo_compose(with_config(cfg), p).value;
    CHECK(own.find("    deploy:\n") == std::string::npos);
    CHECK(own.find("    mem_limit: 512m\n") != std::string::npos);
    auto s = KomodoSession::start(with_config(cfg), p);
    s.value->on_response(200, "[]");
    CHECK(s.value->next()->body["params"]["config"]["server_id"] == "nas-02");
}

TEST_CASE("status: ListStacks then ListStackServices, a missing stack is not_found", "[komodo]") {
    auto m = KomodoSession::start_status("myapp", nas_profile());
    REQUIRE(m.ok());
    auto c = m.value->next();
    CHECK(c->type == "ListStacks");
    m.value->on_response(200, R"([{"id": "stk-1", "type": "Stack", "name": "myapp", "template": false, "tags": [],
        "info": {"server_id": "srv-1", "swarm_id": "", "files_on_host": false, "repo": "", "linked_repo": "",
                 "state": "running", "services": []}}])");
    c = m.value->next();
    CHECK(c->path == "/read");
    CHECK(c->body == json{{"type", "ListStackServices"}, {"params", {{"stack", "stk-1"}}}});
    m.value->on_response(200, R"([{"stack_id": "stk-1", "service": "myapp", "image": "myapp:1.0.0", "state": "running",
        "container": {"name": "myapp-myapp-1", "state": "running", "status": "Up 3 hours"}}])");
    REQUIRE(m.value->finished());
    CHECK(m.value->outcome() == KomodoOutcome::succeeded);
    CHECK(m.value->result() == json{{"stack", "myapp"}, {"id", "stk-1"}, {"state", "running"}, {"server", "srv-1"},
                                    {"swarm", ""}, {"filesOnHost", false}, {"repo", ""}, {"linkedRepo", ""},
                                    {"managedElsewhere", false},
                                    {"services", {{{"service", "myapp"}, {"image", "myapp:1.0.0"}, {"state", "running"},
                                                   {"status", "Up 3 hours"}}}}});

    auto none = KomodoSession::start_status("ghost", nas_profile());
    none.value->on_response(200, "[]");
    CHECK(none.value->outcome() == KomodoOutcome::not_found);
    CHECK(*none.value->request().errorMessage == "stack 'ghost' does not exist on Komodo");
}

TEST_CASE("destroy: DestroyStack, poll, then DeleteStack, a failed compose down stops before delete", "[komodo]") {
    auto m = KomodoSession::start_destroy("myapp", nas_profile());
    m.value->on_response(200, R"([{"id": "stk-1", "name": "myapp", "info": {}}])");
    CHECK(m.value->next()->body == json{{"type", "DestroyStack"}, {"params", {{"stack", "stk-1"}}}});
    CHECK(m.value->next()->path == "/execute");
    m.value->on_response(200, R"({"_id": {"$oid": "u1"}, "status": "InProgress", "success": true})");
    CHECK(m.value->next()->type == "GetUpdate");
    m.value->on_response(200, R"({"_id": {"$oid": "u1"}, "status": "Complete", "success": true, "logs": []})");
    CHECK(m.value->next()->body == json{{"type", "DeleteStack"}, {"params", {{"id", "stk-1"}}}});
    m.value->on_response(200, R"({"_id": {"$oid": "stk-1"}, "name": "myapp"})");
    CHECK(m.value->outcome() == KomodoOutcome::succeeded);
    CHECK(m.value->result() == json{{"stack", "myapp"}, {"id", "stk-1"}, {"destroyed", true}, {"deleted", true}});

    auto f = KomodoSession::start_destroy("myapp", nas_profile());
    f.value->on_response(200, R"([{"id": "stk-1", "name": "myapp", "info": {}}])");
    f.value->on_response(200, R"({"_id": {"$oid": "u1"}, "status": "Complete", "success": false, "logs": [
        {"stage": "Compose Down", "stderr": "no such project", "success": false}]})");
    CHECK(f.value->outcome() == KomodoOutcome::deploy_failed);
    CHECK(*f.value->request().errorMessage == "Komodo destroy of stack 'myapp' failed: Compose Down: no such project");
    CHECK_FALSE(f.value->next());
}

// ---------------------------------------------------------------------------------------
// Resource Sync
// ---------------------------------------------------------------------------------------

namespace {

// A sync file in the style of cpritchett/homelab's komodo/resources.toml (comments, after, swarm).
const char* kHomelabToml = R"(# Stacks of the home lab, deployed by the Komodo Resource Sync.

[[stack]]
name = "caddy"   # the reverse proxy first
tags = ["platform"]
deploy = true
[stack.config]
swarm = "homelab"
linked_repo = "homelab"
run_directory = "stacks/platform/proxy"
file_paths = ["compose.yaml"]

# media
[[stack]]
name = "jellyfin"
after = ["caddy"]
[stack.config]
swarm = "homelab"
linked_repo = "homelab")";  // no final newline: the edit adds it

}  // namespace

TEST_CASE("sync: a stack table appended, every existing byte kept", "[komodo][sync]") {
    json doc = base_doc();
    doc["appDescription"] = "Example app";
    json cfg = {{"tier", "apps"}, {"group", "tools"}, {"after", {"caddy"}},
                {"secretEnv", {{{"name", "DB_PASSWORD"}, {"komodoVariable", "MYAPP_DB_PASSWORD"}}}}};
    auto table = komodo_sync_stack_table(with_config(cfg, doc), nas_profile());
    REQUIRE(table.ok());
    const std::string expected_table = R"([[stack]]
name = "myapp"
description = "Example app"
tags = ["appforge"]
deploy = true
after = ["caddy"]
[stack.config]
server = "truenas"
linked_repo = "homelab"
run_directory = "stacks/apps/tools"
file_paths = ["compose.yaml"]
environment = '''DB_PASSWORD='[[MYAPP_DB_PASSWORD]]'
'''
)";
    CHECK(*table.value == expected_table);
    auto edit = append_sync_stack("komodo/resources.toml", kHomelabToml, *table.value, "myapp");
    REQUIRE(edit.ok());
    CHECK(edit.value->new_text == std::string(kHomelabToml) + "\n\n" + expected_table);
    CHECK(edit.value->line == 21);
    CHECK(*sync_stack_names(edit.value->new_text).value == std::vector<std::string>{"caddy", "jellyfin", "myapp"});

    expect_one(append_sync_stack("komodo/resources.toml", kHomelabToml, *table.value, "jellyfin").diagnostics,
               "komodo.sync.exists", "/komodoRequest/appName",
               "komodo/resources.toml already declares a [[stack]] named 'jellyfin'; choose another appName or edit that table");
    // A file whose stacks are one static array cannot take a [[stack]] table: the re-read says so.
    auto verify = append_sync_stack("k.toml", "stack = [{name = \"a\"}]\n", *table.value, "myapp");
    REQUIRE(verify.diagnostics.size() == 1);
    CHECK(verify.diagnostics[0].code == "komodo.sync.verify");
    CHECK(verify.diagnostics[0].message.rfind("k.toml: appending the [[stack]] table would not give a file with exactly "
                                              "the existing stacks plus 'myapp' (", 0) == 0);
}

TEST_CASE("sync: files that are not Resource Sync TOML", "[komodo][sync]") {
    auto bad = sync_stack_names("[[stack]\nname = 1", "k.toml");
    REQUIRE(bad.diagnostics.size() == 1);
    CHECK(bad.diagnostics[0].code == "komodo.sync.parse");
    CHECK(bad.diagnostics[0].path == "k.toml");
    CHECK(bad.diagnostics[0].message.rfind("the Resource Sync file is not valid TOML: ", 0) == 0);
    expect_one(sync_stack_names("stack = 5\n", "k.toml").diagnostics, "komodo.sync.parse", "k.toml",
               "'stack' is not an array of [[stack]] tables");
    expect_one(sync_stack_names("[[stack]]\ndeploy = true\n", "k.toml").diagnostics, "komodo.sync.parse", "k.toml",
               "a [[stack]] table has no string 'name' (Komodo requires one)");
    CHECK(sync_stack_names("# empty\n").value->empty());
    // Hostile nesting is refused before the recursive parser sees it (100 000 levels overflowed it).
    for (const std::string& deep : {"a = " + std::string(100000, '[') + std::string(100000, ']') + "\n",
                                    "a = " + std::string(65, '{') + "\n"}) {
        expect_one(sync_stack_names(deep, "k.toml").diagnostics, "komodo.sync.parse", "k.toml",
                   "the Resource Sync file nests arrays or inline tables deeper than 64 levels; appforge does not read it");
    }
    // Brackets inside strings and comments are not nesting.
    const std::string quoted = "# " + std::string(100, '[') + "\n[[stack]]\nname = \"" + std::string(100, '{') +
                               "\"\nx = '''" + std::string(100, '[') + "'''\ny = 'a[' \n";
    auto names = sync_stack_names(quoted);
    REQUIRE(names.ok());
    CHECK(*names.value == std::vector<std::string>{std::string(100, '{')});
}

TEST_CASE("sync plan: compose file and table, conflicts refused, nothing partial", "[komodo][sync]") {
    auto engine = Engine::create(EngineOptions{"komodo:\n  server: truenas\n  linkedRepo: homelab\n  proxy: caddy\n"});
    REQUIRE(engine.ok());
    const Engine& e = **engine.value;
    json doc = base_doc();
    doc["komodoRequest"]["appConfig"] = {{"group", "tools"}};
    MemoryRepo repo;
    repo.put("komodo/resources.toml", kHomelabToml);
    repo.put("stacks/platform/proxy/compose.yaml", "services: {}\n");
    auto planned = plan_komodo_checked_request(e, e.check_document(doc), repo);
    REQUIRE(planned.ok());
    const Plan& p = *planned.plan;
    REQUIRE(p.creates.size() == 1);
    CHECK(p.creates[0].path == "stacks/apps/tools/compose.yaml");
    CHECK(p.creates[0].content == "services:\n  myapp:\n    image: myapp:1.0.0\n    restart: unless-stopped\n");
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].path == "komodo/resources.toml");
    CHECK(p.edits[0].old_text == kHomelabToml);
    CHECK(p.branch.rfind("feat/app/myapp-", 0) == 0);
    CHECK(p.branch.size() == std::string("feat/app/myapp-").size() + 8);
    CHECK(p.commitMessage.rfind("feat(app): add myapp\n\n", 0) == 0);
    CHECK(p.prTitle == "feat: deploy myapp");
    CHECK(p.risk.verdict == RiskVerdict::auto_merge);

    // No sync file yet: it is created.
    MemoryRepo empty;
    auto fresh = plan_komodo_checked_request(e, e.check_document(doc), empty);
    REQUIRE(fresh.ok());
    REQUIRE(fresh.plan->creates.size() == 2);
    CHECK(fresh.plan->creates[1].path == "komodo/resources.toml");
    CHECK(*sync_stack_names(fresh.plan->creates[1].content).value == std::vector<std::string>{"myapp"});

    auto only = [&](const RepoView& r, json d = json()) {
        auto pr = plan_komodo_checked_request(e, e.check_document(d.is_null() ? doc : d), r);
        CHECK_FALSE(pr.ok());
        return pr.diagnostics;
    };
    MemoryRepo taken = repo;
    taken.put("stacks/apps/tools/compose.yaml", "services: {}\n");
    expect_one(only(taken), "komodo.sync.compose.exists", "",
               "stacks/apps/tools/compose.yaml already exists; another stack uses this tier/group (set appConfig.tier or "
               "appConfig.group)");
    MemoryRepo linked;
    linked.put_symlink("stacks/apps");
    expect_one(only(linked), "komodo.sync.symlink", "", "stacks/apps is a symbolic link: nothing is written through a link");
    MemoryRepo folder;
    folder.put("komodo/resources.toml/x", "");
    expect_one(only(folder), "komodo.sync.unreadable", "", "komodo/resources.toml exists but is not a readable regular file");
    json done = doc;
    done["status"] = "success";
    expect_one(only(repo, done), "komodo.status", "/status",
               "only a pending request can be planned or applied; this one is success");
    json bad_after = doc;
    bad_after["komodoRequest"]["appConfig"]["after"] = {"Caddy!"};
    expect_one(only(repo, bad_after), "komodo.after", "/komodoRequest/appConfig/after",
               "appConfig.after must be a list of stack names (DNS-1123 labels) deployed first");
    json gitops = {{"operatorId", "erin"}, {"appName", "web"}, {"containerImage", "nginx:1.27"}};
    auto kind = only(repo, gitops);
    bool named = false;
    for (const auto& d : kind)
        if (d.code == "komodo.kind") {
            named = true;
            CHECK(d.message == "this is a GitOps request (no komodoRequest member); use `appforge plan`");
        }
    CHECK(named);

    auto bare = Engine::create(EngineOptions{"komodo:\n  proxy: none\n"});
    REQUIRE(bare.ok());
    auto none = plan_komodo_checked_request(**bare.value, (*bare.value)->check_document(doc), repo);
    REQUIRE(none.diagnostics.size() == 2);
    CHECK(none.diagnostics[0] == Diagnostic{"", "komodo.sync.target",
                                            "the [[stack]] table needs a server or swarm: set komodo.server or komodo.swarm "
                                            "in the profile, appConfig.server, or pass --server / --swarm",
                                            Severity::error});
    CHECK(none.diagnostics[1] == Diagnostic{"", "komodo.sync.linkedRepo",
                                            "komodo.linkedRepo is not set in the profile: a synced stack reads its compose "
                                            "file from the Komodo Repo resource of this repository (linked_repo)",
                                            Severity::error});
}

TEST_CASE("every komodo.* code the sources can emit is named by a test", "[komodo][diagnostics]") {
    namespace fs = corpus::fs;
    const fs::path src = corpus::source_dir();
    std::set<std::string> defined;
    const std::regex literal("\"(komodo\\.[A-Za-z.]+[A-Za-z])\"");
    const std::regex bounded_call("bounded\\(s, \"[^\"]*\", \"(komodo\\.[A-Za-z]+)\"");
    for (const char* f : {"libappforge/src/komodo.cpp", "libappforge/src/komodo_sync.cpp", "libappforge/src/validate.cpp",
                          "libappforge/src/net_rules.cpp"}) {
        const std::string text = corpus::read_file(src / f);
        for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) defined.insert((*it)[1]);
        for (std::sregex_iterator it(text.begin(), text.end(), bounded_call), end; it != end; ++it) {
            defined.erase((*it)[1]);  // a prefix: bounded() adds .length and .control
            defined.insert(std::string((*it)[1]) + ".length");
            defined.insert(std::string((*it)[1]) + ".control");
        }
    }
    REQUIRE(defined.size() >= 50);
    std::string tests;
    for (const auto& e : fs::recursive_directory_iterator(src / "tests")) {
        const std::string name = e.path().filename().string();
        if (e.path().string().find("node_modules") != std::string::npos) continue;
        if (e.is_regular_file() && (name.rfind("test_", 0) == 0 || name.size() > 14 &&
                                                                       name.substr(name.size() - 14) == ".expected.json"))
            tests += corpus::read_file(e.path());
    }
    for (const auto& code : defined) {
        INFO(code);
        CHECK(tests.find("\"" + code + "\"") != std::string::npos);
    }
}
