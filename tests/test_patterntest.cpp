// The pattern kit: the unified differ, case folders, --update and catalog diffs.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "appforge/engine.hpp"
#include "appforge/patterntest.hpp"

namespace fs = std::filesystem;
namespace pt = appforge::patterntest;

namespace {

const std::string kCases = std::string(APPFORGE_SOURCE_DIR) + "/tests/patterns/cases";

std::shared_ptr<const appforge::Engine> engine_with(std::vector<std::string> dirs = {}) {
    appforge::EngineOptions o;
    o.pattern_dirs = std::move(dirs);
    auto e = appforge::Engine::create(o);
    REQUIRE(e.ok());
    return *e.value;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t s = 0;
    while (s < text.size()) {
        auto nl = text.find('\n', s);
        if (nl == std::string::npos) nl = text.size() - 1;
        out.push_back(text.substr(s, nl - s + 1));
        s = nl + 1;
    }
    return out;
}

/// A minimal, strict `patch`: applies a unified diff and fails the test on any mismatch.
std::string apply_patch(const std::string& old_text, const std::string& diff) {
    auto old_lines = lines_of(old_text);
    auto d = lines_of(diff);
    std::vector<std::string> out;
    std::size_t pos = 0;  // next old line to copy
    std::size_t i = 2;    // skip --- and +++
    REQUIRE(d.size() >= 3);
    while (i < d.size()) {
        REQUIRE(d[i].rfind("@@ -", 0) == 0);
        long os = 0, oc = 1, ns = 0, nc = 1;
        std::string h = d[i];
        if (std::sscanf(h.c_str(), "@@ -%ld,%ld +%ld,%ld @@", &os, &oc, &ns, &nc) != 4) {
            oc = nc = 1;
            long a = 0, b = 0, c = 0;
            if (std::sscanf(h.c_str(), "@@ -%ld,%ld +%ld @@", &a, &b, &c) == 3) os = a, oc = b, ns = c, nc = 1;
            else if (std::sscanf(h.c_str(), "@@ -%ld +%ld,%ld @@", &a, &b, &c) == 3) os = a, oc = 1, ns = b, nc = c;
            else REQUIRE(std::sscanf(h.c_str(), "@@ -%ld +%ld @@", &os, &ns) == 2);
        }
        std::size_t start = oc == 0 ? static_cast<std::size_t>(os) : static_cast<std::size_t>(os - 1);
        REQUIRE(start >= pos);
        while (pos < start) out.push_back(old_lines[pos++]);
        ++i;
        long seen_old = 0, seen_new = 0;
        while (i < d.size() && d[i].rfind("@@", 0) != 0) {
            std::string body = d[i].substr(1);
            if (i + 1 < d.size() && d[i + 1] == "\\ No newline at end of file\n") {
                body.pop_back();
                ++i;
            }
            char sign = d[i][0] == '\\' ? d[i - 1][0] : d[i][0];
            if (sign == ' ' || sign == '-') {
                REQUIRE(pos < old_lines.size());
                REQUIRE(old_lines[pos] == body);
                ++pos, ++seen_old;
                if (sign == ' ') out.push_back(body), ++seen_new;
            } else {
                REQUIRE(sign == '+');
                out.push_back(body);
                ++seen_new;
            }
            ++i;
        }
        REQUIRE(seen_old == oc);
        REQUIRE(seen_new == nc);
    }
    while (pos < old_lines.size()) out.push_back(old_lines[pos++]);
    std::string r;
    for (const auto& l : out) r += l;
    return r;
}

fs::path temp_dir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("appforge-kit-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("unified_diff is empty for equal texts and exact for a small change", "[kit][diff]") {
    CHECK(pt::unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
    CHECK(pt::unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new") ==
          "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    // Far-apart changes make two hunks; context is 3 lines each side.
    std::string a, b;
    for (int i = 1; i <= 20; ++i) {
        a += std::to_string(i) + "\n";
        b += (i == 2 || i == 18 ? "x" : std::to_string(i)) + "\n";
    }
    CHECK(pt::unified_diff(a, b, "a", "b") ==
          "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+x\n 3\n 4\n 5\n@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+x\n 19\n 20\n");
    // Empty ranges name the line before them, like diff -u.
    CHECK(pt::unified_diff("", "new\n", "/dev/null", "b") == "--- /dev/null\n+++ b\n@@ -0,0 +1 @@\n+new\n");
    CHECK(pt::unified_diff("gone\n", "", "a", "/dev/null") == "--- a\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n");
    // A missing final newline is a difference and is marked.
    CHECK(pt::unified_diff("a\n", "a", "x", "y") ==
          "--- x\n+++ y\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n");
}

TEST_CASE("unified_diff round-trips through patch on random inputs", "[kit][diff]") {
    std::mt19937 rng(12345);
    auto random_text = [&](int n) {
        std::string t;
        for (int i = 0; i < n; ++i) t += std::string(1, static_cast<char>('a' + rng() % 4)) + "\n";
        if (n > 0 && rng() % 5 == 0) t.pop_back();  // sometimes no final newline
        return t;
    };
    for (int round = 0; round < 400; ++round) {
        std::string a = random_text(static_cast<int>(rng() % 30)), b = random_text(static_cast<int>(rng() % 30));
        std::string d = pt::unified_diff(a, b, "a", "b", static_cast<int>(rng() % 4));
        if (a == b) {
            CHECK(d.empty());
            continue;
        }
        INFO("a=" << a << "\nb=" << b << "\ndiff=\n" << d);
        CHECK(apply_patch(a, d) == b);
        CHECK(pt::unified_diff(a, b, "a", "b") == pt::unified_diff(a, b, "a", "b"));  // deterministic
    }
}

TEST_CASE("the built-in catalog passes its own case folders", "[kit]") {
    auto engine = engine_with();
    auto cases = pt::find_cases(kCases);
    REQUIRE(cases.size() >= 8);
    CHECK(std::is_sorted(cases.begin(), cases.end()));
    int failing_cases = 0;
    for (const auto& c : cases) {
        auto r = pt::run_case(c, *engine);
        INFO(c);
        CHECK(r.errors.empty());
        CHECK(r.diffs.empty());
        if (r.actual.count(pt::kDiagnosticsFile)) ++failing_cases;
    }
    CHECK(failing_cases >= 1);
}

TEST_CASE("a changed template makes exactly the affected cases fail, with a readable diff", "[kit]") {
    fs::path dir = temp_dir("override");
    std::string text(appforge::embedded_file("libappforge/patterns/storage/longhorn-persistent.yaml").value());
    auto at = text.find("- ReadWriteOnce");  // the template line, not the header comment
    REQUIRE(at != std::string::npos);
    text.replace(at, std::string("- ReadWriteOnce").size(), "- ReadWriteMany");
    spit(dir / "storage" / "longhorn-persistent.yaml", text);
    auto changed = engine_with({dir.string()});

    auto longhorn = pt::run_case(kCases + "/storage-longhorn", *changed);
    CHECK_FALSE(longhorn.passed());
    REQUIRE(longhorn.diffs.size() == 1);
    CHECK(longhorn.diffs[0].kind == pt::FileDiff::Kind::changed);
    CHECK(longhorn.diffs[0].path == "persistentvolumeclaim.yaml");
    CHECK(longhorn.diffs[0].diff.find("\n-    - ReadWriteOnce\n+    - ReadWriteMany\n") != std::string::npos);

    CHECK_FALSE(pt::run_case(kCases + "/backup-volsync", *changed).passed());
    CHECK(pt::run_case(kCases + "/storage-ephemeral", *changed).passed());
    CHECK(pt::run_case(kCases + "/storage-nas-mount", *changed).passed());

    // The same change seen as a catalog diff over requests.
    auto base = engine_with();
    std::vector<std::pair<std::string, std::string>> reqs{
        {"longhorn", slurp(kCases + "/storage-longhorn/request.yaml")},
        {"ephemeral", slurp(kCases + "/storage-ephemeral/request.yaml")}};
    auto diffs = pt::diff_catalogs(reqs, *base, *changed);
    REQUIRE(diffs.size() == 2);
    CHECK(diffs[0].name == "longhorn");
    REQUIRE(diffs[0].diffs.size() == 1);
    CHECK(diffs[0].diffs[0].diff.rfind("--- old/longhorn/persistentvolumeclaim.yaml\n+++ new/longhorn/", 0) == 0);
    CHECK(diffs[1].diffs.empty());
    fs::remove_all(dir);
}

TEST_CASE("missing, unexpected and changed files are reported, and --update repairs them", "[kit]") {
    auto engine = engine_with();
    fs::path tmp = temp_dir("update");
    fs::copy(kCases + "/storage-longhorn", tmp / "case", fs::copy_options::recursive);
    fs::path exp = tmp / "case" / "expected";
    fs::remove(exp / "service.yaml");
    spit(exp / "stale.yaml", "kind: Old\n");
    std::string dep = slurp(exp / "deployment.yaml");
    spit(exp / "deployment.yaml", dep + "extra: line\n");

    auto r = pt::run_case((tmp / "case").string(), *engine);
    REQUIRE(r.diffs.size() == 3);
    CHECK(r.diffs[0].path == "deployment.yaml");
    CHECK(r.diffs[0].kind == pt::FileDiff::Kind::changed);
    CHECK(r.diffs[0].diff.find("\n-extra: line\n") != std::string::npos);
    CHECK(r.diffs[1].path == "service.yaml");
    CHECK(r.diffs[1].kind == pt::FileDiff::Kind::unexpected);
    CHECK(r.diffs[2].path == "stale.yaml");
    CHECK(r.diffs[2].kind == pt::FileDiff::Kind::missing);

    CHECK(pt::update_case((tmp / "case").string(), *engine).empty());
    CHECK(pt::run_case((tmp / "case").string(), *engine).passed());
    CHECK_FALSE(fs::exists(exp / "stale.yaml"));
    CHECK(slurp(exp / "deployment.yaml") == dep);
    fs::remove_all(tmp);
}

TEST_CASE("a failing case compares its diagnostics, and a case without a request is an error", "[kit]") {
    auto engine = engine_with();
    fs::path tmp = temp_dir("fail");
    fs::copy(kCases + "/fail-backup-ephemeral", tmp / "case", fs::copy_options::recursive);
    // Fixing the request makes the case render, so its expected diagnostics no longer match.
    std::string req = slurp(tmp / "case" / "request.yaml");
    const std::string backup = "backupStrategy: volsync-snapshots", ns = "namespace: kube-system";
    req.replace(req.find(backup), backup.size(), "backupStrategy: none");
    req.replace(req.find(ns), ns.size(), "namespace: cache");
    spit(tmp / "case" / "request.yaml", req);
    auto r = pt::run_case((tmp / "case").string(), *engine);
    CHECK_FALSE(r.passed());
    REQUIRE_FALSE(r.diffs.empty());
    CHECK(r.diffs[0].path == "deployment.yaml");
    bool saw_diag = false;
    for (const auto& d : r.diffs)
        if (d.path == pt::kDiagnosticsFile) saw_diag = d.kind == pt::FileDiff::Kind::missing;
    CHECK(saw_diag);

    fs::create_directories(tmp / "empty");
    auto e = pt::run_case((tmp / "empty").string(), *engine);
    REQUIRE(e.errors.size() == 1);
    CHECK(e.errors[0].code == "kit.request.missing");
    CHECK_FALSE(e.passed());
    fs::remove_all(tmp);
}

TEST_CASE("a case's own profile.yaml is used, and a broken one is reported", "[kit]") {
    auto engine = engine_with();
    auto r = pt::run_case(kCases + "/backup-volsync-nas-profile", *engine);
    CHECK(r.passed());
    REQUIRE(r.actual.count("ingress.yaml"));
    CHECK(r.actual.at("ingress.yaml").find("photos.lab2.example.net") != std::string::npos);

    fs::path tmp = temp_dir("profile");
    fs::copy(kCases + "/storage-ephemeral", tmp / "case", fs::copy_options::recursive);
    spit(tmp / "case" / "profile.yaml", "zones: [not, a, mapping]\n");
    auto bad = pt::run_case((tmp / "case").string(), *engine);
    CHECK_FALSE(bad.errors.empty());
    CHECK_FALSE(bad.passed());
    fs::remove_all(tmp);
}
