// Issue 13 items 2-4: where credentials and image checks may go, and what is scrubbed from what
// comes back. The rules are pure (appforge/net_rules.hpp); the engine and the Komodo machine use them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "appforge/backstage.hpp"
#include "appforge/engine.hpp"
#include "appforge/komodo.hpp"
#include "appforge/net_rules.hpp"

using namespace appforge;
using nlohmann::json;

namespace {

std::shared_ptr<const Engine> engine_with(const std::string& profile, std::optional<std::string> url = std::nullopt) {
    EngineOptions o;
    if (!profile.empty()) o.profile_text = profile;
    o.komodo_url = std::move(url);
    auto e = Engine::create(o);
    std::string why;
    for (const auto& d : e.diagnostics) why += d.path + " " + d.code + " " + d.message + "\n";
    INFO(why);
    REQUIRE(e.ok());
    return *e.value;
}

Diagnostics profile_errors(const std::string& profile) {
    EngineOptions o;
    o.profile_text = profile;
    return Engine::create(o).diagnostics;
}

bool has_code(const Diagnostics& ds, const std::string& code, const std::string& path) {
    for (const auto& d : ds)
        if (d.code == code && d.path == path) return true;
    return false;
}

json nas_request(std::optional<std::string> url) {
    json j = {{"operatorId", "erin"},
              {"appName", "myapp"},
              {"komodoRequest", {{"appName", "myapp"}, {"appVersion", "1.0.0"}, {"appConfig", json::object()}}}};
    if (url) j["komodoApiUrl"] = *url;
    return j;
}

class CountingChecker : public ImageChecker {
public:
    mutable int asked = 0;
    ImageCheckResult check(const rules::ImageRef&) const override {
        ++asked;
        return {ImageCheckResult::Outcome::found, ""};
    }
};

std::string app_request(const std::string& image) {
    return "operatorId: alice\nappName: whoami\ncontainerImage: \"" + image +
           "\"\nstoragePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
}

}  // namespace

TEST_CASE("net rules: loopback is 127.0.0.0/8, ::1 and localhost, judged by spelling", "[security][net]") {
    using K = rules::HostKind;
    struct Row { const char* host; K kind; bool loopback; };
    const Row rows[] = {
        {"127.0.0.1", K::loopback, true},          {"127.255.255.254", K::loopback, true},
        {"localhost", K::name, true},              {"LocalHost", K::name, true},
        {"::1", K::loopback, true},                {"[::1]", K::loopback, true},
        {"0:0:0:0:0:0:0:1", K::loopback, true},    {"::ffff:127.0.0.1", K::loopback, true},
        {"127.0.0.1.nip.io", K::name, false},      {"127.evil.example", K::name, false},
        {"127.1", K::name, false},                 {"0x7f.0.0.1", K::name, false},
        {"2130706433", K::name, false},            {"127.000.0.1", K::name, false},
        {"localhost.evil.example", K::name, false},
        {"10.1.2.3", K::private_ip, false},        {"172.16.0.1", K::private_ip, false},
        {"172.31.255.255", K::private_ip, false},  {"172.32.0.1", K::public_ip, false},
        {"192.168.0.10", K::private_ip, false},    {"100.64.0.1", K::private_ip, false},
        {"169.254.169.254", K::link_local, false}, {"fe80::1", K::link_local, false},
        {"fd00::1", K::private_ip, false},         {"::ffff:169.254.169.254", K::link_local, false},
        {"0.0.0.0", K::special, false},            {"::", K::special, false},
        {"8.8.8.8", K::public_ip, false},          {"2606:4700::1111", K::public_ip, false},
    };
    for (const auto& r : rows) {
        INFO(r.host);
        CHECK(rules::classify_host(r.host) == r.kind);
        CHECK(rules::is_loopback_host(r.host) == r.loopback);
    }
}

TEST_CASE("net rules: only listed hosts are reached, ambiguous URLs never", "[security][net]") {
    const auto& def = rules::default_allowed_registries();
    CHECK(rules::reach_problem("https://ghcr.io/v2/acme/app/manifests/1", def).empty());
    CHECK(rules::reach_problem("https://ghcr.io:443/v2/", def).empty());
    CHECK_FALSE(rules::reach_problem("https://ghcr.io:8443/v2/", def).empty());  // a bare entry is the default port only
    std::string p = rules::reach_problem("http://127.0.0.1:2222/v2/x/manifests/1", def);
    CHECK(p.find("127.0.0.1:2222 (a loopback address) is not in the profile's registries.allowed list") != std::string::npos);
    CHECK(rules::reach_problem("https://169.254.169.254/latest/meta-data", def).find("link-local") != std::string::npos);
    CHECK(rules::reach_problem("http://10.0.0.5/", def).find("private") != std::string::npos);
    CHECK_FALSE(rules::reach_problem("https://127.0.0.1.nip.io/", def).empty());

    const std::vector<std::string> local{"127.0.0.1:5000", "auth.docker.io"};
    CHECK(rules::reach_problem("http://127.0.0.1:5000/v2/", local).empty());
    CHECK_FALSE(rules::reach_problem("http://127.0.0.1:5001/v2/", local).empty());
    CHECK_FALSE(rules::reach_problem("http://localhost:5000/v2/", local).empty());  // another spelling is another host
    for (const char* tricky : {"https://auth.docker.io@evil.example/", "https://evil.example\\@auth.docker.io/",
                               "https://auth.docker.io%2f@evil/", "https://evil.example#@auth.docker.io",
                               "https://auth.docker.io:443:80/", "https://auth.docker.io /", "ftp://auth.docker.io/",
                               "https://auth.docker.io\n.evil/", "//auth.docker.io/", "https://[::1/"}) {
        INFO(tricky);
        CHECK_FALSE(rules::reach_problem(tricky, local).empty());
    }
    // A token realm must be https unless it is loopback.
    CHECK(rules::reach_problem("https://auth.docker.io/token?service=x", local, true).empty());
    CHECK(rules::reach_problem("http://auth.docker.io/token", local, true).find("https is required") != std::string::npos);
    CHECK(rules::reach_problem("http://127.0.0.1:5000/token", local, true).empty());
}

TEST_CASE("net rules: redirects stay on the list and never drop to http", "[security][net]") {
    const std::vector<std::string> allow{"auth.docker.io", "ghcr.io", "127.0.0.1:5000"};
    CHECK(rules::redirect_problem("https://auth.docker.io/token", "https://ghcr.io/token", allow).empty());
    CHECK(rules::redirect_problem("https://auth.docker.io/token", "http://ghcr.io/token", allow).find("https to plain http") !=
          std::string::npos);
    CHECK(rules::redirect_problem("https://auth.docker.io/token", "https://169.254.169.254/", allow)
              .find("link-local") != std::string::npos);
    CHECK(rules::redirect_problem("http://127.0.0.1:5000/t", "http://127.0.0.1:5000/u", allow).empty());
    CHECK(*rules::resolve_location("https://ghcr.io:8443/a?b", "/token?x=1") == "https://ghcr.io:8443/token?x=1");
    CHECK(*rules::resolve_location("https://ghcr.io/a", "//evil.example/x") == "https://evil.example/x");
    CHECK(*rules::resolve_location("https://ghcr.io/a", " HTTP://x.example/ \r\n") == "HTTP://x.example/");
    CHECK_FALSE(rules::resolve_location("https://ghcr.io/a", "token").has_value());
    CHECK_FALSE(rules::resolve_location("https://ghcr.io/a", "").has_value());
}

TEST_CASE("net rules: image registries by domain, Docker Hub through registry-1.docker.io", "[security][net]") {
    const auto& def = rules::default_allowed_registries();
    // Not registry.k8s.io: its redirects leave any exact list (test_security_policy.cpp).
    for (const char* ok : {"docker.io", "", "index.docker.io", "ghcr.io", "quay.io", "lscr.io", "gcr.io",
                           "public.ecr.aws"}) {
        INFO(ok);
        CHECK(rules::registry_problem(ok, def).empty());
    }
    CHECK(rules::registry_problem("127.0.0.1:2222", def) ==
          "registry 127.0.0.1:2222 (a loopback address) is not in the profile's registries.allowed list");
    CHECK_FALSE(rules::registry_problem("ghcr.io:22", def).empty());
    CHECK_FALSE(rules::registry_problem("169.254.169.254", def).empty());
    CHECK(rules::registry_problem("docker.io", {"docker.io"}) ==
          "registry registry-1.docker.io (which serves docker.io) is not in the profile's registries.allowed list");
}

TEST_CASE("image check: the profile decides which registries are asked", "[security][net][images]") {
    auto def = engine_with("");
    CountingChecker fake;
    auto c = def->check(app_request("127.0.0.1:2222/x:1"), &fake);
    CHECK(fake.asked == 0);  // the port scanner of the issue: never asked
    REQUIRE(c.diagnostics.size() == 1);
    CHECK(c.diagnostics[0].path == "/containerImage");
    CHECK(c.diagnostics[0].code == "image.not_allowed");
    CHECK(c.diagnostics[0].message ==
          "Container image could not be checked: appforge may not contact it (registry 127.0.0.1:2222 (a loopback "
          "address) is not in the profile's registries.allowed list)");
    for (const char* img : {"169.254.169.254/latest/x:1", "10.0.0.5:5000/x:1", "127.0.0.1.nip.io/x:1"}) {
        INFO(img);
        CHECK(def->check(app_request(img), &fake).diagnostics.at(0).code == "image.not_allowed");
    }
    CHECK(fake.asked == 0);
    CHECK(def->check(app_request("nginx:1.27"), &fake).ok());
    CHECK(def->check(app_request("ghcr.io/acme/app:1"), &fake).ok());
    CHECK(fake.asked == 2);

    auto local = engine_with("registries:\n  allowed: [\"127.0.0.1:2222\"]\n");
    CHECK(local->check(app_request("127.0.0.1:2222/x:1"), &fake).ok());
    CHECK(fake.asked == 3);
    CHECK(local->check(app_request("nginx"), &fake).diagnostics.at(0).code == "image.not_allowed");  // the list replaces the default
    CHECK(engine_with("")->profile().registriesAllowed == rules::default_allowed_registries());  // default.yaml == the C++ default
}

TEST_CASE("profile: komodo.url is https or loopback, registries.allowed entries are host[:port]", "[security][net]") {
    CHECK(engine_with("komodo:\n  url: https://komodo.example\n")->profile().komodoUrl == "https://komodo.example");
    CHECK(engine_with("komodo:\n  url: http://127.0.0.1:9120\n")->profile().komodoUrl);
    CHECK(engine_with("komodo:\n  url: http://[::1]:9120/\n")->profile().komodoUrl);
    CHECK(has_code(profile_errors("komodo:\n  url: http://komodo.lan:9120\n"), "profile.komodoUrl", "/komodo/url"));
    CHECK(has_code(profile_errors("komodo:\n  url: http://127.0.0.1.nip.io\n"), "profile.komodoUrl", "/komodo/url"));
    CHECK(has_code(profile_errors("komodo:\n  url: https://user:pw@komodo.example\n"), "profile.komodoUrl", "/komodo/url"));
    CHECK(has_code(profile_errors("komodo:\n  url: https://komodo.example/?a=b\n"), "profile.komodoUrl", "/komodo/url"));
    CHECK(has_code(profile_errors("komodo:\n  url: 5\n"), "profile.schema.type", "/komodo/url"));
    auto ds = profile_errors("registries:\n  allowed: [ghcr.io, \"https://quay.io\", \"*.docker.io\", \"a..b\", \"h:99999\"]\n");
    CHECK_FALSE(has_code(ds, "profile.registryHost", "/registries/allowed/0"));
    for (int i = 1; i <= 4; ++i) CHECK(has_code(ds, "profile.registryHost", "/registries/allowed/" + std::to_string(i)));
    CHECK(engine_with("registries:\n  allowed: []\n")->profile().registriesAllowed.empty());
    CHECK_FALSE(engine_with("")->profile().komodoUrl.has_value());  // no URL by default: deploy needs --url
}

TEST_CASE("komodoApiUrl is optional and may only repeat the configured URL", "[security][net][komodo]") {
    auto prof = engine_with("komodo:\n  url: https://komodo.example/\n");
    CHECK(prof->check_document(nas_request(std::nullopt)).ok());
    CHECK(prof->check_document(nas_request("https://komodo.example")).ok());
    CHECK(prof->check_document(nas_request("HTTPS://Komodo.Example:443/")).ok());
    auto c = prof->check_document(nas_request("https://attacker.example"));
    REQUIRE(c.diagnostics.size() == 1);
    CHECK(c.diagnostics[0] == Diagnostic{"/komodoApiUrl", "komodo.url.mismatch",
                                         "komodoApiUrl must be left out or equal the configured Komodo URL "
                                         "(https://komodo.example/); credentials only ever go to the configured URL",
                                         Severity::error});
    CHECK(prof->check_document(nas_request("https://komodo.example/other")).diagnostics.at(0).code == "komodo.url.mismatch");
    // The deploy's override (--url) is what the rule compares against.
    auto over = engine_with("komodo:\n  url: https://komodo.example\n", "http://127.0.0.1:9120");
    CHECK(over->check_document(nas_request("http://127.0.0.1:9120/")).ok());
    CHECK(over->check_document(nas_request("https://komodo.example")).diagnostics.at(0).code == "komodo.url.mismatch");
    // Without a configured URL the request's URL is only format-checked (it is never a target).
    CHECK(engine_with("")->check_document(nas_request("https://anything.example")).ok());
    CHECK(engine_with("")->check_document(nas_request("ftp://x")).diagnostics.at(0).code == "komodo.url.format");
}

TEST_CASE("KomodoDeploy::start targets the profile's URL only", "[security][net][komodo]") {
    KomodoRequest r = komodo_request_from_json(nas_request("https://attacker.example"));
    KomodoDeployOptions o;
    o.server = "truenas";
    ClusterProfile p;
    auto none = KomodoDeploy::start(r, p, o);
    CHECK_FALSE(none.ok());
    CHECK(has_code(none.diagnostics, "komodo.url.missing", ""));
    p.komodoUrl = "http://komodo.lan";
    auto plain = KomodoDeploy::start(r, p, o);
    CHECK_FALSE(plain.ok());
    CHECK(has_code(plain.diagnostics, "komodo.url.insecure", ""));
    p.komodoUrl = "https://komodo.example/";
    auto other = KomodoDeploy::start(r, p, o);
    CHECK_FALSE(other.ok());
    CHECK(has_code(other.diagnostics, "komodo.url.mismatch", "/komodoApiUrl"));
    r.komodoApiUrl.reset();
    auto ok = KomodoDeploy::start(r, p, o);
    REQUIRE(ok.ok());
    CHECK(ok.value->url() == "https://komodo.example");
}

TEST_CASE("redaction: every spelling of a secret the server echoes", "[security][net]") {
    const std::vector<std::string> secrets{"K-key", "K-key-and-S3cr\"t"};
    CHECK(rules::redact("a K-key b K-key", secrets) == "a [REDACTED] b [REDACTED]");
    CHECK(rules::redact("x K-key-and-S3cr\"t y", secrets) == "x [REDACTED] y");  // longest first: no tail left
    CHECK(rules::redact("nothing", {}) == "nothing");
    CHECK(rules::redact("abc", {""}) == "abc");
    // JSON escapes decode to the secret, so the decoded strings are redacted, keys included.
    std::string body = R"({"error":"bad \u004B-key","trace":["K-key-and-S3cr\"t", {"K-key": 1}]})";
    std::string out = rules::redact_body(body, secrets);
    CHECK(out.find("K-key") == std::string::npos);
    CHECK(out.find("S3cr") == std::string::npos);
    json j = json::parse(out);
    CHECK(j["error"] == "bad [REDACTED]");
    CHECK(j["trace"][0] == "[REDACTED]");
    CHECK(j["trace"][1].contains("[REDACTED]"));
    CHECK(rules::redact_body("<html>K-key</html>", secrets) == "<html>[REDACTED]</html>");
    CHECK(rules::redact_body(R"({"a": "fine"})", secrets) == R"({"a": "fine"})");  // untouched when clean
    std::string deep(100000, '[');
    CHECK(rules::redact_body(deep + "\"K-key\"", secrets).find("K-key") == std::string::npos);
}

TEST_CASE("Backstage NAS form never asks for the Komodo URL", "[security][net][backstage]") {
    auto e = engine_with("");
    json t = backstage::template_document(*e, backstage::Workflow::nas);
    std::string text = t.dump();
    CHECK(text.find("komodoApiUrl") == std::string::npos);
    json f = backstage::form_schema(*e, backstage::Workflow::nas);
    CHECK(f.dump().find("komodoApiUrl") == std::string::npos);
}
