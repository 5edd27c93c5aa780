// The GitOps change set core: kustomization text edits, planning against an in-memory repo,
// conflicts, branch names, risk, lifecycle and audit records.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/value_rules.hpp"

using namespace appforge;

namespace {

const std::string kRoot = "kubernetes/clusters/homelab/namespaces";

std::shared_ptr<const Engine> engine() {
    static auto e = [] {
        auto r = Engine::create();
        REQUIRE(r.ok());
        return *r.value;
    }();
    return e;
}

struct Rendered {
    AppRequest app;
    Bundle bundle;
};

Rendered render(const std::string& yaml) {
    auto checked = engine()->check(yaml);
    std::string why;
    for (const auto& d : checked.diagnostics) why += d.path + ": " + d.message + "\n";
    INFO(yaml << why);
    REQUIRE(checked.ok());
    REQUIRE(checked.app);
    auto b = engine()->render(*checked.app);
    REQUIRE(b.ok());
    return {*checked.app, *b.value};
}

const char* kWhoami =
    "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
    "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";

/// A realistic repo: two namespaces, one app with an Ingress in a multi-document file.
MemoryRepo sample_repo() {
    MemoryRepo r;
    r.put(kRoot + "/kustomization.yaml",
          "# Namespaces of the homelab cluster\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\n"
          "kind: Kustomization\n"
          "resources:\n"
          "  # media first\n"
          "  - ./media   # Jellyfin and friends\n"
          "  - ./tools\n"
          "# keep this comment\n");
    r.put(kRoot + "/media/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n");
    r.put(kRoot + "/media/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- namespace.yaml\n- ./jellyfin\n");
    r.put(kRoot + "/media/jellyfin/kustomization.yaml", "resources:\n  - app.yaml\n");
    r.put(kRoot + "/media/jellyfin/app.yaml",
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: jellyfin\n---\n"
          "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: jellyfin\n  namespace: media\n"
          "spec:\n  rules:\n    - host: Media.hypyr.space\n");
    r.put(kRoot + "/tools/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n");
    r.put(kRoot + "/tools/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n");
    return r;
}

bool has_code(const Diagnostics& ds, const std::string& code) {
    return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) { return d.code == code; });
}

bool has_reason(const RiskAssessment& r, const std::string& code) {
    return std::any_of(r.reasons.begin(), r.reasons.end(), [&](const RiskReason& x) { return x.code == code; });
}

std::vector<std::string> resources_of(const std::string& text) {
    auto doc = parse_document(text);
    REQUIRE(doc.ok());
    std::vector<std::string> out;
    for (const auto& e : (*doc.value)["resources"]) out.push_back(e.get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("insert_resource_entry keeps comments, order and indentation", "[gitops]") {
    std::string text =
        "# top comment\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:   # the list\n"
        "  # first\n"
        "  - ./a   # inline\n"
        "\n"
        "  - ./b\n"
        "# trailing comment\n"
        "namespace: x\n";
    auto r = insert_resource_entry("k.yaml", text, "c");
    REQUIRE(r.ok());
    CHECK(r.value->new_text ==
          "# top comment\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\n"
          "kind: Kustomization\n"
          "resources:   # the list\n"
          "  # first\n"
          "  - ./a   # inline\n"
          "\n"
          "  - ./b\n"
          "  - ./c\n"
          "# trailing comment\n"
          "namespace: x\n");
    CHECK(r.value->entry == "./c");
    CHECK(r.value->line == 9);
    CHECK(r.value->old_text == text);
    CHECK(resources_of(r.value->new_text) == std::vector<std::string>{"./a", "./b", "./c"});
}

TEST_CASE("insert_resource_entry follows the file's style", "[gitops]") {
    SECTION("zero-indent items") {
        auto r = insert_resource_entry("k", "resources:\n- namespace.yaml\n- ./app\nkind: Kustomization\n", "new");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "resources:\n- namespace.yaml\n- ./app\n- ./new\nkind: Kustomization\n");
    }
    SECTION("entries without ./ stay without") {
        auto r = insert_resource_entry("k", "resources:\n    - one\n    - two/\n", "three");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "resources:\n    - one\n    - two/\n    - three\n");
    }
    SECTION("CRLF line endings are kept") {
        auto r = insert_resource_entry("k", "kind: Kustomization\r\nresources:\r\n  - ./a\r\n", "b");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "kind: Kustomization\r\nresources:\r\n  - ./a\r\n  - ./b\r\n");
    }
    SECTION("a missing final newline is added before the entry") {
        auto r = insert_resource_entry("k", "resources:\n  - ./a", "b");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "resources:\n  - ./a\n  - ./b\n");
    }
    SECTION("an empty list followed by another key") {
        auto r = insert_resource_entry("k", "resources:\n# none yet\nkind: Kustomization\n", "a");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "resources:\n  - ./a\n# none yet\nkind: Kustomization\n");
        CHECK(resources_of(r.value->new_text) == std::vector<std::string>{"./a"});
    }
    SECTION("no resources key at all") {
        auto r = insert_resource_entry("k", "kind: Kustomization\n", "a");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "kind: Kustomization\nresources:\n  - ./a\n");
        CHECK(r.value->line == 3);
    }
    SECTION("multi-line items stay whole") {
        auto r = insert_resource_entry("k", "resources:\n  - >-\n    ./folded\n  - ./b\npatches: []\n", "c");
        REQUIRE(r.ok());
        CHECK(r.value->new_text == "resources:\n  - >-\n    ./folded\n  - ./b\n  - ./c\npatches: []\n");
    }
}

TEST_CASE("insert_resource_entry refuses what it cannot edit safely", "[gitops]") {
    CHECK(has_code(insert_resource_entry("k", "resources: [./a, ./b]\n", "c").diagnostics, "gitops.kustomization.flow"));
    CHECK(has_code(insert_resource_entry("k", "resources:\n  - ./a\n", "a").diagnostics, "gitops.kustomization.listed"));
    CHECK(has_code(insert_resource_entry("k", "resources:\n  - a/\n", "a").diagnostics, "gitops.kustomization.listed"));
    CHECK(has_code(insert_resource_entry("k", "resources: [\n", "a").diagnostics, "gitops.kustomization.parse"));
    CHECK(has_code(insert_resource_entry("k", "resources: {a: 1}\n", "a").diagnostics, "gitops.kustomization.shape"));
    CHECK(has_code(insert_resource_entry("k", "- a\n- b\n", "c").diagnostics, "gitops.kustomization.shape"));
    // A key that is indented or quoted cannot be located as text: refused, never guessed.
    CHECK(has_code(insert_resource_entry("k", "\"resources\":\n  - ./a\n", "b").diagnostics, "gitops.kustomization.shape"));
}

TEST_CASE("plan_change creates a namespace folder only when it is new", "[gitops]") {
    auto repo = sample_repo();
    SECTION("new namespace") {
        auto w = render(kWhoami);
        Plan p = plan_change(w.app, w.bundle, engine()->profile(), repo);
        REQUIRE(p.ok());
        CHECK(p.newNamespace);
        CHECK(p.appDir == kRoot + "/whoami/whoami");
        REQUIRE(p.edits.size() == 1);
        CHECK(p.edits[0].path == kRoot + "/kustomization.yaml");
        CHECK(resources_of(p.edits[0].new_text) == std::vector<std::string>{"./media", "./tools", "./whoami"});
        CHECK(p.edits[0].new_text.find("# keep this comment\n") != std::string::npos);
        CHECK(p.edits[0].new_text.find("  - ./media   # Jellyfin and friends\n") != std::string::npos);
        REQUIRE(p.creates.size() == 2 + w.bundle.files.size());
        CHECK(p.creates[0].path == kRoot + "/whoami/namespace.yaml");
        auto ns = parse_document(p.creates[0].content);
        REQUIRE(ns.ok());
        CHECK((*ns.value)["kind"] == "Namespace");
        CHECK((*ns.value)["metadata"]["name"] == "whoami");
        CHECK(p.creates[1].path == kRoot + "/whoami/kustomization.yaml");
        CHECK(resources_of(p.creates[1].content) == std::vector<std::string>{"namespace.yaml", "./whoami"});
        for (std::size_t i = 0; i < w.bundle.files.size(); ++i) {
            CHECK(p.creates[2 + i].path == p.appDir + "/" + w.bundle.files[i].path);
            CHECK(p.creates[2 + i].content == w.bundle.files[i].text);
        }
    }
    SECTION("existing namespace") {
        auto w = render(std::string(kWhoami) + "namespace: tools\n");
        Plan p = plan_change(w.app, w.bundle, engine()->profile(), repo);
        REQUIRE(p.ok());
        CHECK_FALSE(p.newNamespace);
        REQUIRE(p.edits.size() == 1);
        CHECK(p.edits[0].path == kRoot + "/tools/kustomization.yaml");
        CHECK(p.edits[0].new_text ==
              "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n"
              "  - ./whoami\n");
        CHECK(p.creates.size() == w.bundle.files.size());
        for (const auto& f : p.creates) CHECK(f.path.rfind(kRoot + "/tools/whoami/", 0) == 0);
    }
    SECTION("existing namespace with zero-indent list") {
        auto w = render(std::string(kWhoami) + "namespace: media\n");
        Plan p = plan_change(w.app, w.bundle, engine()->profile(), repo);
        REQUIRE(p.ok());
        REQUIRE(p.edits.size() == 1);
        CHECK(p.edits[0].new_text.find("- ./jellyfin\n- ./whoami\n") != std::string::npos);
    }
}

TEST_CASE("plan_change reports every conflict before anything is written", "[gitops]") {
    auto w = render(kWhoami);
    const auto& profile = engine()->profile();

    SECTION("app folder exists") {
        auto repo = sample_repo();
        repo.put(kRoot + "/whoami/whoami/old.yaml", "x: 1\n");
        repo.put(kRoot + "/whoami/kustomization.yaml", "resources:\n  - ./whoami\n");
        Plan p = plan_change(w.app, w.bundle, profile, repo);
        CHECK_FALSE(p.ok());
        CHECK(has_code(p.diagnostics, "gitops.app.exists"));
    }
    SECTION("hostname used by another Ingress in a multi-document file") {
        auto repo = sample_repo();
        repo.put("kubernetes/clusters/homelab/infra/proxy.yaml",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n"
                 "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: proxy\n"
                 "spec:\n  tls:\n    - hosts: [WHOAMI.internal.hypyr.space]\n");
        Plan p = plan_change(w.app, w.bundle, profile, repo);
        CHECK_FALSE(p.ok());
        REQUIRE(has_code(p.diagnostics, "gitops.host.taken"));
        auto d = *std::find_if(p.diagnostics.begin(), p.diagnostics.end(),
                               [](const Diagnostic& x) { return x.code == "gitops.host.taken"; });
        CHECK(d.path == "/appName");
        CHECK(d.message.find("infra/proxy.yaml") != std::string::npos);
        CHECK(d.message.find("Ingress 'proxy'") != std::string::npos);
    }
    SECTION("hostname published by an ExternalDNS annotation elsewhere") {
        auto repo = sample_repo();
        repo.put("kubernetes/clusters/homelab/infra/svc.yml",
                 "kind: Service\nmetadata:\n  name: s\n  annotations:\n"
                 "    external-dns.alpha.kubernetes.io/hostname: a.hypyr.space, whoami.internal.hypyr.space\n");
        CHECK(has_code(plan_change(w.app, w.bundle, profile, repo).diagnostics, "gitops.host.taken"));
    }
    SECTION("a host in another cluster folder is not a conflict") {
        auto repo = sample_repo();
        repo.put("kubernetes/clusters/other/ing.yaml",
                 "kind: Ingress\nmetadata:\n  name: x\nspec:\n  rules:\n    - host: whoami.internal.hypyr.space\n");
        CHECK(plan_change(w.app, w.bundle, profile, repo).ok());
    }
    SECTION("namespaces kustomization missing") {
        MemoryRepo repo;
        repo.put(kRoot + "/media/kustomization.yaml", "resources: []\n");
        Plan p = plan_change(w.app, w.bundle, profile, repo);
        CHECK(has_code(p.diagnostics, "gitops.kustomization.missing"));
        CHECK(p.edits.empty());
    }
    SECTION("namespaces kustomization does not parse") {
        auto repo = sample_repo();
        repo.put(kRoot + "/kustomization.yaml", "resources:\n  - ./media\n bad: [\n");
        CHECK(has_code(plan_change(w.app, w.bundle, profile, repo).diagnostics, "gitops.kustomization.parse"));
    }
    SECTION("namespace kustomization missing or broken while the folder exists") {
        auto repo = sample_repo();
        auto t = render(std::string(kWhoami) + "namespace: tools\n");
        repo.put(kRoot + "/tools/kustomization.yaml", "resources: \"oops\"\n");
        CHECK(has_code(plan_change(t.app, t.bundle, profile, repo).diagnostics, "gitops.kustomization.shape"));
        MemoryRepo bare;
        bare.put(kRoot + "/kustomization.yaml", "resources:\n  - ./tools\n");
        bare.put(kRoot + "/tools/namespace.yaml", "kind: Namespace\n");
        CHECK(has_code(plan_change(t.app, t.bundle, profile, bare).diagnostics, "gitops.kustomization.missing"));
    }
    SECTION("reserved namespace") {
        auto repo = sample_repo();
        ClusterProfile reserved = profile;
        reserved.reservedNamespaces.push_back("who*");
        Plan p = plan_change(w.app, w.bundle, reserved, repo);
        REQUIRE(has_code(p.diagnostics, "gitops.namespace.reserved"));
        CHECK(p.diagnostics.front().path == "/appName");
    }
    SECTION("a layout that would escape the repo") {
        auto repo = sample_repo();
        ClusterProfile bad = profile;
        bad.gitopsRoot = "../elsewhere";
        Plan p = plan_change(w.app, w.bundle, bad, repo);
        CHECK(has_code(p.diagnostics, "gitops.layout.invalid"));
        CHECK(p.creates.empty());
    }
    SECTION("existing namespace folder not listed by the parent is a warning") {
        auto repo = sample_repo();
        repo.put(kRoot + "/kustomization.yaml", "resources:\n  - ./media\n");
        auto t = render(std::string(kWhoami) + "namespace: tools\n");
        Plan p = plan_change(t.app, t.bundle, profile, repo);
        CHECK(p.ok());
        CHECK(has_code(p.diagnostics, "gitops.namespace.unlisted"));
    }
}

TEST_CASE("the feature branch is a deterministic hash of the canonical request", "[gitops]") {
    auto a = render(kWhoami);
    auto b = render(std::string("# a comment and another order\n") +
                    "appName: whoami\noperatorId: alice\nbackupStrategy: none\ningressPattern: internal-only\n"
                    "storagePattern: ephemeral\ncontainerImage: traefik/whoami:v1.10.1\n"
                    "timestamp: \"2020-01-01T00:00:00Z\"\n");
    auto c = render(std::string(kWhoami) + "namespace: tools\n");
    std::string branch = feature_branch_name(a.app);
    CHECK(branch == feature_branch_name(b.app));
    CHECK(branch != feature_branch_name(c.app));
    // Known answer: the canonical text (sorted keys, compact, without id/timestamp/status) and
    // its SHA-256 prefix, both computed once outside appforge (printf '%s' TEXT | sha256sum).
    // Not recomputed with rules::sha256_hex: a wrong hash function would agree with itself.
    //   python3 -c 'import hashlib, json; print(hashlib.sha256(json.dumps({"operatorId": "alice",
    //     "appName": "whoami", "containerImage": "traefik/whoami:v1.10.1", "storagePattern": "ephemeral",
    //     "ingressPattern": "internal-only", "backupStrategy": "none"}, sort_keys=True,
    //     separators=(",", ":")).encode()).hexdigest())'   -> 27a6aefbbce518f7...
    CHECK(canonical_request_text(to_json(a.app)) ==
          R"({"appName":"whoami","backupStrategy":"none","containerImage":"traefik/whoami:v1.10.1",)"
          R"("ingressPattern":"internal-only","operatorId":"alice","storagePattern":"ephemeral"})");
    CHECK(branch == "feat/app/whoami-27a6aefb");
    auto repo = sample_repo();
    Plan p = plan_change(a.app, a.bundle, engine()->profile(), repo);
    CHECK(p.branch == branch);
    CHECK(p.prTitle == "feat: deploy whoami");
    CHECK(p.commitMessage.rfind("feat(app): add whoami\n\n", 0) == 0);
    CHECK(p.commitMessage.find("Storage: ephemeral\n") != std::string::npos);
    CHECK(p.commitMessage.find("Ingress: internal-only\n") != std::string::npos);
    CHECK(p.commitMessage.find("Backup: none\n") != std::string::npos);
    for (const auto& f : p.creates) CHECK(p.prBody.find(f.path) != std::string::npos);
    CHECK(p.prBody.find("### Risk: **auto-merge**") != std::string::npos);
    CHECK(p.prBody.find("| Operator | alice |") != std::string::npos);
}

TEST_CASE("risk verdicts and reasons", "[gitops]") {
    const auto& profile = engine()->profile();
    auto repo = sample_repo();
    SECTION("internal, stateless: auto-merge") {
        auto w = render(kWhoami);
        auto r = assess_risk(w.app, w.bundle, profile);
        CHECK(r.verdict == RiskVerdict::auto_merge);
        CHECK(r.reasons.empty());
    }
    SECTION("external ingress and a new public DNS name") {
        auto j = render("operatorId: carol\nappName: films\ncontainerImage: jellyfin/jellyfin:10.10.3\n"
                        "storagePattern: ephemeral\ningressPattern: external-via-tunnel\nbackupStrategy: none\n");
        Plan p = plan_change(j.app, j.bundle, profile, repo);
        REQUIRE(p.ok());
        CHECK(p.risk.verdict == RiskVerdict::needs_review);
        CHECK(has_reason(p.risk, "risk.external-ingress"));
        CHECK(has_reason(p.risk, "risk.public-dns"));
        CHECK_FALSE(has_reason(p.risk, "risk.secret-reference"));
        CHECK(p.prBody.find("### Risk: **needs-review**") != std::string::npos);
        CHECK(p.prBody.find("films.hypyr.space") != std::string::npos);
        // A name the repo already serves is not new (the planner reports it as a conflict instead).
        auto known = assess_risk(j.app, j.bundle, profile, {"films.hypyr.space"});
        CHECK(has_reason(known, "risk.external-ingress"));
        CHECK_FALSE(has_reason(known, "risk.public-dns"));
    }
    SECTION("secret references through ExternalSecret and secretKeyRef") {
        auto s = render("operatorId: dave\nappName: archiver\ncontainerImage: ghcr.io/example/archiver:1.0\n"
                        "storagePattern: s3-external\nstorageConfig: {s3Bucket: homelab-archive, s3Region: eu-central-1, "
                        "s3UseExternalSecrets: true}\ningressPattern: internal-only\nbackupStrategy: none\n");
        auto r = assess_risk(s.app, s.bundle, profile);
        CHECK(r.verdict == RiskVerdict::needs_review);
        CHECK(has_reason(r, "risk.secret-reference"));
        CHECK_FALSE(has_reason(r, "risk.external-ingress"));
        bool external_secret = false, key_ref = false;
        for (const auto& x : r.reasons) {
            external_secret |= x.message.find("ExternalSecret") != std::string::npos;
            key_ref |= x.message.find("secretKeyRef") != std::string::npos;
        }
        CHECK(external_secret);
        CHECK(key_ref);
    }
    SECTION("backups: the profile's shared restic Secret is not new, any other is") {
        auto b = render("operatorId: bob\nappName: paperless\ncontainerImage: ghcr.io/paperless-ngx/paperless-ngx:2.13.5\n"
                        "storagePattern: longhorn-persistent\nstorageConfig: {sizeGi: 20}\ningressPattern: internal-only\n"
                        "backupStrategy: volsync-snapshots\n");
        CHECK(assess_risk(b.app, b.bundle, profile).verdict == RiskVerdict::auto_merge);
        ClusterProfile other = profile;
        other.volsyncRepositorySecret = "some-other-secret";
        auto r = assess_risk(b.app, b.bundle, other);
        REQUIRE(r.reasons.size() == 1);
        CHECK(r.reasons[0].code == "risk.secret-reference");
        CHECK(r.reasons[0].message.find("restic-credentials") != std::string::npos);
    }
    SECTION("management namespace") {
        auto w = render(std::string(kWhoami) + "namespace: tools\n");
        ClusterProfile mgmt = profile;
        mgmt.managementNamespaces = {"tool*"};
        auto r = assess_risk(w.app, w.bundle, mgmt);
        REQUIRE(r.reasons.size() == 1);
        CHECK(r.reasons[0].code == "risk.management-namespace");
        CHECK(assess_risk(w.app, w.bundle, profile).verdict == RiskVerdict::auto_merge);
    }
}

TEST_CASE("PR body escapes operator-controlled Markdown", "[gitops]") {
    auto w = render(kWhoami);
    w.app.operatorId = "eve](http://evil) | <b>x</b>";
    Plan p = plan_change(w.app, w.bundle, engine()->profile(), sample_repo());
    CHECK(p.prBody.find("](http://evil)") == std::string::npos);
    CHECK(p.prBody.find("<b>") == std::string::npos);
    CHECK(p.prBody.find("| Operator | eve\\]\\(http://evil\\) \\| \\<b\\>x\\</b\\> |") != std::string::npos);
}

TEST_CASE("lifecycle records outputs and only moves pending -> success/failed", "[gitops]") {
    auto w = render(kWhoami);
    AppRequest r = w.app;
    const std::string sha(40, 'a');
    const std::string branch = feature_branch_name(r);

    SECTION("happy path") {
        CHECK(record_commit(r, branch, sha).empty());
        CHECK(r.commitSha == sha);
        CHECK(r.featureBranch == branch);
        CHECK(r.status == Status::pending);
        CHECK(record_pull_request(r, 42, "https://github.com/o/r/pull/42").empty());
        CHECK(r.prNumber == 42);
        CHECK(record_merge(r, "2026-01-25T10:00:00Z").empty());
        CHECK(r.status == Status::success);
        CHECK(r.mergedAt == "2026-01-25T10:00:00Z");
        // success is final
        AppRequest before = r;
        CHECK(has_code(record_failure(r, "late"), "status.transition"));
        CHECK(has_code(record_merge(r, "2026-01-26T10:00:00Z"), "status.transition"));
        CHECK(has_code(record_commit(r, branch, std::string(40, 'b')), "lifecycle.not-pending"));
        CHECK(r == before);
    }
    SECTION("bad values change nothing") {
        AppRequest before = r;
        CHECK(has_code(record_commit(r, branch, "XYZ"), "lifecycle.commitSha.format"));
        CHECK(has_code(record_commit(r, "feat/../x", sha), "lifecycle.featureBranch.format"));
        CHECK(has_code(record_pull_request(r, 1, "https://x/pr/1"), "lifecycle.order"));
        CHECK(has_code(record_merge(r, "2026-01-25T10:00:00Z"), "lifecycle.order"));
        CHECK(r == before);
        REQUIRE(record_commit(r, branch, sha).empty());
        CHECK(has_code(record_pull_request(r, 0, "https://x/pr/0"), "lifecycle.prNumber.range"));
        CHECK(has_code(record_pull_request(r, 3, "javascript:alert(1)"), "lifecycle.prUrl.format"));
        REQUIRE(record_pull_request(r, 3, "https://x/pr/3").empty());
        CHECK(has_code(record_merge(r, "yesterday"), "lifecycle.mergedAt.format"));
        CHECK(r.status == Status::pending);
    }
    SECTION("failure from pending, then final") {
        CHECK(record_failure(r, "git commit failed").empty());
        CHECK(r.status == Status::failed);
        REQUIRE(r.validationErrors);
        CHECK(r.validationErrors->back() == "git commit failed");
        CHECK(has_code(record_merge(r, "2026-01-25T10:00:00Z"), "status.transition"));
        CHECK(has_code(record_failure(r), "status.transition"));
    }
}

TEST_CASE("audit records carry the whitelisted fields only", "[gitops]") {
    auto s = render("operatorId: dave\nappName: archiver\ncontainerImage: ghcr.io/example/archiver:1.0\n"
                    "storagePattern: s3-external\nstorageConfig: {s3Bucket: homelab-archive, s3Region: eu-central-1, "
                    "s3UseExternalSecrets: true}\ningressPattern: internal-only\nbackupStrategy: none\n");
    AuditOutcome o{"committed", 2, std::string("feat/app/archiver-12345678"), std::string(40, 'c')};
    auto j = audit_record(&s.app, o, "2026-01-25T10:00:00Z");
    CHECK(j["id"] == *s.app.id);
    CHECK(j["operatorId"] == "dave");
    CHECK(j["timestamp"] == "2026-01-25T10:00:00Z");
    CHECK(j["app"] == "archiver");
    CHECK(j["outcome"] == "committed");
    CHECK(j["diagnostics"] == 2);
    CHECK(j["branch"] == "feat/app/archiver-12345678");
    CHECK(j["commit"] == std::string(40, 'c'));
    CHECK(j["choices"]["storagePattern"] == "s3-external");
    CHECK(j["choices"]["storageConfig"]["s3Bucket"] == "homelab-archive");
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"app", "branch", "choices", "commit", "diagnostics", "id", "image",
                                           "namespace", "operatorId", "outcome", "timestamp"});
    // Lifecycle fields and validation messages never reach the audit line.
    s.app.validationErrors = std::vector<std::string>{"secret=hunter2"};
    CHECK(audit_record(&s.app, o, "t").dump().find("hunter2") == std::string::npos);

    auto none = audit_record(nullptr, AuditOutcome{"rejected", 1, {}, {}}, "2026-01-25T10:00:00Z");
    CHECK(none["app"].is_null());
    CHECK(none["branch"].is_null());
    CHECK(none["outcome"] == "rejected");
}

TEST_CASE("served_hosts reads Ingress, HTTPRoute and ExternalDNS hostnames", "[gitops]") {
    auto ing = nlohmann::json::parse(R"({"kind":"Ingress","metadata":{"annotations":{"p/hostname":" b.x , a.x"}},
        "spec":{"rules":[{"host":"A.x"},{"http":{}}],"tls":[{"hosts":["c.x","a.x"]}]}})");
    CHECK(served_hosts(ing, "p/") == std::vector<std::string>{"a.x", "c.x", "b.x"});
    auto route = nlohmann::json::parse(R"({"kind":"HTTPRoute","spec":{"hostnames":["r.x"]}})");
    CHECK(served_hosts(route, "p/") == std::vector<std::string>{"r.x"});
    CHECK(served_hosts(nlohmann::json::parse(R"({"kind":"Ingress","spec":"weird"})"), "p/").empty());
}

TEST_CASE("plan_to_json lists creates, edits and risk", "[gitops]") {
    auto w = render(kWhoami);
    Plan p = plan_change(w.app, w.bundle, engine()->profile(), sample_repo());
    auto j = plan_to_json(p);
    CHECK(j["ok"] == true);
    CHECK(j["branch"] == p.branch);
    CHECK(j["creates"].size() == p.creates.size());
    CHECK(j["edits"][0]["entry"] == "./whoami");
    CHECK(j["risk"]["verdict"] == "auto-merge");
}
