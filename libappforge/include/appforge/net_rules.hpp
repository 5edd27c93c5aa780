// Network reach and credential rules: where appforge may send a request and what it must scrub
// from what comes back. Pure functions (no sockets, no DNS): the edge's HTTP clients ask them
// before every connection, so the decision lives once, in the core.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appforge/diagnostic.hpp"

namespace appforge::rules {

/// Where an http(s) URL goes, read strictly: anything a client could read differently
/// (userinfo, backslashes, percent signs or non-ASCII in the host, fragments) is refused.
struct UrlTarget {
    std::string scheme;  ///< "http" or "https", lower-case
    std::string host;    ///< lower-case; IPv6 without brackets
    int port = 0;        ///< the explicit port, else the scheme's default
    std::string rest;    ///< path and query as given ("" or starting with '/' or '?')
};

/// Parses an absolute http(s) URL; nullopt (with why) for anything ambiguous.
std::optional<UrlTarget> parse_url_target(std::string_view url, std::string* why = nullptr);

/// What kind of address an IP literal is; a DNS name is `name`, whatever it resolves to.
enum class HostKind { name, public_ip, loopback, private_ip, link_local, special };

/// Classifies a host: strict dotted-quad IPv4 and RFC 4291 IPv6 literals only, so "127.x.evil.com"
/// is a name and "0x7f.1" is not an address.
HostKind classify_host(std::string_view host);

/// 127.0.0.0/8, ::1 (also as ::ffff:127.x) and "localhost": the only hosts plain http may go to.
bool is_loopback_host(std::string_view host);

/// Registries a profile lets `validate --check-images` contact when it names none.
const std::vector<std::string>& default_allowed_registries();

/// "" when an allow-list entry is `host` or `host:port` (IPv6 as `[addr]` or `[addr]:port`), else why not.
std::string allowed_host_entry_problem(std::string_view entry);

/// "" when the URL may be fetched: its host is on the allow-list (an entry without a port allows
/// only the scheme's default port) and, with https_unless_loopback, it is https or loopback.
std::string reach_problem(std::string_view url, const std::vector<std::string>& allowed,
                          bool https_unless_loopback = false);

/// The absolute URL a Location header points to from `from`; nullopt when it cannot be read safely.
std::optional<std::string> resolve_location(std::string_view from, std::string_view location);

/// "" when a redirect from `from` to `to` may be followed: never https -> http, never off the list.
std::string redirect_problem(std::string_view from, std::string_view to, const std::vector<std::string>& allowed);

/// The host[:port] that serves an image domain: Docker Hub's pulls go to registry-1.docker.io.
std::string registry_endpoint(std::string_view domain);

/// "" when the image domain's registry is on the allow-list, else the reason, for the diagnostic.
std::string registry_problem(std::string_view domain, const std::vector<std::string>& allowed);

/// "" when a Komodo API base URL is usable: http(s), no query or fragment, https unless loopback.
std::string komodo_url_problem(std::string_view url);

/// The comparable form of a Komodo URL: lower-case scheme and host, default port and trailing '/' dropped.
std::string normalize_komodo_url(std::string_view url);

/// The request's komodoApiUrl, when given, must be the configured URL (profile komodo.url, or the
/// override a deploy was given); with nothing configured only its format is checked elsewhere.
Diagnostics check_komodo_api_url(const std::optional<std::string>& requested, const std::optional<std::string>& configured);

/// The text with every occurrence of every non-empty secret replaced by "[REDACTED]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

/// Redacts a server's answer: a JSON body has its decoded strings (and keys) redacted, so
/// "\u0053ecret" escapes cannot smuggle a secret through; any other body is redacted as text.
std::string redact_body(const std::string& body, const std::vector<std::string>& secrets);

}  // namespace appforge::rules
