// A small HTTP client over libcurl for the CLI edge only (the core never opens a socket).
// It never logs: headers may carry API secrets and bearer tokens.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "appforge/retry.hpp"

namespace appforge::net {

/// One request; headers are sent as given and never printed.
struct HttpRequest {
    std::string method = "GET";  ///< GET, HEAD, POST, PUT, ...
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Secrets scrubbed (rules::redact_body) from the answer's body, headers and error before
    /// perform() returns: the one place server text enters appforge.
    std::vector<std::string> redact;
};

/// Why no HTTP status came back (status 0).
enum class HttpFailure { none, connect, timeout, other };

/// An answer, or the transport failure that prevented one.
struct HttpResponse {
    int status = 0;  ///< 0 when no answer arrived
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    HttpFailure failure = HttpFailure::none;
    std::string error;  ///< curl's words for the failure (never contains request headers)

    /// The first header with this (lower-case) name, or "".
    std::string header(const std::string& lower_name) const;
};

/// Per-request limits; a stuck server must not hang the CLI. Redirects are never followed here:
/// a caller that follows one checks the target first (rules::redirect_problem).
struct HttpOptions {
    long connect_timeout_ms = 5000;
    long timeout_ms = 30000;
};

/// One attempt, no retries: for callers (the Komodo machine) that own the retry decision.
HttpResponse perform(const HttpRequest& request, const HttpOptions& options = {});

/// Attempts with exponential backoff, but only when is_read and only on 5xx or no answer
/// (appforge::should_retry); writes go out exactly once.
HttpResponse send(const HttpRequest& request, const HttpOptions& options, bool is_read,
                  const RetryPolicy& policy = {});

/// Sleeps for a backoff or poll interval (kept here so the core stays free of clocks).
void sleep_ms(int ms);

}  // namespace appforge::net
