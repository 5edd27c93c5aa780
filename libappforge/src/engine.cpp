#include "appforge/engine.hpp"

#include "appforge/document.hpp"
#include "appforge/komodo.hpp"
#include "appforge/resources.hpp"
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
    e->profile_ = profile_from_json(*doc.value);
    auto rule_diags = check_profile(e->profile_);
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
void check_utf8(const json& v, const std::string& path, Diagnostics& out) {
    if (v.is_string() && !rules::is_valid_utf8(v.get_ref<const std::string&>()))
        out.push_back(Diagnostic{path, "parse.utf8", "value is not valid UTF-8", Severity::error});
    if (v.is_array())
        for (std::size_t i = 0; i < v.size(); ++i) check_utf8(v[i], path + "/" + std::to_string(i), out);
    if (v.is_object())
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!rules::is_valid_utf8(it.key())) {
                out.push_back(Diagnostic{path, "parse.utf8", "a key is not valid UTF-8", Severity::error});
                continue;
            }
            check_utf8(*it, path + "/" + pointer_token(it.key()), out);
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
    check_utf8(document, "", c.diagnostics);
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
