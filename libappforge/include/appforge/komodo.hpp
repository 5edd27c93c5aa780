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

/// Settings of one deploy that are not part of the request document.
struct KomodoDeployOptions {
    std::optional<std::string> server;  ///< Komodo server (name or id); else appConfig.server
    int poll_interval_ms = 2000;        ///< wait between GetUpdate polls
    RetryPolicy retry;                  ///< reads only; writes are never repeated
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

/// How a deploy ended; the CLI maps these to exit codes.
enum class KomodoOutcome {
    running,          ///< not finished
    succeeded,        ///< the Update completed with success = true
    deploy_failed,    ///< Komodo answered and said no (Update success = false, or a write was refused)
    rejected,         ///< 401 / 403 / 404: credentials, permissions or URL are wrong
    transport_failed, ///< no usable answer (connection errors or 5xx after retries, bad bodies)
    timed_out,        ///< the caller's deadline passed
};

/// What went wrong in transport terms, for on_transport_error.
enum class TransportError { connect, timeout, other };

/// Drives one deploy: ListStacks (read) -> CreateStack or UpdateStack (write) -> DeployStack
/// (execute) -> GetUpdate (read) until Complete. Feed every answer back; the request's status
/// only moves pending -> success/failed.
class KomodoDeploy {
public:
    /// Builds the compose file and checks the request can be deployed (status pending, server known,
    /// profile.komodoUrl set and usable, the request's komodoApiUrl absent or equal to it).
    static Result<KomodoDeploy> start(const KomodoRequest& request, const ClusterProfile& profile,
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
    /// The request with status, submissionStatus and errorMessage as the API left them.
    const KomodoRequest& request() const { return request_; }
    /// The compose file sent to Komodo.
    const std::string& compose() const { return compose_; }
    /// The Komodo API base URL (profile komodo.url, checked and without a trailing '/'): the only
    /// place the transport may send this deploy's calls and the credentials.
    const std::string& url() const { return url_; }
    /// Rejected status transitions and similar protocol-level problems.
    const Diagnostics& diagnostics() const { return diagnostics_; }

private:
    enum class Step { lookup, create, update, deploy, poll, done };
    KomodoDeploy() = default;
    void finish(KomodoOutcome outcome, Status status, std::string error);
    KomodoCall make_call(const char* path, const char* type, nlohmann::json params, bool read) const;
    void retry_or_fail(int http_status, const std::string& why);
    void advance(Step step, int delay_ms = 0);
    void handle_ok(const nlohmann::json& body);

    KomodoRequest request_;
    KomodoDeployOptions options_;
    std::string compose_, url_, stack_name_, stack_id_, update_id_, update_status_, storage_;
    nlohmann::json config_;
    Step step_ = Step::lookup;
    int attempt_ = 1;
    int delay_ms_ = 0;
    KomodoOutcome outcome_ = KomodoOutcome::running;
    Diagnostics diagnostics_;
};

/// "running", "succeeded", ... for messages and JSON.
const char* to_string(KomodoOutcome o);

/// One line from a Komodo error body ({"error": ..., "trace": [...]}) or the raw text, bounded.
std::string komodo_error_text(const std::string& body);

}  // namespace appforge
