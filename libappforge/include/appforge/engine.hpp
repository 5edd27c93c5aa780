// The Engine: profile, catalog and schemas loaded once, immutable, shared by every face.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/catalog.hpp"
#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/render.hpp"
#include "appforge/schema.hpp"
#include "appforge/validate.hpp"

namespace appforge {

/// How to build an Engine; everything is optional and defaults to the shipped home lab.
struct EngineOptions {
    std::optional<std::string> profile_text;  ///< YAML or JSON; absent = the default profile
    std::string profile_name = "profile";     ///< names the profile in diagnostics
    std::vector<std::string> pattern_dirs;    ///< loaded in order over the built-in catalog
    /// Replaces the profile's komodo.url (the CLI's --url, a backend's configuration), so every
    /// rule that compares a request's komodoApiUrl sees the URL the deploy will really use.
    std::optional<std::string> komodo_url;
    /// Replaces the profile's komodo.server (and clears komodo.swarm): the CLI's --server.
    std::optional<std::string> komodo_server;
    /// Replaces the profile's komodo.swarm (and clears komodo.server): the CLI's --swarm, so the
    /// compose file gets swarm `deploy:` limits.
    std::optional<std::string> komodo_swarm;
};

/// Which workflow a document belongs to.
enum class RequestKind { app, komodo };

/// A request after parsing and validation: the document, its typed model and every diagnostic.
struct CheckedRequest {
    RequestKind kind = RequestKind::app;
    std::optional<nlohmann::json> document;  ///< absent when the text did not parse
    std::optional<AppRequest> app;           ///< set for GitOps requests that parsed
    std::optional<KomodoRequest> komodo;     ///< set for NAS requests that parsed
    Diagnostics diagnostics;

    /// Parsed and free of errors (warnings allowed): safe to render or submit.
    bool ok() const { return document.has_value() && !has_errors(diagnostics); }
};

/// Immutable after create(); all methods are const and safe to call from many threads.
class Engine {
public:
    /// Loads the profile, the catalog (built-in plus pattern_dirs) and all bundled schemas.
    static Result<std::shared_ptr<const Engine>> create(const EngineOptions& options = {});

    /// The effective cluster profile.
    const ClusterProfile& profile() const { return profile_; }
    /// The effective pattern catalog.
    const Catalog& catalog() const { return catalog_; }
    /// The bundled Kubernetes and CRD schemas used by verification.
    const SchemaRegistry& kube_schemas() const { return *kube_; }

    /// Parses and validates a request document (YAML or JSON): schema first, then the rules;
    /// id, timestamp and status are filled on the model when absent.
    CheckedRequest check(std::string_view text, const ImageChecker* images = nullptr) const;
    /// The same for a document already in memory (Python dicts, the C API's JSON).
    CheckedRequest check_document(const nlohmann::json& document, const ImageChecker* images = nullptr) const;

    /// Renders and verifies a validated request; verification problems are errors, never output.
    Result<Bundle> render(const AppRequest& request) const;
    /// check() then render(): all diagnostics of both steps, a bundle only when all passed.
    Result<Bundle> render_text(std::string_view text) const;
    /// The same for a document already in memory (Python dicts), so no face repeats the steps.
    Result<Bundle> render_document(const nlohmann::json& document) const;

    /// The compiled JSON Schema of AppRequest (also used by the Backstage form generator).
    const JsonSchema& app_schema() const { return *app_schema_; }
    /// The compiled JSON Schema of KomodoRequest.
    const JsonSchema& komodo_schema() const { return *komodo_schema_; }
    /// The options this engine was built from, so a tool can build a sibling with another profile.
    const EngineOptions& options() const { return options_; }

private:
    Engine() = default;
    Result<Bundle> render_checked(const CheckedRequest& c) const;
    ClusterProfile profile_;
    Catalog catalog_;
    std::shared_ptr<const SchemaRegistry> kube_;
    std::shared_ptr<const JsonSchema> app_schema_, komodo_schema_;
    EngineOptions options_;
};

/// The text of a schema, profile or pattern compiled into the library, by repository path.
std::optional<std::string_view> embedded_file(std::string_view path);

/// The library version, "major.minor.patch".
const char* version();

}  // namespace appforge
