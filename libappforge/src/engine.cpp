#include "appforge/engine.hpp"

#include "appforge/document.hpp"
#include "appforge/komodo.hpp"
#include "appforge/profile.hpp"
#include "appforge/resources.hpp"
#include <algorithm>
#include <map>
#include <mutex>

#include "appforge/value_rules.hpp"

#ifndef APPFORGE_VERSION_STRING
#define APPFORGE_VERSION_STRING "0.0.0"
#endif

namespace appforge {

using nlohmann::json;

const char* version() { return APPFORGE_VERSION_STRING; }

std::optional<std::string_view> embedded_file(std::string_view path) { return resources::find(path); }

namespace {

std::shared_ptr<const JsonSchema> bundled_schema(const char* path, const char* title) {
    static std::mutex mu;
    static std::map<std::string, std::shared_ptr<const JsonSchema>> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = cache[path];
    if (!slot) slot = std::make_shared<const JsonSchema>(json::parse(resources::find(path).value()), title);
    return slot;
}

std::shared_ptr<const SchemaRegistry> bundled_kube() {
    static const std::shared_ptr<const SchemaRegistry> reg = SchemaRegistry::builtin();
    return reg;
}

void prefix_messages(Diagnostics& ds, const std::string& prefix) {
    for (auto& d : ds) d.message = prefix + d.message;
}

/// Appends rule diagnostics, skipping fields the schema already reported (a missing or mistyped
/// field reads as empty, and "must not be empty" on top of "is missing" would be one problem twice).
void append_rule_diagnostics(Diagnostics& out, const Diagnostics& more) {
    std::vector<std::string> schema_paths;
    for (const auto& d : out)
        if (d.code.rfind("schema.", 0) == 0 && !d.path.empty()) schema_paths.push_back(d.path);
    for (const auto& d : more) {
        bool covered = false;
        for (const auto& p : schema_paths)
            covered = covered || d.path == p || d.path.rfind(p + "/", 0) == 0;
        if (!covered) out.push_back(d);
    }
}

}  // namespace

Result<std::shared_ptr<const Engine>> Engine::create(const EngineOptions& options) {
    Result<std::shared_ptr<const Engine>> out;
    std::shared_ptr<Engine> e(new Engine());
    e->options_ = options;
    e->app_schema_ = bundled_schema("schemas/app-request.schema.json", "AppRequest");
    e->komodo_schema_ = bundled_schema("schemas/komodo-request.schema.json", "KomodoRequest");
    e->kube_ = bundled_kube();

    std::string_view profile_text = options.profile_text ? std::string_view(*options.profile_text)
                                                          : *resources::find("libappforge/profiles/default.yaml");
    auto doc = parse_document(profile_text);
    if (!doc.ok()) {
        out.diagnostics = doc.diagnostics;
        prefix_messages(out.diagnostics, options.profile_name + ": ");
        return out;
    }
    auto schema_diags = bundled_schema("schemas/cluster-profile.schema.json", "ClusterProfile")->validate(*doc.value);
    if (!schema_diags.empty()) {
        for (auto& d : schema_diags) d.code = "profile." + d.code;
        prefix_messages(schema_diags, options.profile_name + ": ");
        out.diagnostics = schema_diags;
        return out;
    }
    // A partial profile keeps the default's other settings: one that set only gitops: used to
    // lose every reserved namespace, so plan put an app into flux-system.
    e->profile_ = profile_from_json(merge_profile_json(default_profile_json(), *doc.value));
    for (const auto& ns : always_reserved_namespaces(e->profile_))
        if (std::find(e->profile_.reservedNamespaces.begin(), e->profile_.reservedNamespaces.end(), ns) ==
            e->profile_.reservedNamespaces.end())
            e->profile_.reservedNamespaces.push_back(ns);
    if (options.komodo_url) e->profile_.komodoUrl = options.komodo_url;
    if (options.komodo_server) {  // a server named for this run replaces the profile's target, swarm included
        e->profile_.komodoServer = options.komodo_server;
        e->profile_.komodoSwarm.reset();
    }
    if (options.komodo_swarm) {
        e->profile_.komodoSwarm = options.komodo_swarm;
        e->profile_.komodoServer.reset();
    }
    auto rule_diags = check_profile(e->profile_);
    auto safety = check_profile_safety(e->profile_);
    rule_diags.insert(rule_diags.end(), safety.begin(), safety.end());
    prefix_messages(rule_diags, options.profile_name + ": ");
    out.diagnostics.insert(out.diagnostics.end(), rule_diags.begin(), rule_diags.end());

    auto cat = Catalog::builtin();
    out.diagnostics.insert(out.diagnostics.end(), cat.diagnostics.begin(), cat.diagnostics.end());
    if (cat.ok()) e->catalog_ = std::move(*cat.value);
    for (const auto& dir : options.pattern_dirs) {
        auto more = e->catalog_.load_dir(dir);
        out.diagnostics.insert(out.diagnostics.end(), more.begin(), more.end());
    }
    if (has_errors(out.diagnostics)) return out;
    out.value = std::move(e);
    return out;
}

CheckedRequest Engine::check(std::string_view text, const ImageChecker* images) const {
    auto doc = parse_document(text);
    if (!doc.ok()) {
        CheckedRequest c;
        c.diagnostics = std::move(doc.diagnostics);
        return c;
    }
    return check_document(*doc.value, images);
}

namespace {

/// Documents built in memory (C++ callers, bindings) skip the text parser's UTF-8 check; a
/// string that is not UTF-8 would render a manifest no YAML reader accepts (found by fuzzing).
/// They skip its depth limit too, so it is applied here first: the schema validator recurses
/// once per level. Both walks use a worklist, never the call stack.
void check_utf8(const json& root, Diagnostics& out) {
    const std::size_t max_depth = ParseLimits{}.max_depth;
    struct Node {
        const json* v;
        std::string path;
        std::size_t depth;
    };
    std::vector<Node> todo{{&root, "", 1}};
    while (!todo.empty()) {
        Node n = std::move(todo.back());
        todo.pop_back();
        const json& v = *n.v;
        if (v.is_structured() && n.depth > max_depth) {
            out.push_back(Diagnostic{n.path, "parse.depth",
                                     "document nests deeper than " + std::to_string(max_depth) + " levels", Severity::error});
            return;
        }
        if (v.is_string() && !rules::is_valid_utf8(v.get_ref<const std::string&>()))
            out.push_back(Diagnostic{n.path, "parse.utf8", "value is not valid UTF-8", Severity::error});
        if (v.is_array())
            for (std::size_t i = v.size(); i-- > 0;) todo.push_back({&v[i], n.path + "/" + std::to_string(i), n.depth + 1});
        if (v.is_object()) {
            std::vector<Node> kids;
            for (auto it = v.begin(); it != v.end(); ++it) {
                if (!rules::is_valid_utf8(it.key())) {
                    out.push_back(Diagnostic{n.path, "parse.utf8", "a key is not valid UTF-8", Severity::error});
                    continue;
                }
                kids.push_back({&*it, n.path + "/" + pointer_token(it.key()), n.depth + 1});
            }
            for (auto k = kids.rbegin(); k != kids.rend(); ++k) todo.push_back(std::move(*k));  // document order
        }
    }
}

}  // namespace

CheckedRequest Engine::check_document(const json& document, const ImageChecker* images) const {
    CheckedRequest c;
    c.document = document;
    if (!document.is_object()) {
        c.diagnostics.push_back(Diagnostic{"", "schema.type", "a request must be a mapping (YAML) or object (JSON)",
                                           Severity::error});
        return c;
    }
    check_utf8(document, c.diagnostics);
    if (!c.diagnostics.empty()) return c;
    if (is_komodo_document(document)) {
        c.kind = RequestKind::komodo;
        c.diagnostics = komodo_schema_->validate(document);
        KomodoRequest k = komodo_request_from_json(document);
        append_rule_diagnostics(c.diagnostics, check_komodo_request(k, profile_));
        append_rule_diagnostics(c.diagnostics, check_komodo_app_config(k, profile_));  // what the compose file reads
        if (!k.id) k.id = rules::uuid_v5("4f1c2a9e-6b1d-5c1e-9a51-2d6f3b7a8c01", canonical_request_text(document));
        if (!k.timestamp) k.timestamp = rules::utc_now_iso8601();
        if (!k.status) k.status = Status::pending;
        if (!k.komodoRequest.storageLocation && !profile_.nasAppRoots.empty())
            k.komodoRequest.storageLocation = profile_.nasAppRoots.front() + "/" + k.appName;
        c.komodo = std::move(k);
        return c;
    }
    c.kind = RequestKind::app;
    c.diagnostics = app_schema_->validate(document);
    AppRequest r = app_request_from_json(document);
    append_rule_diagnostics(c.diagnostics, check_app_request(r, profile_, catalog_, images));
    // Filled values are content-derived or kept out of the manifests, so output stays deterministic.
    if (!r.id) r.id = request_id_for(r);
    if (!r.timestamp) r.timestamp = rules::utc_now_iso8601();
    if (!r.status) r.status = Status::pending;
    c.app = std::move(r);
    return c;
}

Result<Bundle> Engine::render(const AppRequest& request) const {
    auto b = render_bundle(request, profile_, catalog_);
    if (!b.ok()) return b;
    auto v = verify_bundle(*b.value, request, profile_, catalog_, *kube_);
    b.diagnostics.insert(b.diagnostics.end(), v.begin(), v.end());
    if (has_errors(b.diagnostics)) b.value.reset();
    return b;
}

Result<Bundle> Engine::render_text(std::string_view text) const { return render_checked(check(text)); }

Result<Bundle> Engine::render_document(const json& document) const { return render_checked(check_document(document)); }

Result<Bundle> Engine::render_checked(const CheckedRequest& c) const {
    Result<Bundle> out;
    out.diagnostics = c.diagnostics;
    if (!c.ok()) return out;
    if (c.kind != RequestKind::app) {
        out.diagnostics.push_back(Diagnostic{"", "render.kind",
                                             "this is a NAS (Komodo) request; only GitOps requests render manifests",
                                             Severity::error});
        return out;
    }
    auto b = render(*c.app);
    out.diagnostics.insert(out.diagnostics.end(), b.diagnostics.begin(), b.diagnostics.end());
    out.value = std::move(b.value);
    return out;
}

}  // namespace appforge
