// The NAS workflow: the platform's Komodo payload, the compose file behind it, and the Komodo
// API as a sans-I/O protocol (it builds requests and reads responses; it never opens a socket).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/retry.hpp"

namespace appforge {

/// The storage location the request names, else `<first NAS app root>/<appName>` of the profile.
std::string effective_storage_location(const KomodoRequest& r, const ClusterProfile& profile);

/// The data model's payload document exactly (appName, appVersion, appConfig, storageLocation),
/// with storageLocation filled from the profile when the request leaves it out.
nlohmann::json komodo_payload(const KomodoRequest& r, const ClusterProfile& profile);

/// The image the stack runs: appConfig.image (appVersion appended as tag when it has none),
/// else `<appName>:<appVersion>`. Diagnostics when neither forms a valid reference.
Result<std::string> komodo_image(const KomodoRequest& r);

/// Rules on the free-form appConfig fields the compose file reads (image, network.ports,
/// storage, environment), so `validate` reports them before any API call is made.
Diagnostics check_komodo_app_config(const KomodoRequest& r, const ClusterProfile& profile);

/// The stack's docker-compose file, deterministic YAML: one service named appName with the image,
/// published ports, a bind volume under storageLocation, environment and `restart: unless-stopped`.
Result<std::string> komodo_compose(const KomodoRequest& r, const ClusterProfile& profile);

/// The stack's env file text (Komodo `environment`): one `NAME='[[VARIABLE]]'` line per
/// appConfig.secretEnv entry, so Komodo fills the value at deploy and it never passes through appforge.
std::string komodo_stack_environment(const KomodoRequest& r, const ClusterProfile& profile);

/// Where a stack lives in a Resource Sync repo: <komodo.stacksDir>/<tier>/<group>/compose.yaml.
struct KomodoStackLayout {
    std::string tier;           ///< appConfig.tier, else the profile's komodo.defaultTier
    std::string group;          ///< appConfig.group, else appName
    std::string run_directory;  ///< the folder, repo-relative (the stack's run_directory)
    std::string compose_path;   ///< the compose file, repo-relative
};

/// The repo layout of a request's stack, so the planner and the docs agree on one path.
KomodoStackLayout komodo_stack_layout(const KomodoRequest& r, const ClusterProfile& profile);

/// Settings of one Komodo operation that are not part of the request document.
struct KomodoDeployOptions {
    std::optional<std::string> server;  ///< Komodo server (name or id); else appConfig.server, else komodo.server
    int poll_interval_ms = 2000;        ///< wait between GetUpdate polls
    RetryPolicy retry;                  ///< reads only; writes are never repeated
    /// A stack Komodo manages from files on the host or a git repo is refused unless this is set;
    /// then appforge pins it back to its own compose file (files_on_host false, no repo).
    bool take_over = false;
};

/// One HTTP request for the transport to send. Headers never carry the API secret: the edge
/// adds X-Api-Key / X-Api-Secret itself so the core never sees them.
struct KomodoCall {
    std::string method = "POST";
    std::string path;  ///< "/read", "/write" or "/execute"
    std::vector<std::pair<std::string, std::string>> headers;
    nlohmann::json body;  ///< {"type": ..., "params": {...}}
    std::string type;     ///< the Komodo request type, e.g. "ListStacks"
    bool read = false;    ///< idempotent: the transport may time it out and the machine retries it
    int attempt = 1;      ///< 1 for the first try
    int delay_ms = 0;     ///< wait this long before sending (backoff or poll interval)
};

/// How an operation ended; the CLI maps these to exit codes.
enum class KomodoOutcome {
    running,          ///< not finished
    succeeded,        ///< the Update completed with success = true (status: the stack was read)
    deploy_failed,    ///< Komodo answered and said no (Update success = false, a refused write, a stack managed elsewhere)
    rejected,         ///< 401 / 403 / 404 / 405: credentials, permissions or URL are wrong
    transport_failed, ///< no usable answer (connection errors or 5xx after retries, bad bodies)
    timed_out,        ///< the caller's deadline passed
    not_found,        ///< status / destroy: no stack of that name
};

/// What went wrong in transport terms, for on_transport_error.
enum class TransportError { connect, timeout, other };

/// Drives one Komodo operation as a sans-I/O machine. Deploy: ListStacks (read) -> CreateStack or
/// UpdateStack (write) -> UpdateResourceMeta (write: tags, description) -> DeployStack (execute) ->
/// GetUpdate (read) until Complete. Status: ListStacks -> ListStackServices. Destroy: ListStacks ->
/// DestroyStack -> GetUpdate until Complete -> DeleteStack. Feed every answer back; the request's
/// status only moves pending -> success/failed.
class KomodoSession {
public:
    /// Builds the compose file and checks the request can be deployed (status pending, profile.komodoUrl
    /// set and usable, the request's komodoApiUrl absent or equal to it).
    static Result<KomodoSession> start(const KomodoRequest& request, const ClusterProfile& profile,
                                       const KomodoDeployOptions& options = {});
    /// Reads a stack's state and services (result()); a missing stack ends as not_found.
    static Result<KomodoSession> start_status(const std::string& stack, const ClusterProfile& profile,
                                              const KomodoDeployOptions& options = {});
    /// Takes a stack down (compose down) and deletes it from Komodo; a missing stack ends as not_found.
    static Result<KomodoSession> start_destroy(const std::string& stack, const ClusterProfile& profile,
                                               const KomodoDeployOptions& options = {});

    /// The call to send now; nullopt once finished.
    std::optional<KomodoCall> next() const;
    /// Consumes the answer to the call next() returned.
    void on_response(int http_status, const std::string& body);
    /// Consumes a failure to get any answer to the call next() returned.
    void on_transport_error(TransportError kind, const std::string& detail);
    /// The caller's deadline passed: fails the request (status failed) with a time-out message.
    void on_timeout(double waited_seconds);

    /// Whether a final outcome is known.
    bool finished() const { return outcome_ != KomodoOutcome::running; }
    /// The final (or current) outcome.
    KomodoOutcome outcome() const { return outcome_; }
    /// The request with status, submissionStatus and errorMessage as the API left them (status and
    /// destroy carry only appName and these three).
    const KomodoRequest& request() const { return request_; }
    /// The compose file sent to Komodo (deploy only).
    const std::string& compose() const { return compose_; }
    /// Status: {stack, id, state, server, swarm, filesOnHost, repo, linkedRepo, services[{service, image,
    /// state, status}]}; destroy: {stack, id, destroyed, deleted}. Empty before the stack was read.
    const nlohmann::json& result() const { return result_; }
    /// The Komodo API base URL (profile komodo.url, checked and without a trailing '/'): the only
    /// place the transport may send this operation's calls and the credentials.
    const std::string& url() const { return url_; }
    /// Rejected status transitions, a stack managed elsewhere and similar protocol-level problems.
    const Diagnostics& diagnostics() const { return diagnostics_; }

private:
    enum class Mode { deploy, status, destroy };
    enum class Step { lookup, create, update, meta, deploy, poll, services, destroy, remove, done };
    KomodoSession() = default;
    static Result<KomodoSession> start_named(Mode mode, const std::string& stack, const ClusterProfile& profile,
                                             const KomodoDeployOptions& options);
    void finish(KomodoOutcome outcome, Status status, std::string error);
    KomodoCall make_call(const char* path, const char* type, nlohmann::json params, bool read) const;
    void retry_or_fail(int http_status, const std::string& why);
    void advance(Step step, int delay_ms = 0);
    void handle_ok(const nlohmann::json& body);
    void on_lookup(const nlohmann::json& body);
    void on_update(const nlohmann::json& body);

    Mode mode_ = Mode::deploy;
    KomodoRequest request_;
    KomodoDeployOptions options_;
    std::string compose_, url_, stack_name_, stack_id_, update_id_, update_status_, update_op_;
    nlohmann::json config_, meta_, result_;
    Step step_ = Step::lookup;
    int attempt_ = 1;
    int delay_ms_ = 0;
    KomodoOutcome outcome_ = KomodoOutcome::running;
    Diagnostics diagnostics_;
};

/// The deploy machine's historical name.
using KomodoDeploy = KomodoSession;

/// "running", "succeeded", ... for messages and JSON.
const char* to_string(KomodoOutcome o);

/// One line from a Komodo error body ({"error": ..., "trace": [...]}) or the raw text, bounded.
std::string komodo_error_text(const std::string& body);

}  // namespace appforge
