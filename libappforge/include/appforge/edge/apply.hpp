// Apply: the GitOps change set committed into a local git checkout on its feature branch, built with
// git plumbing off to the side (the working tree, index and HEAD are never touched; the branch appears
// in one compare-and-swap or not at all), and an append-only audit log.
// Part of the edge library (appforge_edge): it writes files and runs the git CLI, which the pure
// core (appforge) never does. The CLI, the C API and the Python package all apply through here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"

namespace appforge::edge {

/// How apply ended, spelled like the CLI's exit codes so every face maps it the same way.
enum class ApplyStatus {
    ok = 0,         ///< committed
    invalid = 1,    ///< invalid request, a conflict, a refused repo state, or a failed git step (nothing changed)
    unreadable = 2  ///< the request text did not parse, or repo_dir is not a folder
};

/// Knobs of apply that are not part of the request.
struct ApplyOptions {
    /// Test hook: fail after this many object writes, to prove nothing is left behind (the CLI reads it from
    /// APPFORGE_FAIL_AFTER_WRITES; a library never reads the environment for this).
    std::optional<long> fail_after_writes;
    /// Longest one git call may take before it is killed and apply fails cleanly (CLI: --git-timeout).
    std::chrono::milliseconds git_timeout{60000};
};

/// Everything a caller needs after apply: what happened, the plan, the commit and every diagnostic.
struct ApplyResult {
    ApplyStatus status = ApplyStatus::invalid;
    std::string outcome = "rejected";   ///< "committed", "rejected" (nothing touched) or "failed" (a git step failed; nothing changed)
    std::optional<AppRequest> request;  ///< the request; on success with featureBranch and commitSha recorded
    std::optional<KomodoRequest> komodo;  ///< the NAS request of a Resource Sync apply (submissionStatus names the commit)
    std::optional<Plan> plan;           ///< set once planning got that far
    std::string commit;                 ///< the new commit's SHA on success
    std::string error;                  ///< why it stopped when that is more than a diagnostic (I/O, git)
    std::string audit_error;            ///< set when the audit line could not be written (even on success)
    Diagnostics diagnostics;            ///< every diagnostic of check, render, plan and apply

    /// Committed (the audit line may still have failed: see audit_error).
    bool ok() const { return status == ApplyStatus::ok; }
};

/// The append-only audit log; opened before any work so an unwritable log stops apply untouched.
class AuditLog {
public:
    AuditLog() = default;
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;
    ~AuditLog();

    /// Opens (creating, mode 0600) the log for appending; false with a message when it cannot.
    bool open(const std::string& path, std::string& error);
    /// The path given to open(), so apply can refuse a log inside the checkout.
    const std::string& path() const { return path_; }
    /// Whether open() succeeded.
    bool is_open() const { return fd_ >= 0; }
    /// One JSON line in one write() (O_APPEND keeps concurrent writers' lines whole), then fsync.
    /// A log that is not open accepts and drops the line.
    bool append(const nlohmann::json& record, std::string& error);

private:
    int fd_ = -1;
    std::string path_;
};

/// Appends a result's audit line (audit_record with the current UTC time); false with a message.
bool audit_result(AuditLog& log, const ApplyResult& result, std::string& error);

/// Plans a checked request against the checkout at repo_dir (its top folder); refuses a dirty tree, a
/// detached HEAD, a pending rebase/merge/cherry-pick/revert/bisect, an existing branch, an audit log
/// inside the checkout or any conflict; then commits the plan on top of HEAD with git plumbing in a
/// temporary index and creates the branch with a compare-and-swap update-ref. The checkout's working
/// tree, index and HEAD are never touched and no repo hook runs, so concurrent and interrupted applies
/// leave the repo untouched or wholly applied. Appends one audit line when audit is given and open.
/// Never throws for bad input or git failures: they come back as diagnostics.
ApplyResult apply_checked_request(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                                  AuditLog* audit = nullptr, const ApplyOptions& options = {});

/// GitOps for Komodo: plans a checked NAS request's Resource Sync change set (compose file plus a
/// `[[stack]]` table, see appforge/komodo_sync.hpp) and commits it with the same safety as
/// apply_checked_request: same repo-state refusals, same plumbing, branch and audit line.
ApplyResult apply_komodo_checked_request(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                                         AuditLog* audit = nullptr, const ApplyOptions& options = {});

/// engine.check(request_text), then apply_checked_request().
ApplyResult apply_request(const Engine& engine, std::string_view request_text, const std::string& repo_dir,
                          AuditLog* audit = nullptr, const ApplyOptions& options = {});

/// The result as the JSON the CLI prints and the C API returns: on success {ok, outcome, branch,
/// commit, commitMessage, prTitle, prBody, files[{path, action}], risk, request, diagnostics}, else
/// {ok: false, outcome, error?, diagnostics}; auditError when the audit line failed.
nlohmann::json apply_result_to_json(const ApplyResult& result);

}  // namespace appforge::edge
