// Diagnostic codes that no other test named (issue 19): each triggered by one change to a valid
// input, asserted with its code, JSON pointer and message. tests/integration/test_diagnostic_codes.py
// fails when a code the sources can emit is named by no test.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appforge/catalog.hpp"
#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/patterntest.hpp"
#include "appforge/render.hpp"
#include "appforge/schema.hpp"
#include "appforge/validate.hpp"
#include "diag_support.hpp"
#include "security_support.hpp"

using appforge::Diagnostic;
using appforge::Diagnostics;
using appforge::Severity;
using nlohmann::json;
using sectest::dump;
using sectest::Scratch;

namespace {

std::shared_ptr<const appforge::Engine> engine(const std::string& profile = "") {
    appforge::EngineOptions o;
    if (!profile.empty()) o.profile_text = profile;
    auto e = appforge::Engine::create(o);
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    return *e.value;
}

json base_app() {
    return json{{"operatorId", "alice"},          {"appName", "demo"},
                {"containerImage", "ghcr.io/example/demo:1.0.0"}, {"storagePattern", "ephemeral"},
                {"ingressPattern", "internal-only"}, {"backupStrategy", "none"}};
}

Diagnostics with_code(const Diagnostics& ds, const std::string& code) {
    Diagnostics out;
    for (const auto& d : ds)
        if (d.code == code) out.push_back(d);
    return out;
}

Diagnostic error(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error};
}
Diagnostic warning(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::warning};
}

struct Row {
    const char* what;
    json doc;
    Diagnostic expected;
};

json with(json j, const json::json_pointer& at, json value) {
    j[at] = std::move(value);
    return j;
}

json persistent_backup() {
    json j = base_app();
    j["storagePattern"] = "longhorn-persistent";
    j["storageConfig"] = {{"sizeGi", 5}};
    j["backupStrategy"] = "volsync-snapshots";
    return j;
}

json nas_app() {
    json j = base_app();
    j["storagePattern"] = "nas-mount";
    j["storageConfig"] = {{"nasEndpoint", "nfs://nas.internal:2049"}, {"nasSubpath", "/mnt/pool/apps/demo"}};
    return j;
}

json s3_app() {
    json j = base_app();
    j["storagePattern"] = "s3-external";
    j["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}};
    return j;
}

std::string chars(std::size_t n, char c = 'a') { return std::string(n, c); }

void run(const std::vector<Row>& rows, const appforge::Engine& e) {
    for (const auto& row : rows) {
        auto ds = e.check_document(row.doc).diagnostics;
        INFO(row.what << "\n" << dump(ds));
        CHECK(with_code(ds, row.expected.code) == Diagnostics{row.expected});
    }
}

}  // namespace

TEST_CASE("codes: length and control-character bounds of every free-text field", "[codes]") {
    using P = json::json_pointer;
    const json app = base_app();
    std::vector<Row> rows{
        {"id length", with(app, P("/id"), chars(65)), error("/id", "app.id.length", "id is 65 characters; at most 64 are allowed")},
        {"id control", with(app, P("/id"), "abc\x01"), error("/id", "app.id.control", "id must not contain control characters")},
        {"operatorId length", with(app, P("/operatorId"), chars(257)),
         error("/operatorId", "app.operator.length", "operatorId is 257 characters; at most 256 are allowed")},
        {"operatorId control", with(app, P("/operatorId"), "al\x1bice"),
         error("/operatorId", "app.operator.control", "operatorId must not contain control characters")},
        {"timestamp length", with(app, P("/timestamp"), chars(65)),
         error("/timestamp", "app.timestamp.length", "timestamp is 65 characters; at most 64 are allowed")},
        {"timestamp control", with(app, P("/timestamp"), "2026-01-25T10:00:00Z\n"),
         error("/timestamp", "app.timestamp.control", "timestamp must not contain control characters")},
        {"containerImage length", with(app, P("/containerImage"), "ghcr.io/" + chars(505)),
         error("/containerImage", "image.length", "containerImage is 513 characters; at most 512 are allowed")},
        {"containerImage control", with(app, P("/containerImage"), "ghcr.io/example/demo:1.0\t"),
         error("/containerImage", "image.control", "containerImage must not contain control characters")},
        {"namespace length", with(app, P("/namespace"), chars(4097)),
         error("/namespace", "namespace.length", "namespace is 4097 characters; at most 4096 are allowed")},
        {"namespace control", with(app, P("/namespace"), "demo\x7f"),
         error("/namespace", "namespace.control", "namespace must not contain control characters")},
        {"cpu length", with(app, P("/resourceRequests/cpu"), chars(65, '1')),
         error("/resourceRequests/cpu", "resources.cpu.length", "cpu is 65 characters; at most 64 are allowed")},
        {"cpu control", with(app, P("/resourceRequests/cpu"), "100m\x01"),
         error("/resourceRequests/cpu", "resources.cpu.control", "cpu must not contain control characters")},
        {"cpu format", with(app, P("/resourceRequests/cpu"), "lots"),
         error("/resourceRequests/cpu", "resources.cpu.format", "cpu must be a Kubernetes quantity such as 100m or 0.5")},
        {"memory length", with(app, P("/resourceRequests/memory"), chars(65, '1')),
         error("/resourceRequests/memory", "resources.memory.length", "memory is 65 characters; at most 64 are allowed")},
        {"memory control", with(app, P("/resourceRequests/memory"), "1Gi\x01"),
         error("/resourceRequests/memory", "resources.memory.control", "memory must not contain control characters")},
        {"memory format", with(app, P("/resourceRequests/memory"), "lots"),
         error("/resourceRequests/memory", "resources.memory.format",
               "memory must be a Kubernetes quantity such as 256Mi or 1Gi")},
        {"internalHostname length", with(app, P("/ingressConfig/internalHostname"), chars(254)),
         error("/ingressConfig/internalHostname", "ingress.host.length",
               "internalHostname is 254 characters; at most 253 are allowed")},
        {"internalHostname control", with(app, P("/ingressConfig/internalHostname"), "demo\x01.internal.hypyr.space"),
         error("/ingressConfig/internalHostname", "ingress.host.control",
               "internalHostname must not contain control characters")},
        {"prUrl length", with(app, P("/prUrl"), "https://" + chars(2041)),
         error("/prUrl", "app.prUrl.length", "prUrl is 2049 characters; at most 2048 are allowed")},
        {"prUrl control", with(app, P("/prUrl"), "https://x\x01"),
         error("/prUrl", "app.prUrl.control", "prUrl must not contain control characters")},
        {"prUrl format", with(app, P("/prUrl"), "ftp://example.org/pr/1"),
         error("/prUrl", "app.prUrl.format", "prUrl must be an http(s) URL")},
        {"mergedAt length", with(app, P("/mergedAt"), chars(65)),
         error("/mergedAt", "app.mergedAt.length", "mergedAt is 65 characters; at most 64 are allowed")},
        {"mergedAt control", with(app, P("/mergedAt"), "2026\x01"),
         error("/mergedAt", "app.mergedAt.control", "mergedAt must not contain control characters")},
        {"mergedAt format", with(app, P("/mergedAt"), "yesterday"),
         error("/mergedAt", "app.mergedAt.format", "mergedAt must be an ISO 8601 date-time with a time zone")},
        {"prNumber range", with(app, P("/prNumber"), 0), error("/prNumber", "app.prNumber.range", "prNumber must be at least 1")},
        {"commitSha format", with(app, P("/commitSha"), "ABCDEF"),
         error("/commitSha", "app.commitSha.format", "commitSha must be a 40- or 64-character lowercase hex git object id")},
        {"cloudflareZoneId format", with(app, P("/ingressConfig/cloudflareZoneId"), "XYZ"),
         error("/ingressConfig/cloudflareZoneId", "ingress.cloudflareZoneId.format",
               "cloudflareZoneId must be 32 lowercase hexadecimal characters")},
        {"externalHostname on an internal pattern", with(app, P("/ingressConfig/externalHostname"), "demo.hypyr.space"),
         warning("/ingressConfig/externalHostname", "ingress.unused",
                 "externalHostname is ignored by ingress pattern 'internal-only'")},
        {"schedule length", with(persistent_backup(), P("/backupConfig/schedule"), chars(257)),
         error("/backupConfig/schedule", "backup.schedule.length", "schedule is 257 characters; at most 256 are allowed")},
        {"schedule control", with(persistent_backup(), P("/backupConfig/schedule"), "0 2 * * *\n"),
         error("/backupConfig/schedule", "backup.schedule.control", "schedule must not contain control characters")},
        {"nasEndpoint length", with(nas_app(), P("/storageConfig/nasEndpoint"), "nfs://" + chars(4091)),
         error("/storageConfig/nasEndpoint", "storage.nasEndpoint.length",
               "nasEndpoint is 4097 characters; at most 4096 are allowed")},
        {"nasEndpoint control", with(nas_app(), P("/storageConfig/nasEndpoint"), "nfs://nas.internal:2049\x01"),
         error("/storageConfig/nasEndpoint", "storage.nasEndpoint.control", "nasEndpoint must not contain control characters")},
        {"nasSubpath length", with(nas_app(), P("/storageConfig/nasSubpath"), "/mnt/pool/apps/" + chars(4082)),
         error("/storageConfig/nasSubpath", "storage.nasSubpath.length",
               "nasSubpath is 4097 characters; at most 4096 are allowed")},
        {"s3Bucket length", with(s3_app(), P("/storageConfig/s3Bucket"), chars(257)),
         error("/storageConfig/s3Bucket", "storage.s3Bucket.length", "s3Bucket is 257 characters; at most 256 are allowed")},
        {"s3Bucket control", with(s3_app(), P("/storageConfig/s3Bucket"), "demo\x01"),
         error("/storageConfig/s3Bucket", "storage.s3Bucket.control", "s3Bucket must not contain control characters")},
        {"s3Region length", with(s3_app(), P("/storageConfig/s3Region"), chars(65)),
         error("/storageConfig/s3Region", "storage.s3Region.length", "s3Region is 65 characters; at most 64 are allowed")},
        {"s3Region control", with(s3_app(), P("/storageConfig/s3Region"), "us-east-1\x01"),
         error("/storageConfig/s3Region", "storage.s3Region.control", "s3Region must not contain control characters")},
    };
    run(rows, *engine());
}

TEST_CASE("codes: resource requests are required where the profile says production", "[codes]") {
    auto e = engine("requireResourceRequests: true\n");
    auto ds = e->check_document(base_app()).diagnostics;
    INFO(dump(ds));
    CHECK(with_code(ds, "resources.cpu.required") ==
          Diagnostics{error("/resourceRequests/cpu", "resources.cpu.required",
                            "cpu request is required in this cluster (production profile)")});
    CHECK(with_code(ds, "resources.memory.required") ==
          Diagnostics{error("/resourceRequests/memory", "resources.memory.required",
                            "memory request is required in this cluster (production profile)")});
}

TEST_CASE("codes: a storage pattern's required fields are named at their field", "[codes]") {
    auto e = engine();
    auto drop = [](json j, const char* f) {
        j["storageConfig"].erase(f);
        if (j["storageConfig"].empty()) j.erase("storageConfig");
        return j;
    };
    json longhorn = base_app();
    longhorn["storagePattern"] = "longhorn-persistent";
    longhorn["storageConfig"] = {{"sizeGi", 5}};
    run({{"sizeGi", drop(longhorn, "sizeGi"),
          error("/storageConfig/sizeGi", "storage.sizeGi.required",
                "sizeGi is required for storage pattern 'longhorn-persistent'")},
         {"nasEndpoint", drop(nas_app(), "nasEndpoint"),
          error("/storageConfig/nasEndpoint", "storage.nasEndpoint.required",
                "nasEndpoint is required for storage pattern 'nas-mount'")},
         {"nasSubpath", drop(nas_app(), "nasSubpath"),
          error("/storageConfig/nasSubpath", "storage.nasSubpath.required",
                "nasSubpath is required for storage pattern 'nas-mount'")},
         {"s3Bucket", drop(s3_app(), "s3Bucket"),
          error("/storageConfig/s3Bucket", "storage.s3Bucket.required", "s3Bucket is required for storage pattern 's3-external'")},
         {"s3Region", drop(s3_app(), "s3Region"),
          error("/storageConfig/s3Region", "storage.s3Region.required",
                "s3Region is required for storage pattern 's3-external'")}},
        *e);
}

// ---------------------------------------------------------------------------------------------
// The cluster profile: the rules (check_profile) and the schema (Engine::create).

TEST_CASE("codes: profile rules name the setting", "[codes][profile]") {
    const appforge::ClusterProfile base = engine()->profile();
    REQUIRE(appforge::check_profile(base).empty());
    struct P {
        const char* what;
        std::function<void(appforge::ClusterProfile&)> change;
        Diagnostic expected;
    };
    std::vector<P> rows{
        {"public zone", [](auto& p) { p.publicZone = "not a zone"; },
         error("/zones/public", "profile.zone", "zone 'not a zone' must be a DNS name")},
        {"internal zone", [](auto& p) { p.internalZone = "-bad-.zone"; },
         error("/zones/internal", "profile.zone", "zone '-bad-.zone' must be a DNS name")},
        {"tunnel target", [](auto& p) { p.tunnelTarget = "no way"; },
         error("/ingress/tunnelTarget", "profile.tunnelTarget", "tunnelTarget must be a DNS name")},
        {"annotation prefix", [](auto& p) { p.externalDnsPrefix = "external-dns.alpha.kubernetes.io"; },
         error("/externalDns/annotationPrefix", "profile.annotationPrefix",
               "annotationPrefix must be a DNS name followed by '/', e.g. external-dns.alpha.kubernetes.io/")},
        {"nas endpoint", [](auto& p) { p.nasEndpoints = {"smb://nas"}; },
         error("/nas/endpoints/0", "profile.nasEndpoint", "NAS endpoint must look like nfs://server[:port]")},
        {"nas app root", [](auto& p) { p.nasAppRoots = {"/mnt/apps", "relative/apps"}; },
         error("/nas/appRoots/1", "profile.nasAppRoot", "NAS app roots must be absolute paths")},
        {"mount path", [](auto& p) { p.mountPath = "/data:rw"; },
         error("/storage/mountPath", "profile.mountPath", "mountPath must be an absolute path without ':'")},
        {"nas capacity", [](auto& p) { p.nasCapacity = "lots"; },
         error("/storage/nasCapacity", "profile.nasCapacity", "nasCapacity must be a Kubernetes quantity")},
        {"repository key without a secret store",
         [](auto& p) {
             p.volsyncRepositoryKey = "restic";
             p.secretStore.reset();
         },
         error("/volsync/repositoryKey", "profile.secretStore",
               "volsync.repositoryKey needs a secretStore to create the restic Secret from")},
        {"class name", [](auto& p) { p.storageClass = "Longhorn_SC"; },
         error("", "profile.className", "class name 'Longhorn_SC' must be a DNS-1123 subdomain")},
        {"object name", [](auto& p) { p.volsyncSnapshotClass = "Snap Class"; },
         error("/volsync/snapshotClass", "profile.name",
               "volsync.snapshotClass must be a Kubernetes object name (DNS-1123 subdomain)")},
        {"cache capacity", [](auto& p) { p.volsyncCacheCapacity = "1 GB"; },
         error("/volsync/cacheCapacity", "profile.cacheCapacity", "volsync.cacheCapacity must be a Kubernetes quantity")},
    };
    for (const auto& row : rows) {
        appforge::ClusterProfile p = base;
        row.change(p);
        auto ds = appforge::check_profile(p);
        INFO(row.what << "\n" << dump(ds));
        CHECK(ds == Diagnostics{row.expected});
    }
}

TEST_CASE("codes: a profile that breaks its schema is profile.schema.*", "[codes][profile]") {
    struct P {
        const char* text;
        Diagnostic expected;
    };
    std::vector<P> rows{
        {"zones:\n  public: 5\n", error("/zones/public", "profile.schema.type", "profile: must be a string")},
        {"bogus: 1\n", error("/bogus", "profile.schema.unknown_field", "profile: unknown field 'bogus' (not part of ClusterProfile; check the spelling)")},
        {"secretStore:\n  name: s\n  kind: Vault\n",
         error("/secretStore/kind", "profile.schema.enum", "profile: must be one of \"SecretStore\", \"ClusterSecretStore\"")},
        {"secretStore:\n  kind: ClusterSecretStore\n",
         error("/secretStore/name", "profile.schema.required", "profile: required field 'name' is missing")},
    };
    for (const auto& row : rows) {
        appforge::EngineOptions o;
        o.profile_text = row.text;
        auto e = appforge::Engine::create(o);
        INFO(row.text << "\n" << dump(e.diagnostics));
        CHECK_FALSE(e.ok());
        CHECK(with_code(e.diagnostics, row.expected.code) == Diagnostics{row.expected});
    }
}

// ---------------------------------------------------------------------------------------------
// The YAML reader, JSON Schema and pattern catalog.

TEST_CASE("codes: parse.key and parse.tag", "[codes][parse]") {
    auto first = [](std::string_view text) {
        auto r = appforge::parse_document(text);
        INFO(text << "\n" << dump(r.diagnostics));
        REQUIRE(r.diagnostics.size() == 1);
        return r.diagnostics[0];
    };
    CHECK(first("? [a, b]\n: 1\n") ==
          error("", "parse.key", "mapping keys must be plain strings, not collections (line 1, column 3)"));
    CHECK(first("a: {x: 1}\n{b: 1}: 2\n").code == "parse.key");
    CHECK(first("a: !!int ten\n") == error("", "parse.tag", "value does not match its tag tag:yaml.org,2002:int (line 1, column 4)"));
    CHECK(first("a: !shell rm\n") == error("", "parse.tag", "unsupported YAML tag '!shell' (line 1, column 4)"));
}

TEST_CASE("codes: schema.constraint and schema.internal from a JsonSchema", "[codes][schema]") {
    appforge::JsonSchema minimum(json{{"type", "object"}, {"properties", {{"n", {{"type", "integer"}, {"minimum", 1}}}}}},
                                 "T");
    CHECK(minimum.validate(json{{"n", 0}}) == Diagnostics{error("/n", "schema.constraint", "Expected number greater than or equal to 1.000000")});
    // A pattern the regex engine cannot compile fails when applied: reported, never thrown.
    appforge::JsonSchema broken(json{{"type", "string"}, {"pattern", "(["}}, "Broken");
    auto ds = broken.validate(json("x"), "/at");
    INFO(dump(ds));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "schema.internal");
    CHECK(ds[0].path == "/at");
    CHECK(ds[0].message.rfind("Broken schema could not be applied: ", 0) == 0);
}

namespace {

const char* const kStorage =
    "id: t\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\npersistent: false\n"
    "volumeName: app-data\nvolume: |\n  name: \"{{volumeName}}\"\n  emptyDir: {}\n";

Diagnostics add_pattern(const std::string& text) {
    appforge::Catalog c;
    return c.add("t.yaml", text);
}

}  // namespace

TEST_CASE("codes: a pattern that breaks the pattern schema is pattern.schema.*", "[codes][patterns]") {
    REQUIRE(add_pattern(kStorage).empty());
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        auto at = s.find(from);
        REQUIRE(at != std::string::npos);
        return s.replace(at, from.size(), to);
    };
    struct P {
        std::string text;
        Diagnostic expected;
    };
    std::vector<P> rows{
        {replace(kStorage, "persistent: false", "persistent: 3"),
         error("/persistent", "pattern.schema.type", "t.yaml: /persistent: must be a boolean")},
        {replace(kStorage, "kind: storage", "kind: database"),
         error("/kind", "pattern.schema.enum", "t.yaml: /kind: must be one of \"storage\", \"ingress\", \"backup\", \"workload\"")},
        {replace(kStorage, "name: T\n", ""), error("/name", "pattern.schema.required", "t.yaml: /name: required field 'name' is missing")},
        {std::string(kStorage) + "color: red\n",
         error("/color", "pattern.schema.unknown_field", "t.yaml: /color: unknown field 'color' (not part of Pattern; check the spelling)")},
        {replace(kStorage, "id: t", "id: Not_An_Id"),
         error("/id", "pattern.schema.constraint", "t.yaml: /id: Failed to match regex specified by 'pattern' constraint.")},
    };
    for (const auto& row : rows) {
        auto ds = add_pattern(row.text);
        INFO(row.text << "\n" << dump(ds));
        CHECK(with_code(ds, row.expected.code) == Diagnostics{row.expected});
    }
}

TEST_CASE("codes: pattern.storage.volume, pattern.file_name and pattern.read", "[codes][patterns]") {
    std::string no_volume = "id: t\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\n";
    CHECK(add_pattern(no_volume) ==
          Diagnostics{error("", "pattern.storage.volume", "t.yaml: a storage pattern needs 'volumeName' and 'volume'")});

    Scratch dir;
    dir.write("storage/other-name.yaml", kStorage);  // declares id t
    appforge::Catalog c;
    const std::string file = (dir.dir / "storage/other-name.yaml").string();
    CHECK(c.load_dir(dir.dir.string()) ==
          Diagnostics{error("", "pattern.file_name", file + ": file name must be '<id>.yaml' and the folder its kind")});

    Scratch fifo_dir;
    sectest::fs::create_directories(fifo_dir.dir / "storage");
    const std::string fifo = (fifo_dir.dir / "storage/t.yaml").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    appforge::Catalog c2;
    CHECK(c2.load_dir(fifo_dir.dir.string()) == Diagnostics{error("", "pattern.read", fifo + ": is not a regular file")});
}

// ---------------------------------------------------------------------------------------------
// Rendering.

TEST_CASE("codes: render.pattern, render.file_clash, render.shape, and invalid UTF-8", "[codes][render]") {
    auto e = engine();
    auto checked = e->check_document(base_app());
    REQUIRE(checked.ok());
    const appforge::AppRequest app = *checked.app;

    SECTION("a request naming a pattern the catalog lacks") {
        appforge::Catalog empty;
        auto r = appforge::render_bundle(app, e->profile(), empty);
        CHECK(r.diagnostics == Diagnostics{error("", "render.pattern",
                                                 "request names a pattern the catalog does not have; validate it first")});
    }
    SECTION("two patterns writing one file") {
        appforge::Catalog c = e->catalog();
        REQUIRE(c.add("clash.yaml", std::string(kStorage) +
                                        "manifests:\n  - file: service.yaml\n    template: |\n      apiVersion: v1\n"
                                        "      kind: ConfigMap\n      metadata:\n        name: x\n")
                    .empty());
        appforge::AppRequest a = app;
        a.storagePattern = "t";
        auto r = appforge::render_bundle(a, e->profile(), c);
        CHECK(r.diagnostics == Diagnostics{error("", "render.file_clash", "two patterns write service.yaml")});
    }
    SECTION("a manifest that renders a list for this request (an object for the load-time probe)") {
        appforge::Catalog c = e->catalog();
        REQUIRE(c.add("shape.yaml", std::string(kStorage) +
                                        "manifests:\n  - file: extra.yaml\n    template: |\n"
                                        "      {{#s3UseExternalSecrets}}kind: ConfigMap{{/s3UseExternalSecrets}}\n"
                                        "      {{^s3UseExternalSecrets}}- a list{{/s3UseExternalSecrets}}\n")
                    .empty());
        appforge::AppRequest a = app;
        a.storagePattern = "t";
        auto r = appforge::render_bundle(a, e->profile(), c);
        CHECK(r.diagnostics == Diagnostics{error("", "render.shape", "shape.yaml extra.yaml must render one object")});
    }
    SECTION("a value that is not UTF-8, from a request built in code") {
        appforge::AppRequest a = app;
        a.operatorId = "al\xff" "ice";
        auto r = appforge::render_bundle(a, e->profile(), e->catalog());
        // Every object now comes through a template parse, which refuses it (render.utf8, the
        // check for objects built in C++, went with the C++ Deployment).
        CHECK(r.diagnostics ==
              Diagnostics{error("", "render.yaml", "libappforge/patterns/workload/deployment.yaml deployment.yaml rendered "
                                                   "invalid YAML: document is not valid UTF-8")});
    }
}

// ---------------------------------------------------------------------------------------------
// GitOps planning and the request lifecycle.

namespace {

const std::string kNs = "kubernetes/clusters/homelab/namespaces";

appforge::MemoryRepo small_repo() {
    appforge::MemoryRepo r;
    r.put(kNs + "/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./tools\n");
    r.put(kNs + "/tools/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n");
    r.put(kNs + "/tools/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n");
    return r;
}

struct Planned {
    appforge::AppRequest app;
    appforge::Bundle bundle;
};

Planned planned(const std::string& ns) {
    json doc = base_app();
    doc["namespace"] = ns;
    auto c = engine()->check_document(doc);
    REQUIRE(c.ok());
    auto b = engine()->render(*c.app);
    REQUIRE(b.ok());
    return {*c.app, *b.value};
}

appforge::Plan plan(const Planned& w, const appforge::MemoryRepo& repo) {
    return appforge::plan_change(w.app, w.bundle, engine()->profile(), repo);
}

}  // namespace

TEST_CASE("codes: gitops planning refusals and notes", "[codes][gitops]") {
    auto w = planned("tools");
    REQUIRE(plan(w, small_repo()).ok());

    SECTION("the namespace kustomization already lists the app") {
        auto repo = small_repo();
        repo.put(kNs + "/tools/kustomization.yaml", "resources:\n  - namespace.yaml\n  - ./demo\n");
        CHECK(with_code(plan(w, repo).diagnostics, "gitops.app.listed") ==
              Diagnostics{error("/appName", "gitops.app.listed", kNs + "/tools/kustomization.yaml already lists 'demo' in resources")});
    }
    SECTION("the root lists a namespace whose folder is missing") {
        auto repo = small_repo();
        repo.put(kNs + "/kustomization.yaml", "resources:\n  - ./tools\n  - ./media\n");
        auto p = plan(planned("media"), repo);
        CHECK(p.ok());
        CHECK(with_code(p.diagnostics, "gitops.namespace.listed") ==
              Diagnostics{warning("/namespace", "gitops.namespace.listed",
                                  kNs + "/kustomization.yaml already lists 'media' although its folder is missing; "
                                        "the folder is created and the list is left as it is")});
    }
    SECTION("a bundle rendered for another app") {
        auto other = w;
        other.bundle.appName = "someone-else";
        CHECK(plan(other, small_repo()).diagnostics ==
              Diagnostics{error("", "gitops.bundle.mismatch", "the bundle was rendered for another app or namespace")});
    }
    SECTION("a bundle file name that is a path") {
        auto other = w;
        other.bundle.files[0].path = "../escape.yaml";
        CHECK(plan(other, small_repo()).diagnostics ==
              Diagnostics{error("", "gitops.bundle.path", "bundle file name '../escape.yaml' is not a plain file name")});
    }
    SECTION("names that cannot be folder names") {
        auto other = w;
        other.app.appName = "Demo";
        other.bundle.appName = "Demo";
        CHECK(with_code(plan(other, small_repo()).diagnostics, "gitops.name.invalid") ==
              Diagnostics{error("/appName", "gitops.name.invalid", "App name must be a DNS-1123 label to name a folder")});
    }
    SECTION("a repo file that does not parse is not scanned for hosts, and says so") {
        auto repo = small_repo();
        repo.put(kNs + "/tools/other/ingress.yaml", "kind: Ingress\nspec: [unclosed\n");
        auto p = plan(w, repo);
        CHECK(with_code(p.diagnostics, "gitops.scan.unparsed") ==
              Diagnostics{warning("", "gitops.scan.unparsed",
                                  kNs + "/tools/other/ingress.yaml does not parse as YAML; its hostnames were not "
                                        "checked for conflicts")});
    }
}

TEST_CASE("codes: gitops.edit.verify refuses a text edit that would change more than resources", "[codes][gitops]") {
    // The first line starting "resources:" is inside a multi-line quoted scalar: the text edit
    // lands there, and re-parsing proves the real list did not get the entry.
    const std::string text = "description: 'one\nresources:\n  - b'\nresources:\n  - ./a\n";
    REQUIRE(appforge::parse_document(text).ok());
    auto e = appforge::insert_resource_entry("k.yaml", text, "c", "/appName");
    CHECK(e.diagnostics == Diagnostics{error("/appName", "gitops.edit.verify",
                                             "k.yaml: adding './c' as a text edit would change more than the resources "
                                             "list; add the entry by hand")});
}

TEST_CASE("codes: the lifecycle never overwrites a recorded commit or pull request", "[codes][lifecycle]") {
    auto c = engine()->check_document(base_app());
    REQUIRE(c.ok());
    appforge::AppRequest r = *c.app;
    const std::string sha1(40, 'a'), sha2(40, 'b');
    REQUIRE(appforge::record_commit(r, "feat/app/demo-1234abcd", sha1).empty());
    CHECK(appforge::record_commit(r, "feat/app/demo-1234abcd", sha2) ==
          Diagnostics{error("/commitSha", "lifecycle.commitSha.recorded",
                            "a different commit (" + sha1 + ") is already recorded")});
    REQUIRE(appforge::record_pull_request(r, 7, "https://git.example.org/pr/7").empty());
    CHECK(appforge::record_pull_request(r, 8, "https://git.example.org/pr/8") ==
          Diagnostics{error("/prNumber", "lifecycle.prNumber.recorded", "a different pull request (#7) is already recorded")});
}

TEST_CASE("codes: app.operator.required", "[codes]") {
    json doc = base_app();
    doc["operatorId"] = "";
    auto ds = engine()->check_document(doc).diagnostics;
    INFO(dump(ds));
    CHECK(with_code(ds, "app.operator.required") ==
          Diagnostics{error("/operatorId", "app.operator.required", "operatorId must not be empty")});
}

// ---------------------------------------------------------------------------------------------
// The pattern kit's case folders (edge library).

TEST_CASE("codes: pattern kit case folders that cannot be read or updated", "[codes][kit]") {
    const std::string request =
        "operatorId: alice\nappName: demo\ncontainerImage: ghcr.io/example/demo:1.0.0\n"
        "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
    Scratch dir;
    const std::string case_dir = dir.dir.string();
    dir.write("request.yaml", request);
    SECTION("expected is a file") {
        dir.write("expected", "not a folder\n");
        auto r = appforge::patterntest::run_case(case_dir, *engine());
        CHECK(r.errors == Diagnostics{error(case_dir + "/expected", "kit.expected.unreadable",
                                            case_dir + "/expected is not a folder")});
    }
    SECTION("profile.yaml is a folder") {
        sectest::fs::create_directories(dir.dir / "profile.yaml");
        auto r = appforge::patterntest::run_case(case_dir, *engine());
        INFO(dump(r.errors));
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].code == "kit.profile.unreadable");
        CHECK(r.errors[0].path == case_dir + "/profile.yaml");
        CHECK(r.errors[0].message.rfind("profile.yaml cannot be read: ", 0) == 0);
    }
    SECTION("--update cannot write an expected file where a folder stands") {
        dir.write("expected/deployment.yaml/keep.txt", "x\n");
        auto ds = appforge::patterntest::update_case(case_dir, *engine());
        INFO(dump(ds));
        auto w = with_code(ds, "kit.update.write");
        REQUIRE(w.size() == 1);
        CHECK(w[0].path == case_dir + "/expected/deployment.yaml");
        CHECK(w[0].message.rfind(case_dir + "/expected/deployment.yaml: ", 0) == 0);
    }
}

TEST_CASE("codes: --update cannot remove a stale expected file it may not delete", "[codes][kit]") {
    const std::string request =
        "operatorId: alice\nappName: demo\ncontainerImage: ghcr.io/example/demo:1.0.0\n"
        "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
    Scratch dir;
    const std::string case_dir = dir.dir.string();
    dir.write("request.yaml", request);
    REQUIRE(appforge::patterntest::update_case(case_dir, *engine()).empty());  // expected/ now matches
    dir.write("expected/stale.yaml", "old\n");
    const auto expected = dir.dir / "expected";
    sectest::fs::permissions(expected, sectest::fs::perms::owner_read | sectest::fs::perms::owner_exec |
                                           sectest::fs::perms::group_read | sectest::fs::perms::group_exec |
                                           sectest::fs::perms::others_read | sectest::fs::perms::others_exec);
    // The update runs in a child that is not root (root may unlink in a read-only folder): the
    // one thing to do is the removal, and the folder refuses it.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
        auto ds = appforge::patterntest::update_case(case_dir, *engine());
        std::string out;
        for (const auto& d : ds) out += d.path + "|" + d.code + "|" + d.message + "\n";
        (void)!::write(fds[1], out.data(), out.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    sectest::fs::permissions(expected, sectest::fs::perms::owner_all);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const std::string label = case_dir + "/expected/stale.yaml";
    CHECK(got == label + "|" + "kit.update.remove" + "|cannot remove stale expected file " + label + ": Permission denied\n");
}
