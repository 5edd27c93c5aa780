// The app-template chart's values schema, made local by tools/derive_schemas.py
// (schemas/app-template/values.schema.json): SchemaRegistry::find_values / validate_values check a
// HelmRelease's spec.values as Helm would, without the network, with pointers into the HelmRelease.
#include <catch2/catch.hpp>

#include <string>

#include "appforge/engine.hpp"
#include "appforge/render.hpp"

using nlohmann::json;
using namespace appforge;

namespace {

const SchemaRegistry& registry() {
    static const auto reg = SchemaRegistry::builtin();
    return *reg;
}

std::string dump(const Diagnostics& ds) {
    std::string out;
    for (const auto& d : ds) out += d.path + " " + d.code + " " + d.message + "\n";
    return out;
}

/// An *arr-style app as home-lab repos write it for app-template 4.x.
json sonarr_release() {
    return json::parse(R"({
      "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
      "metadata": {"name": "sonarr", "namespace": "media"},
      "spec": {
        "interval": "1h",
        "chartRef": {"kind": "OCIRepository", "name": "app-template", "namespace": "flux-system"},
        "values": {
          "nameOverride": "sonarr",
          "defaultPodOptions": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                "fsGroupChangePolicy": "OnRootMismatch", "supplementalGroups": [10000],
                                "seccompProfile": {"type": "RuntimeDefault"}}
          },
          "controllers": {
            "sonarr": {
              "annotations": {"reloader.stakater.com/auto": "true"},
              "containers": {
                "app": {
                  "image": {"repository": "ghcr.io/home-operations/sonarr", "tag": "4.0.15.2941"},
                  "env": {"TZ": "Europe/Berlin", "SONARR__SERVER__PORT": "8989", "SONARR__LOG__LEVEL": "info"},
                  "envFrom": [{"secretRef": {"name": "sonarr-secret"}}],
                  "command": ["/app/bin/Sonarr"],
                  "args": ["--nobrowser", "--data=/config"],
                  "probes": {
                    "liveness": {"enabled": true, "custom": true,
                                 "spec": {"httpGet": {"path": "/ping", "port": 8989}, "initialDelaySeconds": 0,
                                          "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3}},
                    "readiness": {"enabled": true, "type": "HTTP", "path": "/ping", "port": "http"},
                    "startup": {"enabled": false}
                  },
                  "resources": {"requests": {"cpu": "10m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                  "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                      "capabilities": {"drop": ["ALL"]}}
                }
              }
            }
          },
          "service": {"app": {"controller": "sonarr", "ports": {"http": {"port": 8989}}}},
          "route": {
            "app": {
              "hostnames": ["sonarr.home.example.com", "tv.home.example.com"],
              "parentRefs": [{"name": "internal", "namespace": "network", "sectionName": "https"}],
              "rules": [{"backendRefs": [{"identifier": "app", "port": 8989}]}]
            }
          },
          "persistence": {
            "config": {"existingClaim": "sonarr"},
            "cache": {"type": "persistentVolumeClaim", "accessMode": "ReadWriteOnce", "size": "5Gi",
                      "storageClass": "longhorn", "globalMounts": [{"path": "/config/MediaCover"}]},
            "media": {"type": "nfs", "server": "nas.home.example.com", "path": "/volume1/media",
                      "globalMounts": [{"path": "/data", "subPath": "tv"}]},
            "tmp": {"type": "emptyDir", "medium": "Memory", "sizeLimit": "1Gi"},
            "logs": {"type": "emptyDir", "globalMounts": [{"path": "/config/logs"}]},
            "settings": {"type": "configMap", "name": "sonarr-settings",
                         "globalMounts": [{"path": "/config/settings.yml", "subPath": "settings.yml", "readOnly": true}]}
          }
        }
      }
    })");
}

const std::string kValues = "/bundle/helmrelease.yaml/spec/values";

Diagnostics check(const json& release) { return registry().validate_values("app-template", release, "/bundle/helmrelease.yaml"); }

/// Rejected with exactly one diagnostic of `code` at `path` (oneOf failures may add others elsewhere).
void expect_at(const json& release, const std::string& code, const std::string& path, const std::string& message) {
    auto ds = check(release);
    INFO(dump(ds));
    REQUIRE_FALSE(ds.empty());
    int hits = 0;
    for (const auto& d : ds)
        if (d.code == code && d.path == path) {
            ++hits;
            CHECK(d.message == message);
        }
    CHECK(hits == 1);
}

}  // namespace

TEST_CASE("app-template values schema is bundled and self-contained", "[schema][values]") {
    const JsonSchema* s = registry().find_values("app-template");
    REQUIRE(s != nullptr);
    CHECK(s->title() == "app-template values");
    CHECK(registry().find_values("app-template") == s);  // compiled once, shared
    CHECK(registry().find_values("common") == nullptr);
    CHECK(registry().find_values("") == nullptr);
    json doc = json::parse(std::string(*embedded_file("schemas/app-template/values.schema.json")));
    CHECK(doc["$comment"].get<std::string>().find("app-template 4.1.1") != std::string::npos);
    // No $ref leaves the document (the chart's own point at raw.githubusercontent.com).
    std::string text = doc.dump();
    CHECK(text.find("\"$ref\":\"http") == std::string::npos);
    CHECK(text.find("\"$ref\":\"#/definitions/") != std::string::npos);
}

TEST_CASE("a realistic app-template 4.x release validates", "[schema][values]") {
    auto ds = check(sonarr_release());
    INFO(dump(ds));
    CHECK(ds.empty());
    json j = sonarr_release();
    j["spec"].erase("values");  // Helm's default: {}
    CHECK(check(j).empty());
}

TEST_CASE("app-template values: wrong fields are found at their pointer", "[schema][values]") {
    json j = sonarr_release();
    j["spec"]["values"]["controllers"]["sonarr"]["containers"]["app"]["imagee"] =
        j["spec"]["values"]["controllers"]["sonarr"]["containers"]["app"]["image"];
    expect_at(j, "schema.unknown_field", kValues + "/controllers/sonarr/containers/app/imagee",
              "unknown field 'imagee' (not part of app-template values; check the spelling)");

    j = sonarr_release();
    j["spec"]["values"]["service"]["app"]["ports"]["http"]["protocol"] = "SCTP";
    expect_at(j, "schema.enum", kValues + "/service/app/ports/http/protocol",
              "must be one of \"HTTP\", \"HTTPS\", \"TCP\", \"UDP\"");

    j = sonarr_release();
    j["spec"]["values"]["controllers"]["sonarr"]["containers"]["app"]["probes"]["readiness"]["type"] = "PING";
    expect_at(j, "schema.enum", kValues + "/controllers/sonarr/containers/app/probes/readiness/type",
              "must be one of \"TCP\", \"HTTP\", \"HTTPS\", \"GRPC\", \"AUTO\"");

    j = sonarr_release();
    j["spec"]["values"]["route"]["app"]["parentRefs"][0].erase("name");
    expect_at(j, "schema.required", kValues + "/route/app/parentRefs/0/name", "required field 'name' is missing");

    // Checked only because derive_schemas repairs common's ContainerSecurityContext (see
    // schemas/app-template/README.md).
    j = sonarr_release();
    j["spec"]["values"]["controllers"]["sonarr"]["containers"]["app"]["securityContext"]["runAsUser"] = "1000";
    expect_at(j, "schema.type", kValues + "/controllers/sonarr/containers/app/securityContext/runAsUser",
              "must be an integer");
}

TEST_CASE("app-template values: a persistence item of no known type fails at the item", "[schema][values]") {
    json j = sonarr_release();
    j["spec"]["values"]["persistence"]["tmp"]["type"] = "bogus";
    // A oneOf over eight item types: valijson reports why each alternative failed, all below the item.
    expect_at(j, "schema.constraint", kValues + "/persistence/tmp/type",
              "Failed to match expected value set by 'const' constraint.");
    auto ds = check(j);
    INFO(dump(ds));
    for (const auto& d : ds) CHECK(d.path.rfind(kValues + "/persistence/tmp/", 0) == 0);

    j = sonarr_release();
    j["spec"]["values"]["persistence"]["media"].erase("server");  // nfs without a server
    ds = check(j);
    INFO(dump(ds));
    REQUIRE_FALSE(ds.empty());
    for (const auto& d : ds) CHECK(d.path.rfind(kValues + "/persistence/media", 0) == 0);
}

TEST_CASE("validate_values: values that are no object, and an unknown chart", "[schema][values]") {
    json j = sonarr_release();
    j["spec"]["values"] = "controllers: {}";
    auto ds = check(j);
    INFO(dump(ds));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "schema.type");
    CHECK(ds[0].path == kValues);

    ds = registry().validate_values("bitnami-nginx", sonarr_release());
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "schema.values_chart");
    CHECK(ds[0].path == "/spec/values");
    CHECK(ds[0].message == "appforge bundles no values schema for chart 'bitnami-nginx'");
}
