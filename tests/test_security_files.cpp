// Issue 13, items 7, 13, 14 and 16: writers never go through a link they did not make, `render --out`
// never loses what appeared in the target while it rendered, and the planner refuses (and the host
// scan reports) links the way apply does.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "appforge/edge/bundle_dir.hpp"
#include "appforge/edge/fs_repo.hpp"
#include "appforge/edge/safe_fs.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/patterntest.hpp"

namespace fs = std::filesystem;
namespace sfs = appforge::edge::safe_fs;

namespace {

fs::path fresh_dir(const std::string& tag) {
    fs::path p = fs::temp_directory_path() / ("af-secfiles-" + tag + "-" + std::to_string(std::random_device{}()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

void spit(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Names in a folder, sorted (hidden ones included: a leftover stage would show here).
std::vector<std::string> names(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

appforge::Bundle bundle(const std::string& app = "whoami") {
    appforge::Bundle b;
    b.appName = app;
    b.namespace_ = app;
    b.files.push_back({"deployment.yaml", {}, "kind: Deployment\n"});
    b.files.push_back({"kustomization.yaml", {}, "resources: [deployment.yaml]\n"});
    return b;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// safe_fs
// ---------------------------------------------------------------------------------------

TEST_CASE("safe_fs writes never follow a planted link, and never delete or read through one", "[security][files]") {
    fs::path root = fresh_dir("sfs");
    spit(root / "outside" / "victim", "precious\n");
    fs::create_directories(root / "out");
    // The old writers' fixed temporary name, planted as a link to a file outside.
    fs::create_symlink(root / "outside" / "victim", root / "out" / "template.yaml.appforge-tmp");
    fs::create_symlink(root / "outside" / "victim", root / "out" / "link.yaml");
    std::string e;
    sfs::Dir out = sfs::open_dir((root / "out").string(), false, e);
    REQUIRE(out.is_open());

    CHECK(sfs::write_file(out, "template.yaml", "new\n", e));
    CHECK(slurp(root / "out" / "template.yaml") == "new\n");
    // Writing over a link replaces the link itself.
    CHECK(sfs::write_file(out, "link.yaml", "mine\n", e));
    CHECK_FALSE(fs::is_symlink(root / "out" / "link.yaml"));
    CHECK(slurp(root / "outside" / "victim") == "precious\n");

    fs::create_symlink(root / "outside" / "victim", root / "out" / "stale.yaml");
    CHECK_FALSE(sfs::remove_file(out, "stale.yaml", e));
    CHECK(e.find("symbolic link") != std::string::npos);
    CHECK_FALSE(sfs::read_file(out, "stale.yaml", e));
    CHECK_FALSE(sfs::create_file(out, "stale.yaml", "x", e));  // O_EXCL: the link is not written through
    CHECK(slurp(root / "outside" / "victim") == "precious\n");

    // A folder link is refused, as the last segment of an operator path and inside an open folder.
    fs::create_symlink(root / "outside", root / "out" / "gitops");
    CHECK_FALSE(sfs::open_subdir(out, "gitops", true, e).is_open());
    CHECK_FALSE(sfs::open_dir((root / "out" / "gitops").string(), true, e).is_open());
    CHECK(names(root / "outside") == std::vector<std::string>{"victim"});
    // Only the planted links and the files written are left: no temporary file.
    CHECK(names(root / "out") == std::vector<std::string>{"gitops", "link.yaml", "stale.yaml", "template.yaml",
                                                          "template.yaml.appforge-tmp"});
    fs::remove_all(root);
}

// ---------------------------------------------------------------------------------------
// Item 13: render --out and what appears in the target while it renders
// ---------------------------------------------------------------------------------------

TEST_CASE("write_bundles keeps a target that appeared while it rendered", "[security][files]") {
    fs::path root = fresh_dir("wb-new");
    fs::path target = root / "out";
    auto r = appforge::edge::write_bundles({bundle()}, target.string(), false, false, [&] { spit(target / "theirs.txt", "x"); });
    CHECK(r.status == appforge::edge::WriteResult::Status::exists);
    CHECK(names(target) == std::vector<std::string>{"theirs.txt"});
    CHECK(names(root) == std::vector<std::string>{"out"});  // no staging folder left
    fs::remove_all(root);
}

TEST_CASE("write_bundles into an empty folder keeps files created in it meanwhile", "[security][files]") {
    fs::path root = fresh_dir("wb-empty");
    fs::path target = root / "out";
    fs::create_directories(target);
    auto r = appforge::edge::write_bundles({bundle()}, target.string(), false, false, [&] { spit(target / "theirs.txt", "x"); });
    CHECK(r.status == appforge::edge::WriteResult::Status::exists);
    CHECK(names(target) == std::vector<std::string>{"theirs.txt"});
    CHECK(names(root) == std::vector<std::string>{"out"});
    fs::remove_all(root);
}

TEST_CASE("write_bundles --overwrite replaces only exactly what it checked", "[security][files]") {
    fs::path root = fresh_dir("wb-over");
    fs::path target = root / "out";
    spit(target / "old.yaml", "old\n");
    spit(target / "sub" / "deep.yaml", "deep\n");

    SECTION("a file added meanwhile: nothing is replaced") {
        auto r = appforge::edge::write_bundles({bundle()}, target.string(), false, true,
                                               [&] { spit(target / "sub" / "theirs.txt", "x"); });
        CHECK(r.status == appforge::edge::WriteResult::Status::exists);
        CHECK(slurp(target / "sub" / "theirs.txt") == "x");
        CHECK(slurp(target / "old.yaml") == "old\n");
    }
    SECTION("a file changed meanwhile: nothing is replaced") {
        auto r = appforge::edge::write_bundles({bundle()}, target.string(), false, true,
                                               [&] { spit(target / "old.yaml", "edited by someone else\n"); });
        CHECK(r.status == appforge::edge::WriteResult::Status::exists);
        CHECK(slurp(target / "old.yaml") == "edited by someone else\n");
    }
    SECTION("nothing changed: the old folder is replaced whole") {
        auto r = appforge::edge::write_bundles({bundle()}, target.string(), false, true);
        CHECK(r.ok());
        CHECK(r.kept.empty());
        CHECK(names(target) == std::vector<std::string>{"deployment.yaml", "kustomization.yaml"});
    }
    CHECK(names(root) == std::vector<std::string>{"out"});
    fs::remove_all(root);
}

TEST_CASE("write_bundles refuses a target that is a link and writes nothing through it", "[security][files]") {
    fs::path root = fresh_dir("wb-link");
    fs::create_directories(root / "elsewhere");
    fs::create_symlink(root / "elsewhere", root / "out");
    auto r = appforge::edge::write_bundles({bundle()}, (root / "out").string(), false, true);
    CHECK(r.status == appforge::edge::WriteResult::Status::exists);
    CHECK(fs::is_symlink(root / "out"));
    CHECK(fs::is_empty(root / "elsewhere"));
    CHECK(names(root) == std::vector<std::string>{"elsewhere", "out"});
    fs::remove_all(root);
}

// ---------------------------------------------------------------------------------------
// Item 7: the pattern kit's case folders
// ---------------------------------------------------------------------------------------

TEST_CASE("run_case and update_case never read, write or delete through a link in a case", "[security][files][kit]") {
    auto engine = appforge::Engine::create({});
    REQUIRE(engine.ok());
    fs::path root = fresh_dir("kit");
    fs::copy(std::string(APPFORGE_SOURCE_DIR) + "/tests/patterns/cases/storage-longhorn", root / "case",
             fs::copy_options::recursive);
    spit(root / "outside" / "stale.yaml", "SECRET-OUTSIDE\n");
    spit(root / "outside" / "deployment.yaml", "kind: NotTheDeployment\n");
    const std::string case_dir = (root / "case").string();

    SECTION("expected/ is a link") {
        fs::remove_all(root / "case" / "expected");
        fs::create_symlink(root / "outside", root / "case" / "expected");
    }
    SECTION("a file in expected/ is a link") {
        fs::create_symlink(root / "outside" / "stale.yaml", root / "case" / "expected" / "stale.yaml");
    }
    auto r = appforge::patterntest::run_case(case_dir, **engine.value);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].code == "kit.symlink");
    for (const auto& d : r.diffs) CHECK(d.diff.find("SECRET-OUTSIDE") == std::string::npos);
    auto problems = appforge::patterntest::update_case(case_dir, **engine.value);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].code == "kit.symlink");
    CHECK(slurp(root / "outside" / "stale.yaml") == "SECRET-OUTSIDE\n");
    CHECK(slurp(root / "outside" / "deployment.yaml") == "kind: NotTheDeployment\n");
    CHECK(names(root / "outside") == std::vector<std::string>{"deployment.yaml", "stale.yaml"});
    fs::remove_all(root);
}

// ---------------------------------------------------------------------------------------
// Items 14 and 16: links in the GitOps repo
// ---------------------------------------------------------------------------------------

TEST_CASE("FsRepo resolves no segment through a link", "[security][files][gitops]") {
    fs::path root = fresh_dir("fsrepo");
    spit(root / "real" / "ns" / "kustomization.yaml", "resources: []\n");
    fs::create_directories(root / "k");
    fs::create_symlink(root / "real", root / "k" / "linked");
    appforge::edge::FsRepo repo(root.string());
    CHECK_FALSE(repo.read_file("k/linked/ns/kustomization.yaml"));
    CHECK(repo.read_file("real/ns/kustomization.yaml"));
    CHECK(repo.symlink_on_path("k/linked/ns/kustomization.yaml") == std::optional<std::string>("k/linked"));
    CHECK_FALSE(repo.symlink_on_path("real/ns/kustomization.yaml"));
    CHECK_FALSE(repo.symlink_on_path("k/missing/x"));
    CHECK(repo.list_files("k").empty());
    CHECK(repo.list_symlinks("k") == std::vector<std::string>{"k/linked"});
    CHECK(repo.exists("k/linked/anything"));  // the link occupies the path
    fs::remove_all(root);
}

TEST_CASE("the planner refuses links it would write through and reports links that hide hostnames",
          "[security][files][gitops]") {
    auto engine = appforge::Engine::create({});
    REQUIRE(engine.ok());
    const std::string ns_root = "kubernetes/clusters/homelab/namespaces";
    appforge::MemoryRepo repo;
    repo.put(ns_root + "/kustomization.yaml", "resources:\n  - ./tools\n");
    repo.put(ns_root + "/tools/kustomization.yaml", "resources:\n  - namespace.yaml\n");
    repo.put(ns_root + "/tools/namespace.yaml", "kind: Namespace\n");
    const std::string request =
        "operatorId: alice\nappName: whoami\nnamespace: tools\ncontainerImage: traefik/whoami:v1.10.1\n"
        "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";

    auto plain = appforge::plan_request(**engine.value, request, repo);
    REQUIRE(plain.ok());
    CHECK(plain.plan->risk.verdict == appforge::RiskVerdict::auto_merge);

    SECTION("a link elsewhere in the cluster folder: a warning and needs-review") {
        repo.put_symlink("kubernetes/clusters/homelab/shared");
        auto p = appforge::plan_request(**engine.value, request, repo);
        REQUIRE(p.ok());
        CHECK(p.plan->risk.verdict == appforge::RiskVerdict::needs_review);
        bool warned = false;
        for (const auto& d : p.diagnostics) warned = warned || d.code == "gitops.scan.symlink";
        CHECK(warned);
        bool reason = false;
        for (const auto& r : p.plan->risk.reasons) reason = reason || r.code == "risk.unscanned-link";
        CHECK(reason);
    }
    for (const std::string link : {ns_root + "/tools", ns_root + "/tools/kustomization.yaml", ns_root + "/kustomization.yaml",
                                   std::string("kubernetes")}) {
        DYNAMIC_SECTION("a link on the write path: " << link) {
            repo.put_symlink(link);
            auto p = appforge::plan_request(**engine.value, request, repo);
            CHECK_FALSE(p.ok());
            std::vector<std::string> codes;
            for (const auto& d : p.diagnostics)
                if (d.severity == appforge::Severity::error) codes.push_back(d.code);
            CHECK(codes == std::vector<std::string>{"gitops.symlink"});
        }
    }
}

TEST_CASE("the host scan reads JSON resources too", "[security][files][gitops]") {
    auto engine = appforge::Engine::create({});
    REQUIRE(engine.ok());
    const std::string ns_root = "kubernetes/clusters/homelab/namespaces";
    appforge::MemoryRepo repo;
    repo.put(ns_root + "/kustomization.yaml", "resources:\n  - ./media\n");
    repo.put(ns_root + "/media/kustomization.yaml", "resources:\n  - ingress.json\n");
    repo.put(ns_root + "/media/ingress.json",
             R"({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "old"},
                 "spec": {"rules": [{"host": "whoami.internal.hypyr.space"}]}})");
    const std::string request =
        "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
        "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
    auto p = appforge::plan_request(**engine.value, request, repo);
    std::vector<std::string> codes;
    for (const auto& d : p.diagnostics)
        if (d.severity == appforge::Severity::error) codes.push_back(d.code);
    CHECK(codes == std::vector<std::string>{"gitops.host.taken"});
}
