// The fast paths (simple block YAML without yaml-cpp; templates filled into cached skeletons)
// must give exactly what the full parser gives, for good and bad input alike.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "appforge/catalog.hpp"
#include "appforge/document.hpp"
#include "appforge/engine.hpp"

using nlohmann::json;
using namespace appforge;

namespace {

/// A leading "---" line is outside the simple subset, so this always takes yaml-cpp.
Result<std::vector<json>> full_parse(const std::string& text, const ParseLimits& limits = {}) {
    return parse_documents("---\n" + text, limits);
}

std::vector<std::string> codes(const Diagnostics& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.code);
    return out;
}

}  // namespace

TEST_CASE("simple block YAML reads exactly like yaml-cpp", "[fast]") {
    const std::vector<std::string> inputs = {
        "a: 1\n",
        "a: 1",
        "# comment\na: x # trailing\n\nb: \"q # not a comment\"\n",
        "appName: demo\nstorageConfig:\n  sizeGi: 20\n  nasSubpath: /mnt/x\nbackupStrategy: none\n",
        "a:\nb: 2\n",
        "a:\n  # only a comment\nb: 2\n",
        "a:\n    deep:\n      deeper: \"v\"\n    back: 1\nc: ~\n",
        "n: -5\nf: 1.5\ne: 1e3\nh: 0x1F\no: 0o17\nbig: 123456789012345678901234567890\n",
        "t: true\nf: False\nnul: null\nnul2: Null\ny: yes\non: off\n",
        "k: 'single'\nd: \"double\"\n",
        "img: ghcr.io/a/b:1.2@sha256:abc\ncron: 0 2 * * *\ntime: 12:30\n",
        "spaces: a  b   \n",
        "e: \"\"\ns: ''\n",
        "under_score: 1\ndash-key: 2\nCamel: 3\n",
        "  indented: 1\n  root: 2\n",
        ".dot: 1\n",
        // outside the subset or invalid: must fall back and fail or succeed the same way
        "a: 1\na: 2\n",
        "a: 1\n  b: 2\n",
        "a:\n  b: 1\n c: 2\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a:\n  - x\n",
        "a: |\n  text\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: \"esc\\n\"\n",
        "a: 'it''s'\n",
        "a: b: c\n",
        "a: x:\n",
        "a:#x\n",
        "a: \"x\"y\n",
        "a: \"open\n",
        "a: x#y\n",
        "true: 1\n",
        "null: 1\n",
        "1: one\n",
        "a: 1\r\nb: 2\r\n",
        "a:\tb\n",
        "- 1\n- 2\n",
        "\"quoted key\": 1\n",
        "a: caf\xc3\xa9\n",
        "a: @x\n",
        "a: `x\n",
        "a: %x\n",
        "a: x\n  continued\n",
        "a: -1\n",
        std::string(1100, 'k') + ": 1\n",
        "k: " + std::string(1100, 'v') + "\n",
    };
    for (const auto& text : inputs) {
        INFO("input: " << text);
        auto fast = parse_documents(text);
        auto full = full_parse(text);
        REQUIRE(fast.ok() == full.ok());
        if (fast.ok()) {
            CHECK(*fast.value == *full.value);
            // Same types too (unsigned vs signed vs float print differently).
            CHECK(json(*fast.value).dump() == json(*full.value).dump());
        } else {
            CHECK(codes(fast.diagnostics) == codes(full.diagnostics));
        }
    }
}

TEST_CASE("simple block YAML keeps the parse limits", "[fast]") {
    ParseLimits tight;
    tight.max_nodes = 4;
    auto r = parse_documents("a: 1\nb: 2\nc: 3\n", tight);
    REQUIRE_FALSE(r.ok());
    CHECK(r.diagnostics.front().code == "parse.too_many_nodes");
    ParseLimits shallow;
    shallow.max_depth = 2;
    auto d = parse_documents("a:\n  b:\n    c: 1\n", shallow);
    REQUIRE_FALSE(d.ok());
    CHECK(d.diagnostics.front().code == "parse.depth");
}

TEST_CASE("template skeletons give what rendering and parsing give", "[fast]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    const Catalog& catalog = (*engine.value)->catalog();
    json base = {{"appName", "demo"},
                 {"namespace", "demo"},
                 {"image", "registry.example/demo:1"},
                 {"operatorId", "op"},
                 {"volumeName", "app-data"},
                 {"mountPath", "/data"},
                 {"claimName", "demo-data"},
                 {"storageClass", "longhorn"},
                 {"nasCapacity", "100Gi"},
                 {"servicePort", "80"},
                 {"containerPort", "8080"},
                 {"sizeGi", "20"},
                 {"nasServer", "nas.internal"},
                 {"nasPath", "/mnt/demo"},
                 {"s3Bucket", "bucket"},
                 {"s3Region", "eu-central-1"},
                 {"s3UseExternalSecrets", true},
                 {"s3SecretName", "demo-s3"},
                 {"secretStore", {{"name", "onepassword"}, {"kind", "ClusterSecretStore"}}},
                 {"host", "demo.internal.hypyr.space"},
                 {"ingressClass", "nginx"},
                 {"dnsPrefix", "external-dns.alpha.kubernetes.io/"},
                 {"tunnelTarget", "external.hypyr.space"},
                 {"cloudflareProxied", "true"},
                 {"schedule", "0 2 * * *"},
                 {"retentionDays", "30"},
                 {"repositorySecret", "demo-restic"},
                 {"repositoryKey", "volsync/demo"},
                 {"useSnapshots", true},
                 {"copyMethod", "Snapshot"},
                 {"snapshotClass", "longhorn-snapshot"},
                 {"cacheCapacity", "1Gi"}};
    // Each variant changes values (some outside the fast path's alphabet) or the shape.
    std::vector<json> contexts;
    contexts.push_back(base);
    auto with = [&](const char* key, json value) {
        json c = base;
        c[key] = std::move(value);
        contexts.push_back(c);
    };
    with("appName", "other-app");
    with("host", "quote\"and\\backslash # hash: colon");
    with("host", "");
    with("host", "  spaced  ");
    with("namespace", "caf\xc3\xa9");
    with("namespace", "tab\there\nnewline");
    with("schedule", "@daily");
    with("sizeGi", "007");
    with("sizeGi", "");
    with("sizeGi", "1e3");
    with("retentionDays", "abc");
    with("retentionDays", 14);
    with("useSnapshots", false);
    with("s3UseExternalSecrets", false);
    with("tunnelTarget", nullptr);
    with("dnsPrefix", "same");
    with("dnsPrefix", std::string(1020, 'p'));  // a key over YAML's 1024-character limit
    with("secretStore", json::object());
    with("repositoryKey", std::string(2000, 'x'));
    with("cloudflareProxied", json::array({"a", "b"}));
    {
        json c = base;
        c.erase("tunnelTarget");
        c.erase("repositoryKey");
        c.erase("sizeGi");
        contexts.push_back(c);
    }
    ParseLimits limits;
    int compared = 0;
    for (PatternKind kind : {PatternKind::storage, PatternKind::ingress, PatternKind::backup})
        for (const Pattern* p : catalog.patterns(kind)) {
            std::vector<const Template*> ts;
            if (p->volume) ts.push_back(p->volume.get());
            if (p->env) ts.push_back(p->env.get());
            for (const auto& m : p->manifests) ts.push_back(m.tmpl.get());
            for (const Template* t : ts)
                for (int round = 0; round < 2; ++round)  // the second round reads the cache
                    for (const auto& c : contexts) {
                        INFO(p->source << " context " << c.dump());
                        auto fast = t->render_documents(c, limits);
                        auto slow = parse_documents(t->render(c), limits);
                        REQUIRE(fast.ok() == slow.ok());
                        if (fast.ok()) CHECK(json(*fast.value).dump() == json(*slow.value).dump());
                        else CHECK(codes(fast.diagnostics) == codes(slow.diagnostics));
                        ++compared;
                    }
        }
    CHECK(compared > 100);
}
