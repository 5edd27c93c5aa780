#include "registry.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace appforge::net {

namespace {

constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// "127.0.0.1:5000" -> "127.0.0.1"; "[::1]:5000" -> "::1".
std::string host_part(const std::string& domain) {
    if (!domain.empty() && domain[0] == '[') {
        auto close = domain.find(']');
        return close == std::string::npos ? domain : domain.substr(1, close - 1);
    }
    auto colon = domain.rfind(':');
    return colon == std::string::npos ? domain : domain.substr(0, colon);
}

// GET or HEAD that follows at most kMaxRedirects redirects itself, each target checked against the
// allow-list first (and never https -> http). Returns "" or why appforge refused to go on.
constexpr int kMaxRedirects = 5;
std::string fetch_checked(HttpRequest req, const RegistryOptions& o, HttpResponse& out) {
    for (int hop = 0;; ++hop) {
        out = send(req, o.http, true, o.retry);
        bool redirect = out.status == 301 || out.status == 302 || out.status == 303 || out.status == 307 || out.status == 308;
        if (!redirect) return "";
        if (hop == kMaxRedirects) return "more than " + std::to_string(kMaxRedirects) + " redirects";
        auto next = rules::resolve_location(req.url, out.header("location"));
        if (!next) return "a redirect without a usable absolute Location";
        if (std::string why = rules::redirect_problem(req.url, *next, o.allowed); !why.empty()) return why;
        auto from = rules::parse_url_target(req.url), to = rules::parse_url_target(*next);
        if (!from || !to || from->host != to->host || from->port != to->port)  // a token is for its own host only
            req.headers.erase(std::remove_if(req.headers.begin(), req.headers.end(),
                                             [](const auto& h) { return lower(h.first) == "authorization"; }),
                              req.headers.end());
        req.url = *next;
    }
}

std::string describe_failure(const HttpResponse& r) {
    switch (r.failure) {
        case HttpFailure::timeout: return "timed out (" + r.error + ")";
        case HttpFailure::connect: return "cannot connect (" + r.error + ")";
        default: return r.error.empty() ? "transport error" : r.error;
    }
}

}  // namespace

RegistryOptions registry_options_from_env() {
    RegistryOptions o;
    if (const char* v = std::getenv("APPFORGE_INSECURE_REGISTRIES")) {
        std::string s = v, item;
        for (std::size_t i = 0; i <= s.size(); ++i) {
            if (i == s.size() || s[i] == ',') {
                auto b = item.find_first_not_of(" \t");
                auto e = item.find_last_not_of(" \t");
                if (b != std::string::npos) o.insecure_registries.push_back(item.substr(b, e - b + 1));
                item.clear();
            } else {
                item += s[i];
            }
        }
    }
    return o;
}

std::string registry_base_url(const std::string& domain, const RegistryOptions& options) {
    // Docker Hub's pull endpoint is not docker.io itself.
    std::string d = rules::registry_endpoint(domain);
    bool plain = rules::is_loopback_host(host_part(d));
    for (const auto& i : options.insecure_registries)
        if (i == d || i == host_part(d)) plain = true;
    return (plain ? "http://" : "https://") + d;
}

AuthChallenge parse_www_authenticate(const std::string& header) {
    AuthChallenge c;
    std::size_t i = 0, n = header.size();
    while (i < n && header[i] == ' ') ++i;
    std::size_t start = i;
    while (i < n && header[i] != ' ') ++i;
    c.scheme = lower(header.substr(start, i - start));
    while (i < n) {
        while (i < n && (header[i] == ' ' || header[i] == ',')) ++i;
        std::size_t ks = i;
        while (i < n && header[i] != '=' && header[i] != ',') ++i;
        std::string key = lower(header.substr(ks, i - ks));
        while (!key.empty() && key.back() == ' ') key.pop_back();
        if (i >= n || header[i] != '=') continue;
        ++i;
        std::string value;
        if (i < n && header[i] == '"') {
            ++i;
            while (i < n && header[i] != '"') {
                if (header[i] == '\\' && i + 1 < n) ++i;
                value += header[i++];
            }
            if (i < n) ++i;  // closing quote
        } else {
            while (i < n && header[i] != ',') value += header[i++];
            while (!value.empty() && value.back() == ' ') value.pop_back();
        }
        if (!key.empty()) c.params[key] = value;
    }
    return c;
}

ImageCheckResult RegistryImageChecker::check(const rules::ImageRef& image) const {
    using O = ImageCheckResult::Outcome;
    const std::string base = registry_base_url(image.domain, options_);
    const std::string ref = image.digest.empty() ? (image.tag.empty() ? "latest" : image.tag) : image.digest;
    HttpRequest head;
    head.method = "HEAD";
    head.url = base + "/v2/" + image.path + "/manifests/" + ref;
    head.headers = {{"Accept", kManifestAccept}};

    if (std::string why = rules::reach_problem(head.url, options_.allowed); !why.empty()) return {O::refused, why};
    HttpResponse r;
    if (std::string why = fetch_checked(head, options_, r); !why.empty()) return {O::refused, base + ": " + why};
    if (r.status == 401) {
        AuthChallenge ch = parse_www_authenticate(r.header("www-authenticate"));
        if (ch.scheme != "bearer" || ch.params.count("realm") == 0)
            return {O::denied, "registry " + base + " asks for " + (ch.scheme.empty() ? "credentials" : ch.scheme + " credentials") +
                                   " (HTTP 401); appforge only does anonymous pulls"};
        const std::string& realm = ch.params["realm"];
        // The realm is the server's word, so it gets the strictest check: https on an allowed host.
        if (std::string why = rules::reach_problem(realm, options_.allowed, true); !why.empty())
            return {O::refused, "token realm: " + why};
        std::string scope = ch.params.count("scope") ? ch.params["scope"] : "repository:" + image.path + ":pull";
        HttpRequest tok;
        tok.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + "scope=" + url_encode(scope);
        if (ch.params.count("service")) tok.url += "&service=" + url_encode(ch.params["service"]);
        HttpResponse t;
        if (std::string why = fetch_checked(tok, options_, t); !why.empty()) return {O::refused, "token service: " + why};
        if (t.status == 0) return {O::unreachable, "token service " + realm + ": " + describe_failure(t)};
        if (t.status != 200) return {O::denied, "token service " + realm + " answered HTTP " + std::to_string(t.status)};
        auto j = nlohmann::json::parse(t.body, nullptr, false);
        std::string token;
        if (j.is_object()) {
            if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
            else if (j.contains("access_token") && j["access_token"].is_string()) token = j["access_token"].get<std::string>();
        }
        if (token.empty()) return {O::denied, "token service " + realm + " gave no token"};
        head.headers.emplace_back("Authorization", "Bearer " + token);
        if (std::string why = fetch_checked(head, options_, r); !why.empty()) return {O::refused, base + ": " + why};
        // An anonymous token that grants nothing: Docker Hub (and distribution's token auth)
        // answers a repository that does not exist this way, not with 404, and does not tell it
        // from a private one. For an anonymous pull both mean the image cannot be pulled.
        if (r.status == 401 && parse_www_authenticate(r.header("www-authenticate")).params["error"] == "insufficient_scope")
            return {O::not_found, "HTTP 401 insufficient_scope for " + image.path + " (no such repository, or a private one)"};
    }
    if (r.status == 0) return {O::unreachable, base + ": " + describe_failure(r)};
    if (r.status >= 200 && r.status <= 299) return {O::found, ""};
    if (r.status == 404) return {O::not_found, "HTTP 404 for " + image.path + ":" + ref};
    if (r.status == 401 || r.status == 403)
        return {O::denied, "HTTP " + std::to_string(r.status) + " for " + image.path + " at " + base};
    return {O::unreachable, base + " answered HTTP " + std::to_string(r.status)};
}

}  // namespace appforge::net
