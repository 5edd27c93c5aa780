// The request -> plan pipeline shared by every face (plan_request / plan_checked_request) and the
// FsRepo of the edge library: the same plan from text, a document, memory and a checkout.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "appforge/edge/fs_repo.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"

using namespace appforge;

namespace {

const std::string kRoot = "kubernetes/clusters/homelab/namespaces";
const std::string kWhoami =
    "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
    "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";

const Engine& engine() {
    static auto e = [] {
        auto r = Engine::create();
        REQUIRE(r.ok());
        return *r.value;
    }();
    return *e;
}

MemoryRepo fixture() {
    MemoryRepo repo;
    repo.put(kRoot + "/kustomization.yaml", "resources:\n  - ./tools  # utilities\n");
    repo.put(kRoot + "/tools/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n");
    repo.put(kRoot + "/tools/kustomization.yaml", "resources:\n  - namespace.yaml\n");
    return repo;
}

bool has_code(const Diagnostics& ds, const std::string& code) {
    for (const auto& d : ds)
        if (d.code == code) return true;
    return false;
}

}  // namespace

TEST_CASE("plan_request runs check, render and plan_change in one call", "[gitops][pipeline]") {
    MemoryRepo repo = fixture();
    PlannedRequest p = plan_request(engine(), kWhoami, repo);
    REQUIRE(p.ok());
    REQUIRE(p.app);
    CHECK(p.app->appName == "whoami");
    CHECK(p.plan->appDir == kRoot + "/whoami/whoami");
    CHECK(p.plan->newNamespace);
    REQUIRE(p.plan->edits.size() == 1);
    CHECK(p.plan->edits[0].new_text == "resources:\n  - ./tools  # utilities\n  - ./whoami\n");
    CHECK(p.plan->branch == feature_branch_name(*p.app));

    // The same as the steps done by hand, and the same from an in-memory document.
    auto checked = engine().check(kWhoami);
    auto bundle = engine().render(*checked.app);
    Plan by_hand = plan_change(*checked.app, *bundle.value, engine().profile(), repo, checked.diagnostics);
    CHECK(plan_to_json(by_hand) == plan_to_json(*p.plan));
    PlannedRequest from_doc = plan_checked_request(engine(), engine().check_document(*checked.document), repo);
    REQUIRE(from_doc.ok());
    CHECK(plan_to_json(*from_doc.plan) == plan_to_json(*p.plan));

    auto j = planned_request_to_json(p);
    CHECK(j["ok"] == true);
    CHECK(j["branch"] == p.plan->branch);
    CHECK(j["diagnostics"] == nlohmann::json::array());
}

TEST_CASE("plan_request stops at the first failing step with every diagnostic", "[gitops][pipeline]") {
    MemoryRepo repo = fixture();
    SECTION("a NAS request is the other workflow") {
        PlannedRequest p = plan_request(engine(), "komodoRequest:\n  appName: x\n", repo);
        CHECK_FALSE(p.ok());
        CHECK_FALSE(p.plan);
        CHECK(has_code(p.diagnostics, "gitops.kind"));
    }
    SECTION("an invalid request is not rendered") {
        PlannedRequest p = plan_request(engine(), "operatorId: alice\nappName: Bad_Name\n", repo);
        CHECK_FALSE(p.ok());
        CHECK_FALSE(p.plan);
        CHECK(has_errors(p.diagnostics));
        CHECK_FALSE(is_parse_failure(p.diagnostics));
        auto j = planned_request_to_json(p);
        CHECK(j["ok"] == false);
        CHECK(j["diagnostics"].size() == p.diagnostics.size());
    }
    SECTION("unreadable text is a parse failure") {
        PlannedRequest p = plan_request(engine(), "appName: [unclosed", repo);
        CHECK_FALSE(p.ok());
        CHECK(is_parse_failure(p.diagnostics));
    }
    SECTION("a conflict keeps the plan but is not ok") {
        repo.put(kRoot + "/whoami/whoami/old.yaml", "kind: ConfigMap\n");
        PlannedRequest p = plan_request(engine(), kWhoami, repo);
        CHECK_FALSE(p.ok());
        REQUIRE(p.plan);
        CHECK(has_code(p.diagnostics, "gitops.app.exists"));
        CHECK(planned_request_to_json(p)["ok"] == false);
    }
}

TEST_CASE("FsRepo plans exactly like the same files in memory", "[gitops][pipeline][edge]") {
    namespace fs = std::filesystem;
    MemoryRepo memory = fixture();
    fs::path dir = fs::temp_directory_path() / ("appforge-fsrepo-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    for (const auto& [path, text] : memory.files()) {
        fs::create_directories((dir / path).parent_path());
        std::ofstream(dir / path, std::ios::binary) << text;
    }
    fs::create_directories(dir / ".git");
    std::ofstream(dir / ".git" / "HEAD") << "ref: refs/heads/main\n";

    edge::FsRepo repo(dir.string());
    CHECK(repo.list_files("") == memory.list_files(""));  // .git is never listed
    CHECK(repo.read_file(kRoot + "/kustomization.yaml") == memory.read_file(kRoot + "/kustomization.yaml"));
    CHECK_FALSE(repo.read_file("../etc/passwd"));
    CHECK_FALSE(edge::is_safe_repo_path("a/../b"));
    CHECK(edge::is_safe_repo_path("a/b.yaml"));
    PlannedRequest from_fs = plan_request(engine(), kWhoami, repo);
    PlannedRequest from_memory = plan_request(engine(), kWhoami, memory);
    REQUIRE(from_fs.ok());
    CHECK(plan_to_json(*from_fs.plan) == plan_to_json(*from_memory.plan));
    fs::remove_all(dir);
}
