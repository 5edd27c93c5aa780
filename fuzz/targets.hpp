// The libFuzzer targets as functions, shared by fuzz/fuzz_*.cpp and tests/test_fuzz_regressions.cpp.
// Shared helpers: one Engine per process and invariant checks that
// abort (so libFuzzer records the input) when appforge breaks a promise instead of crashing.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <cstddef>
#include <cstdint>

#include "appforge/diagnostic.hpp"
#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/policy.hpp"

namespace appforge::fuzz {

using nlohmann::json;

/// A broken invariant is a finding: print it and abort so libFuzzer saves the input.
/// The regression test defines APPFORGE_FUZZ_THROW so a finding fails one test case instead.
[[noreturn]] inline void fail(const std::string& what) {
#ifdef APPFORGE_FUZZ_THROW
    throw std::runtime_error("appforge fuzz invariant broken: " + what);
#else
    std::fprintf(stderr, "appforge fuzz invariant broken: %s\n", what.c_str());
    std::abort();
#endif
}

/// The default engine, created once (creation parses the profile and compiles every pattern).
inline const Engine& default_engine() {
    static const std::shared_ptr<const Engine> engine = [] {
        auto e = Engine::create();
        if (!e.ok()) fail("the default engine does not load");
        return *e.value;
    }();
    return *engine;
}

/// Every diagnostic names a field by JSON pointer and carries a code and a message.
inline void check_diagnostics(const Diagnostics& ds) {
    for (const auto& d : ds) {
        if (d.code.empty()) fail("diagnostic without code: " + d.message);
        if (d.message.empty()) fail("diagnostic without message: " + d.code);
        if (!d.path.empty() && d.path[0] != '/') fail("diagnostic path is not a JSON pointer: " + d.path);
    }
}

/// Every rendered file reads back as exactly one YAML document equal to the object it shows:
/// no value can change the structure of what lands in git.
inline void check_bundle(const Bundle& b) {
    for (const auto& f : b.files) {
        auto back = parse_documents(f.text, ParseLimits{8u << 20, 128, 2000000, 1});
        if (!back.ok() || back.value->size() != 1)
            fail("rendered file " + f.path + " does not read back as one YAML document");
        if (back.value->front() != f.object) fail("rendered file " + f.path + " reads back as a different object");
    }
}


// Request parsing (YAML and JSON): parse_document never crashes, and whatever it accepts
// survives the deterministic YAML and JSON emitters unchanged.
inline int parse_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = parse_document(text);
    fuzz::check_diagnostics(r.diagnostics);
    if (r.ok() == r.diagnostics.empty()) {
        // A value comes without diagnostics, diagnostics come without a value.
    } else {
        fuzz::fail("parse_document returned a value and diagnostics, or neither");
    }
    if (!r.ok()) return 0;
    const nlohmann::json& v = *r.value;
    std::string yaml = to_yaml(v);
    auto back = parse_document(yaml, ParseLimits{8u << 20, 128, 2000000, 1});
    if (!back.ok()) fuzz::fail("to_yaml output does not parse: " + back.diagnostics.front().message + "\n" + yaml);
    if (*back.value != v) fuzz::fail("to_yaml does not round-trip:\n" + yaml);
    if (to_yaml(*back.value) != yaml) fuzz::fail("to_yaml is not deterministic");
    std::string json_text = to_json_text(v);
    auto jback = nlohmann::json::parse(json_text, nullptr, false);
    if (jback.is_discarded() || jback != v) fuzz::fail("to_json_text does not round-trip:\n" + json_text);
    return 0;
}

// Validation: Engine::check on arbitrary text reports diagnostics that name fields, never crashes.
inline int check_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto c = fuzz::default_engine().check(text);
    fuzz::check_diagnostics(c.diagnostics);
    if (c.ok() && c.kind == RequestKind::app && !c.app) fuzz::fail("a valid app request without its model");
    if (c.ok() && c.kind == RequestKind::komodo && !c.komodo) fuzz::fail("a valid Komodo request without its model");
    return 0;
}

// Rendering: Engine::render_text on arbitrary text; every bundle it produces reads back as
// the objects it claims to hold, and rendering the same text twice gives the same bytes.
inline int render_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const Engine& engine = fuzz::default_engine();
    auto r = engine.render_text(text);
    fuzz::check_diagnostics(r.diagnostics);
    if (!r.ok()) return 0;
    fuzz::check_bundle(*r.value);
    auto again = engine.render_text(text);
    if (!again.ok() || again.value->stream() != r.value->stream()) fuzz::fail("rendering is not deterministic");
    return 0;
}

namespace render_fields_detail {

const std::vector<json>& bases() {
    static const std::vector<json> b = {
        json::parse(R"({"operatorId":"bob","appName":"paperless","namespace":"documents",
            "containerImage":"ghcr.io/paperless-ngx/paperless-ngx:2.13.5",
            "resourceRequests":{"cpu":"250m","memory":"512Mi"},
            "storagePattern":"longhorn-persistent","storageConfig":{"sizeGi":20},
            "ingressPattern":"internal-only","ingressConfig":{},
            "backupStrategy":"volsync-snapshots","backupConfig":{"retentionDays":14,"schedule":"30 3 * * *"}})"),
        json::parse(R"({"operatorId":"carol","appName":"jellyfin","containerImage":"jellyfin/jellyfin:10.9.11",
            "storagePattern":"nas-mount","storageConfig":{"nasEndpoint":"nfs://nas.internal:2049","nasSubpath":"/mnt/pool/apps/jellyfin"},
            "ingressPattern":"external-via-tunnel","ingressConfig":{"externalHostname":"jellyfin.hypyr.space"},
            "backupStrategy":"none"})"),
        json::parse(R"({"operatorId":"dave","appName":"archiver","containerImage":"ghcr.io/example/archiver:1.0",
            "storagePattern":"s3-external","storageConfig":{"s3Bucket":"homelab-archive","s3Region":"eu-central-1","s3UseExternalSecrets":true},
            "ingressPattern":"internal-only","ingressConfig":{"internalHostname":"archiver.internal.hypyr.space"},
            "backupStrategy":"none"})"),
    };
    return b;
}

const std::vector<json::json_pointer>& fields() {
    static const std::vector<json::json_pointer> f = {
        json::json_pointer("/operatorId"),          json::json_pointer("/appName"),
        json::json_pointer("/namespace"),           json::json_pointer("/containerImage"),
        json::json_pointer("/resourceRequests/cpu"), json::json_pointer("/resourceRequests/memory"),
        json::json_pointer("/storageConfig/sizeGi"), json::json_pointer("/storageConfig/nasEndpoint"),
        json::json_pointer("/storageConfig/nasSubpath"), json::json_pointer("/storageConfig/s3Bucket"),
        json::json_pointer("/storageConfig/s3Region"), json::json_pointer("/ingressConfig/internalHostname"),
        json::json_pointer("/ingressConfig/externalHostname"), json::json_pointer("/ingressConfig/cloudflareZoneId"),
        json::json_pointer("/backupConfig/schedule"), json::json_pointer("/backupConfig/retentionDays"),
        json::json_pointer("/id"),                   json::json_pointer("/timestamp"),
        json::json_pointer("/storagePattern"),       json::json_pointer("/ingressPattern"),
    };
    return f;
}

}  // namespace render_fields_detail
using namespace render_fields_detail;

// Rendering with hostile values in otherwise valid requests: the first byte picks a request
// and a field, the rest becomes that field's value (string, or number when it parses as one).
// Whatever passes validation must render YAML that reads back as the same objects.
inline int render_fields_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::size_t pick = data[0];
    json doc = bases()[pick % bases().size()];
    const auto& ptr = fields()[(pick / bases().size()) % fields().size()];
    std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
    json v = value;
    if (!value.empty() && value.size() < 20 && value.find_first_not_of("0123456789") == std::string::npos)
        v = std::stoull(value);
    doc[ptr] = v;
    const Engine& engine = fuzz::default_engine();
    auto c = engine.check_document(doc);
    fuzz::check_diagnostics(c.diagnostics);
    if (!c.ok() || !c.app) return 0;
    auto r = engine.render(*c.app);
    fuzz::check_diagnostics(r.diagnostics);
    if (r.ok()) fuzz::check_bundle(*r.value);
    // The same request as YAML text must give the same verdict (the text path is what the CLI uses).
    auto t = engine.render_text(to_yaml(doc));
    if (t.ok() != r.ok()) fuzz::fail("render() and render_text(to_yaml()) disagree");
    if (t.ok() && t.value->stream() != r.value->stream()) fuzz::fail("YAML text renders different bytes");
    return 0;
}

// The profile loader: Engine::create with arbitrary profile text; a profile it accepts must
// render a known-good request into YAML that reads back as the same objects.
inline int profile_one(const std::uint8_t* data, std::size_t size) {
    EngineOptions opts;
    opts.profile_text = std::string(reinterpret_cast<const char*>(data), size);
    opts.profile_name = "fuzz-profile";
    auto e = Engine::create(opts);
    fuzz::check_diagnostics(e.diagnostics);
    if (!e.ok()) return 0;
    static const char* requests[] = {
        "operatorId: bob\nappName: paperless\ncontainerImage: ghcr.io/p/p:1\nstoragePattern: longhorn-persistent\n"
        "storageConfig: {sizeGi: 20}\ningressPattern: internal-only\nbackupStrategy: volsync-snapshots\n",
        "operatorId: carol\nappName: jelly\ncontainerImage: jellyfin/jellyfin:10\nstoragePattern: nas-mount\n"
        "ingressPattern: external-via-tunnel\nbackupStrategy: none\n",
        "operatorId: dave\nappName: arch\ncontainerImage: ghcr.io/e/a:1\nstoragePattern: s3-external\n"
        "storageConfig: {s3Bucket: homelab-archive, s3Region: eu-central-1, s3UseExternalSecrets: true}\n"
        "ingressPattern: internal-only\nbackupStrategy: none\n",
    };
    for (const char* req : requests) {
        auto r = (*e.value)->render_text(req);
        fuzz::check_diagnostics(r.diagnostics);
        if (r.ok()) fuzz::check_bundle(*r.value);
    }
    return 0;
}

// The pattern loader: Catalog::add with arbitrary pattern file text; a template it accepts
// renders with hostile values and still yields YAML of the shape the loader proved.
inline int pattern_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Catalog catalog;
    auto ds = catalog.add("fuzz.yaml", text);
    fuzz::check_diagnostics(ds);
    if (has_errors(ds)) return 0;
    // Hostile strings in every value a template can see: quotes, newlines, YAML indicators.
    static const char* hostile[] = {"a\"b\n- c: d", "'x' # y", "{{z}}", "\\", "\t:\r", "&a *a", "--- \n...",
                                    "x: y", "]}", "|\n  z"};
    nlohmann::json ctx = nlohmann::json::object();
    std::size_t n = 0;
    for (const char* key : {"appName", "namespace", "image", "requestId", "operatorId", "volumeName", "mountPath",
                            "storageClass", "nasServer", "nasPath", "nasCapacity", "s3Bucket", "s3Region",
                            "s3SecretName", "host", "ingressClass", "dnsPrefix", "tunnelTarget", "schedule",
                            "repositorySecret", "repositoryKey", "snapshotClass", "cacheCapacity", "claimName"})
        ctx[key] = hostile[n++ % (sizeof hostile / sizeof *hostile)];
    for (const char* key : {"sizeGi", "retentionDays", "servicePort", "containerPort"}) ctx[key] = "1";
    for (const char* key : {"s3UseExternalSecrets", "cloudflareProxied"}) ctx[key] = true;
    ctx["secretStore"] = {{"name", "s\"\n"}, {"kind", "K: v"}};
    // And once with the quote-breaking value in every string slot, so no tag escapes it by position.
    nlohmann::json quote_ctx = ctx;
    for (auto& [key, value] : quote_ctx.items())
        if (value.is_string() && ctx[key] != "1") value = hostile[0];
    for (const nlohmann::json* c : {&ctx, &quote_ctx}) {
        for (auto kind : {PatternKind::storage, PatternKind::ingress, PatternKind::backup})
            for (const Pattern* p : catalog.patterns(kind))
                for (const auto& m : p->manifests) {
                    // The loader proved the template renders one mapping; the escape keeps it so (a
                    // conditional section may leave it empty).
                    std::string out = m.tmpl->render(*c);
                    auto docs = parse_documents(out, ParseLimits{8u << 20, 128, 2000000, 4});
                    if (!docs.ok() || docs.value->size() > 1 || (docs.value->size() == 1 && !docs.value->front().is_object()))
                        fuzz::fail("hostile values change the structure of template " + m.file + ":\n" + out);
                }
    }
    return 0;
}


// Planning: plan_request on arbitrary request text against an in-memory GitOps repo (RepoView).
// A plan never reaches outside the app's namespace folder and the two parent kustomizations, and
// planning twice gives the same plan.
inline int plan_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    static const MemoryRepo repo = [] {
        MemoryRepo r;
        const std::string root = "kubernetes/clusters/homelab/namespaces";
        r.put(root + "/kustomization.yaml",
              "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./media\n");
        r.put(root + "/media/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n");
        r.put(root + "/media/kustomization.yaml",
              "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- namespace.yaml\n- ./jellyfin\n");
        r.put(root + "/media/jellyfin/app.yaml",
              "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: jellyfin\n  namespace: media\n"
              "spec:\n  rules:\n    - host: media.hypyr.space\n");
        return r;
    }();
    const Engine& engine = fuzz::default_engine();
    auto planned = plan_request(engine, text, repo);
    fuzz::check_diagnostics(planned.diagnostics);
    if (!planned.ok()) return 0;
    const Plan& p = *planned.plan;
    const std::string root = "kubernetes/clusters/homelab/namespaces/";
    for (const auto& f : p.creates)
        if (f.path.rfind(p.namespaceDir + "/", 0) != 0 || f.path.find("/../") != std::string::npos)
            fuzz::fail("plan creates a file outside the namespace folder: " + f.path);
    for (const auto& e : p.edits)
        if (e.path != root + "kustomization.yaml" && e.path != p.namespaceDir + "/kustomization.yaml")
            fuzz::fail("plan edits a file other than the parent kustomizations: " + e.path);
    if (is_reserved_namespace(engine.profile(), planned.app->effective_namespace()))
        fuzz::fail("plan accepted a reserved namespace: " + planned.app->effective_namespace());
    auto again = plan_request(engine, text, repo);
    if (!again.ok() || again.plan->branch != p.branch || again.plan->creates.size() != p.creates.size())
        fuzz::fail("planning is not deterministic");
    return 0;
}

// Pattern policy: arbitrary pattern text loaded next to the built-in catalog and rendered for a
// valid request; a bundle that passes verification holds no plaintext Secret (Lists included) and
// nothing the default policy forbids, and its risk names every allowed-but-sensitive object.
inline int pattern_policy_one(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const Engine& engine = fuzz::default_engine();
    Catalog catalog = engine.catalog();
    auto ds = catalog.add("fuzz.yaml", text);
    fuzz::check_diagnostics(ds);
    if (has_errors(ds)) return 0;
    static const json base = json::parse(R"({"operatorId":"bob","appName":"paperless","namespace":"documents",
        "containerImage":"ghcr.io/paperless-ngx/paperless-ngx:2.13.5","storagePattern":"ephemeral",
        "ingressPattern":"internal-only","backupStrategy":"none"})");
    for (auto kind : {PatternKind::storage, PatternKind::ingress, PatternKind::backup})
        for (const Pattern* p : catalog.patterns(kind)) {
            if (p->source != "fuzz.yaml") continue;
            AppRequest r = app_request_from_json(base);
            (kind == PatternKind::storage ? r.storagePattern : kind == PatternKind::ingress ? r.ingressPattern
                                                                                              : r.backupStrategy) = p->id;
            auto b = render_bundle(r, engine.profile(), catalog);
            fuzz::check_diagnostics(b.diagnostics);
            if (!b.ok()) continue;
            auto v = verify_bundle(*b.value, r, engine.profile(), catalog, engine.kube_schemas());
            fuzz::check_diagnostics(v);
            if (has_errors(v)) continue;
            for (const auto& o : flatten_bundle(*b.value))
                if (o.object->is_object() && o.object->value("kind", json()) == "Secret")
                    fuzz::fail("a verified bundle holds a plaintext Secret at " + o.pointer);
            for (const auto& f : policy_findings(*b.value, engine.profile()))
                if (!f.allowed) fuzz::fail("a verified bundle breaks the policy: " + f.message);
        }
    return 0;
}
}  // namespace appforge::fuzz
