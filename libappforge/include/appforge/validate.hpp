// Semantic rules: everything about a request that JSON Schema cannot say, with exact messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "appforge/catalog.hpp"
#include "appforge/diagnostic.hpp"
#include "appforge/model.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

/// What a registry said about one image; transport problems are kept apart from "not found".
struct ImageCheckResult {
    /// refused: the profile's registries.allowed forbids a host the check would contact.
    enum class Outcome { found, not_found, unreachable, denied, refused };
    Outcome outcome = Outcome::found;
    std::string detail;  ///< registry's words or the transport error, for the diagnostic
};

/// Looks an image up in its registry. The core only calls it; the network lives at the edge
/// (CLI, Python) so the rules stay pure and a test can plug a fake.
class ImageChecker {
public:
    virtual ~ImageChecker() = default;
    /// Checks a normalised reference (docker.io/library/nginx:latest, never a short name).
    virtual ImageCheckResult check(const rules::ImageRef& image) const = 0;
};

/// The data model's exact messages, shared by rules, tests and docs.
namespace messages {
inline constexpr const char* app_name = "App name must be lowercase alphanumeric with hyphens";
inline constexpr const char* image_not_found = "Container image not found. Verify image name and registry access";
inline constexpr const char* namespace_reserved = "Namespace is reserved. Choose a different namespace";
inline constexpr const char* subpath_traversal = "Subpath must not contain relative directory references";
inline constexpr const char* s3_credentials = "S3 credentials not configured in cluster";
}  // namespace messages

/// Numeric limits of the rules, shared with the Backstage form generator so no limit is written twice.
namespace limits {
inline constexpr std::int64_t sizeGi_min = 1;
inline constexpr std::int64_t sizeGi_max = 1000;
inline constexpr std::int64_t retentionDays_min = 1;
inline constexpr std::int64_t retentionDays_max = 3650;
inline constexpr std::size_t dns_label_max = 63;  ///< appName, namespace
/// Volsync's mover Job is "volsync-src-<appName>-backup": appName plus this many characters.
inline constexpr std::size_t volsync_job_overhead = 19;  // strlen("volsync-src-") + strlen("-backup")
inline constexpr std::size_t max_ports = 16;    // container ports of one app
inline constexpr std::size_t max_env = 128;     // plain environment variables
inline constexpr std::size_t max_args = 64;     // command or args entries
}  // namespace limits

/// Semantic rules for an AppRequest (run after the schema; fields the schema rejected are
/// absent and their rules are skipped). checker may be null: then only the image format is checked.
Diagnostics check_app_request(const AppRequest& r, const ClusterProfile& profile, const Catalog& catalog,
                              const ImageChecker* checker = nullptr);

/// Semantic rules for a KomodoRequest.
Diagnostics check_komodo_request(const KomodoRequest& r, const ClusterProfile& profile);

/// Rules a profile must meet beyond its schema (zones are DNS names, NAS endpoints parse, ...).
Diagnostics check_profile(const ClusterProfile& p);

/// One definition of "reserved" (the profile's globs) for the request rules and the GitOps planner.
bool is_reserved_namespace(const ClusterProfile& profile, const std::string& ns);

/// Status moves only pending -> success or pending -> failed; anything else is a diagnostic.
Diagnostics check_status_transition(Status from, Status to);

/// The hostname the Ingress will serve: the one given for the pattern's intent, else derived.
std::string effective_host(const AppRequest& r, const ClusterProfile& profile, bool is_public);

/// Splits "nfs://server[:port]" (or "server:/") into server and port; false when malformed.
bool parse_nas_endpoint(const std::string& endpoint, std::string& server, int& port);

/// The workload pattern a request renders with: its own pick, else the profile's default.
const std::string& workload_pattern_id(const AppRequest& r, const ClusterProfile& profile);

}  // namespace appforge
