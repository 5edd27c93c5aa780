#include "appforge/policy.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "appforge/validate.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

namespace {

bool is_list_kind(const json& o) {
    if (!o.is_object()) return false;
    auto k = o.find("kind");
    if (k == o.end() || !k->is_string()) return false;
    const std::string& kind = k->get_ref<const std::string&>();
    auto items = o.find("items");
    return kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 && items != o.end() && items->is_array();
}

std::string string_at(const json& o, const char* a, const char* b = nullptr) {
    if (!o.is_object()) return {};
    auto i = o.find(a);
    if (i == o.end()) return {};
    if (b) {
        if (!i->is_object()) return {};
        auto j = i->find(b);
        return j != i->end() && j->is_string() ? j->get<std::string>() : std::string();
    }
    return i->is_string() ? i->get<std::string>() : std::string();
}

/// Kubernetes 1.34's cluster-scoped kinds and those of the CRDs appforge knows; any other
/// "Cluster*" kind is taken to be cluster-scoped too (the naming convention of every such CRD).
bool is_cluster_scoped_kind(const std::string& kind) {
    static const std::set<std::string> kinds{
        "APIService", "CSIDriver", "CSINode", "CertificateSigningRequest", "ComponentStatus",
        "CustomResourceDefinition", "DeviceClass", "FlowSchema", "GatewayClass", "IPAddress", "IngressClass",
        "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace",
        "Node", "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "ResourceSlice", "RuntimeClass",
        "SelfSubjectAccessReview", "SelfSubjectReview", "SelfSubjectRulesReview", "ServiceCIDR", "StorageClass",
        "StorageVersion", "StorageVersionMigration", "SubjectAccessReview", "TokenReview",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
        "VolumeAttachment", "VolumeAttributesClass", "VolumeSnapshotClass", "VolumeSnapshotContent"};
    return kinds.count(kind) > 0 || kind.rfind("Cluster", 0) == 0;
}

bool is_rbac_kind(const std::string& kind) {
    return kind == "Role" || kind == "ClusterRole" || kind == "RoleBinding" || kind == "ClusterRoleBinding";
}

/// ASCII upper case: capability names are compared as runtimes normalise them.
std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// ASCII lower case: API groups, hostnames and enum values compared whatever their spelling.
std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// Pattern text quoted in a message: bounded, no control characters.
std::string shown(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= 80) return out + "...";
        out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    }
    return out;
}

/// The Pod Security Standards "baseline" capabilities. An allow-list, because a deny list always
/// misses one (SYS_MODULE, NET_ADMIN, BPF ...); runtimes upper-case the name and add CAP_, so
/// "sys_admin" and "CAP_SYS_ADMIN" are the same capability and are compared that way.
bool is_baseline_capability(const std::string& name) {
    static const std::set<std::string> baseline{"AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE", "FOWNER", "FSETID",
                                                "KILL",        "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                                                "SETPCAP",     "SETUID", "SYS_CHROOT"};
    std::string u = upper(name);
    if (u.rfind("CAP_", 0) == 0) u.erase(0, 4);
    return baseline.count(u) > 0;
}

/// The API group of a GitOps deployer kind, or empty. Flux and Argo CD apply whatever these point
/// at with the controller's own (typically cluster-wide) rights, so one namespaced object can
/// deploy into kube-system; the group decides, since the kustomize file is also "Kustomization".
std::string deployer_group(const std::string& api_version, const std::string& kind) {
    std::string group = lower(api_version.substr(0, api_version.find('/')));
    if (api_version.find('/') == std::string::npos) return {};  // core group: v1
    if (group == "kustomize.toolkit.fluxcd.io" || group == "helm.toolkit.fluxcd.io" ||
        group == "source.toolkit.fluxcd.io")
        return group;
    if (group == "image.toolkit.fluxcd.io" && kind == "ImageUpdateAutomation") return group;  // pushes to Git
    if (group == "argoproj.io" && (kind == "Application" || kind == "ApplicationSet" || kind == "AppProject"))
        return group;
    return {};
}

/// A PersistentVolume the app may create although the kind is cluster-scoped: bound by claimRef
/// to a claim in the app's namespace and nothing but an NFS export of one of the profile's NAS
/// endpoints strictly below one of its app roots (the nas-mount pattern). Any other source (csi,
/// another export, the root itself) could hand the app someone else's data.
bool is_own_nas_volume(const json& o, const Bundle& b, const ClusterProfile& p) {
    auto spec = o.find("spec");
    if (spec == o.end() || !spec->is_object()) return false;
    if (string_at(*spec, "claimRef", "namespace") != b.namespace_ || string_at(*spec, "claimRef", "name").empty())
        return false;
    static const std::set<std::string> plain_fields{"accessModes",   "capacity",   "claimRef", "mountOptions",
                                                    "nodeAffinity",  "persistentVolumeReclaimPolicy",
                                                    "storageClassName", "volumeMode", "volumeAttributesClassName", "nfs"};
    for (auto it = spec->begin(); it != spec->end(); ++it)
        if (!plain_fields.count(it.key())) return false;
    auto nfs = spec->find("nfs");
    if (nfs == spec->end() || !nfs->is_object()) return false;
    for (auto it = nfs->begin(); it != nfs->end(); ++it)
        if (it.key() != "server" && it.key() != "path" && it.key() != "readOnly") return false;
    const std::string server = lower(string_at(*nfs, "server")), path = string_at(*nfs, "path");
    bool known_server = std::any_of(p.nasEndpoints.begin(), p.nasEndpoints.end(), [&](const std::string& e) {
        std::string host;
        int port = 0;
        return parse_nas_endpoint(e, host, port) && lower(host) == server;
    });
    return !server.empty() && known_server && rules::is_absolute_clean_path(path) &&
           rules::is_below_an_app_root(path, p.nasAppRoots);
}

}  // namespace

std::vector<BundleObject> flatten_bundle(const Bundle& b) {
    std::vector<BundleObject> out;
    for (const auto& f : b.files) {
        // A worklist, not recursion: Lists inside Lists are as deep as the template parse allowed.
        std::vector<BundleObject> todo{BundleObject{&f, "/bundle/" + pointer_token(f.path), &f.object}};
        while (!todo.empty()) {
            BundleObject cur = std::move(todo.back());
            todo.pop_back();
            if (!is_list_kind(*cur.object)) {
                out.push_back(std::move(cur));
                continue;
            }
            const json& items = (*cur.object)["items"];
            for (std::size_t i = items.size(); i-- > 0;)  // reversed onto the stack: popped in order
                todo.push_back(BundleObject{&f, cur.pointer + "/items/" + std::to_string(i), &items[i]});
        }
    }
    return out;
}

std::vector<PolicyFinding> policy_findings(const Bundle& b, const ClusterProfile& p) {
    return policy_findings(flatten_bundle(b), b, p);
}

std::vector<PolicyFinding> policy_findings(const std::vector<BundleObject>& objects, const Bundle& b,
                                           const ClusterProfile& p) {
    std::vector<PolicyFinding> out;
    for (const auto& bo : objects) {
        const json& o = *bo.object;
        if (!o.is_object()) continue;
        const std::string kind = string_at(o, "kind");
        std::string name = string_at(o, "metadata", "name");
        const std::string label = (kind.empty() ? std::string("object") : kind) + " '" + name + "'";
        auto add = [&](std::string path, const char* code, std::string what, bool allowed, const char* setting) {
            out.push_back(PolicyFinding{std::move(path), code,
                                        what + (allowed ? " (allowed by the profile's " : "; the profile's policy forbids it (allow with ") +
                                            setting + ")",
                                        allowed});
        };
        if (is_rbac_kind(kind))
            add(bo.pointer + "/kind", "verify.policy.rbac", label + " grants Kubernetes API permissions (RBAC)",
                p.policyAllowRbac, "policy.allowRbac");
        const std::string group = deployer_group(string_at(o, "apiVersion"), kind);
        if (!group.empty())
            add(bo.pointer + "/apiVersion", "verify.policy.deployer",
                label + " makes a GitOps controller deploy other manifests with the controller's rights (" + group + ")",
                p.policyAllowDeployers, "policy.allowDeployers");
        if (is_cluster_scoped_kind(kind)) {
            bool bound_here = kind == "PersistentVolume" && is_own_nas_volume(o, b, p);
            bool allowed = std::find(p.policyAllowClusterScopedKinds.begin(), p.policyAllowClusterScopedKinds.end(),
                                     kind) != p.policyAllowClusterScopedKinds.end();
            if (!bound_here)
                add(bo.pointer + "/kind", "verify.policy.cluster_scoped",
                    label + " is cluster-scoped; apps may only create objects in their own namespace", allowed,
                    "policy.allowClusterScopedKinds");
        }
        // Pod-level settings can sit in any kind that embeds a pod template (Deployment, CronJob,
        // a HelmRelease's values, ...): walk the whole object, keys wherever they are.
        struct Node {
            const json* v;
            std::string ptr;
        };
        std::vector<Node> todo{{&o, ""}};
        while (!todo.empty()) {
            Node n = std::move(todo.back());
            todo.pop_back();
            if (n.v->is_array()) {
                for (std::size_t i = 0; i < n.v->size(); ++i) todo.push_back({&(*n.v)[i], n.ptr + "/" + std::to_string(i)});
                continue;
            }
            if (!n.v->is_object()) continue;
            for (auto it = n.v->begin(); it != n.v->end(); ++it) {
                const std::string& key = it.key();
                // The pointer is built only for a finding: this walk visits every key of every object.
                auto at = [&]() { return bo.pointer + n.ptr + "/" + pointer_token(key); };
                if ((key == "hostNetwork" || key == "hostPID" || key == "hostIPC") && it->is_boolean() && it->get<bool>())
                    add(at(), "verify.policy.host_namespace", label + " shares the node's namespaces (" + key + ": true)",
                        p.policyAllowHostNamespaces, "policy.allowHostNamespaces");
                if (key == "hostPath" && it->is_object())
                    add(at(), "verify.policy.host_path",
                        label + " mounts the node's file system (hostPath " + string_at(*it, "path") + ")",
                        p.policyAllowHostPath, "policy.allowHostPath");
                if (key == "local" && it->is_object() && kind == "PersistentVolume" && n.ptr == "/spec")
                    add(at(), "verify.policy.host_path",
                        label + " mounts the node's file system (local volume " + string_at(*it, "path") + ")",
                        p.policyAllowHostPath, "policy.allowHostPath");
                if (key == "hostPort" && ((it->is_number() && it->get<double>() != 0) ||
                                          (it->is_string() && !it->get_ref<const std::string&>().empty() &&
                                           it->get_ref<const std::string&>() != "0")))
                    add(at(), "verify.policy.host_namespace",
                        label + " binds a port on the node (hostPort " + shown(it->is_string() ? it->get<std::string>() : it->dump()) + ")",
                        p.policyAllowHostNamespaces, "policy.allowHostNamespaces");
                // Pod and container level alike: either one turns the runtime's syscall filter off.
                if (key == "seccompProfile" && it->is_object() && lower(string_at(*it, "type")) == "unconfined")
                    add(at() + "/type", "verify.policy.privileged",
                        label + " runs without a syscall filter (seccompProfile type Unconfined)", p.policyAllowPrivileged,
                        "policy.allowPrivileged");
                if (key == "procMount" && it->is_string() && lower(it->get<std::string>()) == "unmasked")
                    add(at(), "verify.policy.privileged", label + " sees the node's unmasked /proc (procMount: Unmasked)",
                        p.policyAllowPrivileged, "policy.allowPrivileged");
                if (key == "securityContext" && it->is_object()) {
                    auto priv = it->find("privileged");
                    if (priv != it->end() && priv->is_boolean() && priv->get<bool>())
                        add(at() + "/privileged", "verify.policy.privileged", label + " runs a privileged container",
                            p.policyAllowPrivileged, "policy.allowPrivileged");
                    auto caps = it->find("capabilities");
                    if (caps != it->end() && caps->is_object() && caps->contains("add") && (*caps)["add"].is_array()) {
                        const json& addl = (*caps)["add"];
                        for (std::size_t i = 0; i < addl.size(); ++i) {
                            std::string c = addl[i].is_string() ? addl[i].get<std::string>() : addl[i].dump();
                            if (!addl[i].is_string() || !is_baseline_capability(c))
                                add(at() + "/capabilities/add/" + std::to_string(i), "verify.policy.privileged",
                                    label + " adds the capability " + shown(c) +
                                        ", which is not in the Pod Security baseline set",
                                    p.policyAllowPrivileged, "policy.allowPrivileged");
                        }
                    }
                }
                if (it->is_structured()) todo.push_back({&*it, n.ptr + "/" + pointer_token(key)});
            }
        }
    }
    return out;
}

Diagnostics check_policy(const std::vector<BundleObject>& objects, const Bundle& b, const ClusterProfile& p) {
    Diagnostics out;
    for (auto& f : policy_findings(objects, b, p))
        if (!f.allowed) out.push_back(Diagnostic{std::move(f.path), std::move(f.code), std::move(f.message), Severity::error});
    return out;
}

}  // namespace appforge
