#include "appforge/model.hpp"

#include <type_traits>
#include <utility>

namespace appforge {

using nlohmann::json;

const char* to_string(Status s) {
    switch (s) {
        case Status::pending: return "pending";
        case Status::success: return "success";
        case Status::failed: return "failed";
    }
    return "pending";
}

std::optional<Status> status_from_string(const std::string& s) {
    if (s == "pending") return Status::pending;
    if (s == "success") return Status::success;
    if (s == "failed") return Status::failed;
    return std::nullopt;
}

namespace {

// Records go member by member through each_field; every other member type is a leaf value.
template <class T>
constexpr bool is_record =
    std::is_same_v<T, AppRequest> || std::is_same_v<T, ResourceRequests> || std::is_same_v<T, StorageConfig> ||
    std::is_same_v<T, IngressConfig> || std::is_same_v<T, BackupConfig> || std::is_same_v<T, KomodoRequest> ||
    std::is_same_v<T, KomodoPayload> || std::is_same_v<T, ClusterProfile> || std::is_same_v<T, SecretStoreRef> ||
    std::is_same_v<T, PortSpec> || std::is_same_v<T, EnvVar> || std::is_same_v<T, ProbeSpec> || std::is_same_v<T, Probes>;

template <class T>
struct is_record_list : std::false_type {};
template <class T>
struct is_record_list<std::vector<T>> : std::bool_constant<is_record<T>> {};

/// The one list of every record's JSON fields: the Reader and the Writer below both walk it, so
/// the two directions cannot drift apart. A member's C++ type decides how it is read and
/// written; `v.group` is a JSON section that has no struct of its own (the profile's).
template <class S, class V>
void each_field(S& s, V& v) {
    using T = std::remove_const_t<S>;
    static_assert(is_record<T>);
    if constexpr (std::is_same_v<T, AppRequest> || std::is_same_v<T, KomodoRequest>) {
        v("id", s.id);
        v("operatorId", s.operatorId);
        v("timestamp", s.timestamp);
        v("status", s.status);
        v("appName", s.appName);
    }
    if constexpr (std::is_same_v<T, AppRequest>) {
        v("containerImage", s.containerImage);
        v("containerImageValidated", s.containerImageValidated);
        v("namespace", s.namespace_);
        v("resourceRequests", s.resourceRequests);
        v("storagePattern", s.storagePattern);
        v("storageConfig", s.storageConfig);
        v("ingressPattern", s.ingressPattern);
        v("ingressConfig", s.ingressConfig);
        v("backupStrategy", s.backupStrategy);
        v("backupConfig", s.backupConfig);
        v("featureBranch", s.featureBranch);
        v("commitSha", s.commitSha);
        v("prNumber", s.prNumber);
        v("prUrl", s.prUrl);
        v("mergedAt", s.mergedAt);
        v("validationErrors", s.validationErrors);
        v("manifestValidationErrors", s.manifestValidationErrors);
        v("workloadPattern", s.workloadPattern);
        v("resourceLimits", s.resourceLimits);
        v("ports", s.ports);
        v("env", s.env);
        v("command", s.command);
        v("args", s.args);
        v("probes", s.probes);
    } else if constexpr (std::is_same_v<T, PortSpec>) {
        v("name", s.name);
        v("port", s.port);
        v("protocol", s.protocol);
    } else if constexpr (std::is_same_v<T, EnvVar>) {
        v("name", s.name);
        v("value", s.value);
    } else if constexpr (std::is_same_v<T, ProbeSpec>) {
        v("type", s.type);
        v("path", s.path);
        v("port", s.port);
    } else if constexpr (std::is_same_v<T, Probes>) {
        v("liveness", s.liveness);
        v("readiness", s.readiness);
        v("startup", s.startup);
    } else if constexpr (std::is_same_v<T, ResourceRequests>) {
        v("cpu", s.cpu);
        v("memory", s.memory);
    } else if constexpr (std::is_same_v<T, StorageConfig>) {
        v("sizeGi", s.sizeGi);
        v("nasEndpoint", s.nasEndpoint);
        v("nasSubpath", s.nasSubpath);
        v("s3Bucket", s.s3Bucket);
        v("s3Region", s.s3Region);
        v("s3UseExternalSecrets", s.s3UseExternalSecrets);
    } else if constexpr (std::is_same_v<T, IngressConfig>) {
        v("internalHostname", s.internalHostname);
        v("externalHostname", s.externalHostname);
        v("cloudflareZoneId", s.cloudflareZoneId);
    } else if constexpr (std::is_same_v<T, BackupConfig>) {
        v("retentionDays", s.retentionDays);
        v("schedule", s.schedule);
    } else if constexpr (std::is_same_v<T, KomodoRequest>) {
        v("appDescription", s.appDescription);
        v("komodoRequest", s.komodoRequest);
        v("komodoApiUrl", s.komodoApiUrl);
        v("submissionStatus", s.submissionStatus);
        v("errorMessage", s.errorMessage);
    } else if constexpr (std::is_same_v<T, KomodoPayload>) {
        v("appName", s.appName);
        v("appVersion", s.appVersion);
        v("appConfig", s.appConfig);
        v("storageLocation", s.storageLocation);
    } else if constexpr (std::is_same_v<T, SecretStoreRef>) {
        v("name", s.name);
        v("kind", s.kind);
    } else if constexpr (std::is_same_v<T, ClusterProfile>) {
        v("name", s.name);
        v.group("zones", [&](V& g) {
            g("public", s.publicZone);
            g("internal", s.internalZone);
        });
        v.group("ingress", [&](V& g) {
            g("internalClass", s.internalIngressClass);
            g("externalClass", s.externalIngressClass);
            g("tunnelTarget", s.tunnelTarget);
            g("cloudflareProxied", s.cloudflareProxied);
        });
        v.group("externalDns", [&](V& g) { g("annotationPrefix", s.externalDnsPrefix); });
        v.group("storage", [&](V& g) {
            g("storageClass", s.storageClass);
            g("mountPath", s.mountPath);
            g("nasCapacity", s.nasCapacity);
            g("sizeWarningGi", s.storageWarnGi);
        });
        v.group("nas", [&](V& g) {
            g("endpoints", s.nasEndpoints);
            g("appRoots", s.nasAppRoots);
        });
        v.group("s3", [&](V& g) { g("regions", s.s3Regions); });
        v("secretStore", s.secretStore);
        v.group("volsync", [&](V& g) {
            g("repositorySecret", s.volsyncRepositorySecret);
            g("repositoryKey", s.volsyncRepositoryKey);
            g("snapshotClass", s.volsyncSnapshotClass);
            g("cacheCapacity", s.volsyncCacheCapacity);
        });
        v.group("namespaces", [&](V& g) {
            g("reserved", s.reservedNamespaces);
            g("management", s.managementNamespaces);
        });
        v("requireResourceRequests", s.requireResourceRequests);
        v.group("gitops", [&](V& g) {
            g("root", s.gitopsRoot);
            g("cluster", s.gitopsCluster);
            g("namespacesDir", s.gitopsNamespacesDir);
        });
        v.group("workload", [&](V& g) {
            g("default", s.workloadDefault);
            g("allowed", s.workloadAllowed);
        });
        v.group("policy", [&](V& g) {
            g("allowClusterScopedKinds", s.policyAllowClusterScopedKinds);
            g("allowPrivileged", s.policyAllowPrivileged);
            g("allowHostNamespaces", s.policyAllowHostNamespaces);
            g("allowHostPath", s.policyAllowHostPath);
            g("allowRbac", s.policyAllowRbac);
            g("allowDeployers", s.policyAllowDeployers);
        });
        v.group("komodo", [&](V& g) {
            g("url", s.komodoUrl);
            g("server", s.komodoServer);
            g("swarm", s.komodoSwarm);
            g("tags", s.komodoTags);
            g("stacksDir", s.komodoStacksDir);
            g("defaultTier", s.komodoDefaultTier);
            g("syncFile", s.komodoSyncFile);
            g("linkedRepo", s.komodoLinkedRepo);
            g("proxy", s.komodoProxy);
            g("proxyNetwork", s.komodoProxyNetwork);
        });
        v.group("registries", [&](V& g) { g("allowed", s.registriesAllowed); });
    }
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Lenient: a field of the wrong type reads as absent (the schema reports it), so a record
/// member keeps its default and semantic rules can still run on the rest.
struct Reader {
    const json& j;

    const json* member(const char* key) const {
        auto it = j.find(key);
        return it == j.end() ? nullptr : &*it;
    }

    template <class T>
    void operator()(const char* key, T& out) const {
        const json* m = member(key);
        if (!m) return;
        if constexpr (is_optional<T>::value) {
            using V = typename T::value_type;
            if constexpr (is_record_list<V>::value) {
                // A list of records: items that are not objects are skipped (the schema reported them).
                if (!m->is_array()) return;
                V items;
                for (const auto& e : *m) {
                    if (!e.is_object()) continue;
                    typename V::value_type rec;
                    Reader sub{e};
                    each_field(rec, sub);
                    items.push_back(std::move(rec));
                }
                out = std::move(items);
            } else if constexpr (is_record<V>) {
                // A present sub-object starts from a fresh record, not from whatever was there.
                if (!m->is_object()) return;
                V rec;
                Reader sub{*m};
                each_field(rec, sub);
                out = std::move(rec);
            } else {
                read_value(*m, out);
            }
        } else if constexpr (is_record<T>) {
            if (!m->is_object()) return;
            Reader sub{*m};
            each_field(out, sub);
        } else if constexpr (std::is_same_v<T, json>) {
            if (m->is_object()) out = *m;
        } else {
            std::optional<T> v;
            read_value(*m, v);
            if (v) out = std::move(*v);
        }
    }

    /// A section of the file: read only when it is an object; otherwise its members keep their defaults.
    template <class F>
    void group(const char* key, F&& fields) const {
        const json* m = member(key);
        if (!m || !m->is_object()) return;
        Reader sub{*m};
        fields(sub);
    }

    static void read_value(const json& v, std::optional<std::string>& out) {
        if (v.is_string()) out = v.get<std::string>();
    }
    static void read_value(const json& v, std::optional<bool>& out) {
        if (v.is_boolean()) out = v.get<bool>();
    }
    static void read_value(const json& v, std::optional<std::int64_t>& out) {
        if (v.is_number_integer()) {
            out = v.get<std::int64_t>();
        } else if (v.is_number_float()) {
            double d = v.get<double>();
            // Range first: casting inf or 1e300 to int64 is undefined behaviour (found by fuzzing).
            if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d)))
                out = static_cast<std::int64_t>(d);
        }
    }
    static void read_value(const json& v, std::optional<std::vector<std::string>>& out) {
        if (!v.is_array()) return;
        std::vector<std::string> strings;
        for (const auto& e : v)
            if (e.is_string()) strings.push_back(e.get<std::string>());
        out = std::move(strings);
    }
    static void read_value(const json& v, std::optional<Status>& out) {
        if (v.is_string()) out = status_from_string(v.get<std::string>());
    }
};

/// Optional members are written only when present, so parse -> write -> parse is exact; plain
/// members and sections are always written.
struct Writer {
    json& j;

    template <class T>
    void operator()(const char* key, const T& v) const {
        if constexpr (is_optional<T>::value) {
            if (v) write_value(key, *v);
        } else {
            write_value(key, v);
        }
    }

    template <class F>
    void group(const char* key, F&& fields) const {
        json o = json::object();
        Writer sub{o};
        fields(sub);
        j[key] = std::move(o);
    }

    template <class T>
    void write_value(const char* key, const T& v) const {
        if constexpr (is_record_list<T>::value) {
            json a = json::array();
            for (const auto& e : v) {
                json o = json::object();
                Writer sub{o};
                each_field(e, sub);
                a.push_back(std::move(o));
            }
            j[key] = std::move(a);
        } else if constexpr (is_record<T>) {
            group(key, [&](const Writer& sub) { each_field(v, sub); });
        } else if constexpr (std::is_same_v<T, Status>) {
            j[key] = to_string(v);
        } else {
            j[key] = v;
        }
    }
};

template <class T>
T read_record(const json& j) {
    T r;
    if (j.is_object()) {
        Reader reader{j};
        each_field(r, reader);
    }
    return r;
}

template <class T>
json write_record(const T& r) {
    json j = json::object();
    Writer writer{j};
    each_field(r, writer);
    return j;
}

}  // namespace

AppRequest app_request_from_json(const json& j) { return read_record<AppRequest>(j); }

json to_json(const AppRequest& r) { return write_record(r); }

KomodoRequest komodo_request_from_json(const json& j) { return read_record<KomodoRequest>(j); }

json to_json(const KomodoRequest& r) { return write_record(r); }

ClusterProfile profile_from_json(const json& j) { return read_record<ClusterProfile>(j); }

json to_json(const ClusterProfile& p) {
    json j = write_record(p);
    // Profiles load over the default, which has a secret store: "none" must be said explicitly.
    if (!p.secretStore) j["secretStore"] = nullptr;
    return j;
}

bool operator==(const AppRequest& a, const AppRequest& b) { return to_json(a) == to_json(b); }
bool operator==(const KomodoRequest& a, const KomodoRequest& b) { return to_json(a) == to_json(b); }

bool is_komodo_document(const json& j) { return j.is_object() && j.contains("komodoRequest"); }

std::string canonical_request_text(const json& request) {
    if (!request.is_object()) return request.dump();
    json c = request;
    for (const char* k : {"id", "timestamp", "status", "featureBranch", "commitSha", "prNumber", "prUrl", "mergedAt",
                          "validationErrors", "manifestValidationErrors", "containerImageValidated",
                          "submissionStatus", "errorMessage"})
        c.erase(k);
    return c.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace appforge
