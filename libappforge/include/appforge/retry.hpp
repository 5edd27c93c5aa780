// The one retry policy every network edge uses: only reads, only 5xx or connection errors,
// exponential backoff. Pure, so the Komodo protocol and the HTTP client share it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace appforge {

/// How often and how patiently an idempotent request is retried.
struct RetryPolicy {
    int max_attempts = 4;        ///< total tries, including the first
    int base_delay_ms = 250;     ///< wait before the second try
    int max_delay_ms = 4000;     ///< cap on any single wait
};

/// A write is never repeated (it may have happened), and a 4xx will not change by asking again;
/// http_status 0 stands for a connection error or time-out without an answer.
inline bool should_retry(bool is_read, int http_status, int attempts_done, const RetryPolicy& p) {
    if (!is_read || attempts_done >= p.max_attempts) return false;
    return http_status == 0 || (http_status >= 500 && http_status <= 599);
}

/// Exponential backoff (base, 2*base, 4*base, ... capped) before try number attempts_done + 1.
inline int backoff_delay_ms(int attempts_done, const RetryPolicy& p) {
    std::int64_t d = p.base_delay_ms;
    for (int i = 1; i < attempts_done && d < p.max_delay_ms; ++i) d *= 2;
    return static_cast<int>(std::min<std::int64_t>(d, p.max_delay_ms));
}

}  // namespace appforge
