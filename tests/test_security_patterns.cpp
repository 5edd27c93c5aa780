// Issue 13, items 5, 9, 15 and 18: hostile patterns (tag bypasses, oversized files, links, what
// they render) and partial or unsafe profiles. Patterns are loaded from a scratch folder the way
// `--patterns DIR` loads them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "appforge/catalog.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "security_support.hpp"

using appforge::Diagnostics;
namespace fs = std::filesystem;

using sectest::dump;
using sectest::has_code;
using sectest::indent;
using sectest::Scratch;

namespace {

/// A storage pattern with an emptyDir volume plus one manifest (or an env list).
std::string storage_pattern(const std::string& id, const std::string& manifest, const std::string& env = "") {
    std::string s = "id: " + id + "\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\npersistent: false\n"
                    "volumeName: app-data\nvolume: |\n  name: \"{{volumeName}}\"\n  emptyDir: {}\n";
    if (!env.empty()) s += "env: |\n" + env;
    if (!manifest.empty()) s += "manifests:\n  - file: extra.yaml\n    template: |\n" + manifest;
    return s;
}

appforge::Result<std::shared_ptr<const appforge::Engine>> engine_with(const Scratch* patterns,
                                                                      const std::string& profile = "") {
    appforge::EngineOptions o;
    if (patterns) o.pattern_dirs.push_back(patterns->dir.string());
    if (!profile.empty()) o.profile_text = profile;
    return appforge::Engine::create(o);
}

std::string request(const std::string& storage, const std::string& extra = "") {
    return "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\nstoragePattern: " + storage +
           "\ningressPattern: internal-only\nbackupStrategy: none\n" + extra;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Item 5: every unescaped, partial and delimiter tag is refused, whatever whitespace it carries.

TEST_CASE("pattern lint: tag whitespace cannot hide unescaped, partial or delimiter tags", "[security][patterns]") {
    // Raw line breaks inside a tag carry the block scalar's indentation, as a pattern file would.
    for (const std::string tag : {"{{ &operatorId}}", "{{\t&operatorId}}", "{{\n      &operatorId}}", "{{{ operatorId }}}", "{{&operatorId}}", "{{ > operatorId}}", "{{\t>operatorId}}",
                                  "{{\t=<% %>=}}", "{{\n      =<% %>=}}", "{{ =<% %>= }}"}) {
        appforge::Catalog c;
        auto ds = c.add("t.yaml", storage_pattern("t", "", "  - name: OP\n    value: \"" + tag + "\"\n"));
        INFO(tag << "\n" << dump(ds));
        CHECK(has_code(ds, "pattern.template"));
        CHECK(c.find(appforge::PatternKind::storage, "t") == nullptr);
    }
    // Ordinary escaped tags with whitespace still load.
    appforge::Catalog ok;
    CHECK(ok.add("t.yaml", storage_pattern("t", "", "  - name: OP\n    value: \"{{ operatorId }}\"\n")).empty());
}

TEST_CASE("pattern lint: {{ &operatorId}} with an env-injecting operatorId is refused at load time", "[security][patterns]") {
    Scratch dir;
    dir.write("storage/inject.yaml",
              storage_pattern("inject", "", "  - name: OPERATOR\n    value: \"{{ &operatorId}}\"\n"));
    auto e = engine_with(&dir);
    INFO(dump(e.diagnostics));
    REQUIRE_FALSE(e.ok());
    CHECK(has_code(e.diagnostics, "pattern.template"));
    if (e.ok()) {  // before the fix: the value's quotes end the string and LD_PRELOAD joins the env
        auto r = (*e.value)->render_text(
            request("inject", "") + "");
        std::string op = "x\"}, {name: LD_PRELOAD, value: \"/data/evil.so";
        auto r2 = (*e.value)->render_text(
            "operatorId: '" + op + "'\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
            "storagePattern: inject\ningressPattern: internal-only\nbackupStrategy: none\n");
        CHECK((r2.ok() ? r2.value->stream() : std::string()).find("LD_PRELOAD") == std::string::npos);
        (void)r;
    }
}

TEST_CASE("pattern lint: YAML context tricks cannot smuggle a tag outside double quotes", "[security][patterns]") {
    const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{{appName}}-x\"\n"
                           "  namespace: \"{{namespace}}\"\n";
    // A double-quoted string spans lines; a line in it that looks like a comment still expands tags.
    // A quote right after ':' inside a plain scalar ("a:'b") opens nothing, so the later '"' does.
    for (const std::string data : {"data: {a: \"first\n  # {{&operatorId}}\"}\n",
                                   "data: {x: a:'b, y: \"c' z: \", w: {{operatorId}}}\n",
                                   "data:\n  x: it's {{operatorId}}\n"}) {
        appforge::Catalog c;
        auto ds = c.add("t.yaml", storage_pattern("t", indent(cm + data, "      ")));
        INFO(data << "\n" << dump(ds));
        CHECK(has_code(ds, "pattern.template"));
        CHECK(c.find(appforge::PatternKind::storage, "t") == nullptr);
    }
    // A tag inside a double-quoted string that spans lines is escaped like any other: it loads, and
    // a hostile value stays one string.
    Scratch dir;
    dir.write("storage/multi.yaml",
              storage_pattern("multi", indent(cm + "data: {a: \"first\n  # {{operatorId}}\"}\n", "      ")));
    auto e = engine_with(&dir);
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    auto r = (*e.value)->render_text("operatorId: 'x\", injected: \"evil'\nappName: whoami\n"
                                     "containerImage: traefik/whoami:v1.10.1\nstoragePattern: multi\n"
                                     "ingressPattern: internal-only\nbackupStrategy: none\n");
    INFO(dump(r.diagnostics));
    REQUIRE(r.ok());
    for (const auto& f : r.value->files)
        if (f.object.value("kind", "") == "ConfigMap") {
            CHECK(f.object["data"].size() == 1);
            CHECK(f.object["data"]["a"].get<std::string>().find("injected") != std::string::npos);
        }
}

// ---------------------------------------------------------------------------------------------
// Item 15: the run-time loader caps file sizes and refuses links.

TEST_CASE("pattern loader: files over 1 MiB are refused without being read whole", "[security][patterns]") {
    Scratch dir;
    std::string big = storage_pattern("big", "") + "# " + std::string((1u << 20) + 16, 'x') + "\n";
    dir.write("storage/big.yaml", big);
    auto e = engine_with(&dir);
    INFO(dump(e.diagnostics));
    REQUIRE_FALSE(e.ok());
    CHECK(has_code(e.diagnostics, "pattern.too_large"));
}

TEST_CASE("pattern loader: symlinked files and folders are refused", "[security][patterns]") {
    Scratch outside;
    outside.write("storage/linked.yaml", storage_pattern("linked", ""));
    {
        Scratch dir;
        fs::create_directories(dir.dir / "storage");
        fs::create_symlink(outside.dir / "storage/linked.yaml", dir.dir / "storage/linked.yaml");
        auto e = engine_with(&dir);
        INFO(dump(e.diagnostics));
        REQUIRE_FALSE(e.ok());
        CHECK(has_code(e.diagnostics, "pattern.symlink"));
    }
    {
        Scratch dir;
        fs::create_directory_symlink(outside.dir / "storage", dir.dir / "storage");
        auto e = engine_with(&dir);
        INFO(dump(e.diagnostics));
        REQUIRE_FALSE(e.ok());
        CHECK(has_code(e.diagnostics, "pattern.symlink"));
    }
    // The same file as a regular file loads.
    Scratch plain;
    plain.write("storage/linked.yaml", storage_pattern("linked", ""));
    CHECK(engine_with(&plain).ok());
}

// ---------------------------------------------------------------------------------------------
// Item 9: Lists are flattened for verification and the profile's policy governs every object.

namespace {

struct PolicyCase {
    const char* id;
    const char* manifest;
    const char* code;
    const char* path;
    const char* allow;  // profile policy line that allows it
};

const PolicyCase kPolicyCases[] = {
    {"list-secret",
     "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n"
     "      name: \"{{appName}}-creds\"\n      namespace: \"{{namespace}}\"\n    stringData:\n      password: hunter2\n",
     "verify.plaintext_secret", "/bundle/extra.yaml/items/0", nullptr},
    {"crb",
     "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: \"{{appName}}-admin\"\n"
     "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n"
     "  - kind: ServiceAccount\n    name: default\n    namespace: \"{{namespace}}\"\n",
     "verify.policy.rbac", "/bundle/extra.yaml/kind", "  allowRbac: true\n  allowClusterScopedKinds: [ClusterRoleBinding]\n"},
    {"role",
     "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: \"{{appName}}-r\"\n"
     "  namespace: \"{{namespace}}\"\nrules: []\n",
     "verify.policy.rbac", "/bundle/extra.yaml/kind", "  allowRbac: true\n"},
    {"cluster-kind",
     "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: \"{{appName}}-sc\"\nprovisioner: x.example\n",
     "verify.policy.cluster_scoped", "/bundle/extra.yaml/kind", "  allowClusterScopedKinds: [StorageClass]\n"},
    {"privileged",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{{appName}}-p\"\n  namespace: \"{{namespace}}\"\nspec:\n"
     "  containers:\n    - name: x\n      image: \"{{image}}\"\n      securityContext:\n        privileged: true\n",
     "verify.policy.privileged", "/bundle/extra.yaml/spec/containers/0/securityContext/privileged",
     "  allowPrivileged: true\n"},
    {"host-network",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{{appName}}-p\"\n  namespace: \"{{namespace}}\"\nspec:\n"
     "  hostNetwork: true\n  containers:\n    - name: x\n      image: \"{{image}}\"\n",
     "verify.policy.host_namespace", "/bundle/extra.yaml/spec/hostNetwork", "  allowHostNamespaces: true\n"},
    {"host-pid-in-list",
     "apiVersion: v1\nkind: PodList\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata:\n"
     "      name: \"{{appName}}-p\"\n      namespace: \"{{namespace}}\"\n    spec:\n      hostPID: true\n"
     "      containers:\n        - name: x\n          image: \"{{image}}\"\n",
     "verify.policy.host_namespace", "/bundle/extra.yaml/items/0/spec/hostPID", "  allowHostNamespaces: true\n"},
    {"host-path",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{{appName}}-p\"\n  namespace: \"{{namespace}}\"\nspec:\n"
     "  containers:\n    - name: x\n      image: \"{{image}}\"\n  volumes:\n    - name: root\n      hostPath:\n"
     "        path: /\n",
     "verify.policy.host_path", "/bundle/extra.yaml/spec/volumes/0/hostPath", "  allowHostPath: true\n"},
};

appforge::MemoryRepo empty_gitops_repo() {
    appforge::MemoryRepo r;
    r.put("kubernetes/clusters/homelab/namespaces/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./tools\n");
    return r;
}

}  // namespace

TEST_CASE("policy: each forbidden thing a pattern renders is a verify diagnostic at its path", "[security][policy]") {
    for (const auto& c : kPolicyCases) {
        Scratch dir;
        dir.write(std::string("storage/") + c.id + ".yaml", storage_pattern(c.id, indent(c.manifest, "      ")));
        auto e = engine_with(&dir);
        INFO(c.id << "\n" << dump(e.diagnostics));
        REQUIRE(e.ok());
        auto r = (*e.value)->render_text(request(c.id));
        INFO(dump(r.diagnostics));
        CHECK_FALSE(r.ok());
        CHECK(has_code(r.diagnostics, c.code, c.path));
        auto planned = appforge::plan_request(**e.value, request(c.id), empty_gitops_repo());
        CHECK_FALSE(planned.ok());
    }
}

TEST_CASE("policy: what the profile allows renders, and the plan needs review", "[security][policy]") {
    for (const auto& c : kPolicyCases) {
        if (!c.allow) continue;
        Scratch dir;
        dir.write(std::string("storage/") + c.id + ".yaml", storage_pattern(c.id, indent(c.manifest, "      ")));
        auto e = engine_with(&dir, std::string("policy:\n") + c.allow);
        INFO(c.id << "\n" << dump(e.diagnostics));
        REQUIRE(e.ok());
        auto planned = appforge::plan_request(**e.value, request(c.id), empty_gitops_repo());
        INFO(dump(planned.diagnostics));
        REQUIRE(planned.ok());
        CHECK(planned.plan->risk.verdict == appforge::RiskVerdict::needs_review);
        bool reason = false;
        for (const auto& rr : planned.plan->risk.reasons) reason = reason || rr.code == "risk.policy";
        CHECK(reason);
    }
    // The built-in patterns stay within the default policy (the NAS PersistentVolume is bound to the app's claim).
    auto e = engine_with(nullptr);
    REQUIRE(e.ok());
    auto planned = appforge::plan_request(
        **e.value,
        request("nas-mount", "storageConfig: {nasEndpoint: \"nfs://nas.internal:2049\", nasSubpath: /mnt/pool/apps/whoami}\n"),
        empty_gitops_repo());
    INFO(dump(planned.diagnostics));
    REQUIRE(planned.ok());
    CHECK(planned.plan->risk.verdict == appforge::RiskVerdict::auto_merge);
}

// ---------------------------------------------------------------------------------------------
// Item 18: partial profiles merge over the default; unsafe settings are refused.

TEST_CASE("profile: a profile with only gitops keeps the default's reserved namespaces", "[security][profile]") {
    auto e = engine_with(nullptr, "gitops:\n  root: kubernetes/clusters\n  cluster: homelab\n  namespacesDir: namespaces\n");
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    const auto& p = (*e.value)->profile();
    CHECK(p.publicZone == "hypyr.space");
    CHECK(p.secretStore.has_value());
    CHECK(!p.managementNamespaces.empty());
    auto planned = appforge::plan_request(**e.value, request("ephemeral", "namespace: flux-system\n"), empty_gitops_repo());
    INFO(dump(planned.diagnostics));
    CHECK_FALSE(planned.ok());
    CHECK((has_code(planned.diagnostics, "namespace.reserved") ||
           has_code(planned.diagnostics, "gitops.namespace.reserved")));
}

TEST_CASE("profile: platform namespaces stay reserved even when the list is emptied", "[security][profile]") {
    auto e = engine_with(nullptr, "namespaces:\n  reserved: []\n");
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    for (const char* ns : {"flux-system", "kube-system", "kube-public", "volsync-system", "external-secrets"}) {
        auto c = (*e.value)->check(request("ephemeral", std::string("namespace: ") + ns + "\n"));
        INFO(ns << "\n" << dump(c.diagnostics));
        CHECK_FALSE(c.ok());
    }
    // The explicit empty list did empty it: "backstage" (only in the default's list) is free again.
    CHECK((*e.value)->check(request("ephemeral", "namespace: backstage\n")).ok());
}

TEST_CASE("profile: unsafe settings are profile.* diagnostics naming the field", "[security][profile]") {
    struct Case {
        const char* yaml;
        const char* code;
        const char* path;
    };
    for (const Case& c : std::vector<Case>{
             {"nas:\n  appRoots: [\"/\"]\n", "profile.nasAppRoot.root", "/nas/appRoots/0"},
             {"nas:\n  appRoots: [/mnt/a, \"/\"]\n", "profile.nasAppRoot.root", "/nas/appRoots/1"},
             {"storage:\n  mountPath: /\n", "profile.mountPath.root", "/storage/mountPath"},
             {"gitops:\n  root: .git\n", "profile.layout.git", "/gitops/root"},
             {"gitops:\n  cluster: x/.git\n", "profile.layout.git", "/gitops/cluster"},
             {"gitops:\n  namespacesDir: apps/.GIT/x\n", "profile.layout.git", "/gitops/namespacesDir"},
             {"namespaces:\n  reserved: [\"prod-.*\"]\n", "profile.namespaces.pattern", "/namespaces/reserved/0"},
             {"namespaces:\n  reserved: [kube-*, \"^team$\"]\n", "profile.namespaces.pattern", "/namespaces/reserved/1"},
             {"namespaces:\n  management: [\"[a-z]+\"]\n", "profile.namespaces.pattern", "/namespaces/management/0"},
             {"name: Home Lab\n", "profile.name.label", "/name"},
             {"name: homelab.example\n", "profile.name.label", "/name"},
         }) {
        auto e = engine_with(nullptr, c.yaml);
        INFO(c.yaml << dump(e.diagnostics));
        CHECK_FALSE(e.ok());
        CHECK(has_code(e.diagnostics, c.code, c.path));
    }
    for (const char* ok : {"name: lab2\n", "namespaces:\n  reserved: [kube-*, prod-*, default, \"*\"]\n",
                           "gitops:\n  root: clusters/git\n", "secretStore: null\n"})
        CHECK(engine_with(nullptr, ok).ok());
}
