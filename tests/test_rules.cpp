// Every semantic rule with a passing and a failing case, message asserted; documents are
// built in code from one valid base request so each case changes exactly one thing.
#include <catch2/catch.hpp>

#include "corpus_support.hpp"

using nlohmann::json;
using appforge::Diagnostic;
using appforge::Diagnostics;
using appforge::Severity;

namespace {

json base_app() {
    return json{{"operatorId", "alice"},          {"appName", "demo"},
                {"containerImage", "ghcr.io/example/demo:1.0.0"}, {"storagePattern", "ephemeral"},
                {"ingressPattern", "internal-only"}, {"backupStrategy", "none"}};
}

json longhorn_volsync() {
    json j = base_app();
    j["storagePattern"] = "longhorn-persistent";
    j["storageConfig"] = {{"sizeGi", 5}};
    j["backupStrategy"] = "volsync-snapshots";
    return j;
}

json s3_app() {
    json j = base_app();
    j["storagePattern"] = "s3-external";
    j["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}};
    return j;
}

json nas_app(const std::string& subpath) {
    json j = base_app();
    j["storagePattern"] = "nas-mount";
    j["storageConfig"] = {{"nasEndpoint", "nfs://nas.internal:2049"}, {"nasSubpath", subpath}};
    return j;
}

json base_komodo() {
    return json{{"operatorId", "erin"},
                {"appName", "myapp"},
                {"komodoRequest",
                 {{"appName", "myapp"}, {"appVersion", "1.0.0"}, {"appConfig", json::object()},
                  {"storageLocation", "/mnt/pool/apps/myapp"}}},
                {"komodoApiUrl", "https://komodo.internal.hypyr.space"}};
}

std::shared_ptr<const appforge::Engine> engine_with(const std::string& profile_yaml) {
    appforge::EngineOptions o;
    o.profile_text = profile_yaml;
    auto e = appforge::Engine::create(o);
    REQUIRE(e.ok());
    return *e.value;
}

std::shared_ptr<const appforge::Engine> default_engine() { return corpus::engine_for({}); }

Diagnostics check(const json& doc, const appforge::Engine& e = *default_engine(),
                  const appforge::ImageChecker* images = nullptr) {
    return e.check_document(doc, images).diagnostics;
}

/// The diagnostics with one code (so a case asserts its own rule, not the whole list).
Diagnostics with_code(const Diagnostics& ds, const std::string& code) {
    Diagnostics out;
    for (const auto& d : ds)
        if (d.code == code) out.push_back(d);
    return out;
}

std::string dump(const Diagnostics& ds) { return corpus::diagnostics_json(ds).dump(1); }

/// Asserts the document is clean of errors (warnings allowed).
void expect_ok(const json& doc, const appforge::Engine& e = *default_engine()) {
    auto ds = check(doc, e);
    INFO(doc.dump() << "\n" << dump(ds));
    CHECK_FALSE(appforge::has_errors(ds));
}

/// Asserts exactly one diagnostic with this code, at this path, with this exact message.
void expect_one(const json& doc, const std::string& code, const std::string& path, const std::string& message,
                const appforge::Engine& e = *default_engine(), Severity sev = Severity::error) {
    auto ds = check(doc, e);
    INFO(doc.dump() << "\n" << dump(ds));
    auto hit = with_code(ds, code);
    REQUIRE(hit.size() == 1);
    CHECK(hit[0].path == path);
    CHECK(hit[0].message == message);
    CHECK(hit[0].severity == sev);
}

}  // namespace

TEST_CASE("appName: data model pattern, DNS-1035, length, derived length", "[rules]") {
    expect_ok(base_app());
    json j = base_app();
    for (const char* bad : {"MyApp", "my_app", "demo-", "-demo", "de mo"}) {
        j["appName"] = bad;
        expect_one(j, "app.name.pattern", "/appName", "App name must be lowercase alphanumeric with hyphens");
    }
    j["appName"] = "1password";
    expect_one(j, "app.name.dns1035", "/appName",
               "App name must start with a letter: it names the Service, and Kubernetes Service names are DNS-1035 "
               "labels");
    j["appName"] = "a1";
    expect_ok(j);
    j["appName"] = std::string(63, 'a');
    expect_ok(j);
    j["appName"] = std::string(64, 'a');
    expect_one(j, "app.name.length", "/appName",
               "App name is 64 characters; at most 63 are allowed because it names the Service (a DNS-1035 label)");
    j["appName"] = std::string(5000, 'a');  // over 4 KiB: bounded before any scanner runs
    expect_one(j, "app.name.length", "/appName", "App name is 5000 characters; at most 63 are allowed");
    j["appName"] = "";
    expect_one(j, "app.name.required", "/appName", "App name must not be empty");

    json v = longhorn_volsync();
    v["appName"] = std::string(44, 'b');
    expect_ok(v);
    v["appName"] = std::string(45, 'b');
    expect_one(v, "app.name.derived_length", "/appName",
               "App name must be at most 44 characters here: Volsync's mover Job 'volsync-src-<appName>-backup' "
               "must fit a 63-character Kubernetes label");
}

TEST_CASE("namespace: DNS-1123 label and reserved patterns", "[rules]") {
    json j = base_app();
    for (const char* ok : {"documents", "kube", "kubeapps", "flux", "backstage-apps"}) {
        j["namespace"] = ok;
        expect_ok(j);
    }
    for (const char* reserved : {"kube-system", "kube-public", "backstage", "flux-system", "default"}) {
        j["namespace"] = reserved;
        expect_one(j, "namespace.reserved", "/namespace", "Namespace is reserved. Choose a different namespace");
    }
    j.erase("namespace");
    j["appName"] = "backstage";  // the default namespace is appName, and it is reserved
    expect_one(j, "namespace.reserved", "/appName", "Namespace is reserved. Choose a different namespace");
    j = base_app();
    for (const char* bad : {"Media", "my_ns", "-ns", "a.b"}) {
        j["namespace"] = bad;
        expect_one(j, "namespace.format", "/namespace",
                   "Namespace must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters");
    }
    // A profile decides what is reserved.
    auto e = engine_with("namespaces:\n  reserved: [team-*]\n");
    j["namespace"] = "team-a";
    expect_one(j, "namespace.reserved", "/namespace", "Namespace is reserved. Choose a different namespace", *e);
    j["namespace"] = "backstage";
    expect_ok(j, *e);
}

TEST_CASE("containerImage: OCI reference grammar", "[rules]") {
    json j = base_app();
    for (const char* ok : {"nginx", "nginx:1.27", "library/nginx:latest", "localhost:5000/a/b:c",
                           "ghcr.io/o/app@sha256:3f2a8f6a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6",
                           "ghcr.io/o/app:v1@sha256:3f2a8f6a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6",
                           "a__b/c-d.e:tag_1"}) {
        j["containerImage"] = ok;
        expect_ok(j);
    }
    j["containerImage"] = "ghcr.io/o/app:.v1";
    expect_one(j, "image.format", "/containerImage",
               "Container image reference is not valid: tag '.v1' must start with a letter, digit or '_' and contain "
               "only those, '.' and '-'");
    j["containerImage"] = "ghcr.io/o/app@sha256:abcd";
    expect_one(j, "image.format", "/containerImage",
               "Container image reference is not valid: digest hex part must be at least 32 hexadecimal characters");
    j["containerImage"] = "ghcr.io/Owner/app";
    expect_one(j, "image.format", "/containerImage",
               "Container image reference is not valid: repository path component 'Owner' must be lowercase");
    j["containerImage"] = "";
    expect_one(j, "image.required", "/containerImage", "containerImage must not be empty");
}

namespace {
struct FakeRegistry : appforge::ImageChecker {
    appforge::ImageCheckResult::Outcome outcome;
    mutable std::string asked;
    explicit FakeRegistry(appforge::ImageCheckResult::Outcome o) : outcome(o) {}
    appforge::ImageCheckResult check(const appforge::rules::ImageRef& r) const override {
        asked = appforge::rules::image_reference_string(r);
        return {outcome, "fake says so"};
    }
};
}  // namespace

TEST_CASE("containerImage: registry check through the ImageChecker interface", "[rules]") {
    using O = appforge::ImageCheckResult::Outcome;
    json j = base_app();
    j["containerImage"] = "nginx";
    FakeRegistry found(O::found), missing(O::not_found), unreachable(O::unreachable);
    CHECK_FALSE(appforge::has_errors(check(j, *default_engine(), &found)));
    CHECK(found.asked == "docker.io/library/nginx:latest");  // normalised before the lookup
    auto ds = with_code(check(j, *default_engine(), &missing), "image.not_found");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].message == "Container image not found. Verify image name and registry access");
    ds = with_code(check(j, *default_engine(), &unreachable), "image.unreachable");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].message == "Container image could not be checked: registry unreachable (fake says so)");
}

TEST_CASE("storage: longhorn sizeGi 1-1000 and the warning threshold", "[rules]") {
    json j = base_app();
    j["storagePattern"] = "longhorn-persistent";
    for (int ok : {1, 20, 500}) {
        j["storageConfig"] = {{"sizeGi", ok}};
        CHECK(check(j).empty());
    }
    for (int bad : {0, -5, 1001}) {
        j["storageConfig"] = {{"sizeGi", bad}};
        expect_one(j, "storage.sizeGi.range", "/storageConfig/sizeGi", "Storage size must be between 1 and 1000 Gi");
    }
    j["storageConfig"] = {{"sizeGi", 501}};
    expect_one(j, "storage.sizeGi.large", "/storageConfig/sizeGi",
               "Storage size 501 Gi is above this cluster's warning threshold of 500 Gi", *default_engine(),
               Severity::warning);
    CHECK_FALSE(appforge::has_errors(check(j)));
    j["storageConfig"] = json::object();
    expect_one(j, "storage.sizeGi.required", "/storageConfig/sizeGi",
               "sizeGi is required for storage pattern 'longhorn-persistent'");
}

TEST_CASE("storage: NAS endpoint and subpath", "[rules]") {
    expect_ok(nas_app("/mnt/apps/demo"));
    expect_ok(nas_app("/mnt/pool/apps/demo/config"));
    // The export becomes the app's volume: only below an app root, never the root or the whole NAS.
    for (const char* outside : {"/", "/mnt/apps", "/mnt/apps/", "/mnt/appsx/demo", "/srv/other"})
        expect_one(nas_app(outside), "storage.nasSubpath.root", "/storageConfig/nasSubpath",
                   "Subpath must lie below one of this cluster's NAS app roots: /mnt/pool/apps, /mnt/apps");
    for (const char* trav : {"/mnt/apps/../etc", "/..", "/mnt/apps/%2e%2e/x", "/mnt/a..b"})
        expect_one(nas_app(trav), "storage.nasSubpath.traversal", "/storageConfig/nasSubpath",
                   "Subpath must not contain relative directory references");
    expect_one(nas_app("mnt/apps"), "storage.nasSubpath.format", "/storageConfig/nasSubpath",
               "Subpath is not usable: path must be absolute (start with '/')");
    expect_one(nas_app(std::string("/mnt/a\x01x")), "storage.nasSubpath.format", "/storageConfig/nasSubpath",
               "Subpath is not usable: path contains a control character");
    json j = nas_app("/mnt/apps/demo");
    j["storageConfig"]["nasEndpoint"] = "nfs://other:2049";
    expect_one(j, "storage.nasEndpoint.unknown", "/storageConfig/nasEndpoint",
               "NAS endpoint must be one of this cluster's endpoints: nfs://nas.internal:2049");
}

TEST_CASE("storage: S3 bucket, region and credentials", "[rules]") {
    expect_ok(s3_app());
    json j = s3_app();
    j["storageConfig"]["s3Bucket"] = "ab";
    expect_one(j, "storage.s3Bucket.format", "/storageConfig/s3Bucket",
               "S3 bucket name is not valid: bucket name must be 3-63 characters long (got 2)");
    j["storageConfig"]["s3Bucket"] = "10.0.0.1";
    expect_one(j, "storage.s3Bucket.format", "/storageConfig/s3Bucket",
               "S3 bucket name is not valid: bucket name must not be formatted as an IPv4 address");
    j["storageConfig"]["s3Bucket"] = "my-bucket-s3alias";
    CHECK(with_code(check(j), "storage.s3Bucket.format").size() == 1);
    j = s3_app();
    j["storageConfig"]["s3Region"] = "moon-1";
    expect_one(j, "storage.s3Region.unknown", "/storageConfig/s3Region",
               "S3 region 'moon-1' is not one of this cluster's allowed regions");
    // An S3-compatible store's region is fine when the profile lists it, and AWS ones then are not.
    auto garage = engine_with("s3:\n  regions: [garage]\n");
    j["storageConfig"]["s3Region"] = "garage";
    expect_ok(j, *garage);
    j["storageConfig"]["s3Region"] = "us-east-1";
    expect_one(j, "storage.s3Region.unknown", "/storageConfig/s3Region",
               "S3 region 'us-east-1' is not one of this cluster's allowed regions", *garage);
    // Credentials through External Secrets need a secret store in the profile.
    // A profile loads over the default (issue 13, item 18), so "no store" is said explicitly.
    auto no_store = engine_with("name: bare\nsecretStore: null\n");
    j = s3_app();
    j["storageConfig"]["s3UseExternalSecrets"] = true;
    expect_ok(j);  // the default profile has a store
    expect_one(j, "storage.s3.credentials", "/storageConfig/s3UseExternalSecrets",
               "S3 credentials not configured in cluster", *no_store);
    j["storageConfig"]["s3UseExternalSecrets"] = false;
    expect_ok(j, *no_store);
}

TEST_CASE("resources: quantities, required by a production profile", "[rules]") {
    json j = base_app();
    for (auto [cpu, mem] : std::vector<std::pair<const char*, const char*>>{{"100m", "256Mi"}, {"0.5", "1Gi"},
                                                                         {"2", "1e9"}, {"1500m", "512M"}}) {
        j["resourceRequests"] = {{"cpu", cpu}, {"memory", mem}};
        expect_ok(j);
    }
    j["resourceRequests"] = {{"cpu", "100 m"}};
    expect_one(j, "resources.cpu.format", "/resourceRequests/cpu",
               "cpu must be a Kubernetes quantity such as 100m or 0.5");
    j["resourceRequests"] = {{"memory", "256MB"}};
    expect_one(j, "resources.memory.format", "/resourceRequests/memory",
               "memory must be a Kubernetes quantity such as 256Mi or 1Gi");
    auto prod = engine_with("requireResourceRequests: true\n");
    j = base_app();
    expect_one(j, "resources.cpu.required", "/resourceRequests/cpu",
               "cpu request is required in this cluster (production profile)", *prod);
    expect_one(j, "resources.memory.required", "/resourceRequests/memory",
               "memory request is required in this cluster (production profile)", *prod);
    j["resourceRequests"] = {{"cpu", "100m"}, {"memory", "64Mi"}};
    expect_ok(j, *prod);
    expect_ok(base_app());  // not required by the default profile
}

TEST_CASE("ingress: hostnames match the intent", "[rules]") {
    json j = base_app();
    j["ingressConfig"] = {{"internalHostname", "wiki.internal.hypyr.space"}};
    expect_ok(j);
    for (const char* bad : {"wiki.hypyr.space", "wiki.internal.hypyr.space.evil.com", "wikiinternal.hypyr.space"}) {
        j["ingressConfig"] = {{"internalHostname", bad}};
        expect_one(j, "ingress.host.internal", "/ingressConfig/internalHostname",
                   "Internal apps must use .internal.hypyr.space domain");
    }
    j["ingressPattern"] = "external-via-tunnel";
    j["ingressConfig"] = {{"externalHostname", "docs.hypyr.space"}};
    expect_ok(j);
    for (const char* bad : {"docs.example.com", "docs.internal.hypyr.space", "docs.evilhypyr.space", "hypyr.space.evil"}) {
        j["ingressConfig"] = {{"externalHostname", bad}};
        expect_one(j, "ingress.host.external", "/ingressConfig/externalHostname",
                   "External apps must use .hypyr.space domain");
    }
    j["ingressConfig"] = {{"externalHostname", "Docs_.hypyr.space"}};
    expect_one(j, "ingress.host.format", "/ingressConfig/externalHostname",
               "externalHostname must be a lowercase DNS name");
    // The zones are the profile's, and so is the message.
    auto lab2 = corpus::engine_for(corpus::source_dir() / "examples/profiles/lab2.yaml");
    j["resourceRequests"] = {{"cpu", "1"}, {"memory", "1Gi"}};
    j["ingressConfig"] = {{"externalHostname", "docs.example.net"}};
    expect_ok(j, *lab2);
    j["ingressConfig"] = {{"externalHostname", "docs.hypyr.space"}};
    expect_one(j, "ingress.host.external", "/ingressConfig/externalHostname",
               "External apps must use .example.net domain", *lab2);
}

TEST_CASE("backup: persistent volume, cron schedule, retention", "[rules]") {
    expect_ok(longhorn_volsync());
    json nas = nas_app("/mnt/apps/demo");
    nas["backupStrategy"] = "volsync-snapshots";
    expect_ok(nas);
    for (const char* storage : {"ephemeral", "s3-external"}) {
        json j = storage == std::string("ephemeral") ? base_app() : s3_app();
        j["backupStrategy"] = "volsync-snapshots";
        expect_one(j, "backup.storage", "/backupStrategy",
                   std::string("Backup 'volsync-snapshots' needs a persistent volume (storage pattern "
                               "longhorn-persistent or nas-mount), not '") + storage + "'");
    }
    json j = longhorn_volsync();
    for (const char* ok : {"0 2 * * *", "*/15 * * * *", "30 3 * * 1-5", "0 0 1 1 *"}) {
        j["backupConfig"] = {{"schedule", ok}};
        expect_ok(j);
    }
    for (const char* bad : {"61 2 * * *", "0 2 * *", "0 2 * * * *", "every day", "0 25 * * *"}) {
        j["backupConfig"] = {{"schedule", bad}};
        auto hit = with_code(check(j), "backup.schedule.format");
        INFO(bad);
        REQUIRE(hit.size() == 1);
        CHECK(hit[0].message.rfind("Backup schedule must be a 5-field cron expression such as \"0 2 * * *\": ", 0) == 0);
    }
    j["backupConfig"] = {{"retentionDays", 0}};
    expect_one(j, "backup.retentionDays.range", "/backupConfig/retentionDays", "retentionDays must be at least 1");
    j["backupConfig"] = {{"retentionDays", 1}};
    expect_ok(j);
}

TEST_CASE("schema: unknown fields, wrong types and missing fields are errors", "[rules]") {
    json j = base_app();
    j["storagePatern"] = "ephemeral";
    expect_one(j, "schema.unknown_field", "/storagePatern",
               "unknown field 'storagePatern' (not part of AppRequest; check the spelling)");
    j = base_app();
    j["appName"] = 42;
    expect_one(j, "schema.type", "/appName", "must be a string");
    j = base_app();
    j.erase("operatorId");
    auto ds = check(j);
    INFO(dump(ds));
    REQUIRE(ds.size() == 1);  // one problem, one diagnostic (not also "must not be empty")
    CHECK(ds[0] == Diagnostic{"/operatorId", "schema.required", "required field 'operatorId' is missing", Severity::error});
    j = base_app();
    j["status"] = "done";
    expect_one(j, "schema.enum", "/status", "must be one of \"pending\", \"success\", \"failed\"");
}

TEST_CASE("patterns: an unknown id lists the valid ids", "[rules]") {
    json j = base_app();
    j["storagePattern"] = "ceph-rbd";
    expect_one(j, "pattern.storage.unknown", "/storagePattern",
               "Unknown storage pattern 'ceph-rbd'; valid ids are: ephemeral, longhorn-persistent, nas-mount, s3-external");
    j = base_app();
    j["ingressPattern"] = "public";
    expect_one(j, "pattern.ingress.unknown", "/ingressPattern",
               "Unknown ingress pattern 'public'; valid ids are: external-via-tunnel, internal-only");
}

TEST_CASE("metadata: id, timestamp, status", "[rules]") {
    json j = base_app();
    j["id"] = "6f1c2a9e-6b1d-4c1e-9a51-2d6f3b7a8c01";
    j["timestamp"] = "2026-01-25T10:00:00Z";
    j["status"] = "pending";
    expect_ok(j);
    j["id"] = "req-1";
    expect_one(j, "app.id.format", "/id", "id must be a UUID (8-4-4-4-12 hexadecimal digits)");
    j["id"] = "6f1c2a9e-6b1d-4c1e-9a51-2d6f3b7a8c01";
    j["timestamp"] = "25/01/2026";
    expect_one(j, "app.timestamp.format", "/timestamp",
               "timestamp must be an ISO 8601 date-time with a time zone, e.g. 2026-01-25T10:00:00Z");
    using appforge::Status;
    CHECK(appforge::check_status_transition(Status::pending, Status::success).empty());
    CHECK(appforge::check_status_transition(Status::pending, Status::failed).empty());
    for (auto [from, to] : std::vector<std::pair<Status, Status>>{
             {Status::success, Status::failed}, {Status::failed, Status::pending}, {Status::pending, Status::pending}}) {
        auto ds = appforge::check_status_transition(from, to);
        REQUIRE(ds.size() == 1);
        CHECK(ds[0].path == "/status");
        CHECK(ds[0].message == std::string("status can only move from pending to success or failed, not from ") +
                                   appforge::to_string(from) + " to " + appforge::to_string(to));
    }
}

TEST_CASE("KomodoRequest rules", "[rules]") {
    expect_ok(base_komodo());
    json j = base_komodo();
    j["appName"] = "1app";
    j["komodoRequest"]["appName"] = "1app";
    expect_one(j, "app.name.dns1035", "/appName",
               "App name must start with a letter: it names the Service, and Kubernetes Service names are DNS-1035 "
               "labels");
    j = base_komodo();
    j["komodoRequest"]["appVersion"] = "";
    expect_one(j, "komodo.appVersion.required", "/komodoRequest/appVersion", "appVersion must not be empty");
    j = base_komodo();
    j["komodoRequest"]["storageLocation"] = "pool/apps/myapp";
    expect_one(j, "komodo.storageLocation.format", "/komodoRequest/storageLocation",
               "storageLocation must be an absolute path without '.', '..' or empty segments");
    j["komodoRequest"]["storageLocation"] = "/mnt/pool/appsx/myapp";
    expect_one(j, "komodo.storageLocation.root", "/komodoRequest/storageLocation",
               "storageLocation must be under one of the NAS app roots: /mnt/pool/apps, /mnt/apps");
    j = base_komodo();
    for (const char* bad : {"ftp://komodo", "komodo.internal", "https://user:pw@komodo", "javascript:alert(1)"}) {
        j["komodoApiUrl"] = bad;
        expect_one(j, "komodo.url.format", "/komodoApiUrl", "komodoApiUrl must be an http(s) URL");
    }
    j = base_komodo();
    j["komodoRequest"]["appConfig"] = "x=1";
    expect_one(j, "schema.type", "/komodoRequest/appConfig", "must be an object");
    j = base_komodo();
    j["komodoRequest"]["appName"] = "other";
    expect_one(j, "komodo.appName.mismatch", "/komodoRequest/appName",
               "komodoRequest.appName must equal appName ('myapp')");
}

TEST_CASE("hostile documents are bounded: a diagnostic, never a crash", "[rules]") {
    auto e = default_engine();
    auto codes = [&](const std::string& text) {
        std::vector<std::string> out;
        for (const auto& d : e->check(text).diagnostics) out.push_back(d.code);
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(codes(std::string((1u << 20) + 1, ' ')) == V{"parse.too_large"});
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "[";
    for (int i = 0; i < 100; ++i) deep += "]";
    CHECK(codes(deep) == V{"parse.depth"});
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b]\n";
    CHECK(codes(laughs) == V{"parse.alias"});
    CHECK(codes("appName: \"\xff\xfe\"\n") == V{"parse.utf8"});
    CHECK(codes("appName: a\nappName: b\n") == V{"parse.duplicate_key"});
    CHECK(codes(std::string("appName: a\0b\n", 13)) == V{"parse.nul"});
}

TEST_CASE("profile: strings that reach manifests must be what Kubernetes accepts", "[rules]") {
    auto create = [](const std::string& yaml) {
        appforge::EngineOptions o;
        o.profile_text = yaml;
        o.profile_name = "p.yaml";
        return appforge::Engine::create(o);
    };
    CHECK(create("name: ok\n").ok());
    CHECK(create(corpus::read_file(corpus::source_dir() / "examples/profiles/lab2.yaml")).ok());
    struct Case {
        const char* yaml;
        const char* path;
        const char* message;
    };
    for (const Case& c : std::vector<Case>{
             {"zones: {public: \"a b\"}\n", "/zones/public", "p.yaml: zone 'a b' must be a DNS name"},
             {"ingress: {tunnelTarget: \"x:y\"}\n", "/ingress/tunnelTarget", "p.yaml: tunnelTarget must be a DNS name"},
             {"externalDns: {annotationPrefix: \"a: b/\"}\n", "/externalDns/annotationPrefix",
              "p.yaml: annotationPrefix must be a DNS name followed by '/', e.g. external-dns.alpha.kubernetes.io/"},
             {"externalDns: {annotationPrefix: external-dns.kubernetes.io}\n", "/externalDns/annotationPrefix",
              "p.yaml: annotationPrefix must be a DNS name followed by '/', e.g. external-dns.alpha.kubernetes.io/"},
             {"storage: {mountPath: \"/data:rw\"}\n", "/storage/mountPath",
              "p.yaml: mountPath must be an absolute path without ':'"},
             {"secretStore: {name: \"My Store\"}\n", "/secretStore/name",
              "p.yaml: secretStore.name must be a Kubernetes object name (DNS-1123 subdomain)"},
             {"volsync: {repositorySecret: \"restic creds\"}\n", "/volsync/repositorySecret",
              "p.yaml: volsync.repositorySecret must be a Kubernetes object name (DNS-1123 subdomain)"},
             {"volsync: {snapshotClass: Longhorn}\n", "/volsync/snapshotClass",
              "p.yaml: volsync.snapshotClass must be a Kubernetes object name (DNS-1123 subdomain)"},
             {"volsync: {cacheCapacity: 1GB}\n", "/volsync/cacheCapacity",
              "p.yaml: volsync.cacheCapacity must be a Kubernetes quantity"},
         }) {
        auto e = create(c.yaml);
        INFO(c.yaml << corpus::diagnostics_json(e.diagnostics).dump(1));
        CHECK_FALSE(e.ok());
        REQUIRE(e.diagnostics.size() == 1);
        CHECK(e.diagnostics[0].path == c.path);
        CHECK(e.diagnostics[0].message == c.message);
    }
}
