// The schemas of the kinds the app-template workload and the gateway routes render (derived from
// the real CRDs by tools/derive_schemas.py): each is bundled in SchemaRegistry::builtin(), accepts
// a minimal object as a home-lab repo writes it, and rejects a wrong field at its pointer.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "appforge/render.hpp"

using nlohmann::json;
using namespace appforge;

namespace {

const SchemaRegistry& registry() {
    static const auto reg = SchemaRegistry::builtin();
    return *reg;
}

const JsonSchema& schema_for(const json& object) {
    const JsonSchema* s = registry().find(object["apiVersion"].get<std::string>(), object["kind"].get<std::string>());
    INFO(object["apiVersion"] << " " << object["kind"]);
    REQUIRE(s != nullptr);
    return *s;
}

std::string dump(const Diagnostics& ds) {
    std::string out;
    for (const auto& d : ds) out += d.path + " " + d.code + " " + d.message + "\n";
    return out;
}

/// `object` is rejected with exactly one diagnostic: that code, pointer and message.
void expect_one(const json& object, const std::string& code, const std::string& path, const std::string& message) {
    auto ds = schema_for(object).validate(object, "/bundle/x.yaml");
    INFO(object.dump() << "\n" << dump(ds));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == code);
    CHECK(ds[0].path == path);
    CHECK(ds[0].message == message);
}

void expect_valid(const json& object) {
    auto ds = schema_for(object).validate(object);
    INFO(object.dump() << "\n" << dump(ds));
    CHECK(ds.empty());
}

json http_route() {
    return json::parse(R"({
      "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
      "metadata": {"name": "sonarr", "namespace": "media", "labels": {"app.kubernetes.io/name": "sonarr"}},
      "spec": {
        "parentRefs": [{"name": "internal", "namespace": "network", "sectionName": "https"}],
        "hostnames": ["sonarr.home.example.com", "tv.home.example.com"],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "backendRefs": [{"name": "sonarr", "port": 8989}]}]
      }
    })");
}

json gateway() {
    return json::parse(R"({
      "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
      "metadata": {"name": "internal", "namespace": "network"},
      "spec": {
        "gatewayClassName": "envoy",
        "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.home.example.com",
                       "allowedRoutes": {"namespaces": {"from": "All"}},
                       "tls": {"certificateRefs": [{"kind": "Secret", "name": "wildcard-tls"}]}}]
      }
    })");
}

json helm_release() {
    return json::parse(R"({
      "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
      "metadata": {"name": "sonarr", "namespace": "media"},
      "spec": {
        "interval": "1h",
        "chartRef": {"kind": "OCIRepository", "name": "app-template", "namespace": "flux-system"},
        "install": {"remediation": {"retries": -1}},
        "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}},
        "values": {"controllers": {"sonarr": {"containers": {"app": {"image": {"repository": "ghcr.io/home-operations/sonarr", "tag": "4.0.15"}}}}}}
      }
    })");
}

json oci_repository() {
    return json::parse(R"({
      "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
      "metadata": {"name": "app-template", "namespace": "flux-system"},
      "spec": {
        "interval": "15m",
        "url": "oci://ghcr.io/bjw-s-labs/helm/app-template",
        "ref": {"tag": "4.1.1"},
        "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"}
      }
    })");
}

}  // namespace

TEST_CASE("the gateway and Flux Helm kinds are bundled", "[schema][kinds]") {
    for (const auto& [api, kind] : std::vector<std::pair<std::string, std::string>>{
             {"gateway.networking.k8s.io/v1", "HTTPRoute"},
             {"gateway.networking.k8s.io/v1", "Gateway"},
             {"helm.toolkit.fluxcd.io/v2", "HelmRelease"},
             {"source.toolkit.fluxcd.io/v1", "OCIRepository"},
             {"volsync.backube/v1alpha1", "ReplicationDestination"}}) {
        INFO(api << " " << kind);
        CHECK(registry().find(api, kind) != nullptr);
    }
    // Only the CRDs' served storage versions are bundled.
    CHECK(registry().find("gateway.networking.k8s.io/v1beta1", "HTTPRoute") == nullptr);
    CHECK(registry().find("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease") == nullptr);
}

TEST_CASE("HTTPRoute schema", "[schema][kinds]") {
    expect_valid(http_route());
    json j = http_route();
    j["spec"]["hostname"] = j["spec"]["hostnames"][0];
    expect_one(j, "schema.unknown_field", "/bundle/x.yaml/spec/hostname",
               "unknown field 'hostname' (not part of HTTPRoute; check the spelling)");
    j = http_route();
    j["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix";  // Ingress's spelling
    expect_one(j, "schema.enum", "/bundle/x.yaml/spec/rules/0/matches/0/path/type",
               "must be one of \"Exact\", \"PathPrefix\", \"RegularExpression\"");
    j = http_route();
    j["spec"]["parentRefs"][0].erase("name");
    expect_one(j, "schema.required", "/bundle/x.yaml/spec/parentRefs/0/name", "required field 'name' is missing");
}

TEST_CASE("Gateway schema", "[schema][kinds]") {
    expect_valid(gateway());
    json j = gateway();
    j["spec"]["listeners"][0]["port"] = "443";
    expect_one(j, "schema.type", "/bundle/x.yaml/spec/listeners/0/port", "must be an integer");
    j = gateway();
    j["spec"].erase("gatewayClassName");
    expect_one(j, "schema.required", "/bundle/x.yaml/spec/gatewayClassName",
               "required field 'gatewayClassName' is missing");
}

TEST_CASE("HelmRelease schema", "[schema][kinds]") {
    expect_valid(helm_release());
    json j = helm_release();
    j["spec"]["chartRef"]["kind"] = "GitRepository";
    expect_one(j, "schema.enum", "/bundle/x.yaml/spec/chartRef/kind",
               "must be one of \"OCIRepository\", \"HelmChart\", \"ExternalArtifact\"");
    j = helm_release();
    j["spec"]["chartref"] = j["spec"]["chartRef"];
    j["spec"].erase("chartRef");
    expect_one(j, "schema.unknown_field", "/bundle/x.yaml/spec/chartref",
               "unknown field 'chartref' (not part of HelmRelease; check the spelling)");
    // spec.values is free-form in the CRD (x-kubernetes-preserve-unknown-fields): the chart's own
    // values schema checks it (test_schema_values.cpp).
    j = helm_release();
    j["spec"]["values"]["anything"] = {{"goes", true}};
    expect_valid(j);
}

TEST_CASE("OCIRepository schema", "[schema][kinds]") {
    expect_valid(oci_repository());
    json j = oci_repository();
    j["spec"]["url"] = "https://ghcr.io/bjw-s-labs/helm/app-template";
    expect_one(j, "schema.constraint", "/bundle/x.yaml/spec/url",
               "Failed to match regex specified by 'pattern' constraint.");
    j = oci_repository();
    j["spec"]["ref"]["version"] = "4.1.1";
    expect_one(j, "schema.unknown_field", "/bundle/x.yaml/spec/ref/version",
               "unknown field 'version' (not part of OCIRepository; check the spelling)");
    j = oci_repository();
    j["spec"]["layerSelector"]["operation"] = "unpack";
    expect_one(j, "schema.enum", "/bundle/x.yaml/spec/layerSelector/operation", "must be one of \"extract\", \"copy\"");
}

TEST_CASE("ReplicationDestination schema (restore-once)", "[schema][kinds]") {
    json j = json::parse(R"({
      "apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationDestination",
      "metadata": {"name": "sonarr-dst", "namespace": "media"},
      "spec": {"trigger": {"manual": "restore-once"},
               "restic": {"repository": "sonarr-volsync-secret", "copyMethod": "Snapshot",
                          "volumeSnapshotClassName": "csi-snapclass", "cacheStorageClassName": "openebs-hostpath",
                          "cacheAccessModes": ["ReadWriteOnce"], "cacheCapacity": "2Gi",
                          "storageClassName": "longhorn", "accessModes": ["ReadWriteOnce"], "capacity": "5Gi",
                          "moverSecurityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}}}
    })");
    expect_valid(j);
    j["spec"]["restic"]["copyMethod"] = "Snapshots";
    expect_one(j, "schema.enum", "/bundle/x.yaml/spec/restic/copyMethod",
               "must be one of \"Direct\", \"None\", \"Clone\", \"Snapshot\"");
}
