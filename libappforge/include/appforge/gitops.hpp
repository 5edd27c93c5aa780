// The GitOps change set: where a rendered bundle goes in a repo, the parent kustomization
// edits that wire it in, the branch/commit/PR text, the risk verdict, the request lifecycle
// and the audit record. Pure: the repo is read through RepoView, nothing is written here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/render.hpp"

namespace appforge {

/// Read-only view of a GitOps repo, so the planner works against a checkout, a git tree or memory.
/// Paths are repo-relative with '/' separators and never start with '/' or contain "..".
class RepoView {
public:
    virtual ~RepoView() = default;
    /// The bytes of a regular file; nullopt when it is absent, not a regular file, or unreadable.
    virtual std::optional<std::string> read_file(const std::string& path) const = 0;
    /// True when a file or folder exists at that path (symlinks count, and are never followed).
    virtual bool exists(const std::string& path) const = 0;
    /// Every regular file below a folder, recursively, as sorted repo-relative paths.
    virtual std::vector<std::string> list_files(const std::string& dir) const = 0;
    /// The first segment on the way to path (path itself included) that is a symbolic link, as a
    /// repo-relative path; nullopt when none is. Nothing is written or edited through a link.
    virtual std::optional<std::string> symlink_on_path(const std::string& path) const {
        (void)path;
        return std::nullopt;
    }
    /// Every symbolic link below a folder (never descended into), as sorted repo-relative paths:
    /// what list_files leaves out, so a scan can say what it did not look at.
    virtual std::vector<std::string> list_symlinks(const std::string& dir) const {
        (void)dir;
        return {};
    }
};

/// A repo held in memory (path -> content): the test double and the face for bindings.
class MemoryRepo : public RepoView {
public:
    /// Adds or replaces one file; folders exist implicitly through the files below them.
    void put(const std::string& path, std::string content) { files_[path] = std::move(content); }
    /// Marks a path as a symbolic link (to a file or a folder): it exists, is never read and hides what is below.
    void put_symlink(const std::string& path) { links_.insert(path); }
    /// The files, for asserting what a plan would leave behind.
    const std::map<std::string, std::string>& files() const { return files_; }

    /// See RepoView::read_file.
    std::optional<std::string> read_file(const std::string& path) const override;
    /// See RepoView::exists.
    bool exists(const std::string& path) const override;
    /// See RepoView::list_files.
    std::vector<std::string> list_files(const std::string& dir) const override;
    /// See RepoView::symlink_on_path.
    std::optional<std::string> symlink_on_path(const std::string& path) const override;
    /// See RepoView::list_symlinks.
    std::vector<std::string> list_symlinks(const std::string& dir) const override;

private:
    std::map<std::string, std::string> files_;
    std::set<std::string> links_;
};

/// A file the change set creates (it must not exist yet).
struct PlannedFile {
    std::string path;     ///< repo-relative
    std::string content;
};

/// A text edit of an existing kustomization.yaml: one entry appended to its resources list,
/// every other byte kept. old_text lets the applier refuse if the file changed since planning.
struct KustomizationEdit {
    std::string path;       ///< repo-relative
    std::string old_text;
    std::string new_text;
    std::string entry;      ///< the inserted list item, e.g. "./whoami"
    std::size_t line = 0;   ///< 1-based line of the inserted item in new_text
};

/// Whether the change may merge once CI passes, or a human must look first.
enum class RiskVerdict { auto_merge, needs_review };

/// "auto-merge" or "needs-review", the spelling in PR bodies and JSON.
const char* to_string(RiskVerdict v);

/// One reason a change needs review; code is stable, message names the object and value.
struct RiskReason {
    std::string code;     ///< risk.external-ingress, risk.public-dns, risk.secret-reference, risk.management-namespace, risk.unscanned-link
    std::string message;
};

/// The verdict and every reason behind it (empty reasons means auto-merge).
struct RiskAssessment {
    RiskVerdict verdict = RiskVerdict::auto_merge;
    std::vector<RiskReason> reasons;
};

/// Everything a caller needs to turn a validated request into a reviewed-ready branch.
struct Plan {
    std::string appDir;          ///< kubernetes/clusters/<cluster>/namespaces/<ns>/<app>
    std::string namespaceDir;    ///< kubernetes/clusters/<cluster>/namespaces/<ns>
    bool newNamespace = false;   ///< the namespace folder is created by this change
    std::vector<PlannedFile> creates;
    std::vector<KustomizationEdit> edits;
    std::string branch;
    std::string commitMessage;   ///< subject, blank line, body; ends with a newline
    std::string prTitle;
    std::string prBody;          ///< Markdown
    RiskAssessment risk;
    Diagnostics diagnostics;     ///< conflicts (errors) and notes (warnings); nothing may be written on errors

    /// No conflicts: the change set can be written.
    bool ok() const { return !has_errors(diagnostics); }
};

/// Plans the change set of a validated request and its rendered bundle against a repo: folders from
/// the profile's layout, parent kustomization edits, conflicts as diagnostics, branch, commit, PR
/// and risk. validation carries the warnings of check/render, shown in the PR body.
Plan plan_change(const AppRequest& request, const Bundle& bundle, const ClusterProfile& profile, const RepoView& repo,
                 const Diagnostics& validation = {});

/// Appends "./<name>" (or "<name>" when the list's style has no "./") to the resources list of a
/// kustomization.yaml as a text edit that keeps comments, order and indentation, then re-parses the
/// result to prove only that entry was added. Diagnostics are located at diag_path.
Result<KustomizationEdit> insert_resource_entry(const std::string& path, std::string_view text, const std::string& name,
                                                const std::string& diag_path = "");

/// The deterministic branch: feat/app/<appName>-<first 8 hex of sha256(canonical request)>.
std::string feature_branch_name(const AppRequest& request);

/// Hostnames an object serves or publishes: Ingress rules/tls hosts, HTTPRoute hostnames and the
/// ExternalDNS hostname annotation (lowercased, deduplicated, in order of appearance).
std::vector<std::string> served_hosts(const nlohmann::json& object, const std::string& external_dns_prefix);

/// Risk of a bundle: public ingress, new public DNS names (not in existing_hosts), secret references,
/// management namespaces. Any reason means needs-review.
RiskAssessment assess_risk(const AppRequest& request, const Bundle& bundle, const ClusterProfile& profile,
                           const std::vector<std::string>& existing_hosts = {});

/// {branch, commitMessage, prTitle, prBody, risk}: shared by plan and apply output so both describe a change alike.
nlohmann::json plan_review_to_json(const Plan& plan);

/// The plan as JSON: {appDir, namespaceDir, newNamespace, branch, commitMessage, prTitle, prBody,
/// creates[{path,content}], edits[{path,entry,line,oldText,newText}], risk{verdict,reasons}, diagnostics}.
nlohmann::json plan_to_json(const Plan& plan);

/// The risk as JSON {verdict, reasons[{code, message}]}.
nlohmann::json risk_to_json(const RiskAssessment& risk);

/// Diagnostics as the JSON array every face prints: [{path, code, message, severity}].
nlohmann::json diagnostics_to_json(const Diagnostics& diagnostics);

// ---------------------------------------------------------------------------------------
// The request -> plan pipeline, shared by the CLI, the C API and Python so no face repeats a step.
// ---------------------------------------------------------------------------------------

class Engine;
struct CheckedRequest;

/// A request taken through check, the GitOps-kind rule, render and plan_change against one repo.
struct PlannedRequest {
    std::optional<AppRequest> app;  ///< the request's model whenever it parsed as a GitOps request
    std::optional<Plan> plan;       ///< set once the request rendered; may still carry conflicts
    Diagnostics diagnostics;        ///< every diagnostic of check, render and plan, in that order

    /// A plan without any error anywhere: it may be written.
    bool ok() const { return plan.has_value() && !has_errors(diagnostics); }
};

/// Plans an already checked request (text or in-memory document), so every face shares the steps:
/// a NAS request gets gitops.kind, an invalid one stops before rendering, nothing is written.
PlannedRequest plan_checked_request(const Engine& engine, const CheckedRequest& checked, const RepoView& repo);

/// engine.check(request_text), then plan_checked_request().
PlannedRequest plan_request(const Engine& engine, std::string_view request_text, const RepoView& repo);

/// The plan as JSON (plan_to_json) with diagnostics replaced by those of every step and "ok" of the
/// whole pipeline; {"ok": false, "diagnostics": [...]} when there is no plan at all.
nlohmann::json planned_request_to_json(const PlannedRequest& planned);

// ---------------------------------------------------------------------------------------
// Lifecycle: the workflow outputs recorded on the request, only while it is pending.
// Each call leaves the request untouched when it returns diagnostics.
// ---------------------------------------------------------------------------------------

/// Records the feature branch and commit of the change set (status stays pending).
Diagnostics record_commit(AppRequest& request, const std::string& branch, const std::string& commit_sha);

/// Records the pull request opened for the branch (needs a recorded commit; status stays pending).
Diagnostics record_pull_request(AppRequest& request, std::int64_t number, const std::string& url);

/// Records the merge: mergedAt is set and the status moves pending -> success.
Diagnostics record_merge(AppRequest& request, const std::string& merged_at);

/// Marks the request failed (pending -> failed); reason is kept in validationErrors when not empty.
Diagnostics record_failure(AppRequest& request, const std::string& reason = "");

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

/// What happened to one submission, for the audit log.
struct AuditOutcome {
    std::string outcome;                 ///< "committed", "planned", "rejected" or "failed"
    std::size_t diagnostics = 0;         ///< how many diagnostics (errors and warnings) it produced
    std::optional<std::string> branch;
    std::optional<std::string> commit;
};

/// One audit line as a JSON object: id, operatorId, timestamp (UTC, given by the caller), app,
/// namespace, image, choices, outcome, diagnostics count, branch, commit. request may be null
/// when the input did not parse. Only whitelisted fields are copied, so no secret value can leak.
nlohmann::json audit_record(const AppRequest* request, const AuditOutcome& outcome, const std::string& utc_timestamp);

/// The storage/ingress/backup choices of a request as JSON (the same list in commit, PR and audit).
nlohmann::json request_choices(const AppRequest& request);

}  // namespace appforge
