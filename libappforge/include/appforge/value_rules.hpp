// appforge value rules: small, pure checks on single values (names, image references,
// schedules, quantities, paths, timestamps) plus the hashing and id helpers they need.
//
// Every checker is a hand-written linear scanner (no std::regex, no recursion), so any
// input, including multi-megabyte strings, is safe to pass. Nothing here touches the
// file system, the network or global state, except uuid_v4_random() and utc_now_iso8601().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appforge::rules {

// ---------------------------------------------------------------------------------------
// Kubernetes names (apimachinery validation)
// ---------------------------------------------------------------------------------------

/// Namespaces, container and volume names are DNS-1123 labels: the API server rejects anything else.
bool is_dns1123_label(std::string_view s);

/// Deployments, PVCs, Secrets, ConfigMaps and Ingresses take DNS-1123 subdomain names (only the 253 total is limited).
bool is_dns1123_subdomain(std::string_view s);

/// Service names are DNS-1035 labels, so an app name with a leading digit cannot name a Service.
bool is_dns1035_label(std::string_view s);

/// Label values have their own grammar (mixed case, '_' and '.', may be empty); a bad one fails the whole object.
bool is_label_value(std::string_view s);

/// A container port name (Kubernetes' IANA_SVC_NAME): 1-15 lowercase letters, digits and '-',
/// at least one letter, no '-' at either end or twice in a row.
bool is_port_name(std::string_view s);

/// An environment variable name Kubernetes accepts (IsEnvVarName): letters, digits, '_', '-' and
/// '.', not starting with a digit, not "." and not starting with "..".
bool is_env_var_name(std::string_view s);

/// True for a name that says it holds a credential (PASSWORD, PASSWD, SECRET, TOKEN, API_KEY,
/// PRIVATE_KEY, ACCESS_KEY, CREDENTIAL, or a PASS segment; any case, '-' and '.' read as '_'):
/// such a value must come from the secret store, never the request.
bool is_credential_name(std::string_view s);

/// The data model's appName regex has no length limit of its own, so pattern and length are reported separately.
bool matches_app_name_pattern(std::string_view s);

/// Ingress and DNS host names must be resolvable names, which also caps every label at 63 characters.
bool is_hostname(std::string_view s);

/// A public name may only be published under a zone the cluster manages (no suffix tricks like "evilexample.com").
bool is_under_zone(std::string_view host, std::string_view zone);

/// Reserved-namespace rules are written as globs ("kube-*"); iterative so hostile input cannot blow the stack.
bool glob_match(std::string_view pattern, std::string_view s);

// ---------------------------------------------------------------------------------------
// OCI image references (distribution/reference grammar)
// ---------------------------------------------------------------------------------------

/// The parts of an image reference; empty strings mean "not given".
struct ImageRef {
    std::string domain;  // registry host[:port]; empty when the reference names none
    std::string path;    // repository path, e.g. "library/nginx"
    std::string tag;     // without the ':'
    std::string digest;  // "algo:hex", without the '@'
};

/// A typo in an image reference only surfaces as ImagePullBackOff after deploy, so parse it up front and say why it is wrong.
std::optional<ImageRef> parse_image_reference(std::string_view s, std::string* why = nullptr);

/// Two spellings of the same Docker Hub image ("nginx", "docker.io/library/nginx:latest") must compare and look up equal.
ImageRef normalize_image(const ImageRef& r);

/// Renders a reference back to one canonical string so generated manifests are stable.
std::string image_reference_string(const ImageRef& r);

// ---------------------------------------------------------------------------------------
// Schedules and quantities
// ---------------------------------------------------------------------------------------

/// Backup schedules are standard 5-field cron (robfig/cron ParseStandard); catching errors here beats a stuck ReplicationSource.
bool is_cron5(std::string_view s, std::string* why = nullptr);

/// Volsync's CRD pattern is narrower than cron (no names, no @midnight, no lists of ranges), and the API server enforces it.
bool is_volsync_schedule(std::string_view s, std::string* why = nullptr);

/// Requests, limits and PVC sizes are resource.Quantity strings; a malformed one rejects the whole manifest.
bool is_quantity(std::string_view s);

// ---------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------

/// S3 rejects bad bucket names only at creation time; naming the broken rule lets the operator fix it at once.
std::optional<std::string> s3_bucket_problem(std::string_view s);

/// The default allow-list of regions (aws, aws-cn, aws-us-gov); clusters with S3-compatible stores override it.
const std::vector<std::string>& default_aws_regions();

// ---------------------------------------------------------------------------------------
// Paths, text and URLs
// ---------------------------------------------------------------------------------------

/// NAS sub-paths end up in hostPath/NFS mounts, so any traversal trick would escape the app's data directory.
std::optional<std::string> subpath_problem(std::string_view s);

/// Control characters in values break YAML, logs and terminals, and are used to hide content.
bool contains_control_chars(std::string_view s);

/// Generated YAML/JSON must be valid UTF-8; overlongs and surrogates are the usual smuggling vectors.
bool is_valid_utf8(std::string_view s);

/// Komodo and Backstage ids are UUIDs; checking the shape early gives a clear error instead of a 404.
bool is_uuid(std::string_view s);

/// Timestamps written into PR bodies and annotations must be real RFC 3339 instants that other tools can parse.
bool is_iso8601_utc_or_offset(std::string_view s);

/// Links and endpoints must be plain http(s) URLs (no userinfo, no spaces) before they go into manifests or requests.
bool is_http_url(std::string_view s);

/// Paths compared by prefix must be canonical, otherwise "/a/./b" or "/a//b" would dodge the comparison.
bool is_absolute_clean_path(std::string_view s);

/// Prefix checks on raw strings accept "/mnt/apps01x" under "/mnt/apps01"; this one respects segment boundaries.
bool path_is_under(std::string_view path, std::string_view root);

/// A NAS export an app may mount: strictly below one of the roots (trailing '/' ignored), because a
/// root itself, or anything beside the roots, holds other apps' data.
bool is_below_an_app_root(std::string_view path, const std::vector<std::string>& roots);

// ---------------------------------------------------------------------------------------
// Hashing and ids (own implementations of FIPS 180-4 and RFC 4122)
// ---------------------------------------------------------------------------------------

/// Content hashes (branch suffixes, change detection) must be stable across machines, so no std::hash.
std::string sha256_hex(std::string_view data);

/// RFC 4122 name-based UUIDs are defined over SHA-1; not for security use.
std::string sha1_hex(std::string_view data);

/// Deterministic ids let a re-run produce the same objects; throws std::invalid_argument when namespace_uuid is not a UUID.
std::string uuid_v5(std::string_view namespace_uuid, std::string_view name);

/// Request ids only need to be unique, not reproducible.
std::string uuid_v4_random();

/// Records when something was generated, in the one timestamp form every consumer accepts.
std::string utc_now_iso8601();

/// Formatting a given instant separately keeps utc_now_iso8601() testable (proleptic Gregorian, no gmtime races).
std::string format_utc_iso8601(std::int64_t unix_seconds);

}  // namespace appforge::rules
