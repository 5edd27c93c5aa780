// appforge value rules: hand-written linear scanners (no std::regex, no recursion).
// See value_rules.hpp for what each rule protects against.
#include "appforge/value_rules.hpp"

#include <cctype>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>

namespace appforge::rules {

namespace {

// ---------------------------------------------------------------------------------------
// character classes (ASCII only, locale independent)
// ---------------------------------------------------------------------------------------

constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return is_lower(c) || is_upper(c); }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_lower_alnum(char c) { return is_lower(c) || is_digit(c); }
constexpr bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
constexpr bool is_word(char c) { return is_alnum(c) || c == '_'; }  // regexp \w
constexpr bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

constexpr char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}
bool ends_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

void set_why(std::string* why, std::string msg) {
    if (why) *why = std::move(msg);
}

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

// A DNS-1123 label body with no length limit: [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool dns1123_label_shape(std::string_view s) {
    if (s.empty()) return false;
    if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
    for (char c : s)
        if (!is_lower_alnum(c) && c != '-') return false;
    return true;
}

// Labels joined by '.', each of DNS-1123 label shape; max_label == 0 means unlimited.
bool dotted_labels(std::string_view s, std::size_t max_label) {
    if (s.empty()) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = s.find('.', start);
        std::string_view label =
            s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!dns1123_label_shape(label)) return false;
        if (max_label != 0 && label.size() > max_label) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

}  // namespace

// =======================================================================================
// Kubernetes names
// =======================================================================================

bool is_dns1123_label(std::string_view s) { return s.size() <= 63 && dns1123_label_shape(s); }

bool is_dns1123_subdomain(std::string_view s) {
    // apimachinery limits only the total length; a single label may exceed 63 here.
    return s.size() <= 253 && dotted_labels(s, 0);
}

bool is_dns1035_label(std::string_view s) {
    return s.size() <= 63 && !s.empty() && is_lower(s.front()) && dns1123_label_shape(s);
}

bool is_port_name(std::string_view s) {
    if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-') return false;
    bool letter = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (is_lower(c)) letter = true;
        else if (c == '-' && s[i - 1] == '-') return false;
        else if (c != '-' && !(c >= '0' && c <= '9')) return false;
    }
    return letter;
}

bool is_env_var_name(std::string_view s) {
    if (s.empty() || (s.front() >= '0' && s.front() <= '9')) return false;
    if (s == "." || s.rfind("..", 0) == 0) return false;  // Kubernetes' IsEnvVarName refuses them
    for (char c : s)
        if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
    return true;
}

bool is_credential_name(std::string_view s) {
    std::string up;
    for (char c : s)
        up.push_back(c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    for (const char* word : {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY",
                             "CREDENTIAL"})
        if (up.find(word) != std::string::npos) return true;
    // "PASS" alone is too common inside words (PASSPORT, COMPASS); as a whole segment it is a password.
    return up == "PASS" || (up.size() > 5 && up.compare(up.size() - 5, 5, "_PASS") == 0) || up.rfind("PASS_", 0) == 0;
}

bool is_label_value(std::string_view s) {
    if (s.empty()) return true;
    if (s.size() > 63) return false;
    if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
    for (char c : s)
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

bool matches_app_name_pattern(std::string_view s) { return dns1123_label_shape(s); }

bool is_hostname(std::string_view s) { return s.size() <= 253 && dotted_labels(s, 63); }

bool is_under_zone(std::string_view host, std::string_view zone) {
    if (host.empty() || zone.empty()) return false;
    if (host == zone) return true;
    return host.size() > zone.size() + 1 && ends_with(host, zone) &&
           host[host.size() - zone.size() - 1] == '.';
}

bool glob_match(std::string_view pattern, std::string_view s) {
    // Classic greedy matcher with a single backtrack point: O(|p|*|s|) worst case, O(1) space.
    std::size_t p = 0, i = 0;
    std::size_t star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == s[i])) {
            ++p;
            ++i;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

// =======================================================================================
// OCI image references
// =======================================================================================

namespace {

constexpr std::size_t kNameTotalLengthMax = 255;
constexpr std::size_t kTagMax = 128;

// path-component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
bool is_path_component(std::string_view c) {
    std::size_t i = 0, n = c.size();
    auto alnum_run = [&]() {
        std::size_t start = i;
        while (i < n && is_lower_alnum(c[i])) ++i;
        return i > start;
    };
    if (!alnum_run()) return false;
    while (i < n) {
        if (c[i] == '.') {
            ++i;
        } else if (c[i] == '_') {
            ++i;
            if (i < n && c[i] == '_') ++i;
        } else if (c[i] == '-') {
            while (i < n && c[i] == '-') ++i;
        } else {
            return false;
        }
        if (!alnum_run()) return false;
    }
    return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view c) {
    if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
    for (char ch : c)
        if (!is_alnum(ch) && ch != '-') return false;
    return true;
}

// domain := host [":" port]; host := domain-name | "[" ipv6 "]"
bool is_registry_domain(std::string_view d, std::string* why) {
    std::string_view host = d, port;
    bool has_port = false;
    if (!d.empty() && d.front() == '[') {
        std::size_t close = d.find(']');
        if (close == std::string_view::npos) {
            set_why(why, "registry host '" + std::string(d) + "' has an unclosed '['");
            return false;
        }
        std::string_view inside = d.substr(1, close - 1);
        if (inside.empty() ||
            !std::all_of(inside.begin(), inside.end(), [](char c) { return is_hex(c) || c == ':'; })) {
            set_why(why, "registry host '" + std::string(d) + "' is not a bracketed IPv6 address");
            return false;
        }
        host = d.substr(0, close + 1);
        std::string_view rest = d.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                set_why(why, "unexpected characters after IPv6 registry host in '" + std::string(d) + "'");
                return false;
            }
            has_port = true;
            port = rest.substr(1);
        }
    } else {
        std::size_t colon = d.find(':');
        if (colon != std::string_view::npos) {
            host = d.substr(0, colon);
            port = d.substr(colon + 1);
            has_port = true;
        }
        std::size_t start = 0;
        while (true) {
            std::size_t dot = host.find('.', start);
            std::string_view comp = host.substr(
                start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
            if (!is_domain_component(comp)) {
                set_why(why, "registry host '" + std::string(host) +
                                 "' is not a valid domain name (letters, digits, '-' and '.')");
                return false;
            }
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
    }
    if (has_port && (port.empty() || !std::all_of(port.begin(), port.end(), is_digit))) {
        set_why(why, "registry port in '" + std::string(d) + "' must be digits");
        return false;
    }
    return true;
}

// tag := [\w][\w.-]{0,127}
bool is_tag(std::string_view t) {
    if (t.empty() || t.size() > kTagMax || !is_word(t.front())) return false;
    for (char c : t)
        if (!is_word(c) && c != '.' && c != '-') return false;
    return true;
}

// digest := algorithm ":" hex; algorithm := comp ([+._-] comp)*, comp := [A-Za-z][A-Za-z0-9]*;
// hex := [0-9a-fA-F]{32,}. Registered algorithms (go-digest) additionally need their exact
// lowercase-hex length.
bool is_digest(std::string_view d, std::string* why) {
    std::size_t colon = d.find(':');
    if (colon == std::string_view::npos) {
        set_why(why, "digest '" + std::string(d) + "' must be <algorithm>:<hex>");
        return false;
    }
    std::string_view algo = d.substr(0, colon), hex = d.substr(colon + 1);
    bool need_comp = true;
    for (char c : algo) {
        if (need_comp) {
            if (!is_alpha(c)) {
                need_comp = true;
                break;
            }
            need_comp = false;
        } else if (c == '+' || c == '.' || c == '_' || c == '-') {
            need_comp = true;
        } else if (!is_alnum(c)) {
            need_comp = true;
            break;
        }
    }
    if (algo.empty() || need_comp) {
        set_why(why, "digest algorithm '" + std::string(algo) + "' is malformed");
        return false;
    }
    if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), is_hex)) {
        set_why(why, "digest hex part must be at least 32 hexadecimal characters");
        return false;
    }
    std::size_t want = 0;
    if (algo == "sha256") want = 64;
    else if (algo == "sha384") want = 96;
    else if (algo == "sha512") want = 128;
    if (want != 0 &&
        (hex.size() != want || !std::all_of(hex.begin(), hex.end(), is_lower_hex))) {
        set_why(why, "a " + std::string(algo) + " digest needs exactly " + std::to_string(want) +
                         " lowercase hexadecimal characters");
        return false;
    }
    return true;
}

}  // namespace

std::optional<ImageRef> parse_image_reference(std::string_view s, std::string* why) {
    if (s.empty()) {
        set_why(why, "image reference is empty");
        return std::nullopt;
    }
    if (s.size() == 64 && std::all_of(s.begin(), s.end(), is_lower_hex)) {
        set_why(why, "a bare 64-character hex string is an image ID, not a reference");
        return std::nullopt;
    }
    ImageRef r;
    std::string_view rest = s;

    std::size_t at = rest.find('@');
    if (at != std::string_view::npos) {
        std::string_view digest = rest.substr(at + 1);
        if (!is_digest(digest, why)) return std::nullopt;
        r.digest = std::string(digest);
        rest = rest.substr(0, at);
    }

    std::size_t last_slash = rest.rfind('/');
    std::size_t last_colon = rest.rfind(':');
    if (last_colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || last_colon > last_slash)) {
        std::string_view tag = rest.substr(last_colon + 1);
        if (!is_tag(tag)) {
            if (tag.size() > kTagMax)
                set_why(why, "tag is " + std::to_string(tag.size()) + " characters, at most 128 allowed");
            else
                set_why(why, "tag '" + std::string(tag) +
                                 "' must start with a letter, digit or '_' and contain only those, '.' and '-'");
            return std::nullopt;
        }
        r.tag = std::string(tag);
        rest = rest.substr(0, last_colon);
    }

    if (rest.empty()) {
        set_why(why, "image reference has no repository name");
        return std::nullopt;
    }
    if (rest.size() > kNameTotalLengthMax) {
        set_why(why, "repository name is " + std::to_string(rest.size()) +
                         " characters, at most 255 allowed");
        return std::nullopt;
    }

    // Docker's rule for telling a registry from the first path component: it contains '.'
    // or ':', is "localhost", or has uppercase letters (which a path component never has).
    std::string_view path = rest;
    std::size_t first_slash = rest.find('/');
    if (first_slash != std::string_view::npos) {
        std::string_view first = rest.substr(0, first_slash);
        bool looks_like_domain = first.find_first_of(".:") != std::string_view::npos ||
                                 first == "localhost" ||
                                 std::any_of(first.begin(), first.end(), is_upper) ||
                                 (!first.empty() && first.front() == '[');
        if (looks_like_domain) {
            if (!is_registry_domain(first, why)) return std::nullopt;
            r.domain = std::string(first);
            path = rest.substr(first_slash + 1);
        }
    }
    if (path.empty()) {
        set_why(why, "image reference has no repository path after the registry");
        return std::nullopt;
    }
    std::size_t start = 0;
    while (true) {
        std::size_t slash = path.find('/', start);
        std::string_view comp =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (!is_path_component(comp)) {
            if (comp.empty())
                set_why(why, "repository path '" + std::string(path) + "' has an empty component");
            else if (std::any_of(comp.begin(), comp.end(), is_upper))
                set_why(why, "repository path component '" + std::string(comp) + "' must be lowercase");
            else
                set_why(why, "repository path component '" + std::string(comp) +
                                 "' must be lowercase letters/digits separated by '.', '_', '__' or '-'");
            return std::nullopt;
        }
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    r.path = std::string(path);
    return r;
}

ImageRef normalize_image(const ImageRef& r) {
    ImageRef n = r;
    if (n.domain.empty() || n.domain == "index.docker.io") n.domain = "docker.io";
    if (n.domain == "docker.io" && n.path.find('/') == std::string::npos) n.path = "library/" + n.path;
    if (n.tag.empty() && n.digest.empty()) n.tag = "latest";
    return n;
}

std::string image_reference_string(const ImageRef& r) {
    std::string out;
    if (!r.domain.empty()) out += r.domain + "/";
    out += r.path;
    if (!r.tag.empty()) out += ":" + r.tag;
    if (!r.digest.empty()) out += "@" + r.digest;
    return out;
}

// =======================================================================================
// Cron
// =======================================================================================

namespace {

struct CronField {
    const char* name;
    int lo;
    int hi;
    bool month_names;
    bool day_names;
};

constexpr std::array<CronField, 5> kCronFields{{
    {"minute", 0, 59, false, false},
    {"hour", 0, 23, false, false},
    {"day-of-month", 1, 31, false, false},
    {"month", 1, 12, true, false},
    {"day-of-week", 0, 7, false, true},
}};

constexpr std::array<const char*, 12> kMonthNames{
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
constexpr std::array<const char*, 7> kDayNames{{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

// Parses an unsigned decimal without overflow (caps at a large sentinel). -1 if not digits.
long parse_small_uint(std::string_view s) {
    if (s.empty()) return -1;
    long v = 0;
    for (char c : s) {
        if (!is_digit(c)) return -1;
        if (v < 1000000) v = v * 10 + (c - '0');
    }
    return v;
}

// A single value: digits, or (for month/dow) a three-letter English name. -1 if invalid.
long cron_value(std::string_view v, const CronField& f) {
    if (!v.empty() && is_digit(v.front())) return parse_small_uint(v);
    if (f.month_names)
        for (std::size_t i = 0; i < kMonthNames.size(); ++i)
            if (iequals(v, kMonthNames[i])) return static_cast<long>(i) + 1;
    if (f.day_names)
        for (std::size_t i = 0; i < kDayNames.size(); ++i)
            if (iequals(v, kDayNames[i])) return static_cast<long>(i);
    return -1;
}

bool cron_item(std::string_view item, const CronField& f, std::string* why) {
    auto fail = [&](const std::string& msg) {
        set_why(why, std::string(f.name) + " field: " + msg);
        return false;
    };
    if (item.empty()) return fail("empty list element");
    std::string_view base = item, step;
    std::size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
        base = item.substr(0, slash);
        step = item.substr(slash + 1);
        long n = parse_small_uint(step);
        if (n < 1) return fail("step '" + std::string(step) + "' must be a positive number");
    }
    if (base == "*") return true;
    std::size_t dash = base.find('-');
    std::string_view a = base, b;
    if (dash != std::string_view::npos) {
        a = base.substr(0, dash);
        b = base.substr(dash + 1);
    }
    long lo = cron_value(a, f);
    if (lo < 0) return fail("'" + std::string(a) + "' is not a number or name");
    if (lo < f.lo || lo > f.hi)
        return fail(std::to_string(lo) + " is outside " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
    if (dash != std::string_view::npos) {
        long hi = cron_value(b, f);
        if (hi < 0) return fail("'" + std::string(b) + "' is not a number or name");
        if (hi < f.lo || hi > f.hi)
            return fail(std::to_string(hi) + " is outside " + std::to_string(f.lo) + "-" +
                        std::to_string(f.hi));
        if (lo > hi) return fail("range " + std::string(base) + " runs backwards");
    }
    return true;
}

bool cron_is_blank(char c) { return c == ' ' || c == '\t'; }

// Splits on runs of blanks; rejects leading/trailing blanks. Returns false on other whitespace.
bool split_cron_fields(std::string_view s, std::vector<std::string_view>& out, std::string* why) {
    if (s.empty()) {
        set_why(why, "schedule is empty");
        return false;
    }
    if (cron_is_blank(s.front()) || cron_is_blank(s.back())) {
        set_why(why, "schedule has leading or trailing whitespace");
        return false;
    }
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t start = i;
        while (i < s.size() && !cron_is_blank(s[i])) {
            if (is_ctl(static_cast<unsigned char>(s[i]))) {
                set_why(why, "schedule contains a control character");
                return false;
            }
            ++i;
        }
        out.push_back(s.substr(start, i - start));
        if (out.size() > 5) break;
        while (i < s.size() && cron_is_blank(s[i])) ++i;
    }
    return true;
}

}  // namespace

bool is_cron5(std::string_view s, std::string* why) {
    if (!s.empty() && s.front() == '@') {
        static constexpr std::array<std::string_view, 7> kMacros{
            {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}};
        if (std::find(kMacros.begin(), kMacros.end(), s) != kMacros.end()) return true;
        set_why(why, "unknown schedule shorthand (use @yearly, @annually, @monthly, @weekly, @daily, "
                     "@midnight or @hourly)");
        return false;
    }
    std::vector<std::string_view> fields;
    if (!split_cron_fields(s, fields, why)) return false;
    if (fields.size() != 5) {
        set_why(why, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                         std::string(fields.size() > 5 ? "more" : std::to_string(fields.size())));
        return false;
    }
    for (std::size_t f = 0; f < 5; ++f) {
        std::string_view field = fields[f];
        std::size_t start = 0;
        while (true) {
            std::size_t comma = field.find(',', start);
            std::string_view item = field.substr(
                start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
            if (!cron_item(item, kCronFields[f], why)) return false;
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
    }
    return true;
}

bool is_volsync_schedule(std::string_view s, std::string* why) {
    // The CRD pattern: @(annually|yearly|monthly|weekly|daily|hourly) or five fields of
    // N[,N]* | N-N | N/N | * | */N. The controller then parses it with robfig/cron, whose
    // day-of-week range is 0-6, and whose ranges must not run backwards.
    if (!s.empty() && s.front() == '@') {
        static constexpr std::array<std::string_view, 6> kMacros{
            {"@annually", "@yearly", "@monthly", "@weekly", "@daily", "@hourly"}};
        if (std::find(kMacros.begin(), kMacros.end(), s) != kMacros.end()) return true;
        set_why(why, "volsync accepts only @annually, @yearly, @monthly, @weekly, @daily, @hourly");
        return false;
    }
    std::size_t fields = 0, i = 0;
    while (i <= s.size()) {
        std::size_t end = s.find(' ', i);
        if (end == std::string_view::npos) end = s.size();
        std::string_view field = s.substr(i, end - i);
        if (fields >= 5) {
            set_why(why, "expected exactly 5 fields separated by single spaces");
            return false;
        }
        const CronField& f = kCronFields[fields];
        auto fail = [&](const std::string& msg) {
            set_why(why, std::string(f.name) + " field '" + std::string(field) + "': " + msg);
            return false;
        };
        auto check_range = [&](long v) {
            long hi = (fields == 4) ? 6 : f.hi;
            return v >= f.lo && v <= hi;
        };
        if (field.empty()) return fail("empty field (use single spaces between fields)");
        if (field == "*") {
            // fine
        } else if (field.front() == '*') {
            if (field.size() < 3 || field[1] != '/' || parse_small_uint(field.substr(2)) < 1)
                return fail("only '*' or '*/N' may start with '*'");
        } else {
            std::size_t op = field.find_first_of("-/");
            if (op != std::string_view::npos) {
                long a = parse_small_uint(field.substr(0, op));
                long b = parse_small_uint(field.substr(op + 1));
                if (a < 0 || b < 0) return fail("must be N-N or N/N with plain numbers");
                if (!check_range(a)) return fail(std::to_string(a) + " is out of range");
                if (field[op] == '-') {
                    if (!check_range(b)) return fail(std::to_string(b) + " is out of range");
                    if (a > b) return fail("range runs backwards");
                } else if (b < 1) {
                    return fail("step must be positive");
                }
            } else {
                std::size_t start = 0;
                while (true) {
                    std::size_t comma = field.find(',', start);
                    std::string_view v = field.substr(
                        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
                    long n = parse_small_uint(v);
                    if (n < 0) return fail("volsync allows only numbers, N-N, N/N, * and */N (no names)");
                    if (!check_range(n)) return fail(std::to_string(n) + " is out of range");
                    if (comma == std::string_view::npos) break;
                    start = comma + 1;
                }
            }
        }
        ++fields;
        i = end + 1;
    }
    if (fields != 5) {
        set_why(why, "expected exactly 5 fields separated by single spaces");
        return false;
    }
    return true;
}

// =======================================================================================
// Quantity
// =======================================================================================

bool is_quantity(std::string_view s) {
    std::size_t i = 0, n = s.size();
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < n && is_digit(s[i])) ++i, ++int_digits;
    if (i < n && s[i] == '.') {
        ++i;
        while (i < n && is_digit(s[i])) ++i, ++frac_digits;
    }
    if (int_digits + frac_digits == 0) return false;
    std::string_view suffix = s.substr(i);
    if (suffix.empty()) return true;
    static constexpr std::array<std::string_view, 15> kSuffixes{
        {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"}};
    if (std::find(kSuffixes.begin(), kSuffixes.end(), suffix) != kSuffixes.end()) return true;
    if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
        std::size_t j = 1;
        if (suffix[j] == '+' || suffix[j] == '-') ++j;
        if (j >= suffix.size()) return false;
        for (; j < suffix.size(); ++j)
            if (!is_digit(suffix[j])) return false;
        return true;
    }
    return false;
}

// =======================================================================================
// AWS
// =======================================================================================

std::optional<std::string> s3_bucket_problem(std::string_view s) {
    if (s.size() < 3 || s.size() > 63)
        return "bucket name must be 3-63 characters long (got " + std::to_string(s.size()) + ")";
    for (char c : s)
        if (!is_lower(c) && !is_digit(c) && c != '.' && c != '-')
            return std::string("bucket name may contain only lowercase letters, digits, '.' and '-'");
    if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back()))
        return std::string("bucket name must begin and end with a lowercase letter or digit");
    if (s.find("..") != std::string_view::npos)
        return std::string("bucket name must not contain two adjacent periods ('..')");
    {
        // IPv4 shape: four dot-separated groups of 1-3 digits.
        int groups = 0;
        bool ip = true;
        std::size_t start = 0;
        while (ip) {
            std::size_t dot = s.find('.', start);
            std::string_view g =
                s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
            ++groups;
            if (g.empty() || g.size() > 3 || !std::all_of(g.begin(), g.end(), is_digit)) ip = false;
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
        if (ip && groups == 4)
            return std::string("bucket name must not be formatted as an IPv4 address");
    }
    for (std::string_view p : {std::string_view("xn--"), std::string_view("sthree-"),
                               std::string_view("amzn-s3-demo-")})
        if (starts_with(s, p)) return "bucket name must not start with the reserved prefix '" + std::string(p) + "'";
    for (std::string_view p : {std::string_view("-s3alias"), std::string_view("--ol-s3"),
                               std::string_view(".mrap"), std::string_view("--x-s3"),
                               std::string_view("--table-s3")})
        if (ends_with(s, p)) return "bucket name must not end with the reserved suffix '" + std::string(p) + "'";
    return std::nullopt;
}

const std::vector<std::string>& default_aws_regions() {
    static const std::vector<std::string> regions = [] {
        std::vector<std::string> v{
            // partition aws
            "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
            "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
            "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6",
            "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
            "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
            "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
            "us-east-1", "us-east-2", "us-west-1", "us-west-2",
            // partition aws-cn
            "cn-north-1", "cn-northwest-1",
            // partition aws-us-gov
            "us-gov-east-1", "us-gov-west-1"};
        std::sort(v.begin(), v.end());
        return v;
    }();
    return regions;
}

// =======================================================================================
// Paths, text, URLs
// =======================================================================================

bool contains_control_chars(std::string_view s) {
    for (char c : s)
        if (is_ctl(static_cast<unsigned char>(c))) return true;
    return false;
}

std::optional<std::string> subpath_problem(std::string_view s) {
    if (s.empty()) return std::string("path is empty");
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u == 0) return std::string("path contains a NUL byte");
        if (is_ctl(u)) return std::string("path contains a control character");
        if (c == '\\') return std::string("path contains a backslash");
    }
    if (s.front() != '/') return std::string("path must be absolute (start with '/')");
    // Encoded traversal: any "%2e%2e" (any case) anywhere.
    for (std::size_t i = 0; i + 6 <= s.size(); ++i)
        if (iequals(s.substr(i, 6), "%2e%2e")) return std::string("path contains an encoded '..' (%2e%2e)");
    // A segment that is ".." once each "%2e" is read as '.' (covers "..", ".%2e", "%2e.").
    std::size_t start = 1;
    while (start <= s.size()) {
        std::size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) slash = s.size();
        std::string_view seg = s.substr(start, slash - start);
        int dots = 0;
        bool only_dots = true;
        for (std::size_t i = 0; i < seg.size() && only_dots;) {
            if (seg[i] == '.') {
                ++dots;
                ++i;
            } else if (i + 3 <= seg.size() && iequals(seg.substr(i, 3), "%2e")) {
                ++dots;
                i += 3;
            } else {
                only_dots = false;
            }
        }
        if (only_dots && dots == 2) {
            if (seg == "..") return std::string("path contains a '..' segment");
            return std::string("path contains an encoded '..' segment");
        }
        start = slash + 1;
    }
    return std::nullopt;
}

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0, n = s.size();
    while (i < n) {
        auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            if (b0 == 0xE0) lo = 0xA0;       // overlong
            else if (b0 == 0xED) hi = 0x9F;  // surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            if (b0 == 0xF0) lo = 0x90;       // overlong
            else if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
        } else {
            return false;  // continuation byte, C0/C1 overlong lead, or F5..FF
        }
        if (i + len > n) return false;
        auto b1 = static_cast<unsigned char>(s[i + 1]);
        if (b1 < lo || b1 > hi) return false;
        for (std::size_t k = 2; k < len; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if (b < 0x80 || b > 0xBF) return false;
        }
        i += len;
    }
    return true;
}

bool is_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < 36; ++i) {
        bool dash_pos = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash_pos ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

namespace {

bool is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(long y, int m) {
    static constexpr std::array<int, 12> kDays{{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}};
    return (m == 2 && is_leap(y)) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Reads exactly `width` digits at s[pos]; -1 if not all digits or out of bounds.
long fixed_digits(std::string_view s, std::size_t pos, std::size_t width) {
    if (pos + width > s.size()) return -1;
    long v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        if (!is_digit(s[pos + i])) return -1;
        v = v * 10 + (s[pos + i] - '0');
    }
    return v;
}

}  // namespace

bool is_iso8601_utc_or_offset(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS
    if (s.size() < 20) return false;
    long year = fixed_digits(s, 0, 4), month = fixed_digits(s, 5, 2), day = fixed_digits(s, 8, 2);
    long hour = fixed_digits(s, 11, 2), minute = fixed_digits(s, 14, 2), second = fixed_digits(s, 17, 2);
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || minute < 0 || second < 0) return false;
    if (day > days_in_month(year, static_cast<int>(month))) return false;
    if (hour > 23 || minute > 59 || second > 60) return false;
    std::size_t i = 19;
    if (s[i] == '.') {
        std::size_t start = ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i == start) return false;
    }
    if (i >= s.size()) return false;
    if (s[i] == 'Z') return i + 1 == s.size();
    if (s[i] != '+' && s[i] != '-') return false;
    if (s.size() != i + 6 || s[i + 3] != ':') return false;
    long oh = fixed_digits(s, i + 1, 2), om = fixed_digits(s, i + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

bool is_http_url(std::string_view s) {
    std::size_t i;
    if (s.size() >= 7 && iequals(s.substr(0, 7), "http://")) i = 7;
    else if (s.size() >= 8 && iequals(s.substr(0, 8), "https://")) i = 8;
    else return false;
    for (char c : s)
        if (c == ' ' || is_ctl(static_cast<unsigned char>(c))) return false;
    std::size_t end = s.find_first_of("/?#", i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view authority = s.substr(i, end - i);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return false;  // no userinfo
    std::string_view host = authority, port;
    bool has_port = false;
    if (authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (std::size_t k = 1; k < close; ++k)
            if (!is_hex(authority[k]) && authority[k] != ':' && authority[k] != '.') return false;
        host = authority.substr(0, close + 1);
        std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            has_port = true;
            port = rest.substr(1);
        }
    } else {
        std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            has_port = true;
        }
        if (host.empty() || host.front() == '.' || host.front() == '-' || host.back() == '.' ||
            host.find("..") != std::string_view::npos)
            return false;
        for (char c : host)
            if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
    }
    if (has_port) {
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return false;
        long p = parse_small_uint(port);
        if (p < 1 || p > 65535) return false;
    }
    return true;
}

bool is_absolute_clean_path(std::string_view s) {
    if (s.empty() || s.front() != '/') return false;
    if (contains_control_chars(s)) return false;
    if (s.size() == 1) return true;
    std::size_t start = 1;
    while (true) {
        std::size_t slash = s.find('/', start);
        std::string_view seg =
            s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..") return false;  // "//", trailing '/', dot segments
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool path_is_under(std::string_view path, std::string_view root) {
    if (root.empty() || path.empty()) return false;
    // A ".." segment could climb back out of root, so such a path is never "under" anything.
    for (std::size_t start = 0;;) {
        std::size_t slash = path.find('/', start);
        std::string_view seg =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (seg == "..") return false;
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    if (root.back() == '/') root.remove_suffix(1);
    if (root.empty()) return path.front() == '/';  // root was "/"
    if (path == root) return true;
    return path.size() > root.size() && starts_with(path, root) && path[root.size()] == '/';
}

bool is_below_an_app_root(std::string_view path, const std::vector<std::string>& roots) {
    auto trimmed = [](std::string_view s) {
        while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
        return s;
    };
    const std::string_view p = trimmed(path);
    return std::any_of(roots.begin(), roots.end(), [&](const std::string& root) {
        const std::string_view r = trimmed(root);
        return p != r && path_is_under(p, r);
    });
}

// =======================================================================================
// SHA-256 and SHA-1 (FIPS 180-4)
// =======================================================================================

namespace {

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }
constexpr std::uint32_t rotl(std::uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

std::uint32_t load_be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

// Feeds the message and the FIPS 180-4 padding (0x80, zeros, 64-bit big-endian bit length)
// to `compress` one 64-byte block at a time.
template <typename Compress>
void md_blocks(std::string_view data, Compress&& compress) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    std::size_t full = n / 64;
    for (std::size_t b = 0; b < full; ++b) compress(p + b * 64);
    std::array<unsigned char, 128> tail{};
    std::size_t rem = n - full * 64;
    for (std::size_t k = 0; k < rem; ++k) tail[k] = p[full * 64 + k];
    tail[rem] = 0x80;
    std::size_t tail_len = (rem + 1 + 8 <= 64) ? 64 : 128;
    std::uint64_t bits = static_cast<std::uint64_t>(n) * 8u;
    for (int k = 0; k < 8; ++k)
        tail[tail_len - 1 - static_cast<std::size_t>(k)] = static_cast<unsigned char>(bits >> (8 * k));
    compress(tail.data());
    if (tail_len == 128) compress(tail.data() + 64);
}

template <std::size_t N>
std::string words_hex(const std::array<std::uint32_t, N>& h) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(N * 8);
    for (std::uint32_t w : h)
        for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHex[(w >> shift) & 0xF]);
    return out;
}

std::array<std::uint32_t, 5> sha1_words(std::string_view data) {
    std::array<std::uint32_t, 5> h{{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u}};
    md_blocks(data, [&h](const unsigned char* block) {
        std::array<std::uint32_t, 80> w{};
        for (std::size_t t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
        for (std::size_t t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (std::size_t t = 0; t < 80; ++t) {
            std::uint32_t f, k;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999u;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1u;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDCu;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6u;
            }
            std::uint32_t temp = rotl(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = temp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    });
    return h;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    static constexpr std::array<std::uint32_t, 64> K{{
        0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
        0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
        0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
        0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
        0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
        0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
        0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
        0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
        0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
        0xc67178f2u,
    }};
    std::array<std::uint32_t, 8> h{{0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu,
                                    0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u}};
    md_blocks(data, [&h](const unsigned char* block) {
        std::array<std::uint32_t, 64> w{};
        for (std::size_t t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
        for (std::size_t t = 16; t < 64; ++t) {
            std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (std::size_t t = 0; t < 64; ++t) {
            std::uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            std::uint32_t ch = (e & f) ^ (~e & g);
            std::uint32_t t1 = hh + S1 + ch + K[t] + w[t];
            std::uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            std::uint32_t t2 = S0 + maj;
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    });
    return words_hex(h);
}

std::string sha1_hex(std::string_view data) { return words_hex(sha1_words(data)); }

// =======================================================================================
// UUIDs and time
// =======================================================================================

namespace {

std::string format_uuid(const std::array<unsigned char, 16>& b) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHex[b[i] >> 4]);
        out.push_back(kHex[b[i] & 0xF]);
    }
    return out;
}

}  // namespace

std::string uuid_v5(std::string_view namespace_uuid, std::string_view name) {
    if (!is_uuid(namespace_uuid))
        throw std::invalid_argument("uuid_v5: namespace is not a UUID: " + std::string(namespace_uuid));
    std::string input;
    input.reserve(16 + name.size());
    for (std::size_t i = 0; i < 36;) {
        if (namespace_uuid[i] == '-') {
            ++i;
            continue;
        }
        input.push_back(static_cast<char>(hex_value(namespace_uuid[i]) * 16 + hex_value(namespace_uuid[i + 1])));
        i += 2;
    }
    input.append(name.data(), name.size());
    std::array<std::uint32_t, 5> h = sha1_words(input);
    std::array<unsigned char, 16> b{};
    for (std::size_t i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(h[i / 4] >> (24 - 8 * (i % 4)));
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x50);  // version 5
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    return format_uuid(b);
}

std::string uuid_v4_random() {
    std::random_device rd;
    std::array<unsigned char, 16> b{};
    for (std::size_t i = 0; i < 16; i += 4) {
        std::uint32_t r = rd();
        for (std::size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(r >> (8 * k));
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    return format_uuid(b);
}

std::string format_utc_iso8601(std::int64_t unix_seconds) {
    // Split into days and seconds-of-day with floor semantics (works before 1970 too).
    std::int64_t days = unix_seconds / 86400;
    std::int64_t sod = unix_seconds % 86400;
    if (sod < 0) {
        sod += 86400;
        --days;
    }
    // Civil date from a day count (proleptic Gregorian, 400-year eras of 146097 days).
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;                                  // [0, 146096]
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    std::int64_t y = yoe + era * 400;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365], year starts March 1
    std::int64_t mp = (5 * doy + 2) / 153;                       // [0, 11]
    std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;

    auto two = [](std::int64_t v) {
        return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
    };
    std::string year = std::to_string(y);
    if (y >= 0 && year.size() < 4) year.insert(0, 4 - year.size(), '0');
    return year + "-" + two(m) + "-" + two(d) + "T" + two(sod / 3600) + ":" + two(sod / 60 % 60) + ":" +
           two(sod % 60) + "Z";
}

std::string utc_now_iso8601() {
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return format_utc_iso8601(static_cast<std::int64_t>(now.time_since_epoch().count()));
}

}  // namespace appforge::rules
