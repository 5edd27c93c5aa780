// The Backstage template generator: its regexes agree with the C++ scanners, and the form
// follows the catalog and the profile.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <unistd.h>

#include "appforge/backstage.hpp"
#include "appforge/value_rules.hpp"

namespace bs = appforge::backstage;
namespace rules = appforge::rules;
using nlohmann::json;

namespace {

bool matches(const std::string& pattern, const std::string& s) {
    return std::regex_search(s, std::regex(pattern, std::regex::ECMAScript));
}

/// Hand-picked edge cases plus random strings over an alphabet that hits every rule.
std::vector<std::string> corpus(const std::string& alphabet, std::size_t max_len, int n,
                                std::vector<std::string> fixed) {
    std::mt19937 rng(7);
    for (int i = 0; i < n; ++i) {
        std::string s;
        std::size_t len = rng() % (max_len + 1);
        for (std::size_t j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
        fixed.push_back(s);
    }
    return fixed;
}

std::shared_ptr<const appforge::Engine> engine(const std::string& profile = "", std::vector<std::string> dirs = {}) {
    appforge::EngineOptions o;
    if (!profile.empty()) o.profile_text = profile;
    o.pattern_dirs = std::move(dirs);
    auto e = appforge::Engine::create(o);
    REQUIRE(e.ok());
    return *e.value;
}

const json* find_branch(const json& page, const std::string& selector, const std::string& id) {
    for (const auto& b : page["dependencies"][selector]["oneOf"])
        if (b["properties"][selector]["enum"][0] == id) return &b;
    return nullptr;
}

}  // namespace

TEST_CASE("form regexes agree with the core's scanners", "[backstage]") {
    auto names = corpus("ab0-z9.", 8, 3000, {"", "a", "0", "-a", "a-", "a--b", "0abc", "abc", std::string(63, 'a'),
                                             std::string(64, 'a'), "Abc", "a_b"});
    for (const auto& s : names) {
        INFO(s);
        CHECK((matches(bs::patterns::dns1035_label, s) && s.size() <= 63) == rules::is_dns1035_label(s));
        CHECK((matches(bs::patterns::dns1123_label, s) && s.size() <= 63) == rules::is_dns1123_label(s));
        CHECK(matches(bs::patterns::dns1123_label, s) == rules::matches_app_name_pattern(s));
        CHECK((matches(bs::patterns::port_name, s) && s.size() <= 15) == rules::is_port_name(s));
    }
    auto env_names = corpus("aZ0_.-=", 6, 3000, {"", "A", "0A", "_", ".a", "-x", "A=B", "PUID", "my.var-1"});
    for (const auto& s : env_names) {
        INFO(s);
        CHECK(matches(bs::patterns::env_var_name, s) == rules::is_env_var_name(s));
    }
    auto qty = corpus("0159.+-eEmMGiKk", 6, 4000, {"", "1", "100m", "0.5", ".5", "5.", "1Gi", "1e3", "1E-2", "1e",
                                                   "+1", "-", "1Mi2", "1.2.3", "256Mi", "1ki"});
    for (const auto& s : qty) {
        INFO(s);
        CHECK(matches(bs::patterns::quantity, s) == rules::is_quantity(s));
    }
    // The image pattern is a superset: everything the parser accepts, the form accepts.
    auto images = corpus("ab0/:.-_@", 14, 4000,
                         {"nginx", "nginx:1.27", "ghcr.io/owner/app:v1.0.0", "localhost:5000/a/b:c",
                          "registry.example.com/a__b/c-d:1.0",
                          "ghcr.io/x/y@sha256:" + std::string(64, 'a'), "Nginx", "a//b", "a:"});
    int accepted = 0;
    for (const auto& s : images) {
        INFO(s);
        if (rules::parse_image_reference(s)) {
            ++accepted;
            CHECK(matches(bs::patterns::image_reference, s));
        }
    }
    CHECK(accepted > 50);
    // nasSubpath: the form rejects every traversal the rules call traversal.
    auto paths = corpus("/a.%2e\\", 10, 3000, {"/mnt/apps/x", "/mnt/../etc", "/a/%2e%2e/b", "/a/%2E", "a/b", "/"});
    for (const auto& s : paths) {
        INFO(s);
        bool traversal = s.find("..") != std::string::npos || s.find("%2e") != std::string::npos ||
                         s.find("%2E") != std::string::npos;
        if (matches(bs::patterns::nas_subpath, s)) CHECK_FALSE(traversal);
        if (!traversal && !rules::subpath_problem(s)) CHECK(matches(bs::patterns::nas_subpath, s));
    }
}

TEST_CASE("hostname and reserved-namespace regexes follow the profile", "[backstage]") {
    auto e = engine();
    json internal = bs::field_schema("/ingressConfig/internalHostname", *e);
    json external = bs::field_schema("/ingressConfig/externalHostname", *e);
    auto hosts = corpus("ab-.", 10, 3000, {"a.internal.hypyr.space", "internal.hypyr.space", "a.hypyr.space",
                                           "evilhypyr.space", "a..internal.hypyr.space", "-a.hypyr.space"});
    for (auto s : hosts) {
        for (const char* zone : {"", ".hypyr.space", ".internal.hypyr.space"}) {
            std::string h = s + zone;
            INFO(h);
            bool in_internal = rules::is_hostname(h) && rules::is_under_zone(h, "internal.hypyr.space");
            bool in_public = rules::is_hostname(h) && rules::is_under_zone(h, "hypyr.space");
            CHECK(matches(internal["pattern"], h) == in_internal);
            bool ext = matches(external["pattern"], h) && !matches(external["not"]["pattern"], h);
            CHECK(ext == (in_public && !in_internal));
        }
    }
    std::string reserved = bs::reserved_namespace_regex(e->profile());
    for (const std::string ns : {"kube-system", "kube-x", "default", "backstage", "flux-system"})
        CHECK(matches(reserved, ns));
    for (const std::string ns : {"kube", "defaults", "mybackstage", "apps"}) CHECK_FALSE(matches(reserved, ns));
    CHECK(bs::regex_escape("a.b*c") == "a\\.b\\*c");
}

TEST_CASE("the GitOps template offers exactly the catalog's patterns", "[backstage]") {
    auto e = engine();
    json t = bs::template_document(*e, bs::Workflow::gitops);
    CHECK(t["apiVersion"] == "scaffolder.backstage.io/v1beta3");
    CHECK(t["kind"] == "Template");
    const json& pages = t["spec"]["parameters"];
    REQUIRE(pages.size() == 6);
    const json& storage = pages[1];
    // The container page carries the real-app fields with the core's limits and scanners' patterns.
    const json& ctr = pages[4];
    CHECK(ctr["title"] == "Container");
    CHECK(ctr["properties"]["ports"]["maxItems"] == appforge::limits::max_ports);
    CHECK(ctr["properties"]["ports"]["items"]["properties"]["name"]["pattern"] == bs::patterns::port_name);
    CHECK(ctr["properties"]["env"]["maxItems"] == appforge::limits::max_env);
    CHECK(ctr["properties"]["env"]["items"]["properties"]["name"]["pattern"] == bs::patterns::env_var_name);
    CHECK(ctr["properties"]["probes"]["properties"]["startup"]["properties"]["type"]["enum"] ==
          json({"http", "tcp", "none"}));
    json ids = json::array(), names = json::array();
    for (const auto* p : e->catalog().patterns(appforge::PatternKind::storage)) {
        ids.push_back(p->id);
        names.push_back(p->name);
        INFO(p->id);
        const json* b = find_branch(storage, "storagePattern", p->id);
        REQUIRE(b != nullptr);
        if (!p->requiredFields.empty()) CHECK((*b)["properties"]["storageConfig"]["required"] == json(p->requiredFields));
    }
    CHECK(storage["properties"]["storagePattern"]["enum"] == ids);
    CHECK(storage["properties"]["storagePattern"]["enumNames"] == names);
    CHECK(storage["properties"]["storagePattern"]["ui:help"].get<std::string>().find("Longhorn") != std::string::npos);
    // Steps: appforge runs, then the pull request uses appforge's branch, title and body.
    const json& steps = t["spec"]["steps"];
    REQUIRE(steps.size() == 3);
    CHECK(steps[0]["action"] == "appforge:render");
    CHECK(steps[1]["action"] == "appforge:apply");
    CHECK(steps[2]["action"] == "publish:github:pull-request");
    CHECK(steps[2]["input"]["branchName"] == "${{ steps.apply.output.branch }}");
    CHECK(steps[2]["input"]["title"] == "${{ steps.apply.output.prTitle }}");
    CHECK(steps[2]["input"]["description"] == "${{ steps.apply.output.prBody }}");
    // Limits come from the core's constants.
    const json* lh = find_branch(storage, "storagePattern", "longhorn-persistent");
    REQUIRE(lh);
    CHECK((*lh)["properties"]["storageConfig"]["properties"]["sizeGi"]["maximum"] == appforge::limits::sizeGi_max);
    // The merged form schema has no ui: keys left.
    CHECK(bs::form_schema(*e, bs::Workflow::gitops).dump().find("\"ui:") == std::string::npos);
}

TEST_CASE("a pattern added in an override dir and the profile's NAS endpoints reach the form", "[backstage]") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("appforge-bs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "storage");
    std::string text(appforge::embedded_file("libappforge/patterns/storage/longhorn-persistent.yaml").value());
    text.replace(text.find("id: longhorn-persistent"), std::string("id: longhorn-persistent").size(), "id: ceph-rbd");
    text.replace(text.find("name: Longhorn Persistent"), std::string("name: Longhorn Persistent").size(),
                 "name: Ceph RBD");
    std::ofstream(dir / "storage" / "ceph-rbd.yaml") << text;
    auto e = engine("nas:\n  endpoints: [\"nfs://a.lan:2049\", \"nfs://b.lan\"]\n  appRoots: [/srv/apps]\n",
                    {dir.string()});
    json t = bs::template_document(*e, bs::Workflow::gitops);
    const json& sp = t["spec"]["parameters"][1]["properties"]["storagePattern"];
    CHECK(sp["enum"][0] == "ceph-rbd");
    CHECK(sp["enumNames"][0] == "Ceph RBD");
    const json* nas = find_branch(t["spec"]["parameters"][1], "storagePattern", "nas-mount");
    REQUIRE(nas);
    CHECK((*nas)["properties"]["storageConfig"]["properties"]["nasEndpoint"]["enum"] ==
          json({"nfs://a.lan:2049", "nfs://b.lan"}));
    json n = bs::template_document(*e, bs::Workflow::nas);
    CHECK(n["spec"]["steps"][1]["action"] == "appforge:komodo-deploy");
    std::string loc = n["spec"]["parameters"][0]["properties"]["komodoRequest"]["properties"]["storageLocation"]["pattern"];
    CHECK(matches(loc, "/srv/apps/x"));
    CHECK_FALSE(matches(loc, "/srv/apps/../x"));
    CHECK_FALSE(matches(loc, "/mnt/pool/apps/x"));
    std::filesystem::remove_all(dir);
}
