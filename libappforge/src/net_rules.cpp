// Network reach and credential rules (see net_rules.hpp). Hand-written scanners: no regex, no
// recursion on the URL side, no resolver; a DNS name is judged by its spelling only.
#include "appforge/net_rules.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace appforge::rules {

namespace {

constexpr const char* kRedacted = "[REDACTED]";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_name_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
}
std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}
bool istarts(std::string_view s, std::string_view p) { return s.size() >= p.size() && lower(s.substr(0, p.size())) == p; }

// A URL or host as it may appear in a message: bounded and printable, whatever a server sent.
std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) out += (c < 0x21 || c > 0x7e) ? '?' : c;
    if (s.size() > 200) out += "...";
    return out;
}

// Strict dotted quad: four decimal parts 0-255 without leading zeros (no "0x7f.1", no "127.1").
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view s) {
    std::array<std::uint8_t, 4> out{};
    std::size_t part = 0, i = 0;
    while (part < 4) {
        std::size_t start = i;
        int v = 0;
        while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
        std::size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
        out[part++] = static_cast<std::uint8_t>(v);
        if (part < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return out;
}

// RFC 4291 text form: up to eight hex groups, one "::", an optional trailing dotted quad.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view s) {
    std::array<std::uint16_t, 8> groups{};
    int n = 0, gap = -1;
    std::size_t i = 0;
    if (s.size() < 2) return std::nullopt;
    if (s[0] == ':') {
        if (s[1] != ':') return std::nullopt;
        gap = 0;
        i = 2;
    }
    while (i < s.size()) {
        if (n >= 8) return std::nullopt;
        std::size_t start = i;
        while (i < s.size() && is_hex(s[i]) && i - start < 4) ++i;
        if (i < s.size() && s[i] == '.') {  // embedded IPv4 as the last 32 bits
            auto v4 = parse_ipv4(s.substr(start));
            if (!v4 || n > 6) return std::nullopt;
            groups[n++] = static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]);
            groups[n++] = static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]);
            i = s.size();
            break;
        }
        if (i == start) return std::nullopt;
        groups[n++] = static_cast<std::uint16_t>(std::stoul(std::string(s.substr(start, i - start)), nullptr, 16));
        if (i == s.size()) break;
        if (s[i] != ':') return std::nullopt;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (gap >= 0) return std::nullopt;
            gap = n;
            ++i;
        } else if (i == s.size()) {
            return std::nullopt;  // a trailing single ':'
        }
    }
    if (gap < 0 && n != 8) return std::nullopt;
    if (gap >= 0 && n > 7) return std::nullopt;
    std::array<std::uint16_t, 8> full{};
    if (gap < 0) {
        full = groups;
    } else {
        int tail = n - gap;
        for (int k = 0; k < gap; ++k) full[k] = groups[k];
        for (int k = 0; k < tail; ++k) full[8 - tail + k] = groups[gap + k];
    }
    std::array<std::uint8_t, 16> out{};
    for (int k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xff);
    }
    return out;
}

HostKind classify_v4(const std::array<std::uint8_t, 4>& a) {
    if (a[0] == 127) return HostKind::loopback;
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
        (a[0] == 100 && (a[1] & 0xc0) == 64))
        return HostKind::private_ip;
    if (a[0] == 169 && a[1] == 254) return HostKind::link_local;
    if (a[0] == 0 || a[0] >= 224 || (a[0] == 192 && a[1] == 0 && a[2] == 0) || (a[0] == 198 && (a[1] & 0xfe) == 18))
        return HostKind::special;
    return HostKind::public_ip;
}

// host[:port] or [v6][:port]; host lower-cased, port 0 when not given.
bool parse_authority(std::string_view a, std::string& host, int& port, std::string* why) {
    auto fail = [&](const char* w) {
        if (why) *why = w;
        return false;
    };
    port = 0;
    std::string_view h = a, p;
    bool has_port = false;
    if (!a.empty() && a.front() == '[') {
        std::size_t close = a.find(']');
        if (close == std::string_view::npos) return fail("unclosed '[' in the host");
        h = a.substr(1, close - 1);
        if (!parse_ipv6(h)) return fail("the bracketed host is not an IPv6 address");
        std::string_view rest = a.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return fail("unexpected text after the IPv6 address");
            has_port = true;
            p = rest.substr(1);
        }
    } else {
        std::size_t colon = a.find(':');
        if (colon != std::string_view::npos) {
            h = a.substr(0, colon);
            p = a.substr(colon + 1);
            has_port = true;
        }
        if (h.empty()) return fail("the host is empty");
        if (h.size() > 253) return fail("the host is longer than 253 characters");
        if (!std::all_of(h.begin(), h.end(), is_name_char))
            return fail("the host may only hold letters, digits, '-', '.' and '_'");
        if (h.front() == '.' || h.back() == '.' || h.find("..") != std::string_view::npos)
            return fail("the host has an empty label");
    }
    if (has_port) {
        if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), is_digit)) return fail("the port is not a number");
        int v = std::stoi(std::string(p));
        if (v < 1 || v > 65535) return fail("the port is out of range");
        port = v;
    }
    host = lower(h);
    return true;
}

int default_port(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

std::string authority_text(const UrlTarget& t) {
    std::string h = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
    return t.port == default_port(t.scheme) ? h : h + ":" + std::to_string(t.port);
}

bool on_list(const UrlTarget& t, const std::vector<std::string>& allowed) {
    for (const auto& e : allowed) {
        std::string host;
        int port = 0;
        if (!parse_authority(e, host, port, nullptr)) continue;
        if (host == t.host && (port == 0 ? t.port == default_port(t.scheme) : port == t.port)) return true;
    }
    return false;
}

const char* kind_note(HostKind k) {
    switch (k) {
        case HostKind::loopback: return " (a loopback address)";
        case HostKind::private_ip: return " (a private address)";
        case HostKind::link_local: return " (a link-local address)";
        case HostKind::special: return " (a reserved address)";
        default: return "";
    }
}

}  // namespace

std::optional<UrlTarget> parse_url_target(std::string_view url, std::string* why) {
    auto fail = [&](const std::string& w) -> std::optional<UrlTarget> {
        if (why) *why = w;
        return std::nullopt;
    };
    if (url.size() > 8192) return fail("longer than 8192 characters");
    for (char c : url) {
        if (c < 0x21 || c > 0x7e) return fail("it holds spaces, control or non-ASCII characters");
        if (c == '\\') return fail("it holds a backslash");
        if (c == '#') return fail("it has a fragment");
    }
    UrlTarget t;
    std::size_t i;
    if (istarts(url, "https://")) t.scheme = "https", i = 8;
    else if (istarts(url, "http://")) t.scheme = "http", i = 7;
    else return fail("it is not an http:// or https:// URL");
    std::size_t end = url.find_first_of("/?", i);
    if (end == std::string_view::npos) end = url.size();
    std::string_view authority = url.substr(i, end - i);
    if (authority.find('@') != std::string_view::npos) return fail("it carries credentials ('@' in the host part)");
    if (authority.find('%') != std::string_view::npos) return fail("the host part is percent-encoded");
    std::string w;
    int port = 0;
    if (!parse_authority(authority, t.host, port, &w)) return fail(w);
    t.port = port ? port : default_port(t.scheme);
    t.rest = std::string(url.substr(end));
    return t;
}

HostKind classify_host(std::string_view host) {
    if (auto v4 = parse_ipv4(host)) return classify_v4(*v4);
    std::string_view h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    auto v6 = parse_ipv6(h);
    if (!v6) return HostKind::name;
    const auto& b = *v6;
    bool zero10 = std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; });
    if (zero10 && b[10] == 0xff && b[11] == 0xff) return classify_v4({b[12], b[13], b[14], b[15]});  // ::ffff:a.b.c.d
    bool zero15 = std::all_of(b.begin(), b.begin() + 15, [](std::uint8_t x) { return x == 0; });
    if (zero15 && b[15] == 1) return HostKind::loopback;
    if (zero15 && b[15] == 0) return HostKind::special;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return HostKind::link_local;
    if ((b[0] & 0xfe) == 0xfc) return HostKind::private_ip;
    if (b[0] == 0xff || zero10) return HostKind::special;  // multicast, IPv4-compatible
    return HostKind::public_ip;
}

bool is_loopback_host(std::string_view host) {
    return lower(host) == "localhost" || classify_host(host) == HostKind::loopback;
}

const std::vector<std::string>& default_allowed_registries() {
    // Public registries that serve anonymous pulls, plus Docker Hub's token service. Not
    // registry.k8s.io: it redirects every request to a regional *.pkg.dev host chosen by the
    // client's location, which no exact list can name in advance (a profile adds both).
    static const std::vector<std::string> list{"registry-1.docker.io", "auth.docker.io", "ghcr.io", "quay.io",
                                               "lscr.io", "gcr.io", "public.ecr.aws"};
    return list;
}

std::string allowed_host_entry_problem(std::string_view entry) {
    std::string host, why;
    int port = 0;
    if (entry.find('/') != std::string_view::npos || entry.find('*') != std::string_view::npos ||
        !parse_authority(entry, host, port, &why))
        return "registries.allowed entries must be host or host:port (no scheme, path or wildcard): '" +
               shown(entry) + "'";
    return "";
}

std::string reach_problem(std::string_view url, const std::vector<std::string>& allowed, bool https_unless_loopback) {
    std::string why;
    auto t = parse_url_target(url, &why);
    if (!t) return "'" + shown(url) + "' is not a plain http(s) URL (" + why + ")";
    if (https_unless_loopback && t->scheme == "http" && !is_loopback_host(t->host))
        return "plain http to " + authority_text(*t) + " is refused (https is required except for loopback)";
    if (!on_list(*t, allowed))
        return "host " + authority_text(*t) + kind_note(classify_host(t->host)) +
               " is not in the profile's registries.allowed list";
    return "";
}

std::optional<std::string> resolve_location(std::string_view from, std::string_view location) {
    auto b = location.find_first_not_of(" \t");
    auto e = location.find_last_not_of(" \t\r\n");
    if (b == std::string_view::npos) return std::nullopt;
    location = location.substr(b, e - b + 1);
    if (istarts(location, "http://") || istarts(location, "https://")) return std::string(location);
    auto base = parse_url_target(from);
    if (!base) return std::nullopt;
    if (location.size() >= 2 && location[0] == '/' && location[1] == '/') return base->scheme + ":" + std::string(location);
    if (location[0] == '/') return base->scheme + "://" + authority_text(*base) + std::string(location);
    return std::nullopt;  // relative paths: no registry sends them, and guessing the base is how clients diverge
}

std::string redirect_problem(std::string_view from, std::string_view to, const std::vector<std::string>& allowed) {
    auto f = parse_url_target(from);
    auto t = parse_url_target(to);
    if (f && t && f->scheme == "https" && t->scheme == "http")
        return "redirect from https to plain http (" + authority_text(*t) + ") refused";
    std::string p = reach_problem(to, allowed);
    return p.empty() ? "" : "redirect refused: " + p;
}

std::string registry_endpoint(std::string_view domain) {
    if (domain.empty() || domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
    return std::string(domain);
}

std::string registry_problem(std::string_view domain, const std::vector<std::string>& allowed) {
    const std::string endpoint = registry_endpoint(domain);
    std::string host, why;
    int port = 0;
    if (!parse_authority(endpoint, host, port, &why)) return "registry '" + shown(endpoint) + "': " + why;
    // The scheme is the edge's choice, so here an entry matches only the same spelling of the port.
    for (const auto& e : allowed) {
        std::string eh;
        int ep = 0;
        if (parse_authority(e, eh, ep, nullptr) && eh == host && ep == port) return "";
    }
    std::string served = endpoint == domain ? "" : " (which serves " + shown(domain.empty() ? "docker.io" : domain) + ")";
    return "registry " + shown(endpoint) + served + kind_note(classify_host(host)) +
           " is not in the profile's registries.allowed list";
}

std::string komodo_url_problem(std::string_view url) {
    std::string why;
    auto t = parse_url_target(url, &why);
    if (!t) return "the Komodo URL must be a plain http(s) URL: " + why;
    if (t->rest.find('?') != std::string::npos) return "the Komodo URL must not have a query";
    if (t->scheme == "http" && !is_loopback_host(t->host))
        return "the Komodo URL must use https; plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost)";
    return "";
}

std::string normalize_komodo_url(std::string_view url) {
    auto t = parse_url_target(url);
    if (!t) return std::string(url);
    std::string rest = t->rest;
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    return t->scheme + "://" + authority_text(*t) + rest;
}

Diagnostics check_komodo_api_url(const std::optional<std::string>& requested, const std::optional<std::string>& configured) {
    Diagnostics out;
    if (!requested || !configured) return out;
    if (normalize_komodo_url(*requested) != normalize_komodo_url(*configured))
        out.push_back(Diagnostic{"/komodoApiUrl", "komodo.url.mismatch",
                                 "komodoApiUrl must be left out or equal the configured Komodo URL (" +
                                     shown(*configured) + "); credentials only ever go to the configured URL",
                                 Severity::error});
    return out;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
    std::vector<const std::string*> order;
    for (const auto& s : secrets)
        if (!s.empty()) order.push_back(&s);
    // Longest first, so a key that is part of the secret cannot leave the secret's remainder behind.
    std::sort(order.begin(), order.end(), [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
    for (const std::string* s : order) {
        std::size_t pos = 0;
        while ((pos = text.find(*s, pos)) != std::string::npos) {
            text.replace(pos, s->size(), kRedacted);
            pos += std::char_traits<char>::length(kRedacted);
        }
    }
    return text;
}

std::string redact_body(const std::string& body, const std::vector<std::string>& secrets) {
    if (std::none_of(secrets.begin(), secrets.end(), [](const std::string& s) { return !s.empty(); })) return body;
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return redact(body, secrets);
    bool changed = false;
    // Iterative walk: a hostile server's nesting must not grow our stack.
    std::vector<nlohmann::json*> todo{&j};
    while (!todo.empty()) {
        nlohmann::json* v = todo.back();
        todo.pop_back();
        if (v->is_string()) {
            std::string r = redact(v->get<std::string>(), secrets);
            if (r != v->get_ref<const std::string&>()) *v = std::move(r), changed = true;
        } else if (v->is_array()) {
            for (auto& x : *v) todo.push_back(&x);
        } else if (v->is_object()) {
            nlohmann::json fixed = nlohmann::json::object();
            bool keys_changed = false;
            for (auto it = v->begin(); it != v->end(); ++it) {
                std::string k = redact(it.key(), secrets);
                keys_changed |= k != it.key();
                fixed[k] = std::move(it.value());
            }
            *v = std::move(fixed);
            changed |= keys_changed;
            for (auto it = v->begin(); it != v->end(); ++it) todo.push_back(&it.value());
        }
    }
    return changed ? j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : body;
}

}  // namespace appforge::rules
