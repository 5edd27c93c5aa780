// Rendering: request + profile + catalog -> the ordered manifests of one app, then verified.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/catalog.hpp"
#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/schema.hpp"

namespace appforge {

/// One file of the bundle: one Kubernetes object (or the kustomization) and its YAML text.
struct RenderedFile {
    std::string path;         ///< file name inside the app folder, e.g. "deployment.yaml"
    nlohmann::json object;    ///< the object as data (what verification checks)
    std::string text;         ///< deterministic YAML of object
};

/// The manifests of one app in their fixed order; kustomization.yaml is last.
struct Bundle {
    std::string appName;
    std::string namespace_;
    std::vector<RenderedFile> files;

    /// A multi-document YAML stream of the Kubernetes objects (like `helm template`).
    std::string stream() const;
    /// The file with that name, or nullptr.
    const RenderedFile* find(const std::string& path) const;
};

/// The bundled Kubernetes and CRD schemas, keyed by "apiVersion/kind".
class SchemaRegistry {
public:
    /// Loads schemas/kubernetes/index.json and every schema it names from the embedded files.
    static std::shared_ptr<const SchemaRegistry> builtin();
    /// The schema for one object type, or nullptr when appforge bundles none.
    const JsonSchema* find(const std::string& apiVersion, const std::string& kind) const;

    /// The values schema of a Helm chart appforge bundles (schemas/<chartName>/values.schema.json,
    /// derived by tools/derive_schemas.py), or nullptr when it bundles none. Today only
    /// "app-template" (bjw-s app-template 4.1.1). Compiled on first use and shared by every
    /// registry and thread (implemented in values_schema.cpp).
    const JsonSchema* find_values(const std::string& chartName) const;

    /// Checks a HelmRelease object's spec.values against find_values(chartName), as Helm would
    /// before rendering (an absent spec.values is checked as {}). Diagnostics are
    /// JsonSchema::validate's ("schema.unknown_field", "schema.enum", ...) with pointers
    /// pointer_prefix + "/spec/values/..."; a chart without a bundled schema gives one
    /// "schema.values_chart" error at pointer_prefix + "/spec/values".
    Diagnostics validate_values(const std::string& chartName, const nlohmann::json& helmRelease,
                                const std::string& pointer_prefix = "") const;

private:
    std::map<std::string, std::unique_ptr<JsonSchema>> by_type_;
};

/// The request's id, or when it has none a UUID v5 of its canonical text: content-derived so
/// the same request renders byte-identical manifests.
std::string request_id_for(const AppRequest& request);

/// Renders the manifests of a request that has passed validation. Diagnostics only arise from
/// the patterns themselves (a template rendering broken YAML, two patterns claiming one file).
Result<Bundle> render_bundle(const AppRequest& request, const ClusterProfile& profile, const Catalog& catalog);

/// Checks every object against its bundled schema and the bundle's invariants: selectors match
/// the pod labels, claims exist, the Service targets the container port, hosts match the intent,
/// and no plaintext Secret is present.
Diagnostics verify_bundle(const Bundle& bundle, const AppRequest& request, const ClusterProfile& profile,
                          const Catalog& catalog, const SchemaRegistry& schemas);

}  // namespace appforge
