// Backstage Software Templates generated from the schemas, the catalog and the profile, so the
// form offers exactly the catalog's patterns with the core's rules and nobody keeps a copy.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/engine.hpp"

namespace appforge::backstage {

/// The two workflows a template can drive.
enum class Workflow { gitops, nas };

/// "gitops" or "nas".
const char* to_string(Workflow w);

/// ECMAScript patterns (JSON Schema "pattern") equivalent to the core's scanners; the Catch2
/// suite checks each against its scanner so the form and the library cannot drift apart.
namespace patterns {
/// rules::is_dns1035_label without the length (appName names the Service).
inline constexpr const char* dns1035_label = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
/// rules::is_dns1123_label without the length (namespaces).
inline constexpr const char* dns1123_label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// rules::is_quantity (resource requests).
inline constexpr const char* quantity =
    "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$";
/// A superset of rules::parse_image_reference (the grammar minus digest-length details).
inline constexpr const char* image_reference =
    "^([a-zA-Z0-9.:\\[\\]-]+/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*"
    "(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$";
/// The traversal half of the nasSubpath rule (absolute, no "..", no "%2e", no backslash or control).
inline constexpr const char* nas_subpath = "^/(?!.*\\.\\.)(?!.*%2[eE])[^\\\\\\x00-\\x1f\\x7f]*$";
/// The common shape of S3 bucket names (3-63, lowercase, digits, '.', '-'); the rest stays in C++.
inline constexpr const char* s3_bucket = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";
/// rules::is_port_name without the length (container port names, IANA_SVC_NAME).
inline constexpr const char* port_name = "^(?!.*--)(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// rules::is_env_var_name (plain environment variable names).
inline constexpr const char* env_var_name = "^(?!\\.$)(?!\\.\\.)[-._a-zA-Z][-._a-zA-Z0-9]*$";
/// One DNS label of a host name (rules::is_hostname's labels).
inline constexpr const char* host_label = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
}  // namespace patterns

/// Escapes a literal for use inside an ECMAScript regular expression.
std::string regex_escape(const std::string& literal);

/// The profile's reserved-namespace globs as one anchored regex ("kube-*" -> "kube-.*").
std::string reserved_namespace_regex(const ClusterProfile& profile);

/// The form-schema fragment for one request field, with the limits the C++ rules enforce, by
/// JSON pointer: /appName, /namespace, /containerImage, /resourceRequests/cpu, .../memory,
/// /storageConfig/<field>, /ingressConfig/internalHostname, .../externalHostname,
/// /backupConfig/retentionDays, /backupConfig/schedule; null for a field the form does not offer.
nlohmann::json field_schema(const std::string& pointer, const Engine& engine);

/// The Backstage Template (scaffolder.backstage.io/v1beta3, kind Template) for one workflow.
nlohmann::json template_document(const Engine& engine, Workflow workflow);

/// The form pages of one workflow merged into a single draft-07 schema (allOf of the pages),
/// which is what Backstage validates the final form data against; for tests and tools. Carries
/// x-appforge-template-filled and x-appforge-semantic-only annotations (the lists below).
nlohmann::json form_schema(const Engine& engine, Workflow workflow);

/// Request fields the form never shows because the template's steps fill them (operatorId,
/// ids, timestamps, workflow outputs): JSON pointers.
std::vector<std::string> template_filled_fields(Workflow workflow);

/// Diagnostic codes the form cannot express (registry lookups, cron, multi-page strictness):
/// the only reasons a request the form accepts may still be rejected by appforge.
std::vector<std::string> semantic_only_codes(Workflow workflow);

}  // namespace appforge::backstage
