// Verification (verify_bundle, libappforge/src/render.cpp) proven by breaking each invariant on
// purpose: a bundle rendered from a valid request verifies clean, then one change to one object
// must produce exactly the diagnostic of the rule it breaks (code, JSON pointer, message).
// The plaintext-Secret ban is tested through every way an object reaches the bundle: an object
// of its own, an item of a List (nested too), a run-time pattern's manifest, and a second YAML
// document inside one manifest.
#include <catch2/catch.hpp>

#include <string>

#include "appforge/engine.hpp"
#include "appforge/render.hpp"
#include "diag_support.hpp"
#include "security_support.hpp"

using appforge::Bundle;
using appforge::Diagnostic;
using appforge::Diagnostics;
using appforge::Severity;
using nlohmann::json;
using sectest::dump;
using sectest::Scratch;

namespace {

std::shared_ptr<const appforge::Engine> engine() {
    static auto e = [] {
        auto r = appforge::Engine::create();
        REQUIRE(r.ok());
        return *r.value;
    }();
    return e;
}

json request(const std::string& storage = "ephemeral", const std::string& ingress = "internal-only",
             const std::string& backup = "none") {
    json j{{"operatorId", "alice"},     {"appName", "demo"},        {"containerImage", "ghcr.io/example/demo:1.0.0"},
           {"storagePattern", storage}, {"ingressPattern", ingress}, {"backupStrategy", backup}};
    if (storage == "longhorn-persistent") j["storageConfig"] = {{"sizeGi", 5}};
    return j;
}

/// A rendered bundle plus the request it came from, to be broken by a test and verified again.
struct Case {
    appforge::AppRequest app;
    Bundle bundle;

    explicit Case(const json& doc) {
        auto checked = engine()->check_document(doc);
        INFO(dump(checked.diagnostics));
        REQUIRE(checked.ok());
        app = *checked.app;
        auto b = engine()->render(app);
        INFO(dump(b.diagnostics));
        REQUIRE(b.ok());
        bundle = *b.value;
        // The unbroken bundle verifies clean, so each diagnostic below comes from the one change.
        REQUIRE(verify().empty());
    }
    json& object(const std::string& file) {
        for (auto& f : bundle.files)
            if (f.path == file) return f.object;
        FAIL("no file " << file);
        throw 0;
    }
    void remove(const std::string& file) {
        for (auto it = bundle.files.begin(); it != bundle.files.end(); ++it)
            if (it->path == file) {
                bundle.files.erase(it);
                return;
            }
        FAIL("no file " << file);
    }
    void add(const std::string& file, json object) {
        bundle.files.insert(bundle.files.end() - 1, appforge::RenderedFile{file, std::move(object), {}});
    }
    Diagnostics verify() const {
        const auto& e = *engine();
        return appforge::verify_bundle(bundle, app, e.profile(), e.catalog(), e.kube_schemas());
    }
};

Diagnostic error(std::string path, std::string code, std::string message) {
    return Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error};
}

const char* const kSecretMessage = "a plaintext Secret must never be committed to the GitOps repo; use an ExternalSecret";

json secret(const std::string& name = "demo-creds") {
    return json{{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"metadata", {{"name", name}, {"namespace", "demo"}}},
                {"stringData", {{"password", "hunter2"}}}};
}

}  // namespace

TEST_CASE("verify: every shipped pattern combination verifies clean", "[verify]") {
    for (const char* storage : {"ephemeral", "longhorn-persistent"})
        for (const char* ingress : {"internal-only", "external-via-tunnel"})
            for (const char* backup : {"none", "volsync-snapshots"}) {
                if (std::string(backup) != "none" && std::string(storage) == "ephemeral") continue;
                INFO(storage << " " << ingress << " " << backup);
                Case c(request(storage, ingress, backup));  // REQUIREs verify().empty()
            }
}

TEST_CASE("verify.selector: a Deployment selector that misses its pod labels", "[verify]") {
    Case c(request());
    c.object("deployment.yaml")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "other";
    CHECK(c.verify() == Diagnostics{error("/bundle/deployment.yaml/spec/selector", "verify.selector",
                                          "Deployment selector does not match its pod labels")});
    // An empty selector would select every pod of the namespace: not a match either.
    c.object("deployment.yaml")["spec"]["selector"]["matchLabels"] = json::object();
    auto ds = c.verify();
    INFO(dump(ds));
    REQUIRE(!ds.empty());
    CHECK(ds.back() == error("/bundle/deployment.yaml/spec/selector", "verify.selector",
                             "Deployment selector does not match its pod labels"));
}

TEST_CASE("verify.service_selector: a Service that selects no pod of the app", "[verify]") {
    Case c(request());
    c.object("service.yaml")["spec"]["selector"]["app.kubernetes.io/name"] = "other";
    CHECK(c.verify() == Diagnostics{error("/bundle/service.yaml/spec/selector", "verify.service_selector",
                                          "Service selector does not match the pod labels")});
}

TEST_CASE("verify.target_port: the Service's targetPort names no container port", "[verify]") {
    Case c(request());
    json& port = c.object("service.yaml")["spec"]["ports"][0];
    port["targetPort"] = "web";
    CHECK(c.verify() == Diagnostics{error("/bundle/service.yaml/spec/ports/0/targetPort", "verify.target_port",
                                          "Service targetPort does not name a container port")});
    port["targetPort"] = 8080;  // the container port by number
    CHECK(c.verify().empty());
    port["targetPort"] = 9090;
    CHECK(c.verify() == Diagnostics{error("/bundle/service.yaml/spec/ports/0/targetPort", "verify.target_port",
                                          "Service targetPort does not name a container port")});
}

TEST_CASE("verify.host_intent: an internal pattern's Ingress on the public zone, and the reverse", "[verify]") {
    {
        Case c(request());
        c.object("ingress.yaml")["spec"]["rules"][0]["host"] = "demo.hypyr.space";
        CHECK(c.verify() ==
              Diagnostics{error("/bundle/ingress.yaml/spec/rules/0/host", "verify.host_intent",
                                "Ingress host 'demo.hypyr.space' does not match the internal intent of pattern 'internal-only'")});
    }
    {
        // The internal zone lies inside the public one: a public host must not be an internal name.
        Case c(request("ephemeral", "external-via-tunnel"));
        auto& ing = c.object("ingress.yaml");
        ing["spec"]["rules"][0]["host"] = "demo.internal.hypyr.space";
        auto ds = c.verify();
        INFO(dump(ds));
        Diagnostics intent;
        for (const auto& d : ds)
            if (d.code == "verify.host_intent") intent.push_back(d);
        CHECK(intent == Diagnostics{error("/bundle/ingress.yaml/spec/rules/0/host", "verify.host_intent",
                                          "Ingress host 'demo.internal.hypyr.space' does not match the public intent of "
                                          "pattern 'external-via-tunnel'")});
        ing["spec"]["rules"][0]["host"] = "demo.example.org";  // outside both zones
        ds = c.verify();
        INFO(dump(ds));
        intent.clear();
        for (const auto& d : ds)
            if (d.code == "verify.host_intent") intent.push_back(d);
        CHECK(intent == Diagnostics{error("/bundle/ingress.yaml/spec/rules/0/host", "verify.host_intent",
                                          "Ingress host 'demo.example.org' does not match the public intent of "
                                          "pattern 'external-via-tunnel'")});
    }
}

TEST_CASE("verify.backend: an Ingress backend that is not a Service of the bundle", "[verify]") {
    Case c(request());
    c.object("ingress.yaml")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "elsewhere";
    CHECK(c.verify() == Diagnostics{error("/bundle/ingress.yaml/spec/rules/0", "verify.backend",
                                          "Ingress backend service 'elsewhere' is not in the bundle")});
}

TEST_CASE("verify.service_name: a Service name that is not a DNS-1035 label", "[verify]") {
    Case c(request());
    c.object("service.yaml")["metadata"]["name"] = "1demo";  // a DNS-1123 name, not DNS-1035
    c.object("ingress.yaml")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "1demo";
    CHECK(c.verify() == Diagnostics{error("/bundle/service.yaml/metadata/name", "verify.service_name",
                                          "Service name must be a DNS-1035 label")});
}

TEST_CASE("verify.namespace: an object outside the app's namespace", "[verify]") {
    Case c(request());
    c.object("service.yaml")["metadata"]["namespace"] = "kube-system";
    CHECK(c.verify() == Diagnostics{error("/bundle/service.yaml/metadata/namespace", "verify.namespace",
                                          "Service is in namespace 'kube-system', not the app's 'demo'")});
}

TEST_CASE("verify.claim_missing and verify.mount_missing: volumes, claims and mounts must line up", "[verify]") {
    Case c(request("longhorn-persistent"));
    REQUIRE(c.object("deployment.yaml")["spec"]["template"]["spec"]["volumes"][0].contains("persistentVolumeClaim"));
    json pvc = c.object("persistentvolumeclaim.yaml");
    c.remove("persistentvolumeclaim.yaml");
    CHECK(c.verify() ==
          Diagnostics{error("/bundle/deployment.yaml/spec/template/spec/volumes/0", "verify.claim_missing",
                            "volume uses claim 'demo-data' but the bundle has no such PersistentVolumeClaim")});
    c.add("persistentvolumeclaim.yaml", pvc);
    CHECK(c.verify().empty());
    c.object("deployment.yaml")["spec"]["template"]["spec"]["volumes"] = json::array();
    CHECK(c.verify() == Diagnostics{error("/bundle/deployment.yaml/spec/template/spec/containers/0/volumeMounts",
                                          "verify.mount_missing", "volumeMount 'app-data' has no volume")});
}

TEST_CASE("verify.source_pvc: a ReplicationSource that backs up no claim of the bundle", "[verify]") {
    Case c(request("longhorn-persistent", "internal-only", "volsync-snapshots"));
    c.object("replicationsource.yaml")["spec"]["sourcePVC"] = "someone-elses-data";
    CHECK(c.verify() == Diagnostics{error("/bundle/replicationsource.yaml/spec/sourcePVC", "verify.source_pvc",
                                          "ReplicationSource must back up a claim in the bundle")});
    c.object("replicationsource.yaml")["spec"].erase("sourcePVC");
    auto ds = c.verify();
    INFO(dump(ds));
    CHECK(std::count(ds.begin(), ds.end(),
                     error("/bundle/replicationsource.yaml/spec/sourcePVC", "verify.source_pvc",
                           "ReplicationSource must back up a claim in the bundle")) == 1);
}

TEST_CASE("verify.unknown_kind: an object appforge has no schema for is a warning", "[verify]") {
    Case c(request());
    c.add("widget.yaml", json{{"apiVersion", "example.com/v1"},
                              {"kind", "Widget"},
                              {"metadata", {{"name", "demo"}, {"namespace", "demo"}}}});
    CHECK(c.verify() == Diagnostics{Diagnostic{"/bundle/widget.yaml", "verify.unknown_kind",
                                               "no bundled schema for example.com/v1 Widget; the object was not verified",
                                               Severity::warning}});
}

TEST_CASE("verify.list_item: a List item that is not an object", "[verify]") {
    Case c(request());
    c.add("list.yaml", json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array({42})}});
    CHECK(c.verify() == Diagnostics{error("/bundle/list.yaml/items/0", "verify.list_item",
                                          "a List item must be a Kubernetes object")});
}

TEST_CASE("verify.schema.*: objects are checked against their Kubernetes schema", "[verify]") {
    Case c(request());
    auto only_schema = [&] {
        Diagnostics out;
        for (const auto& d : c.verify())
            if (d.code.rfind("verify.schema.", 0) == 0) out.push_back(d);
        return out;
    };
    json& dep = c.object("deployment.yaml");
    const json saved = dep;
    SECTION("type") {
        dep["spec"]["replicas"] = "one";
        CHECK(only_schema() == Diagnostics{error("/bundle/deployment.yaml/spec/replicas", "verify.schema.type",
                                                 "Deployment must be an integer")});
    }
    SECTION("required") {
        dep["spec"]["template"]["spec"]["containers"][0].erase("name");
        CHECK(only_schema() == Diagnostics{error("/bundle/deployment.yaml/spec/template/spec/containers/0/name",
                                                 "verify.schema.required", "Deployment required field 'name' is missing")});
    }
    SECTION("unknown field") {
        dep["spec"]["replicaz"] = 1;
        CHECK(only_schema() == Diagnostics{error("/bundle/deployment.yaml/spec/replicaz", "verify.schema.unknown_field",
                                                 "Deployment unknown field 'replicaz' (not part of Deployment; check the spelling)")});
    }
}

TEST_CASE("verify.schema.*: a CRD's enum and pattern constraints (ReplicationSource)", "[verify]") {
    Case c(request("longhorn-persistent", "internal-only", "volsync-snapshots"));
    auto only_schema = [&] {
        Diagnostics out;
        for (const auto& d : c.verify())
            if (d.code.rfind("verify.schema.", 0) == 0) out.push_back(d);
        return out;
    };
    json& restic = c.object("replicationsource.yaml")["spec"]["restic"];
    SECTION("enum") {
        restic["copyMethod"] = "Teleport";
        CHECK(only_schema() == Diagnostics{error("/bundle/replicationsource.yaml/spec/restic/copyMethod",
                                                 "verify.schema.enum",
                                                 "ReplicationSource must be one of \"Direct\", \"None\", \"Clone\", \"Snapshot\"")});
    }
    SECTION("constraint") {
        restic["cacheCapacity"] = "lots";
        CHECK(only_schema() == Diagnostics{error("/bundle/replicationsource.yaml/spec/restic/cacheCapacity",
                                                 "verify.schema.constraint",
                                                 "ReplicationSource Failed to match regex specified by 'pattern' constraint.")});
    }
}

// ---------------------------------------------------------------------------------------------
// The plaintext-Secret ban, through every path an object can take into the bundle.

TEST_CASE("verify.plaintext_secret: a Secret object of its own, whatever apiVersion it claims", "[verify][secret]") {
    Case c(request());
    c.add("secret.yaml", secret());
    CHECK(c.verify() == Diagnostics{error("/bundle/secret.yaml", "verify.plaintext_secret", kSecretMessage)});
    c.object("secret.yaml")["apiVersion"] = "v0";  // no schema for it: still a Secret in git
    auto ds = c.verify();
    INFO(dump(ds));
    REQUIRE(!ds.empty());
    CHECK(ds.front() == error("/bundle/secret.yaml", "verify.plaintext_secret", kSecretMessage));
}

TEST_CASE("verify.plaintext_secret: a Secret inside a List, and inside a List inside a List", "[verify][secret]") {
    Case c(request());
    json cm{{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", "demo-config"}, {"namespace", "demo"}}},
            {"data", {{"k", "v"}}}};
    c.add("list.yaml", json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array({cm, secret()})}});
    CHECK(c.verify() == Diagnostics{error("/bundle/list.yaml/items/1", "verify.plaintext_secret", kSecretMessage)});
    c.object("list.yaml")["items"][1] =
        json{{"apiVersion", "v1"}, {"kind", "SecretList"}, {"items", json::array({secret()})}};
    auto ds = c.verify();
    INFO(dump(ds));
    CHECK(std::count(ds.begin(), ds.end(), error("/bundle/list.yaml/items/1/items/0", "verify.plaintext_secret",
                                                 kSecretMessage)) == 1);
}

namespace {

/// A run-time storage pattern (loaded like `--patterns DIR`) with one extra manifest.
std::shared_ptr<const appforge::Engine> engine_with_manifest(const Scratch& dir, const std::string& manifest) {
    std::string pattern = "id: leaky\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\npersistent: false\n"
                          "volumeName: app-data\nvolume: |\n  name: \"{{volumeName}}\"\n  emptyDir: {}\n"
                          "manifests:\n  - file: extra.yaml\n    template: |\n" +
                          sectest::indent(manifest, "      ");
    dir.write("storage/leaky.yaml", pattern);
    appforge::EngineOptions o;
    o.pattern_dirs.push_back(dir.dir.string());
    auto e = appforge::Engine::create(o);
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    return *e.value;
}

}  // namespace

TEST_CASE("verify.plaintext_secret: a pattern's manifest that renders a Secret, alone or in a List", "[verify][secret]") {
    Scratch dir;
    SECTION("the manifest is a Secret") {
        auto e = engine_with_manifest(dir, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"{{appName}}-creds\"\n"
                                           "  namespace: \"{{namespace}}\"\nstringData:\n  password: hunter2\n");
        auto r = e->render_document(request("leaky"));
        INFO(dump(r.diagnostics));
        CHECK_FALSE(r.ok());
        CHECK(r.diagnostics == Diagnostics{error("/bundle/extra.yaml", "verify.plaintext_secret", kSecretMessage)});
    }
    SECTION("the manifest is a List holding a Secret") {
        auto e = engine_with_manifest(dir, "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n"
                                           "    metadata:\n      name: \"{{appName}}-creds\"\n      namespace: \"{{namespace}}\"\n"
                                           "    stringData:\n      password: hunter2\n");
        auto r = e->render_document(request("leaky"));
        INFO(dump(r.diagnostics));
        CHECK_FALSE(r.ok());
        CHECK(r.diagnostics ==
              Diagnostics{error("/bundle/extra.yaml/items/0", "verify.plaintext_secret", kSecretMessage)});
    }
}

TEST_CASE("verify.plaintext_secret: a Secret as a manifest's second YAML document never reaches the bundle",
          "[verify][secret]") {
    const std::string second = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: \"{{appName}}-creds\"\n"
                               "  namespace: \"{{namespace}}\"\nstringData:\n  password: hunter2\n";
    const std::string config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{{appName}}-config\"\n"
                               "  namespace: \"{{namespace}}\"\ndata:\n  k: v\n";
    Scratch dir;
    SECTION("always there: the pattern is refused when loaded") {
        std::string pattern = "id: leaky\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\n"
                              "persistent: false\nvolumeName: app-data\nvolume: |\n  name: \"{{volumeName}}\"\n"
                              "  emptyDir: {}\nmanifests:\n  - file: extra.yaml\n    template: |\n" +
                              sectest::indent(config + second, "      ");
        dir.write("storage/leaky.yaml", pattern);
        appforge::EngineOptions o;
        o.pattern_dirs.push_back(dir.dir.string());
        auto e = appforge::Engine::create(o);
        const std::string file = (dir.dir / "storage/leaky.yaml").string();
        CHECK(e.diagnostics == Diagnostics{error("", "pattern.template",
                                                 file + ":14: template does not render valid YAML: expected 1 YAML "
                                                        "document(s), found more")});
    }
    SECTION("only for some requests (not for the load-time probe): refused when rendered") {
        auto e = engine_with_manifest(dir, config + "{{^s3UseExternalSecrets}}\n" + second + "{{/s3UseExternalSecrets}}\n");
        auto r = e->render_document(request("leaky"));
        INFO(dump(r.diagnostics));
        CHECK_FALSE(r.ok());
        const std::string file = (dir.dir / "storage/leaky.yaml").string();
        CHECK(r.diagnostics == Diagnostics{error("", "render.yaml",
                                                 file + " extra.yaml rendered invalid YAML: expected 1 YAML document(s), "
                                                        "found more")});
    }
}
