// Injection corpus: for every string that reaches a manifest, hostile values either get a
// diagnostic or render with the structure unchanged (same files, same key paths, the value read
// back as the same string). render_bundle is also driven directly, past the rules, to prove the
// escape alone holds. Read-back uses yaml-cpp on the file text plus a YAML 1.1 resolver as the
// oracle for plain scalars, since kubectl and many GitOps tools still read YAML 1.1.
#include <catch2/catch.hpp>

#include <functional>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "appforge/document.hpp"
#include "corpus_support.hpp"

using nlohmann::json;
using appforge::ClusterProfile;

namespace {

const std::vector<std::string>& hostile_values() {
    static const std::vector<std::string> v{
        "a\"b", "a'b", "a: b", "a:b", "key:", "x\ny", "x\n", "\nx", "x\r\ny", "# c", "a #b", "a#b", "{x: 1}", "}",
        "[1, 2]", "*alias", "&anchor", "!tag", "!!str", "- item", "-", "? k", "|", ">", "%TAG", "@a", "`t", "yes",
        "on", "no", "off", "Y", "n", "true", "False", "null", "~", "", " ", " lead", "trail ", "123", "0x1F", "0o17",
        "017", "1e3", "1_000", "12:30:00", "2026-01-25", ".inf", "-.inf", ".NaN", "0.5", "+1", "---", "...",
        "--- x", "a\tb", "\\", "\\n", "<<", "=", "a,b", "\xc3\xa9t\xc3\xa9", "\xe2\x80\xa8", "\xc2\x85", "{{x}}",
        "a\"\n---\nkind: Secret\n"};
    return v;
}

/// YAML 1.1 (and 1.2 core) implicit types: what a plain scalar would turn into.
bool resolves_to_non_string(const std::string& s) {
    static const std::regex patterns[] = {
        std::regex("y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
        std::regex("~|null|Null|NULL|"),
        std::regex("[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|0o[0-7]+|"
                   "[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+"),
        std::regex("[-+]?([0-9][0-9_]*)?\\.[0-9.]*([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"
                   "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|[-+]?[0-9]+([eE][-+]?[0-9]+)"),
        std::regex("[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*"),
        std::regex("<<|="),
    };
    for (const auto& p : patterns)
        if (std::regex_match(s, p)) return true;
    return false;
}

using Flat = std::map<std::vector<std::string>, json>;

/// Walks yaml-cpp's tree of one file: leaves by key path, failing on any plain scalar that a
/// YAML 1.1 reader would take for a non-string where appforge meant a string.
void flatten(const YAML::Node& n, const json& as_json, std::vector<std::string>& path, Flat& out) {
    if (n.IsMap()) {
        REQUIRE(as_json.is_object());
        for (const auto& kv : n) {
            std::string key = kv.first.Scalar();
            if (kv.first.Tag() == "?") CHECK_FALSE(resolves_to_non_string(key));
            path.push_back(key);
            flatten(kv.second, as_json.at(key), path, out);
            path.pop_back();
        }
        if (n.size() == 0) out[path] = json::object();
    } else if (n.IsSequence()) {
        REQUIRE(as_json.is_array());
        for (std::size_t i = 0; i < n.size(); ++i) {
            path.push_back("[" + std::to_string(i) + "]");
            flatten(n[i], as_json.at(i), path, out);
            path.pop_back();
        }
        if (n.size() == 0) out[path] = json::array();
    } else {
        if (as_json.is_string() && n.Tag() == "?") {
            INFO("plain scalar [" << n.Scalar() << "] at " << json(path).dump());
            CHECK_FALSE(resolves_to_non_string(n.Scalar()));
        }
        out[path] = as_json;
    }
}

/// Every file of a bundle, read back from its text (not from the in-memory object).
std::map<std::string, Flat> read_back(const appforge::Bundle& b) {
    std::map<std::string, Flat> out;
    for (const auto& f : b.files) {
        INFO("file " << f.path << ":\n" << f.text);
        auto parsed = appforge::parse_document(f.text);
        REQUIRE(parsed.ok());
        YAML::Node node = YAML::Load(f.text);
        std::vector<std::string> path;
        flatten(node, *parsed.value, path, out[f.path]);
    }
    return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    if (from.empty()) return s;
    std::size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

/// The baseline with every occurrence of the marker replaced by the hostile value, in keys and
/// string leaves: what the hostile bundle must look like if the structure is unchanged.
std::map<std::string, Flat> substitute(const std::map<std::string, Flat>& base, const std::string& marker,
                                       const std::string& value) {
    std::map<std::string, Flat> out;
    for (const auto& [file, flat] : base)
        for (const auto& [path, leaf] : flat) {
            std::vector<std::string> p;
            for (const auto& k : path) p.push_back(replace_all(k, marker, value));
            out[file][p] = leaf.is_string() ? json(replace_all(leaf.get<std::string>(), marker, value)) : leaf;
        }
    return out;
}

/// One string that reaches a manifest: how to set it, its unique baseline, its request shape.
struct Field {
    std::string name;
    std::string marker;
    std::function<void(json& request, ClusterProfile& profile, const std::string& value)> set;
    json request;
};

json request_for(const std::string& storage, const std::string& ingress, const std::string& backup) {
    json j{{"id", "6f1c2a9e-6b1d-4c1e-9a51-2d6f3b7a8c01"}, {"operatorId", "alice"}, {"appName", "demo"},
           {"containerImage", "ghcr.io/example/demo:1.0.0"}, {"storagePattern", storage},
           {"ingressPattern", ingress},   {"backupStrategy", backup},
           {"resourceRequests", {{"cpu", "100m"}, {"memory", "64Mi"}}}};
    if (storage == "longhorn-persistent") j["storageConfig"] = {{"sizeGi", 5}};
    if (storage == "nas-mount")
        j["storageConfig"] = {{"nasEndpoint", "nfs://nas.internal:2049"}, {"nasSubpath", "/mnt/apps/demo"}};
    if (storage == "s3-external")
        j["storageConfig"] = {{"s3Bucket", "demo-bucket"}, {"s3Region", "us-east-1"}, {"s3UseExternalSecrets", true}};
    return j;
}

ClusterProfile base_profile() {
    ClusterProfile p;
    p.tunnelTarget = "tunnel.hypyr.space";
    p.secretStore = appforge::SecretStoreRef{"onepassword", "ClusterSecretStore"};
    p.reservedNamespaces = {"kube-*"};
    return p;
}

std::vector<Field> fields() {
    auto req = [](const char* key) {
        return [key](json& r, ClusterProfile&, const std::string& v) { r[json::json_pointer(key)] = v; };
    };
    const json nas_ext = request_for("nas-mount", "external-via-tunnel", "volsync-snapshots");
    const json lh_int = request_for("longhorn-persistent", "internal-only", "volsync-snapshots");
    const json s3_ext = request_for("s3-external", "external-via-tunnel", "none");
    std::vector<Field> f{
        {"appName", "markapp", req("/appName"), lh_int},
        {"namespace", "markns", req("/namespace"), nas_ext},
        {"operatorId", "markop", req("/operatorId"), lh_int},
        {"containerImage", "reg.example/markimg:1", req("/containerImage"), lh_int},
        {"nasSubpath", "/markpath", req("/storageConfig/nasSubpath"), nas_ext},
        {"s3Bucket", "markbucket", req("/storageConfig/s3Bucket"), s3_ext},
        {"s3Region", "markregion",
         [](json& r, ClusterProfile& p, const std::string& v) {
             r["storageConfig"]["s3Region"] = v;
             p.s3Regions = {v};  // a permissive profile: the region list is the cluster's
         },
         s3_ext},
        {"internalHostname", "markhost.internal.hypyr.space", req("/ingressConfig/internalHostname"), lh_int},
        {"externalHostname", "markhost.hypyr.space", req("/ingressConfig/externalHostname"), nas_ext},
        {"schedule", "7 3 * * 1", req("/backupConfig/schedule"), lh_int},
        {"cpu", "123m", req("/resourceRequests/cpu"), lh_int},
        {"memory", "456Mi", req("/resourceRequests/memory"), lh_int},
    };
    auto prof = [](std::function<void(ClusterProfile&, const std::string&)> g) {
        return [g](json&, ClusterProfile& p, const std::string& v) { g(p, v); };
    };
    f.push_back({"zones.public", "markpub.example", prof([](ClusterProfile& p, const std::string& v) { p.publicZone = v; }), s3_ext});
    f.push_back({"zones.internal", "markint.example", prof([](ClusterProfile& p, const std::string& v) { p.internalZone = v; }), lh_int});
    f.push_back({"ingress.internalClass", "markicls", prof([](ClusterProfile& p, const std::string& v) { p.internalIngressClass = v; }), lh_int});
    f.push_back({"ingress.externalClass", "markecls", prof([](ClusterProfile& p, const std::string& v) { p.externalIngressClass = v; }), s3_ext});
    f.push_back({"externalDns.annotationPrefix", "markdns.example/", prof([](ClusterProfile& p, const std::string& v) { p.externalDnsPrefix = v; }), s3_ext});
    f.push_back({"ingress.tunnelTarget", "marktun.example", prof([](ClusterProfile& p, const std::string& v) { p.tunnelTarget = v; }), nas_ext});
    f.push_back({"storage.storageClass", "markclass", prof([](ClusterProfile& p, const std::string& v) { p.storageClass = v; }), lh_int});
    f.push_back({"storage.mountPath", "/markmount", prof([](ClusterProfile& p, const std::string& v) { p.mountPath = v; }), lh_int});
    f.push_back({"storage.nasCapacity", "77Gi", prof([](ClusterProfile& p, const std::string& v) { p.nasCapacity = v; }), nas_ext});
    f.push_back({"secretStore.name", "markstore", prof([](ClusterProfile& p, const std::string& v) { p.secretStore->name = v; }), s3_ext});
    f.push_back({"volsync.repositorySecret", "markrepo", prof([](ClusterProfile& p, const std::string& v) { p.volsyncRepositorySecret = v; }), lh_int});
    f.push_back({"volsync.repositoryKey", "markkey",
                 prof([](ClusterProfile& p, const std::string& v) { p.volsyncRepositoryKey = v; }), lh_int});
    f.push_back({"volsync.snapshotClass", "marksnap", prof([](ClusterProfile& p, const std::string& v) { p.volsyncSnapshotClass = v; }), lh_int});
    f.push_back({"volsync.cacheCapacity", "13Gi", prof([](ClusterProfile& p, const std::string& v) { p.volsyncCacheCapacity = v; }), lh_int});
    return f;
}

struct Tally {
    std::size_t rejected = 0, rendered = 0, direct = 0;
};

void check_field(const Field& field, Tally& tally) {
    auto builtin = corpus::engine_for({});
    const appforge::Catalog& catalog = builtin->catalog();
    json base_req = field.request;
    ClusterProfile base_prof = base_profile();
    if (field.name == "volsync.repositoryKey") base_prof.volsyncRepositoryKey = "x";
    field.set(base_req, base_prof, field.marker);
    auto baseline = appforge::render_bundle(appforge::app_request_from_json(base_req), base_prof, catalog);
    INFO("field " << field.name);
    REQUIRE(baseline.ok());
    auto base_flat = read_back(*baseline.value);
    // The marker must actually reach the manifests, or the field proves nothing.
    bool reached = false;
    for (const auto& f : baseline.value->files) reached = reached || f.text.find(field.marker) != std::string::npos;
    REQUIRE(reached);

    for (const auto& value : hostile_values()) {
        INFO("value [" << value << "]");
        json req = field.request;
        ClusterProfile prof = base_prof;
        field.set(req, prof, value);
        auto expected = substitute(base_flat, field.marker, value);

        // 1. Past the rules: the escape alone keeps the structure.
        auto direct = appforge::render_bundle(appforge::app_request_from_json(req), prof, catalog);
        REQUIRE(direct.ok());
        CHECK(read_back(*direct.value) == expected);
        ++tally.direct;

        // 2. Through the Engine: a diagnostic (profile, request or verification), or the same structure.
        appforge::EngineOptions opts;
        opts.profile_text = appforge::to_json(prof).dump();
        auto engine = appforge::Engine::create(opts);
        if (!engine.ok()) {
            CHECK(appforge::has_errors(engine.diagnostics));
            ++tally.rejected;
            continue;
        }
        auto checked = (*engine.value)->check_document(req);
        if (!checked.ok()) {
            ++tally.rejected;
            continue;
        }
        auto bundle = (*engine.value)->render(*checked.app);
        if (!bundle.ok()) {
            CHECK(appforge::has_errors(bundle.diagnostics));
            ++tally.rejected;
            continue;
        }
        CHECK(read_back(*bundle.value) == expected);
        ++tally.rendered;
    }
}

}  // namespace

TEST_CASE("the YAML 1.1 oracle itself recognises what it must", "[injection]") {
    for (const char* s : {"yes", "On", "NO", "~", "", "123", "0x1F", "017", "1e3", "1_000", "12:30:00", ".inf", "0.5",
                          "2026-01-25", "<<", "+1"})
        CHECK(resolves_to_non_string(s));
    for (const char* s : {"demo", "a: b", "1a", "v1.0.0", "0.5.1x", "longhorn", "/data"}) CHECK_FALSE(resolves_to_non_string(s));
}

TEST_CASE("hostile values cannot change the structure or type of any manifest", "[injection]") {
    Tally tally;
    auto all = fields();
    REQUIRE(all.size() >= 25);
    for (const auto& f : all) check_field(f, tally);
    CHECK(tally.direct == all.size() * hostile_values().size());
    // Free-text fields (operatorId, nasSubpath, a permissive region list, ...) let hostile values all the
    // way through the Engine; strict ones reject them. Both paths must be exercised.
    CHECK(tally.rendered > 50);
    CHECK(tally.rejected > 200);
}

TEST_CASE("a NUL byte or invalid UTF-8 past the rules is a render diagnostic, never output", "[injection]") {
    auto builtin = corpus::engine_for({});
    json req = request_for("ephemeral", "internal-only", "none");
    for (const std::string& v : {std::string("a\0b", 3), std::string("\xff\xfe"), std::string("\xc0\xaf")}) {
        req["operatorId"] = "x";
        auto r = appforge::app_request_from_json(req);
        r.operatorId = v;
        auto b = appforge::render_bundle(r, base_profile(), builtin->catalog());
        if (b.ok()) {
            // Rendered: then the value must have survived exactly, as a string.
            INFO(b.value->find("deployment.yaml")->text);
            auto parsed = appforge::parse_document(b.value->find("deployment.yaml")->text);
            REQUIRE(parsed.ok());
            CHECK((*parsed.value)["metadata"]["annotations"]["appforge.dev/operator"] == v);
        } else {
            CHECK(appforge::has_errors(b.diagnostics));
        }
    }
}
