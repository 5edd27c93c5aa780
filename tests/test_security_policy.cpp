// Issue 13, item 9 follow-up: bypasses of the profile policy found in review (capabilities outside
// the Pod Security baseline, hostPort, seccomp/procMount, GitOps deployer kinds, PersistentVolumes
// bound into the namespace that mount anything) and the registry.k8s.io default that could never
// pass the exact allow-list. Patterns are loaded from a scratch folder the way `--patterns DIR` does.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/net_rules.hpp"
#include "security_support.hpp"

using appforge::Diagnostics;
namespace fs = std::filesystem;

using sectest::dump;
using sectest::has_code;
using sectest::indent;
using sectest::Scratch;

namespace {

bool has_code_prefix(const Diagnostics& ds, const std::string& prefix) {
    for (const auto& d : ds)
        if (d.code.rfind(prefix, 0) == 0) return true;
    return false;
}

/// A storage pattern with an emptyDir volume plus one extra manifest (extra.yaml).
std::string storage_pattern(const std::string& id, const std::string& manifest) {
    return "id: " + id + "\nkind: storage\nname: T\ndescription: test\nrequiredFields: []\npersistent: false\n"
           "volumeName: app-data\nvolume: |\n  name: \"{{volumeName}}\"\n  emptyDir: {}\n"
           "manifests:\n  - file: extra.yaml\n    template: |\n" +
           indent(manifest, "      ");
}

const std::string kRequest =
    "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\nstoragePattern: t\n"
    "ingressPattern: internal-only\nbackupStrategy: none\n";

struct Loaded {
    Scratch dir;
    std::shared_ptr<const appforge::Engine> engine;
};

/// An engine with one storage pattern "t" that adds `manifest`; REQUIREs that it loads.
std::unique_ptr<Loaded> load(const std::string& manifest, const std::string& profile = "") {
    auto l = std::make_unique<Loaded>();
    l->dir.write("storage/t.yaml", storage_pattern("t", manifest));
    appforge::EngineOptions o;
    o.pattern_dirs.push_back(l->dir.dir.string());
    if (!profile.empty()) o.profile_text = profile;
    auto e = appforge::Engine::create(o);
    INFO(dump(e.diagnostics));
    REQUIRE(e.ok());
    l->engine = *e.value;
    return l;
}

Diagnostics render_diagnostics(const std::string& manifest, const std::string& profile = "") {
    auto l = load(manifest, profile);
    return l->engine->render_text(kRequest).diagnostics;
}

appforge::MemoryRepo empty_gitops_repo() {
    appforge::MemoryRepo r;
    r.put("kubernetes/clusters/homelab/namespaces/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./tools\n");
    return r;
}

int risk_policy_reasons(const appforge::PlannedRequest& planned, const std::string& needle) {
    int n = 0;
    for (const auto& rr : planned.plan->risk.reasons)
        if (rr.code == "risk.policy" && rr.message.find(needle) != std::string::npos) ++n;
    return n;
}

const char* kPodMeta = "metadata:\n  name: \"{{appName}}-w\"\n  namespace: \"{{namespace}}\"\n";

/// Every place a pod spec sits, with the JSON pointer of that spec inside the object.
struct Wrapper {
    const char* kind;
    const char* prefix;
};
const Wrapper kWrappers[] = {
    {"Pod", "/spec"},
    {"Deployment", "/spec/template/spec"},
    {"StatefulSet", "/spec/template/spec"},
    {"DaemonSet", "/spec/template/spec"},
    {"ReplicaSet", "/spec/template/spec"},
    {"Job", "/spec/template/spec"},
    {"CronJob", "/spec/jobTemplate/spec/template/spec"},
};

std::string wrap(const Wrapper& w, const std::string& pod_spec) {
    std::string kind = w.kind;
    std::string api = kind == "Pod" ? "v1" : (kind == "Job" || kind == "CronJob") ? "batch/v1" : "apps/v1";
    std::string s = "apiVersion: " + api + "\nkind: " + kind + "\n" + kPodMeta + "spec:\n";
    const std::string pod_template = "template:\n  metadata:\n    labels:\n      w: x\n  spec:\n" + indent(pod_spec, "    ");
    if (kind == "Pod") return s + indent(pod_spec, "  ");
    if (kind == "Job") return s + indent(pod_template, "  ");
    if (kind == "CronJob")
        return s + "  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n" + indent(pod_template, "      ");
    return s + "  selector:\n    matchLabels:\n      w: x\n" + indent(pod_template, "  ");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Capabilities: an allow-list (the Pod Security baseline set), any case, CAP_ prefix or not.

TEST_CASE("policy: capabilities outside the Pod Security baseline set are privileged in any spelling",
          "[security][policy]") {
    const std::vector<std::string> bad{"SYS_MODULE", "sys_admin", "all", "CAP_SYS_PTRACE", "cap_net_raw", "NET_ADMIN",
                                       "BPF", "Cap_Sys_Admin", " CHOWN"};
    std::string list;
    for (const auto& c : bad) list += (list.empty() ? "" : ", ") + std::string("\"") + c + "\"";
    auto ds = render_diagnostics("apiVersion: v1\nkind: Pod\n" + std::string(kPodMeta) +
                                 "spec:\n  containers:\n    - name: x\n      image: \"{{image}}\"\n"
                                 "      securityContext:\n        capabilities:\n          add: [" +
                                 list + "]\n");
    INFO(dump(ds));
    for (std::size_t i = 0; i < bad.size(); ++i) {
        INFO(bad[i]);
        CHECK(has_code(ds, "verify.policy.privileged",
                       "/bundle/extra.yaml/spec/containers/0/securityContext/capabilities/add/" + std::to_string(i)));
    }
    // The baseline set itself, in the spellings Kubernetes accepts, is no finding.
    auto ok = render_diagnostics("apiVersion: v1\nkind: Pod\n" + std::string(kPodMeta) +
                                 "spec:\n  containers:\n    - name: x\n      image: \"{{image}}\"\n"
                                 "      securityContext:\n        capabilities:\n          add: [CHOWN, cap_net_bind_service, "
                                 "Kill, CAP_SYS_CHROOT, AUDIT_WRITE, DAC_OVERRIDE, FOWNER, FSETID, MKNOD, SETFCAP, SETGID, "
                                 "SETPCAP, SETUID]\n          drop: [ALL]\n");
    INFO(dump(ok));
    CHECK_FALSE(has_code_prefix(ok, "verify.policy."));
}

// ---------------------------------------------------------------------------------------------
// hostPort, seccomp Unconfined and procMount Unmasked, in every pod-spec location.

TEST_CASE("policy: hostPort, Unconfined seccomp, Unmasked procMount and extra capabilities in every pod-spec location",
          "[security][policy]") {
    const std::string bad_container =
        "- name: bad\n  image: \"{{image}}\"\n  ports:\n    - containerPort: 80\n      hostPort: 8080\n"
        "  securityContext:\n    procMount: Unmasked\n    seccompProfile:\n      type: Unconfined\n"
        "    capabilities:\n      add: [SYS_MODULE]\n";
    for (const auto& w : kWrappers) {
        for (const std::string list : {"containers", "initContainers", "ephemeralContainers"}) {
            std::string pod_spec = "securityContext:\n  seccompProfile:\n    type: Unconfined\n";
            if (list != "containers") pod_spec += "containers:\n  - name: main\n    image: \"{{image}}\"\n";
            pod_spec += list + ":\n" + indent(bad_container, "  ");
            auto ds = render_diagnostics(wrap(w, pod_spec));
            const std::string at = std::string("/bundle/extra.yaml") + w.prefix;
            const std::string c = at + "/" + list + "/0";
            INFO(w.kind << " " << list << "\n" << wrap(w, pod_spec) << dump(ds));
            CHECK(has_code(ds, "verify.policy.host_namespace", c + "/ports/0/hostPort"));
            CHECK(has_code(ds, "verify.policy.privileged", c + "/securityContext/procMount"));
            CHECK(has_code(ds, "verify.policy.privileged", c + "/securityContext/seccompProfile/type"));
            CHECK(has_code(ds, "verify.policy.privileged", c + "/securityContext/capabilities/add/0"));
            CHECK(has_code(ds, "verify.policy.privileged", at + "/securityContext/seccompProfile/type"));
        }
    }
    // The safe values are no finding: RuntimeDefault seccomp, Default procMount, hostPort 0.
    Wrapper deploy{"Deployment", "/spec/template/spec"};
    auto ok = render_diagnostics(
        wrap(deploy, "securityContext:\n  seccompProfile:\n    type: RuntimeDefault\ncontainers:\n  - name: x\n"
                     "    image: \"{{image}}\"\n    ports:\n      - containerPort: 80\n        hostPort: 0\n"
                     "    securityContext:\n      procMount: Default\n      seccompProfile:\n        type: Localhost\n"
                     "        localhostProfile: app.json\n"));
    INFO(dump(ok));
    CHECK_FALSE(has_code_prefix(ok, "verify.policy."));
}

TEST_CASE("policy: allowed privileged and host-port settings render and the plan needs review", "[security][policy]") {
    Wrapper job{"Job", "/spec/template/spec"};  // not a Deployment: the app's Service selects that
    auto l = load(wrap(job, "restartPolicy: Never\ncontainers:\n  - name: x\n    image: \"{{image}}\"\n    ports:\n"
                               "      - containerPort: 80\n        hostPort: 8080\n    securityContext:\n"
                               "      seccompProfile:\n        type: Unconfined\n      capabilities:\n        add: [NET_ADMIN]\n"),
                  "policy:\n  allowPrivileged: true\n  allowHostNamespaces: true\n");
    auto planned = appforge::plan_request(*l->engine, kRequest, empty_gitops_repo());
    INFO(dump(planned.diagnostics));
    REQUIRE(planned.ok());
    CHECK(planned.plan->risk.verdict == appforge::RiskVerdict::needs_review);
    CHECK(risk_policy_reasons(planned, "hostPort 8080") == 1);
    CHECK(risk_policy_reasons(planned, "seccomp") == 1);
    CHECK(risk_policy_reasons(planned, "NET_ADMIN") == 1);
}

// ---------------------------------------------------------------------------------------------
// Objects that make a GitOps controller deploy other manifests with its own rights.

namespace {

struct DeployerCase {
    const char* name;
    const char* manifest;
};

const DeployerCase kDeployers[] = {
    {"flux-kustomization",
     "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: \"{{appName}}-k\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  path: ./\n  prune: true\n  targetNamespace: kube-system\n"
     "  sourceRef:\n    kind: GitRepository\n    name: \"{{appName}}-src\"\n"},
    {"helmrelease",
     "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: \"{{appName}}-h\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  targetNamespace: kube-system\n  chart:\n    spec:\n"
     "      chart: evil\n      sourceRef:\n        kind: HelmRepository\n        name: \"{{appName}}-repo\"\n"},
    {"gitrepository",
     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: \"{{appName}}-src\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  url: https://attacker.example/repo.git\n  ref:\n"
     "    branch: main\n"},
    {"ocirepository",
     "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata:\n  name: \"{{appName}}-oci\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  url: oci://attacker.example/manifests\n"},
    {"helmrepository",
     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: \"{{appName}}-repo\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  url: https://attacker.example/charts\n"},
    {"bucket",
     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata:\n  name: \"{{appName}}-b\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  bucketName: evil\n  endpoint: attacker.example\n"},
    {"helmchart",
     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: \"{{appName}}-c\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  chart: evil\n  sourceRef:\n    kind: HelmRepository\n"
     "    name: \"{{appName}}-repo\"\n"},
    {"argo-application",
     "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: \"{{appName}}-a\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  project: default\n  source:\n    repoURL: https://attacker.example/r.git\n"
     "    path: ./\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: kube-system\n"},
    {"argo-applicationset",
     "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: \"{{appName}}-as\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  generators: []\n  template:\n    metadata:\n      name: x\n    spec:\n"
     "      project: default\n"},
    {"argo-appproject",
     "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: \"{{appName}}-p\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  destinations:\n    - namespace: \"*\"\n      server: \"*\"\n"},
    {"flux-image-update",
     "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata:\n  name: \"{{appName}}-iu\"\n"
     "  namespace: \"{{namespace}}\"\nspec:\n  interval: 10m\n  sourceRef:\n    kind: GitRepository\n"
     "    name: flux-system\n    namespace: flux-system\n"},
};

}  // namespace

TEST_CASE("policy: Flux and Argo CD objects that deploy other manifests are verify.policy.deployer",
          "[security][policy]") {
    for (const auto& c : kDeployers) {
        auto ds = render_diagnostics(c.manifest);
        INFO(c.name << "\n" << dump(ds));
        CHECK(has_code(ds, "verify.policy.deployer", "/bundle/extra.yaml/apiVersion"));
        // Inside a List too.
        std::string items = indent(c.manifest, "    ").replace(0, 4, "  - ");
        auto listed = render_diagnostics("apiVersion: v1\nkind: List\nitems:\n" + items);
        INFO(dump(listed));
        CHECK(has_code(listed, "verify.policy.deployer", "/bundle/extra.yaml/items/0/apiVersion"));
    }
    // The kustomize file (kustomize.config.k8s.io) and a look-alike kind in another group are not deployers.
    for (const char* other :
         {"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
          "apiVersion: app.k8s.io/v1beta1\nkind: Application\nmetadata:\n  name: \"{{appName}}-a\"\n"
          "  namespace: \"{{namespace}}\"\nspec: {}\n"}) {
        auto ds = render_diagnostics(other);
        INFO(other << dump(ds));
        CHECK_FALSE(has_code(ds, "verify.policy.deployer"));
    }
}

TEST_CASE("policy: allowDeployers lets Flux objects render and the plan needs review", "[security][policy]") {
    for (const std::size_t i : {std::size_t(0), std::size_t(2)}) {  // a Flux Kustomization, a GitRepository
        auto l = load(kDeployers[i].manifest, "policy:\n  allowDeployers: true\n");
        auto planned = appforge::plan_request(*l->engine, kRequest, empty_gitops_repo());
        INFO(kDeployers[i].name << "\n" << dump(planned.diagnostics));
        REQUIRE(planned.ok());
        CHECK(planned.plan->risk.verdict == appforge::RiskVerdict::needs_review);
        CHECK(risk_policy_reasons(planned, "policy.allowDeployers") == 1);
    }
}

// ---------------------------------------------------------------------------------------------
// A PersistentVolume bound into the namespace is the app's own only when it is the NAS export of
// one of the profile's endpoints, below one of its app roots.

TEST_CASE("policy: a PersistentVolume bound into the namespace is cluster-scoped unless it is the app's NAS export",
          "[security][policy]") {
    auto pv = [](const std::string& source) {
        return "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: \"{{appName}}-pv\"\nspec:\n  capacity:\n"
               "    storage: 1Gi\n  accessModes: [ReadWriteMany]\n  storageClassName: \"\"\n  claimRef:\n"
               "    namespace: \"{{namespace}}\"\n    name: \"{{appName}}-data\"\n" +
               indent(source, "  ");
    };
    for (const std::string source : {
             "nfs:\n  server: nas.internal\n  path: /\n",
             "nfs:\n  server: nas.internal\n  path: /mnt/pool/apps\n",  // the root itself: every app's data
             "nfs:\n  server: nas.internal\n  path: /mnt/pool/apps/../../etc\n",
             "nfs:\n  server: nas.internal\n  path: /mnt/pool/appsx/whoami\n",
             "nfs:\n  server: nas.internal\n  path: mnt/pool/apps/whoami\n",
             "nfs:\n  server: evil.example\n  path: /mnt/pool/apps/whoami\n",
             "nfs:\n  path: /mnt/pool/apps/whoami\n",
             "csi:\n  driver: nfs.csi.k8s.io\n  volumeHandle: other-app-volume\n",
             "nfs:\n  server: nas.internal\n  path: /mnt/pool/apps/whoami\ncsi:\n  driver: x\n  volumeHandle: other\n",
         }) {
        auto ds = render_diagnostics(pv(source));
        INFO(source << dump(ds));
        CHECK(has_code(ds, "verify.policy.cluster_scoped", "/bundle/extra.yaml/kind"));
    }
    // The app's own export on the profile's NAS is its own volume.
    auto ok = render_diagnostics(pv("nfs:\n  server: nas.internal\n  path: /mnt/pool/apps/whoami/media\n  readOnly: true\n"));
    INFO(dump(ok));
    CHECK_FALSE(has_code_prefix(ok, "verify.policy."));
    // The same PV bound to a claim elsewhere is not.
    auto elsewhere = render_diagnostics(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: \"{{appName}}-pv\"\nspec:\n  capacity:\n"
        "    storage: 1Gi\n  accessModes: [ReadWriteMany]\n  claimRef:\n    namespace: other\n    name: x\n"
        "  nfs:\n    server: nas.internal\n    path: /mnt/pool/apps/whoami\n");
    CHECK(has_code(elsewhere, "verify.policy.cluster_scoped", "/bundle/extra.yaml/kind"));
}

// ---------------------------------------------------------------------------------------------
// registry.k8s.io redirects to regional hosts no exact list can name: it is not a default.

TEST_CASE("registries: the default allow-list holds no registry whose redirects leave it", "[security][net]") {
    const auto& def = appforge::rules::default_allowed_registries();
    CHECK(std::find(def.begin(), def.end(), "registry.k8s.io") == def.end());
    CHECK_FALSE(appforge::rules::registry_problem("registry.k8s.io", def).empty());
    // The shipped default profile and the built-in list agree.
    auto e = appforge::Engine::create(appforge::EngineOptions{});
    REQUIRE(e.ok());
    CHECK((*e.value)->profile().registriesAllowed == def);
    // A profile that lists it with its redirect host reaches it.
    auto with = appforge::Engine::create([] {
        appforge::EngineOptions o;
        o.profile_text = "registries:\n  allowed: [registry.k8s.io, us-west1-docker.pkg.dev]\n";
        return o;
    }());
    REQUIRE(with.ok());
    CHECK(appforge::rules::registry_problem("registry.k8s.io", (*with.value)->profile().registriesAllowed).empty());
}
