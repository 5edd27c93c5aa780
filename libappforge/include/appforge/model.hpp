// The entities of the data model (spec/data-model.md), with exact JSON/YAML round trips.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/net_rules.hpp"

namespace appforge {

/// Workflow status; it only ever moves pending -> success or pending -> failed.
enum class Status { pending, success, failed };

/// "pending", "success" or "failed", as in the data model.
const char* to_string(Status s);
/// Parses the data model's spelling; nullopt for anything else.
std::optional<Status> status_from_string(const std::string& s);

/// CPU and memory requests as Kubernetes quantities (strings, validated by the rules layer).
struct ResourceRequests {
    std::optional<std::string> cpu;
    std::optional<std::string> memory;
};

/// Storage settings; which fields matter depends on the storage pattern's requiredFields.
struct StorageConfig {
    std::optional<std::int64_t> sizeGi;
    std::optional<std::string> nasEndpoint;
    std::optional<std::string> nasSubpath;
    std::optional<std::string> s3Bucket;
    std::optional<std::string> s3Region;
    std::optional<bool> s3UseExternalSecrets;
};

/// Hostnames are normally derived from the profile; given ones must match the ingress intent.
struct IngressConfig {
    std::optional<std::string> internalHostname;
    std::optional<std::string> externalHostname;
    std::optional<std::string> cloudflareZoneId;
};

/// Backup settings for volsync-snapshots (defaults: 30 days, "0 2 * * *").
struct BackupConfig {
    std::optional<std::int64_t> retentionDays;
    std::optional<std::string> schedule;
};

/// One container port; the first is the HTTP port the Service, the route and the probes use.
struct PortSpec {
    std::string name;
    std::int64_t port = 0;
    std::optional<std::string> protocol;  ///< TCP (default), UDP or SCTP
};

/// A plain environment variable; credentials never come as literal values.
struct EnvVar {
    std::string name;
    std::string value;
};

/// One probe: an HTTP GET of a path, a TCP connect, or none; on a named port (default: the first).
struct ProbeSpec {
    std::string type;  ///< http, tcp or none
    std::optional<std::string> path;
    std::optional<std::string> port;
};

/// The container's probes; an absent one is not configured.
struct Probes {
    std::optional<ProbeSpec> liveness;
    std::optional<ProbeSpec> readiness;
    std::optional<ProbeSpec> startup;
};

/// A GitOps app request. Pattern ids are strings because the catalog is data and extensible
/// (a user may add "ceph-rbd"); the catalog, not a C++ enum, says which ids exist.
struct AppRequest {
    std::optional<std::string> id;
    std::string operatorId;
    std::optional<std::string> timestamp;
    std::optional<Status> status;

    std::string appName;
    std::string containerImage;
    std::optional<bool> containerImageValidated;

    std::optional<std::string> namespace_;  ///< JSON "namespace"; defaults to appName
    std::optional<ResourceRequests> resourceRequests;
    std::optional<ResourceRequests> resourceLimits;  ///< same quantities, as limits
    std::optional<std::vector<PortSpec>> ports;      ///< absent: one port "http" 8080/TCP
    std::optional<std::vector<EnvVar>> env;
    std::optional<std::vector<std::string>> command;  ///< replaces the image's entrypoint
    std::optional<std::vector<std::string>> args;
    std::optional<Probes> probes;

    std::string storagePattern;
    std::optional<StorageConfig> storageConfig;
    std::string ingressPattern;
    std::optional<IngressConfig> ingressConfig;
    std::string backupStrategy;
    std::optional<BackupConfig> backupConfig;
    /// The workload pattern (deployment, app-template, ...); absent: the profile's default.
    std::optional<std::string> workloadPattern;

    std::optional<std::string> featureBranch;
    std::optional<std::string> commitSha;
    std::optional<std::int64_t> prNumber;
    std::optional<std::string> prUrl;
    std::optional<std::string> mergedAt;

    std::optional<std::vector<std::string>> validationErrors;
    std::optional<std::vector<std::string>> manifestValidationErrors;

    /// The namespace the app lands in: the given one, else appName (data model default).
    const std::string& effective_namespace() const { return namespace_ ? *namespace_ : appName; }
};

/// The platform's Komodo request document (data model section 5, "komodoRequest").
struct KomodoPayload {
    std::string appName;
    std::string appVersion;
    nlohmann::json appConfig = nlohmann::json::object();
    std::optional<std::string> storageLocation;
};

/// A NAS app request; a document with a "komodoRequest" member is one of these.
struct KomodoRequest {
    std::optional<std::string> id;
    std::string operatorId;
    std::optional<std::string> timestamp;
    std::optional<Status> status;
    std::string appName;
    std::optional<std::string> appDescription;
    KomodoPayload komodoRequest;
    std::optional<std::string> komodoApiUrl;  ///< optional; when given it must equal the configured Komodo URL
    std::optional<std::string> submissionStatus;
    std::optional<std::string> errorMessage;
};

/// An External Secrets store reference (SecretStore or ClusterSecretStore).
struct SecretStoreRef {
    std::string name;
    std::string kind = "ClusterSecretStore";
};

/// Everything about one cluster that the data model hard-codes for the home lab.
struct ClusterProfile {
    std::string name = "homelab";
    std::string publicZone = "hypyr.space";
    std::string internalZone = "internal.hypyr.space";
    std::string internalIngressClass = "nginx";
    std::string externalIngressClass = "nginx";
    std::string externalDnsPrefix = "external-dns.alpha.kubernetes.io/";
    std::optional<std::string> tunnelTarget;
    bool cloudflareProxied = true;
    std::string storageClass = "longhorn";
    std::string mountPath = "/data";
    std::string nasCapacity = "100Gi";
    std::vector<std::string> nasEndpoints{"nfs://nas.internal:2049"};
    std::vector<std::string> nasAppRoots{"/mnt/pool/apps", "/mnt/apps"};
    std::vector<std::string> s3Regions;  ///< empty means the AWS list
    std::optional<SecretStoreRef> secretStore;
    std::string volsyncRepositorySecret = "restic-credentials";  ///< Secret restic reads (data model)
    std::optional<std::string> volsyncRepositoryKey;  ///< store key; when set, an ExternalSecret per app makes the Secret
    std::string volsyncSnapshotClass = "longhorn-snapshot";
    std::string volsyncCacheCapacity = "1Gi";
    std::vector<std::string> reservedNamespaces;
    std::vector<std::string> managementNamespaces;
    std::int64_t storageWarnGi = 500;
    bool requireResourceRequests = false;
    std::string gitopsRoot = "kubernetes/clusters";
    std::string gitopsCluster = "homelab";
    std::string gitopsNamespacesDir = "namespaces";
    std::string workloadDefault = "deployment";              ///< workload.default
    std::vector<std::string> workloadAllowed{"deployment"};  ///< workload.allowed: what a request may pick
    // policy: what a rendered object may do (verify.policy.*); everything off unless allowed,
    // and anything allowed makes the GitOps risk verdict needs-review.
    std::vector<std::string> policyAllowClusterScopedKinds;  ///< kinds that may live outside the namespace
    bool policyAllowPrivileged = false;  ///< privileged, capabilities beyond the PSS baseline, Unconfined seccomp, Unmasked procMount
    bool policyAllowHostNamespaces = false;                  ///< hostNetwork, hostPID, hostIPC, hostPort
    bool policyAllowHostPath = false;                        ///< hostPath volumes
    bool policyAllowRbac = false;                            ///< Role, ClusterRole, RoleBinding, ClusterRoleBinding
    bool policyAllowDeployers = false;  ///< Flux and Argo CD objects that make a controller deploy other manifests
    /// komodo.url: the only Komodo API base URL credentials are sent to (a deploy may override it); none by default.
    std::optional<std::string> komodoUrl;
    /// komodo.server: the Komodo server (name or id) new stacks run on, unless the deploy or the request names one.
    std::optional<std::string> komodoServer;
    /// komodo.swarm: a Komodo Swarm (name or id) instead of a server; compose limits become `deploy.resources`.
    std::optional<std::string> komodoSwarm;
    /// komodo.tags: tag names set on every stack appforge manages (Komodo creates missing tags).
    std::vector<std::string> komodoTags{"appforge"};
    /// komodo.stacksDir: repo folder of the Resource Sync flow's compose files (<stacksDir>/<tier>/<group>/compose.yaml).
    std::string komodoStacksDir = "stacks";
    /// komodo.defaultTier: the <tier> folder when the request's appConfig.tier is absent.
    std::string komodoDefaultTier = "apps";
    /// komodo.syncFile: the Resource Sync TOML file `[[stack]]` tables are added to.
    std::string komodoSyncFile = "komodo/resources.toml";
    /// komodo.linkedRepo: the Komodo Repo resource a synced stack reads its compose file from (`linked_repo`).
    std::optional<std::string> komodoLinkedRepo;
    /// komodo.proxy: reverse-proxy labels for appConfig.ingress: "caddy" (caddy-docker-proxy), "traefik" or "none".
    std::string komodoProxy = "none";
    /// komodo.proxyNetwork: the external docker network the reverse proxy shares with the apps it serves.
    std::optional<std::string> komodoProxyNetwork;
    /// registries.allowed: host[:port] entries `validate --check-images` may contact (token services included).
    std::vector<std::string> registriesAllowed = rules::default_allowed_registries();
};

/// Reads an AppRequest from a JSON value already checked by the schema; wrong-typed fields
/// are left empty (the schema has reported them) so semantic rules can still run on the rest.
AppRequest app_request_from_json(const nlohmann::json& j);
/// Writes only the fields that are present, so parse -> write -> parse is exact.
nlohmann::json to_json(const AppRequest& r);

/// Reads a KomodoRequest (lenient in the same way as app_request_from_json).
KomodoRequest komodo_request_from_json(const nlohmann::json& j);
/// Writes a KomodoRequest with only the fields that are present.
nlohmann::json to_json(const KomodoRequest& r);

/// Reads a profile; absent fields keep the defaults above (the data model's values).
ClusterProfile profile_from_json(const nlohmann::json& j);
/// Writes every profile field, so a written profile documents the effective settings.
nlohmann::json to_json(const ClusterProfile& p);

/// Value equality through the canonical JSON form (one definition of "same request").
bool operator==(const AppRequest& a, const AppRequest& b);
/// Value equality through the canonical JSON form.
bool operator==(const KomodoRequest& a, const KomodoRequest& b);

/// True when the document is a NAS request (it has a "komodoRequest" member).
bool is_komodo_document(const nlohmann::json& j);

/// The canonical text of a request (sorted keys, no whitespace, no id/timestamp/status and no
/// workflow outputs): the input to content-derived ids and branch hashes.
std::string canonical_request_text(const nlohmann::json& request);

}  // namespace appforge
