// GitOps for Komodo: a NAS request as a Resource Sync change set. The compose file goes to
// <komodo.stacksDir>/<tier>/<group>/compose.yaml and a `[[stack]]` table is appended to the
// profile's Resource Sync TOML file (komodo.syncFile), every existing byte kept. Pure: the repo is
// read through RepoView; the edge library commits the Plan like a GitOps one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/gitops.hpp"
#include "appforge/model.hpp"

namespace appforge {

class Engine;
struct CheckedRequest;

/// The names of the `[[stack]]` tables of a Resource Sync TOML text, in file order; diagnostics
/// (komodo.sync.parse) at diag_path when the text is not TOML or a table has no string name.
Result<std::vector<std::string>> sync_stack_names(std::string_view toml_text, const std::string& diag_path = "");

/// The `[[stack]]` table of a request, TOML text ending in a newline: name, description, tags,
/// deploy, after, and [stack.config] with server or swarm, linked_repo, run_directory, file_paths
/// and environment (the secretEnv references). Values are written by the TOML library.
Result<std::string> komodo_sync_stack_table(const KomodoRequest& r, const ClusterProfile& profile);

/// Appends a stack table to a Resource Sync file as a text edit (comments and order kept), refusing
/// a stack name the file already declares (komodo.sync.exists), then re-reads the result to prove it
/// parses and holds exactly the old stacks plus the new one (komodo.sync.verify).
Result<KustomizationEdit> append_sync_stack(const std::string& path, std::string_view text, const std::string& table,
                                            const std::string& name);

/// A NAS request taken through check, the Komodo-kind rule and the Resource Sync planner.
struct KomodoPlannedRequest {
    std::optional<KomodoRequest> komodo;  ///< the request whenever it parsed as a NAS request
    std::optional<Plan> plan;             ///< set once the change set was built; may carry conflicts
    Diagnostics diagnostics;              ///< every diagnostic of check and plan

    /// A plan without any error anywhere: it may be written.
    bool ok() const { return plan.has_value() && !has_errors(diagnostics); }
};

/// Plans the Resource Sync change set of a checked NAS request against a repo (nothing is written):
/// the compose file (must not exist), the sync file edit (or its creation), branch, commit, PR and risk.
KomodoPlannedRequest plan_komodo_checked_request(const Engine& engine, const CheckedRequest& checked,
                                                 const RepoView& repo);

/// engine.check(request_text), then plan_komodo_checked_request().
KomodoPlannedRequest plan_komodo_request(const Engine& engine, std::string_view request_text, const RepoView& repo);

/// The plan as JSON like planned_request_to_json (stackDir instead of appDir/namespaceDir).
nlohmann::json komodo_planned_request_to_json(const KomodoPlannedRequest& planned);

/// The deterministic branch of a NAS request: feat/app/<appName>-<first 8 hex of sha256(canonical request)>.
std::string komodo_feature_branch_name(const KomodoRequest& request);

/// One audit line of a NAS submission: whitelisted fields only (no environment values), like audit_record.
nlohmann::json komodo_audit_record(const KomodoRequest* request, const AuditOutcome& outcome,
                                   const std::string& utc_timestamp);

}  // namespace appforge
