#include "appforge/model.hpp"

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

// Lenient readers: a field of the wrong type reads as absent; the schema reports it.
template <class T>
void read(const json& j, const char* key, std::optional<T>& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if constexpr (std::is_same_v<T, std::string>) {
        if (it->is_string()) out = it->template get<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
        if (it->is_boolean()) out = it->template get<bool>();
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (it->is_number_integer()) out = it->template get<std::int64_t>();
        else if (it->is_number_float()) {
            double d = it->template get<double>();
            // Range first: casting inf or 1e300 to int64 is undefined behaviour (found by fuzzing).
            if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d)))
                out = static_cast<std::int64_t>(d);
        }
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        if (it->is_array()) {
            std::vector<std::string> v;
            for (const auto& e : *it)
                if (e.is_string()) v.push_back(e.template get<std::string>());
            out = std::move(v);
        }
    }
}

void read(const json& j, const char* key, std::string& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) out = it->get<std::string>();
}

void read_status(const json& j, std::optional<Status>& out) {
    auto it = j.find("status");
    if (it != j.end() && it->is_string()) out = status_from_string(it->get<std::string>());
}

const json* object_at(const json& j, const char* key) {
    auto it = j.find(key);
    return (it != j.end() && it->is_object()) ? &*it : nullptr;
}

template <class T>
void write(json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}

void write_status(json& j, const std::optional<Status>& s) {
    if (s) j["status"] = to_string(*s);
}

}  // namespace

AppRequest app_request_from_json(const json& j) {
    AppRequest r;
    if (!j.is_object()) return r;
    read(j, "id", r.id);
    read(j, "operatorId", r.operatorId);
    read(j, "timestamp", r.timestamp);
    read_status(j, r.status);
    read(j, "appName", r.appName);
    read(j, "containerImage", r.containerImage);
    read(j, "containerImageValidated", r.containerImageValidated);
    read(j, "namespace", r.namespace_);
    if (const json* o = object_at(j, "resourceRequests")) {
        ResourceRequests rr;
        read(*o, "cpu", rr.cpu);
        read(*o, "memory", rr.memory);
        r.resourceRequests = rr;
    }
    read(j, "storagePattern", r.storagePattern);
    if (const json* o = object_at(j, "storageConfig")) {
        StorageConfig c;
        read(*o, "sizeGi", c.sizeGi);
        read(*o, "nasEndpoint", c.nasEndpoint);
        read(*o, "nasSubpath", c.nasSubpath);
        read(*o, "s3Bucket", c.s3Bucket);
        read(*o, "s3Region", c.s3Region);
        read(*o, "s3UseExternalSecrets", c.s3UseExternalSecrets);
        r.storageConfig = c;
    }
    read(j, "ingressPattern", r.ingressPattern);
    if (const json* o = object_at(j, "ingressConfig")) {
        IngressConfig c;
        read(*o, "internalHostname", c.internalHostname);
        read(*o, "externalHostname", c.externalHostname);
        read(*o, "cloudflareZoneId", c.cloudflareZoneId);
        r.ingressConfig = c;
    }
    read(j, "backupStrategy", r.backupStrategy);
    if (const json* o = object_at(j, "backupConfig")) {
        BackupConfig c;
        read(*o, "retentionDays", c.retentionDays);
        read(*o, "schedule", c.schedule);
        r.backupConfig = c;
    }
    read(j, "featureBranch", r.featureBranch);
    read(j, "commitSha", r.commitSha);
    read(j, "prNumber", r.prNumber);
    read(j, "prUrl", r.prUrl);
    read(j, "mergedAt", r.mergedAt);
    read(j, "validationErrors", r.validationErrors);
    read(j, "manifestValidationErrors", r.manifestValidationErrors);
    return r;
}

json to_json(const AppRequest& r) {
    json j = json::object();
    write(j, "id", r.id);
    j["operatorId"] = r.operatorId;
    write(j, "timestamp", r.timestamp);
    write_status(j, r.status);
    j["appName"] = r.appName;
    j["containerImage"] = r.containerImage;
    write(j, "containerImageValidated", r.containerImageValidated);
    write(j, "namespace", r.namespace_);
    if (r.resourceRequests) {
        json o = json::object();
        write(o, "cpu", r.resourceRequests->cpu);
        write(o, "memory", r.resourceRequests->memory);
        j["resourceRequests"] = o;
    }
    j["storagePattern"] = r.storagePattern;
    if (r.storageConfig) {
        const auto& c = *r.storageConfig;
        json o = json::object();
        write(o, "sizeGi", c.sizeGi);
        write(o, "nasEndpoint", c.nasEndpoint);
        write(o, "nasSubpath", c.nasSubpath);
        write(o, "s3Bucket", c.s3Bucket);
        write(o, "s3Region", c.s3Region);
        write(o, "s3UseExternalSecrets", c.s3UseExternalSecrets);
        j["storageConfig"] = o;
    }
    j["ingressPattern"] = r.ingressPattern;
    if (r.ingressConfig) {
        const auto& c = *r.ingressConfig;
        json o = json::object();
        write(o, "internalHostname", c.internalHostname);
        write(o, "externalHostname", c.externalHostname);
        write(o, "cloudflareZoneId", c.cloudflareZoneId);
        j["ingressConfig"] = o;
    }
    j["backupStrategy"] = r.backupStrategy;
    if (r.backupConfig) {
        json o = json::object();
        write(o, "retentionDays", r.backupConfig->retentionDays);
        write(o, "schedule", r.backupConfig->schedule);
        j["backupConfig"] = o;
    }
    write(j, "featureBranch", r.featureBranch);
    write(j, "commitSha", r.commitSha);
    write(j, "prNumber", r.prNumber);
    write(j, "prUrl", r.prUrl);
    write(j, "mergedAt", r.mergedAt);
    write(j, "validationErrors", r.validationErrors);
    write(j, "manifestValidationErrors", r.manifestValidationErrors);
    return j;
}

KomodoRequest komodo_request_from_json(const json& j) {
    KomodoRequest r;
    if (!j.is_object()) return r;
    read(j, "id", r.id);
    read(j, "operatorId", r.operatorId);
    read(j, "timestamp", r.timestamp);
    read_status(j, r.status);
    read(j, "appName", r.appName);
    read(j, "appDescription", r.appDescription);
    if (const json* o = object_at(j, "komodoRequest")) {
        read(*o, "appName", r.komodoRequest.appName);
        read(*o, "appVersion", r.komodoRequest.appVersion);
        auto it = o->find("appConfig");
        if (it != o->end() && it->is_object()) r.komodoRequest.appConfig = *it;
        read(*o, "storageLocation", r.komodoRequest.storageLocation);
    }
    read(j, "komodoApiUrl", r.komodoApiUrl);
    read(j, "submissionStatus", r.submissionStatus);
    read(j, "errorMessage", r.errorMessage);
    return r;
}

json to_json(const KomodoRequest& r) {
    json j = json::object();
    write(j, "id", r.id);
    j["operatorId"] = r.operatorId;
    write(j, "timestamp", r.timestamp);
    write_status(j, r.status);
    j["appName"] = r.appName;
    write(j, "appDescription", r.appDescription);
    json k = json::object();
    k["appName"] = r.komodoRequest.appName;
    k["appVersion"] = r.komodoRequest.appVersion;
    k["appConfig"] = r.komodoRequest.appConfig;
    write(k, "storageLocation", r.komodoRequest.storageLocation);
    j["komodoRequest"] = k;
    j["komodoApiUrl"] = r.komodoApiUrl;
    write(j, "submissionStatus", r.submissionStatus);
    write(j, "errorMessage", r.errorMessage);
    return j;
}

ClusterProfile profile_from_json(const json& j) {
    ClusterProfile p;
    if (!j.is_object()) return p;
    auto str = [&](const json& o, const char* k, std::string& out) { read(o, k, out); };
    auto strs = [&](const json& o, const char* k, std::vector<std::string>& out) {
        std::optional<std::vector<std::string>> v;
        read(o, k, v);
        if (v) out = *v;
    };
    str(j, "name", p.name);
    if (const json* o = object_at(j, "zones")) {
        str(*o, "public", p.publicZone);
        str(*o, "internal", p.internalZone);
    }
    if (const json* o = object_at(j, "ingress")) {
        str(*o, "internalClass", p.internalIngressClass);
        str(*o, "externalClass", p.externalIngressClass);
        read(*o, "tunnelTarget", p.tunnelTarget);
        auto it = o->find("cloudflareProxied");
        if (it != o->end() && it->is_boolean()) p.cloudflareProxied = it->get<bool>();
    }
    if (const json* o = object_at(j, "externalDns")) str(*o, "annotationPrefix", p.externalDnsPrefix);
    if (const json* o = object_at(j, "storage")) {
        str(*o, "storageClass", p.storageClass);
        str(*o, "mountPath", p.mountPath);
        str(*o, "nasCapacity", p.nasCapacity);
        std::optional<std::int64_t> w;
        read(*o, "sizeWarningGi", w);
        if (w) p.storageWarnGi = *w;
    }
    if (const json* o = object_at(j, "nas")) {
        strs(*o, "endpoints", p.nasEndpoints);
        strs(*o, "appRoots", p.nasAppRoots);
    }
    if (const json* o = object_at(j, "s3")) strs(*o, "regions", p.s3Regions);
    if (const json* o = object_at(j, "secretStore")) {
        SecretStoreRef s;
        str(*o, "name", s.name);
        str(*o, "kind", s.kind);
        p.secretStore = s;
    }
    if (const json* o = object_at(j, "volsync")) {
        str(*o, "repositorySecret", p.volsyncRepositorySecret);
        read(*o, "repositoryKey", p.volsyncRepositoryKey);
        str(*o, "snapshotClass", p.volsyncSnapshotClass);
        str(*o, "cacheCapacity", p.volsyncCacheCapacity);
    }
    if (const json* o = object_at(j, "namespaces")) {
        strs(*o, "reserved", p.reservedNamespaces);
        strs(*o, "management", p.managementNamespaces);
    }
    auto it = j.find("requireResourceRequests");
    if (it != j.end() && it->is_boolean()) p.requireResourceRequests = it->get<bool>();
    if (const json* o = object_at(j, "gitops")) {
        str(*o, "root", p.gitopsRoot);
        str(*o, "cluster", p.gitopsCluster);
        str(*o, "namespacesDir", p.gitopsNamespacesDir);
    }
    return p;
}

json to_json(const ClusterProfile& p) {
    json j;
    j["name"] = p.name;
    j["zones"] = {{"public", p.publicZone}, {"internal", p.internalZone}};
    j["ingress"] = {{"internalClass", p.internalIngressClass},
                    {"externalClass", p.externalIngressClass},
                    {"cloudflareProxied", p.cloudflareProxied}};
    if (p.tunnelTarget) j["ingress"]["tunnelTarget"] = *p.tunnelTarget;
    j["externalDns"] = {{"annotationPrefix", p.externalDnsPrefix}};
    j["storage"] = {{"storageClass", p.storageClass},
                    {"mountPath", p.mountPath},
                    {"nasCapacity", p.nasCapacity},
                    {"sizeWarningGi", p.storageWarnGi}};
    j["nas"] = {{"endpoints", p.nasEndpoints}, {"appRoots", p.nasAppRoots}};
    j["s3"] = {{"regions", p.s3Regions}};
    if (p.secretStore) j["secretStore"] = {{"name", p.secretStore->name}, {"kind", p.secretStore->kind}};
    j["volsync"] = {{"repositorySecret", p.volsyncRepositorySecret},
                    {"snapshotClass", p.volsyncSnapshotClass},
                    {"cacheCapacity", p.volsyncCacheCapacity}};
    if (p.volsyncRepositoryKey) j["volsync"]["repositoryKey"] = *p.volsyncRepositoryKey;
    j["namespaces"] = {{"reserved", p.reservedNamespaces}, {"management", p.managementNamespaces}};
    j["requireResourceRequests"] = p.requireResourceRequests;
    j["gitops"] = {{"root", p.gitopsRoot}, {"cluster", p.gitopsCluster}, {"namespacesDir", p.gitopsNamespacesDir}};
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
