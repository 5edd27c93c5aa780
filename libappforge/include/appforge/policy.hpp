// The profile's policy over rendered objects: what a pattern may make the cluster do beyond
// running the app in its own namespace (cluster-scoped kinds, privileged or host-sharing pods,
// hostPath volumes, RBAC). Verification refuses what the policy does not allow; the GitOps risk
// verdict asks for review of what it allows.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/render.hpp"

namespace appforge {

/// One Kubernetes object of a bundle as verification sees it: a List (kind List or *List with
/// items) is opened, so its items are checked like top-level objects and cannot hide a Secret.
struct BundleObject {
    const RenderedFile* file = nullptr;
    std::string pointer;                  ///< "/bundle/<file>" or "/bundle/<file>/items/<i>..."
    const nlohmann::json* object = nullptr;
};

/// Every object of the bundle in file order, Lists flattened (nested Lists too).
std::vector<BundleObject> flatten_bundle(const Bundle& b);

/// One thing an object does that the policy governs.
struct PolicyFinding {
    std::string path;     ///< JSON pointer into the bundle, to the field that does it
    std::string code;     ///< verify.policy.*
    std::string message;  ///< what it is and which profile setting allows it
    bool allowed = false; ///< the profile allows it: not an error, but a reason for review
};

/// Every governed thing in the bundle, allowed or not.
std::vector<PolicyFinding> policy_findings(const Bundle& b, const ClusterProfile& p);
/// The same over objects already flattened from b (verification has them at hand).
std::vector<PolicyFinding> policy_findings(const std::vector<BundleObject>& objects, const Bundle& b,
                                           const ClusterProfile& p);

/// The findings the profile does not allow, as verification errors (objects flattened from b).
Diagnostics check_policy(const std::vector<BundleObject>& objects, const Bundle& b, const ClusterProfile& p);

}  // namespace appforge
