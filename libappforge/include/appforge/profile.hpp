// Loading a cluster profile: a partial profile over the shipped default, and the settings no
// profile may make (they would let a request write outside its app or land in the platform).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"

namespace appforge {

/// overlay merged over base key by key: objects merge recursively, arrays and scalars replace,
/// and a null removes the key (the profile schema allows null only where "none" is meaningful).
nlohmann::json merge_profile_json(nlohmann::json base, const nlohmann::json& overlay);

/// The shipped default profile document (libappforge/profiles/default.yaml) as JSON.
const nlohmann::json& default_profile_json();

/// Namespaces that stay reserved whatever the profile says: the control plane (kube-*), Flux
/// (which applies the GitOps repo) and the namespaces of the components the profile configures.
std::vector<std::string> always_reserved_namespaces(const ClusterProfile& p);

/// Refuses settings that are well-typed but unsafe: '/' as a NAS app root or mount path, '.git'
/// in the GitOps layout, namespace globs that are not names or "prefix*", a name that is not a
/// DNS-1123 label. Each is a profile.* diagnostic naming the field.
Diagnostics check_profile_safety(const ClusterProfile& p);

}  // namespace appforge
