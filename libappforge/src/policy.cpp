#include "appforge/policy.hpp"

#include <algorithm>
#include <set>

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
    std::vector<PolicyFinding> out;
    for (const auto& bo : flatten_bundle(b)) {
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
        if (is_cluster_scoped_kind(kind)) {
            // A PersistentVolume bound by claimRef to a claim in the app's namespace serves only that
            // claim (the nas-mount pattern's static NFS volume): it counts as the app's own.
            bool bound_here = kind == "PersistentVolume" && o.contains("spec") && o["spec"].is_object() &&
                              string_at(o["spec"], "claimRef", "namespace") == b.namespace_ &&
                              !string_at(o["spec"], "claimRef", "name").empty();
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
                const std::string at = bo.pointer + n.ptr + "/" + pointer_token(key);
                if ((key == "hostNetwork" || key == "hostPID" || key == "hostIPC") && it->is_boolean() && it->get<bool>())
                    add(at, "verify.policy.host_namespace", label + " shares the node's namespaces (" + key + ": true)",
                        p.policyAllowHostNamespaces, "policy.allowHostNamespaces");
                if (key == "hostPath" && it->is_object())
                    add(at, "verify.policy.host_path",
                        label + " mounts the node's file system (hostPath " + string_at(*it, "path") + ")",
                        p.policyAllowHostPath, "policy.allowHostPath");
                if (key == "local" && it->is_object() && kind == "PersistentVolume" && n.ptr == "/spec")
                    add(at, "verify.policy.host_path",
                        label + " mounts the node's file system (local volume " + string_at(*it, "path") + ")",
                        p.policyAllowHostPath, "policy.allowHostPath");
                if (key == "securityContext" && it->is_object()) {
                    auto priv = it->find("privileged");
                    if (priv != it->end() && priv->is_boolean() && priv->get<bool>())
                        add(at + "/privileged", "verify.policy.privileged", label + " runs a privileged container",
                            p.policyAllowPrivileged, "policy.allowPrivileged");
                    auto caps = it->find("capabilities");
                    if (caps != it->end() && caps->is_object() && caps->contains("add") && (*caps)["add"].is_array()) {
                        const json& addl = (*caps)["add"];
                        for (std::size_t i = 0; i < addl.size(); ++i) {
                            std::string c = addl[i].is_string() ? addl[i].get<std::string>() : "";
                            if (c == "ALL" || c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN")
                                add(at + "/capabilities/add/" + std::to_string(i), "verify.policy.privileged",
                                    label + " adds the capability " + c + " (as good as privileged)",
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

Diagnostics check_policy(const Bundle& b, const ClusterProfile& p) {
    Diagnostics out;
    for (auto& f : policy_findings(b, p))
        if (!f.allowed) out.push_back(Diagnostic{std::move(f.path), std::move(f.code), std::move(f.message), Severity::error});
    return out;
}

}  // namespace appforge
