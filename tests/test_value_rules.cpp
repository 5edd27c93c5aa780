// Table-driven tests for appforge::rules (value_rules.hpp).
// The suite's main() lives in tests/test_main.cpp.
#include <catch2/catch.hpp>

#include "alloc_count.hpp"
#include "appforge/value_rules.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace appforge::rules;

namespace {

struct BoolCase {
    std::string input;
    bool expected;
};

struct PairCase {
    std::string a;
    std::string b;
    bool expected;
};

template <typename F>
void check_bool_table(const std::vector<BoolCase>& cases, F&& fn) {
    for (const auto& c : cases) {
        CAPTURE(c.input);
        CHECK(fn(c.input) == c.expected);
    }
}

template <typename F>
void check_pair_table(const std::vector<PairCase>& cases, F&& fn) {
    for (const auto& c : cases) {
        CAPTURE(c.a, c.b);
        CHECK(fn(c.a, c.b) == c.expected);
    }
}

std::string rep(const std::string& unit, std::size_t n) {
    std::string out;
    out.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += unit;
    return out;
}

const std::string kHex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

// ---------------------------------------------------------------------------------------
// Kubernetes names
// ---------------------------------------------------------------------------------------

TEST_CASE("is_dns1123_label", "[value_rules][names]") {
    check_bool_table(
        {
            {"a", true},
            {"0", true},
            {"abc", true},
            {"a-b", true},
            {"a--b", true},
            {"1abc", true},
            {"abc1", true},
            {std::string(63, 'a'), true},
            {std::string(64, 'a'), false},
            {"", false},
            {"-a", false},
            {"a-", false},
            {"-", false},
            {"A", false},
            {"aB", false},
            {"a_b", false},
            {"a.b", false},
            {"a b", false},
            {"\xC3\xA4", false},
        },
        is_dns1123_label);
}

TEST_CASE("is_dns1123_subdomain", "[value_rules][names]") {
    const std::string l63(63, 'a');
    const std::string len253 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
    const std::string len254 = l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b');
    REQUIRE(len253.size() == 253);
    REQUIRE(len254.size() == 254);
    check_bool_table(
        {
            {"a", true},
            {"a.b", true},
            {"example.com", true},
            {"a-1.b-2.c", true},
            {"my-app-data", true},
            // apimachinery limits only the total length, not each label
            {std::string(64, 'a') + ".b", true},
            {len253, true},
            {len254, false},
            {"", false},
            {".a", false},
            {"a.", false},
            {"a..b", false},
            {"A.b", false},
            {"a_b.c", false},
            {"-a.b", false},
            {"a-.b", false},
            {"a.-b", false},
        },
        is_dns1123_subdomain);
}

TEST_CASE("is_dns1035_label", "[value_rules][names]") {
    check_bool_table(
        {
            {"a", true},
            {"abc", true},
            {"a1", true},
            {"a-b", true},
            {"web-svc-2", true},
            {std::string(63, 'a'), true},
            {std::string(64, 'a'), false},
            {"1abc", false},  // leading digit: valid app name, invalid Service name
            {"0", false},
            {"", false},
            {"-a", false},
            {"a-", false},
            {"Abc", false},
            {"a.b", false},
        },
        is_dns1035_label);
}

TEST_CASE("is_label_value", "[value_rules][names]") {
    check_bool_table(
        {
            {"", true},
            {"a", true},
            {"A", true},
            {"a.b", true},
            {"a_b", true},
            {"a-b", true},
            {"MyApp_v1.2-rc1", true},
            {std::string(63, 'z'), true},
            {std::string(64, 'z'), false},
            {"-a", false},
            {"a-", false},
            {".a", false},
            {"a.", false},
            {"_a", false},
            {"a_", false},
            {"a b", false},
            {"a/b", false},
            {"a:b", false},
        },
        is_label_value);
}

TEST_CASE("matches_app_name_pattern has no length limit", "[value_rules][names]") {
    check_bool_table(
        {
            {"a", true},
            {"my-app", true},
            {"1abc", true},
            {std::string(100, 'a'), true},
            {"", false},
            {"My-app", false},
            {"-a", false},
            {"a-", false},
            {"a_b", false},
            {"a.b", false},
        },
        matches_app_name_pattern);
}

TEST_CASE("is_hostname", "[value_rules][names]") {
    const std::string l63(63, 'a');
    check_bool_table(
        {
            {"example.com", true},
            {"a.b.c", true},
            {"app.home.example.org", true},
            {"localhost", true},
            {"xn--bcher-kva.example", true},
            {l63 + ".com", true},
            {l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b'), true},
            {l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b'), false},
            {std::string(64, 'a') + ".com", false},
            {"", false},
            {"Example.com", false},
            {"a..b", false},
            {".a", false},
            {"a.", false},
            {"*.example.com", false},
            {"a_b.com", false},
            {"a b.com", false},
            {"-a.com", false},
        },
        is_hostname);
}

TEST_CASE("is_under_zone", "[value_rules][names]") {
    check_pair_table(
        {
            {"app.example.com", "example.com", true},
            {"example.com", "example.com", true},
            {"a.b.example.com", "example.com", true},
            {"evilexample.com", "example.com", false},
            {"example.com.evil", "example.com", false},
            {".example.com", "example.com", false},
            {"example.com", "app.example.com", false},
            {"", "example.com", false},
            {"app.example.com", "", false},
            {"", "", false},
        },
        is_under_zone);
}

TEST_CASE("glob_match", "[value_rules][names]") {
    check_pair_table(
        {
            {"kube-*", "kube-system", true},
            {"kube-*", "kube-", true},
            {"kube-*", "kube", false},
            {"kube-*", "mykube-system", false},
            {"*-system", "kube-system", true},
            {"*-system", "kube-systems", false},
            {"flux-system", "flux-system", true},
            {"flux-system", "flux-systems", false},
            {"*", "", true},
            {"*", "anything", true},
            {"**", "abc", true},
            {"", "", true},
            {"", "a", false},
            {"a?c", "abc", true},
            {"a?c", "ac", false},
            {"?", "", false},
            {"*a*b*c", "xaybzc", true},
            {"*a*b*c", "xaybzcd", false},
            {"a*b*c*d", "abcd", true},
            {"a*a*a", "aa", false},
        },
        glob_match);
}

// ---------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------

TEST_CASE("parse_image_reference accepts valid references", "[value_rules][image]") {
    struct Case {
        std::string input, domain, path, tag, digest;
    };
    const std::vector<Case> cases{
        {"nginx", "", "nginx", "", ""},
        {"nginx:1.25", "", "nginx", "1.25", ""},
        {"library/nginx", "", "library/nginx", "", ""},
        {"owner/app", "", "owner/app", "", ""},
        {"ghcr.io/owner/app:v1.0.0", "ghcr.io", "owner/app", "v1.0.0", ""},
        {"localhost:5000/a/b@sha256:" + kHex64, "localhost:5000", "a/b", "", "sha256:" + kHex64},
        {"localhost/foo", "localhost", "foo", "", ""},
        {"registry.example.com:443/team/app:1.0@sha256:" + kHex64, "registry.example.com:443",
         "team/app", "1.0", "sha256:" + kHex64},
        {"[::1]:5000/app:1", "[::1]:5000", "app", "1", ""},
        {"my_org/my-app__x.y:tag_1", "", "my_org/my-app__x.y", "tag_1", ""},
        {"a---b", "", "a---b", "", ""},
        {"foo:5000", "", "foo", "5000", ""},  // no '/', so ":5000" is a tag
        {"nginx:" + std::string(128, 't'), "", "nginx", std::string(128, 't'), ""},
        {"app@blake3:" + kHex64, "", "app", "", "blake3:" + kHex64},  // unregistered algo: grammar only
        {"Registry.Example.com/app", "Registry.Example.com", "app", "", ""},
        {std::string(255, 'a'), "", std::string(255, 'a'), "", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        std::string why;
        auto r = parse_image_reference(c.input, &why);
        REQUIRE(r.has_value());
        CHECK(why.empty());
        CHECK(r->domain == c.domain);
        CHECK(r->path == c.path);
        CHECK(r->tag == c.tag);
        CHECK(r->digest == c.digest);
        CHECK(image_reference_string(*r) == c.input);
    }
}

TEST_CASE("parse_image_reference rejects invalid references with a reason", "[value_rules][image]") {
    struct Case {
        std::string input;
        std::string why_contains;  // empty: only require some reason
    };
    const std::vector<Case> cases{
        {"", "empty"},
        {"Nginx", "lowercase"},
        {"ghcr.io/Owner/app", "lowercase"},
        {"nginx:", ""},
        {"nginx:" + std::string(129, 't'), "128"},
        {"nginx:-bad", ""},
        {"nginx:.bad", ""},
        {"nginx@sha256:abc", "32"},
        {"nginx@sha256:" + std::string(64, 'A'), "lowercase"},
        {"nginx@sha256:" + kHex64.substr(0, 63), "64"},
        {"nginx@sha256", "algorithm"},
        {"nginx@1sha:" + kHex64, "algorithm"},
        {"nginx@sha256:" + kHex64 + "@x", ""},
        {"a..b", ""},
        {"a._b", ""},
        {"a___b", ""},
        {"-a", ""},
        {"a-", ""},
        {"a//b", "empty"},
        {"/a", "empty"},
        {"a/", "empty"},
        {"ghcr.io/", "no repository path"},
        {"ghcr.io:abc/app", "port"},
        {"-bad.io/app", "domain"},
        {"[::1/app", ""},
        {"nginx with space", ""},
        {"a:b:c", ""},
        {std::string(256, 'a'), "255"},
        {kHex64, "image ID"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        std::string why;
        auto r = parse_image_reference(c.input, &why);
        CHECK_FALSE(r.has_value());
        CHECK_FALSE(why.empty());
        if (!c.why_contains.empty()) CHECK_THAT(why, Catch::Contains(c.why_contains));
    }
    // the out-parameter is optional
    CHECK_FALSE(parse_image_reference("Nginx").has_value());
}

TEST_CASE("normalize_image applies Docker Hub defaults", "[value_rules][image]") {
    struct Case {
        std::string input, normalized;
    };
    const std::vector<Case> cases{
        {"nginx", "docker.io/library/nginx:latest"},
        {"nginx:1.25", "docker.io/library/nginx:1.25"},
        {"owner/app", "docker.io/owner/app:latest"},
        {"docker.io/nginx:1", "docker.io/library/nginx:1"},
        {"index.docker.io/nginx", "docker.io/library/nginx:latest"},
        {"ghcr.io/owner/app:v1.0.0", "ghcr.io/owner/app:v1.0.0"},
        {"localhost:5000/app", "localhost:5000/app:latest"},
        {"nginx@sha256:" + kHex64, "docker.io/library/nginx@sha256:" + kHex64},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        auto r = parse_image_reference(c.input);
        REQUIRE(r.has_value());
        CHECK(image_reference_string(normalize_image(*r)) == c.normalized);
    }
}

// ---------------------------------------------------------------------------------------
// Cron and quantities
// ---------------------------------------------------------------------------------------

TEST_CASE("is_cron5", "[value_rules][cron]") {
    check_bool_table(
        {
            {"* * * * *", true},
            {"0 3 * * *", true},
            {"*/15 * * * *", true},
            {"0 0-23/2 * * *", true},
            {"5/10 * * * *", true},
            {"0 9-17 * * MON-FRI", true},
            {"0 9-17 * * mon-fri", true},
            {"0 0 1 JAN,jul *", true},
            {"0 0 1 Jan-Mar *", true},
            {"0 0 * * 7", true},
            {"0 0 * * 0", true},
            {"5,10,15 * * * *", true},
            {"0 0 1-31 1-12 0-7", true},
            {"30 2 * * sun", true},
            {"59 23 31 12 6", true},
            {"0  0 * *\t*", true},
            {"@yearly", true},
            {"@annually", true},
            {"@monthly", true},
            {"@weekly", true},
            {"@daily", true},
            {"@midnight", true},
            {"@hourly", true},
            {"", false},
            {"* * * *", false},
            {"* * * * * *", false},
            {"60 * * * *", false},
            {"* 24 * * *", false},
            {"* * 0 * *", false},
            {"* * 32 * *", false},
            {"* * * 0 *", false},
            {"* * * 13 *", false},
            {"* * * * 8", false},
            {"*/0 * * * *", false},
            {"5-1 * * * *", false},
            {"MON * * * *", false},
            {"* * * MON *", false},
            {"* * * * JAN", false},
            {"* * * * MONDAY", false},
            {"1,,2 * * * *", false},
            {"1, * * * *", false},
            {"@every 1h", false},
            {"@reboot", false},
            {"@DAILY", false},
            {" * * * * *", false},
            {"* * * * * ", false},
            {"a * * * *", false},
            {"1- * * * *", false},
            {"-1 * * * *", false},
            {"*/ * * * *", false},
            {"** * * * *", false},
            {"1/2/3 * * * *", false},
            {"99999999999999999999 * * * *", false},
            {"* * * * *\n", false},
        },
        [](const std::string& s) { return is_cron5(s); });
}

TEST_CASE("is_cron5 names the broken field", "[value_rules][cron]") {
    std::string why;
    CHECK_FALSE(is_cron5("60 * * * *", &why));
    CHECK_THAT(why, Catch::Contains("minute"));
    why.clear();
    CHECK_FALSE(is_cron5("* * * * 8", &why));
    CHECK_THAT(why, Catch::Contains("day-of-week"));
    why.clear();
    CHECK_FALSE(is_cron5("* * *", &why));
    CHECK_THAT(why, Catch::Contains("5 fields"));
    why.clear();
    CHECK(is_cron5("0 3 * * *", &why));
    CHECK(why.empty());
}

TEST_CASE("is_volsync_schedule follows the CRD pattern and robfig/cron", "[value_rules][cron]") {
    check_bool_table(
        {
            {"0 3 * * *", true},
            {"*/5 * * * *", true},
            {"0 0 1,15 * *", true},
            {"0 1-5 * * *", true},
            {"0 2/3 * * *", true},
            {"0 0 * * 6", true},
            {"0 0 * * 0", true},
            {"@daily", true},
            {"@annually", true},
            {"@hourly", true},
            {"@midnight", false},  // robfig knows it, the CRD pattern does not
            {"0 0 * * MON", false},
            {"0 0 * JAN *", false},
            {"0 0 * * 7", false},  // robfig's day-of-week range is 0-6
            {"0 0 * * 1-5/2", false},
            {"0 0 1-5,7 * *", false},
            {"0  3 * * *", false},
            {"0 3 * * * ", false},
            {"0 3 * * *  ", false},
            {"60 * * * *", false},
            {"5-1 * * * *", false},
            {"*/0 * * * *", false},
            {"* * * *", false},
            {"* * * * * *", false},
            {"", false},
        },
        [](const std::string& s) { return is_volsync_schedule(s); });
    std::string why;
    CHECK_FALSE(is_volsync_schedule("0 0 * * MON", &why));
    CHECK_FALSE(why.empty());
}

TEST_CASE("is_quantity", "[value_rules][quantity]") {
    check_bool_table(
        {
            {"1", true},
            {"0", true},
            {"100m", true},
            {"1.5", true},
            {".5", true},
            {"5.", true},
            {"1Gi", true},
            {"512Mi", true},
            {"1Ki", true},
            {"2Ti", true},
            {"1Pi", true},
            {"1Ei", true},
            {"+1", true},
            {"-1", true},
            {"1e3", true},
            {"1E3", true},
            {"1e-3", true},
            {"1e+3", true},
            {"1n", true},
            {"1u", true},
            {"1k", true},
            {"1M", true},
            {"1G", true},
            {"1T", true},
            {"1P", true},
            {"1E", true},
            {"0.5Gi", true},
            {"-0.1m", true},
            {"", false},
            {"Gi", false},
            {"1gi", false},
            {"1K", false},
            {"1KB", false},
            {"1 Gi", false},
            {"1.2.3", false},
            {".", false},
            {"+", false},
            {"-", false},
            {"1e", false},
            {"1e+", false},
            {"1e1.5", false},
            {"1ki", false},
            {"1Mb", false},
            {"abc", false},
            {"1Gi ", false},
            {" 1", false},
            {"1ee3", false},
            {"--1", false},
        },
        is_quantity);
}

// ---------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------

TEST_CASE("s3_bucket_problem", "[value_rules][aws]") {
    for (const std::string& ok : {std::string("my-bucket"), std::string("abc"), std::string(63, 'b'),
                                 std::string("a.b.c"), std::string("1bucket"), std::string("bucket-1"),
                                 std::string("my.bucket.name"), std::string("1.2.3"),
                                 std::string("192.168.5.4a"), std::string("xn-bucket")}) {
        CAPTURE(ok);
        CHECK_FALSE(s3_bucket_problem(ok).has_value());
    }
    struct Case {
        std::string input, why_contains;
    };
    const std::vector<Case> bad{
        {"", "3-63"},
        {"ab", "3-63"},
        {std::string(64, 'b'), "3-63"},
        {"My-bucket", "lowercase"},
        {"my_bucket", "lowercase"},
        {"my bucket", "lowercase"},
        {"-bucket", "begin and end"},
        {"bucket-", "begin and end"},
        {".bucket", "begin and end"},
        {"my..bucket", ".."},
        {"192.168.5.4", "IPv4"},
        {"xn--bucket", "xn--"},
        {"sthree-bucket", "sthree-"},
        {"sthree-configurator", "sthree-"},
        {"amzn-s3-demo-bucket", "amzn-s3-demo-"},
        {"bucket-s3alias", "-s3alias"},
        {"bucket--ol-s3", "--ol-s3"},
        {"bucket.mrap", ".mrap"},
        {"bucket--x-s3", "--x-s3"},
        {"bucket--table-s3", "--table-s3"},
    };
    for (const auto& c : bad) {
        CAPTURE(c.input);
        auto p = s3_bucket_problem(c.input);
        REQUIRE(p.has_value());
        CHECK_THAT(*p, Catch::Contains(c.why_contains));
    }
}

TEST_CASE("default_aws_regions", "[value_rules][aws]") {
    const auto& regions = default_aws_regions();
    CHECK(regions.size() == 38);
    CHECK(std::is_sorted(regions.begin(), regions.end()));
    CHECK(std::set<std::string>(regions.begin(), regions.end()).size() == regions.size());
    for (const char* r : {"us-east-1", "us-west-2", "eu-central-2", "ap-southeast-7", "ap-east-2",
                          "mx-central-1", "il-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
                          "us-gov-east-1", "us-gov-west-1"}) {
        CAPTURE(r);
        CHECK(std::binary_search(regions.begin(), regions.end(), std::string(r)));
    }
    for (const char* r : {"us-east-3", "eu-west-4", "ap-southeast-8", "local", ""}) {
        CAPTURE(r);
        CHECK_FALSE(std::binary_search(regions.begin(), regions.end(), std::string(r)));
    }
    CHECK(&default_aws_regions() == &regions);
}

// ---------------------------------------------------------------------------------------
// Paths, text, URLs
// ---------------------------------------------------------------------------------------

TEST_CASE("subpath_problem", "[value_rules][paths]") {
    for (const std::string ok : {"/", "/mnt/apps01/appdata/app", "/a/b.c", "/a/...", "/a/.hidden",
                                 "/a/..b", "/a/b..", "/a/%2e", "/a/./b", "/mnt/data01/media"}) {
        CAPTURE(ok);
        CHECK_FALSE(subpath_problem(ok).has_value());
    }
    struct Case {
        std::string input, why_contains;
    };
    const std::vector<Case> bad{
        {"", "empty"},
        {"relative/path", "absolute"},
        {"../a", "absolute"},
        {"/a/../b", ".."},
        {"/..", ".."},
        {"/a/..", ".."},
        {"/a/%2e%2e/b", "encoded"},
        {"/a/%2E%2E", "encoded"},
        {"/a/%2e%2E", "encoded"},
        {"/a/.%2e/b", "encoded"},
        {"/a/%2E./b", "encoded"},
        {"/a/b%2e%2ec", "encoded"},
        {"/a\\b", "backslash"},
        {std::string("/a\0b", 4), "NUL"},
        {"/a\nb", "control"},
        {"/a\x7f", "control"},
    };
    for (const auto& c : bad) {
        CAPTURE(c.input);
        auto p = subpath_problem(c.input);
        REQUIRE(p.has_value());
        CHECK_THAT(*p, Catch::Contains(c.why_contains));
    }
}

TEST_CASE("contains_control_chars", "[value_rules][text]") {
    check_bool_table(
        {
            {"\n", true},
            {"a\tb", true},
            {"\x7f", true},
            {std::string("a\0b", 3), true},
            {"\x1b[31m", true},
            {"\r", true},
            {"", false},
            {"abc", false},
            {"\xC3\xA4", false},
            {"~ !", false},
        },
        contains_control_chars);
}

TEST_CASE("is_valid_utf8", "[value_rules][text]") {
    check_bool_table(
        {
            {"", true},
            {"abc", true},
            {"\xC3\xA4", true},              // U+00E4
            {"\xE2\x82\xAC", true},          // U+20AC
            {"\xF0\x9D\x84\x9E", true},      // U+1D11E
            {"\xF4\x8F\xBF\xBF", true},      // U+10FFFF
            {"\xEF\xBF\xBF", true},          // U+FFFF
            {"\xED\x9F\xBF", true},          // U+D7FF
            {"\xEE\x80\x80", true},          // U+E000
            {"\xC2\x80", true},              // U+0080
            {"a\xE2\x82\xAC" "b", true},
            {"\xC0\xAF", false},             // overlong '/'
            {"\xC1\xBF", false},             // overlong
            {"\xE0\x80\xAF", false},         // overlong
            {"\xE0\x9F\xBF", false},         // overlong
            {"\xF0\x80\x80\xAF", false},     // overlong
            {"\xF0\x8F\xBF\xBF", false},     // overlong
            {"\xED\xA0\x80", false},         // surrogate U+D800
            {"\xED\xBF\xBF", false},         // surrogate U+DFFF
            {"\xF4\x90\x80\x80", false},     // U+110000
            {"\xF5\x80\x80\x80", false},
            {"\xFF", false},
            {"\x80", false},
            {"\xC3", false},                 // truncated
            {"\xE2\x82", false},             // truncated
            {"\xF0\x9D\x84", false},         // truncated
            {"\xC3\x28", false},             // bad continuation
            {"a\xE2\x82\xAC" "b\xBF", false},
        },
        is_valid_utf8);
}

TEST_CASE("is_uuid", "[value_rules][text]") {
    check_bool_table(
        {
            {"6ba7b810-9dad-11d1-80b4-00c04fd430c8", true},
            {"6BA7B810-9DAD-11D1-80B4-00C04FD430C8", true},
            {"00000000-0000-0000-0000-000000000000", true},
            {"", false},
            {"6ba7b8109dad11d180b400c04fd430c8", false},
            {"6ba7b810-9dad-11d1-80b4-00c04fd430c", false},
            {"6ba7b810-9dad-11d1-80b4-00c04fd430c8a", false},
            {"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", false},
            {"6ba7b810-9dad-11d1-80b4_00c04fd430c8", false},
            {"6ba7b810-9dad-11d1-80b400-c04fd430c8", false},
            {"gba7b810-9dad-11d1-80b4-00c04fd430c8", false},
        },
        is_uuid);
}

TEST_CASE("is_iso8601_utc_or_offset", "[value_rules][time]") {
    check_bool_table(
        {
            {"2026-11-26T06:05:00Z", true},
            {"2024-02-29T00:00:00Z", true},
            {"2000-02-29T12:00:00+01:00", true},
            {"2026-01-01T00:00:00.123456Z", true},
            {"2026-01-01T00:00:00.1-05:30", true},
            {"2026-12-31T23:59:60Z", true},
            {"2026-06-30T23:59:59-07:00", true},
            {"1970-01-01T00:00:00+00:00", true},
            {"2026-01-31T00:00:00Z", true},
            {"", false},
            {"2026-11-26", false},
            {"2026-11-26T06:05:00", false},
            {"2026-11-26 06:05:00Z", false},
            {"2026-13-01T00:00:00Z", false},
            {"2026-00-01T00:00:00Z", false},
            {"2026-01-00T00:00:00Z", false},
            {"2023-02-29T00:00:00Z", false},
            {"1900-02-29T00:00:00Z", false},
            {"2026-04-31T00:00:00Z", false},
            {"2026-11-26T24:00:00Z", false},
            {"2026-11-26T23:60:00Z", false},
            {"2026-11-26T23:59:61Z", false},
            {"2026-11-26T06:05:00.Z", false},
            {"2026-11-26T06:05:00+0100", false},
            {"2026-11-26T06:05:00+24:00", false},
            {"2026-11-26T06:05:00+01:60", false},
            {"2026-11-26t06:05:00z", false},
            {"2026-11-26T06:05:00Zjunk", false},
            {"2026-11-26T06:05:00+01:00x", false},
            {"26-11-26T06:05:00Z", false},
            {"2026-1-26T06:05:00Z", false},
            {"2026-11-26T6:05:00Z", false},
        },
        is_iso8601_utc_or_offset);
}

TEST_CASE("is_http_url", "[value_rules][urls]") {
    check_bool_table(
        {
            {"http://example.com", true},
            {"https://example.com/", true},
            {"https://example.com:8443/path?q=1#f", true},
            {"http://localhost:8080", true},
            {"HTTPS://Example.com", true},
            {"http://10.0.0.1/x", true},
            {"http://[::1]:9000/", true},
            {"https://a.b-c.d/x%20y", true},
            {"https://example.com?x", true},
            {"https://komodo.home.arpa:9120/read", true},
            {"", false},
            {"ftp://example.com", false},
            {"http://", false},
            {"https:///path", false},
            {"http:// example.com", false},
            {"https://exa mple.com", false},
            {"https://example.com/a b", false},
            {"https://example.com/\n", false},
            {"https://user:pass@example.com/", false},
            {"https://example.com:/", false},
            {"https://example.com:0", false},
            {"https://example.com:65536", false},
            {"https://example.com:abc", false},
            {"https://.example.com", false},
            {"https://example..com", false},
            {"https://-a.com", false},
            {"http:/example.com", false},
            {"example.com", false},
            {"https://[::1", false},
            {"https://[]/", false},
        },
        is_http_url);
}

TEST_CASE("is_absolute_clean_path", "[value_rules][paths]") {
    check_bool_table(
        {
            {"/", true},
            {"/mnt", true},
            {"/mnt/apps01/appdata/app", true},
            {"/a/.hidden", true},
            {"/a/..b", true},
            {"/a/b.c", true},
            {"", false},
            {"mnt", false},
            {"./a", false},
            {"//", false},
            {"/a//b", false},
            {"/a/", false},
            {"/./a", false},
            {"/a/.", false},
            {"/a/../b", false},
            {"/..", false},
            {"/a\nb", false},
            {"/a\x7f", false},
        },
        is_absolute_clean_path);
}

TEST_CASE("path_is_under", "[value_rules][paths]") {
    check_pair_table(
        {
            {"/mnt/apps01", "/mnt/apps01", true},
            {"/mnt/apps01/app", "/mnt/apps01", true},
            {"/mnt/apps01/app", "/mnt/apps01/", true},
            {"/mnt/apps01", "/mnt/apps01/", true},
            {"/mnt/apps01/a/b", "/mnt", true},
            {"/anything", "/", true},
            {"/", "/", true},
            {"/mnt/apps01x", "/mnt/apps01", false},
            {"/mnt/apps0", "/mnt/apps01", false},
            {"/mnt", "/mnt/apps01", false},
            {"/mnt/apps01/../etc", "/mnt/apps01", false},
            {"/mnt/apps01/..", "/mnt/apps01", false},
            {"", "/mnt", false},
            {"/mnt", "", false},
            {"relative", "/", false},
        },
        path_is_under);
}

// ---------------------------------------------------------------------------------------
// Hashing, ids, time
// ---------------------------------------------------------------------------------------

TEST_CASE("sha256_hex known vectors", "[value_rules][hash]") {
    struct Case {
        std::string input, hex;
    };
    const std::vector<Case> cases{
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        // padding boundaries
        {std::string(55, 'x'), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {std::string(56, 'x'), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {std::string(63, 'x'), "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {std::string(64, 'x'), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {std::string(119, 'x'), "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {std::string(120, 'x'), "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
        {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input.size());
        CHECK(sha256_hex(c.input) == c.hex);
    }
}

TEST_CASE("sha1_hex known vectors", "[value_rules][hash]") {
    struct Case {
        std::string input, hex;
    };
    const std::vector<Case> cases{
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {std::string(55, 'x'), "cef734ba81a024479e09eb5a75b6ddae62e6abf1"},
        {std::string(56, 'x'), "901305367c259952f4e7af8323f480d59f81335b"},
        {std::string(64, 'x'), "bb2fa3ee7afb9f54c6dfb5d021f14b1ffe40c163"},
        {std::string(120, 'x'), "ceb2821639c4b6dcb10bce0e522ca2e608ce056d"},
        {std::string(1000000, 'a'), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input.size());
        CHECK(sha1_hex(c.input) == c.hex);
    }
}

TEST_CASE("uuid_v5 known vectors", "[value_rules][uuid]") {
    const std::string dns_ns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    CHECK(uuid_v5(dns_ns, "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    CHECK(uuid_v5(dns_ns, "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    CHECK(uuid_v5(dns_ns, "") == "4ebd0208-8328-5d69-8c44-ec50939c0967");
    CHECK(uuid_v5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://example.com/a") ==
          "6639460f-3425-5329-8097-a58f06127860");
    // the namespace's case does not matter
    CHECK(uuid_v5("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "www.example.com") ==
          "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    CHECK_THROWS_AS(uuid_v5("not-a-uuid", "x"), std::invalid_argument);
    CHECK_THROWS_AS(uuid_v5("", "x"), std::invalid_argument);
}

TEST_CASE("uuid_v4_random", "[value_rules][uuid]") {
    const std::string a = uuid_v4_random(), b = uuid_v4_random();
    CHECK(is_uuid(a));
    CHECK(is_uuid(b));
    CHECK(a != b);
    CHECK(a[14] == '4');
    CHECK(std::string("89ab").find(a[19]) != std::string::npos);
    CHECK(std::none_of(a.begin(), a.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
}

TEST_CASE("format_utc_iso8601 and utc_now_iso8601", "[value_rules][time]") {
    struct Case {
        std::int64_t secs;
        std::string text;
    };
    const std::vector<Case> cases{
        {0, "1970-01-01T00:00:00Z"},
        {-1, "1969-12-31T23:59:59Z"},
        {951782400, "2000-02-29T00:00:00Z"},
        {1795500300, "2026-11-24T06:05:00Z"},
        {4102444799, "2099-12-31T23:59:59Z"},
        {253402300799, "9999-12-31T23:59:59Z"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.secs);
        CHECK(format_utc_iso8601(c.secs) == c.text);
        CHECK(is_iso8601_utc_or_offset(c.text));
    }
    const std::string now = utc_now_iso8601();
    CAPTURE(now);
    CHECK(now.size() == 20);
    CHECK(now.back() == 'Z');
    CHECK(is_iso8601_utc_or_offset(now));
    CHECK(now >= "2024-01-01T00:00:00Z");
}

// ---------------------------------------------------------------------------------------
// Robustness: every checker must handle huge inputs linearly, without recursion.
// ---------------------------------------------------------------------------------------

namespace {

/// Every checker on inputs of about n bytes (1 MiB in the test), each with the answer it must give.
void run_checkers_on(std::size_t n) {
    const std::string big(n, 'a');
    const std::string big_digits(n, '1');
    const std::string big_dashes = rep("a-", n / 2) + "a";
    const std::string big_dots = rep("a.", n / 2) + "a";
    const std::string big_path = rep("/a", n / 2);
    const std::string big_stars = rep("*a", n / 2);

    CHECK_FALSE(is_dns1123_label(big));
    CHECK_FALSE(is_dns1123_label(big_dashes));
    CHECK_FALSE(is_dns1123_subdomain(big_dots));
    CHECK_FALSE(is_dns1035_label(big));
    CHECK_FALSE(is_label_value(big));
    CHECK(matches_app_name_pattern(big_dashes));  // the pattern alone has no length limit
    CHECK_FALSE(is_hostname(big_dots));
    CHECK(is_under_zone(big_dots + ".example.com", "example.com"));
    CHECK(glob_match("*", big));
    CHECK(glob_match("a*", big));
    CHECK_FALSE(glob_match("*a*a*a*b", big));
    CHECK(glob_match(big_stars, big));
    CHECK_FALSE(glob_match(big_stars + "b", big));

    std::string why;
    CHECK_FALSE(parse_image_reference(big, &why).has_value());
    CHECK_FALSE(parse_image_reference(rep("a/", n / 2) + "a:" + big, &why).has_value());
    CHECK_FALSE(parse_image_reference("nginx@sha256:" + big, &why).has_value());
    CHECK_FALSE(is_cron5(big, &why));
    CHECK(is_cron5(rep("1,", n / 2) + "1 * * * *", &why));  // long but valid list
    CHECK_FALSE(is_volsync_schedule(big, &why));
    CHECK(is_quantity(big_digits));
    CHECK_FALSE(is_quantity(big));
    CHECK(s3_bucket_problem(big).has_value());
    CHECK_FALSE(subpath_problem(big_path).has_value());
    CHECK(subpath_problem(rep("/..", n / 3)).has_value());
    CHECK_FALSE(contains_control_chars(big));
    CHECK(is_valid_utf8(big));
    CHECK(is_valid_utf8(rep("\xE2\x82\xAC", n / 3)));
    CHECK_FALSE(is_uuid(big));
    CHECK_FALSE(is_iso8601_utc_or_offset("2026-01-01T00:00:00." + big_digits));
    CHECK(is_http_url("https://example.com/" + big));
    CHECK_FALSE(is_http_url("https://" + big_dots + " "));
    CHECK(is_absolute_clean_path(big_path));
    CHECK(path_is_under(big_path, "/a"));
    CHECK(sha256_hex(big).size() == 64);
    CHECK(sha1_hex(big).size() == 40);
    CHECK(is_uuid(uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", big)));
}

}  // namespace

TEST_CASE("checkers handle a 1 MB input in linear work, without recursion", "[value_rules][robustness]") {
    // 1 MiB inputs finish at all (no recursion: a recursive scanner overflows the stack here).
    // The work is bounded by allocations, not by a clock: doubling the input may at most
    // (about) double the bytes and the number of allocations, inputs included. A checker that
    // copies a growing prefix or suffix per step (the usual quadratic slip) breaks this on any
    // machine. Timings of these checkers belong in bench/.
    REQUIRE(alloc_count::active());
    const std::size_t n = 1u << 20;
    run_checkers_on(n);  // once first: first-use statics (tables, region lists) stay outside the counts
    auto at_n = alloc_count::during([&] { run_checkers_on(n); });
    auto at_2n = alloc_count::during([&] { run_checkers_on(2 * n); });
    INFO("at N: " << at_n.calls << " allocations, " << at_n.bytes << " bytes; at 2N: " << at_2n.calls
                  << " allocations, " << at_2n.bytes << " bytes");
    CHECK(at_2n.bytes <= at_n.bytes * 5 / 2);
    CHECK(at_2n.calls <= at_n.calls * 5 / 2 + 64);
    // And linear in absolute terms: the test's own inputs are about 20 strings of N bytes, with
    // their copies and concatenations; the checkers add little to that.
    CHECK(at_n.bytes <= 200 * n);
}
