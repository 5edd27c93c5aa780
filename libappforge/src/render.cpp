#include "appforge/render.hpp"

#include "appforge/policy.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "appforge/document.hpp"
#include "appforge/resources.hpp"
#include "appforge/validate.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

namespace {

constexpr const char* kNameLabel = "app.kubernetes.io/name";
constexpr const char* kManagedLabel = "app.kubernetes.io/managed-by";
constexpr int kServicePort = 80;
constexpr int kContainerPort = 8080;
// RFC 4122 namespace for appforge's content-derived request ids.
constexpr const char* kIdNamespace = "4f1c2a9e-6b1d-5c1e-9a51-2d6f3b7a8c01";

json standard_labels(const std::string& app) { return json{{kNameLabel, app}, {kManagedLabel, "appforge"}}; }

json build_context(const AppRequest& r, const ClusterProfile& p, const Pattern* storage, const Pattern* ingress,
                   const Pattern* backup, const std::string& id) {
    json c;
    c["appName"] = r.appName;
    c["namespace"] = r.effective_namespace();
    c["image"] = r.containerImage;
    c["operatorId"] = r.operatorId;
    c["volumeName"] = storage ? storage->volumeName : "app-data";
    c["mountPath"] = p.mountPath;
    c["claimName"] = r.appName + "-data";
    c["storageClass"] = p.storageClass;
    c["nasCapacity"] = p.nasCapacity;
    c["servicePort"] = std::to_string(kServicePort);
    c["containerPort"] = std::to_string(kContainerPort);
    StorageConfig sc = r.storageConfig.value_or(StorageConfig{});
    if (sc.sizeGi) c["sizeGi"] = std::to_string(*sc.sizeGi);
    if (sc.nasEndpoint) {
        std::string server;
        int port = 0;
        if (parse_nas_endpoint(*sc.nasEndpoint, server, port)) c["nasServer"] = server;
    }
    if (sc.nasSubpath) c["nasPath"] = *sc.nasSubpath;
    if (sc.s3Bucket) c["s3Bucket"] = *sc.s3Bucket;
    if (sc.s3Region) c["s3Region"] = *sc.s3Region;
    c["s3UseExternalSecrets"] = sc.s3UseExternalSecrets.value_or(false);
    c["s3SecretName"] = r.appName + "-s3";
    if (p.secretStore) c["secretStore"] = {{"name", p.secretStore->name}, {"kind", p.secretStore->kind}};
    bool is_public = ingress && ingress->is_public;
    c["host"] = effective_host(r, p, is_public);
    c["ingressClass"] = is_public ? p.externalIngressClass : p.internalIngressClass;
    c["dnsPrefix"] = p.externalDnsPrefix;
    if (p.tunnelTarget) c["tunnelTarget"] = *p.tunnelTarget;
    c["cloudflareProxied"] = p.cloudflareProxied ? "true" : "false";
    BackupConfig bc = r.backupConfig.value_or(BackupConfig{});
    c["schedule"] = bc.schedule.value_or("0 2 * * *");
    c["retentionDays"] = std::to_string(bc.retentionDays.value_or(30));
    if (p.volsyncRepositoryKey) {
        c["repositoryKey"] = *p.volsyncRepositoryKey + "/" + r.appName;
        c["repositorySecret"] = r.appName + "-restic";
    } else {
        c["repositorySecret"] = p.volsyncRepositorySecret;
    }
    bool snapshots = storage && storage->document.value("snapshots", false);
    c["useSnapshots"] = snapshots;
    c["copyMethod"] = snapshots ? "Snapshot" : "Direct";
    c["snapshotClass"] = p.volsyncSnapshotClass;
    c["cacheCapacity"] = p.volsyncCacheCapacity;
    (void)backup;
    // The workload's values: lists in their final order, every item with all of its keys (a key
    // missing from an item would resolve to the parent's key of that name).
    c["requestId"] = id;
    c["recreate"] = storage && storage->persistent;
    json ports = json::array();
    if (r.ports && !r.ports->empty())
        for (const auto& ps : *r.ports)
            ports.push_back(json{{"name", ps.name}, {"port", ps.port}, {"protocol", ps.protocol.value_or("TCP")}});
    else
        ports.push_back(json{{"name", "http"}, {"port", kContainerPort}, {"protocol", "TCP"}});
    c["httpPort"] = ports[0]["name"];
    json extra = json::array();
    for (std::size_t i = 1; i < ports.size(); ++i) extra.push_back(ports[i]);
    c["extraPorts"] = std::move(extra);
    c["ports"] = std::move(ports);
    json env = json::array();
    if (r.env)
        for (const auto& ev : *r.env) env.push_back(json{{"name", ev.name}, {"value", ev.value}});
    c["hasEnv"] = !env.empty();
    c["env"] = std::move(env);
    for (const auto& [list, key, has] : {std::tuple{&r.command, "command", "hasCommand"}, std::tuple{&r.args, "args", "hasArgs"}}) {
        json items = json::array();
        if (*list)
            for (const auto& a : **list) items.push_back(a);
        c[has] = !items.empty();
        c[key] = std::move(items);
    }
    // Every probe object has all its keys, so a missing one cannot resolve to an outer name.
    const std::pair<const std::optional<ProbeSpec>*, const char*> probes[] = {
        {r.probes ? &r.probes->liveness : nullptr, "liveness"},
        {r.probes ? &r.probes->readiness : nullptr, "readiness"},
        {r.probes ? &r.probes->startup : nullptr, "startup"}};
    for (const auto& [probe, key] : probes) {
        json pj;  // null: no probe
        if (probe && *probe && (*probe)->type != "none")
            pj = {{"http", (*probe)->type == "http"},
                  {"tcp", (*probe)->type == "tcp"},
                  {"path", (*probe)->path ? json(*(*probe)->path) : json()},
                  {"port", (*probe)->port.value_or(c["httpPort"].get<std::string>())}};
        c[key] = std::move(pj);
    }
    auto quantities = [](const std::optional<ResourceRequests>& q) {
        json out;  // null: no such key
        if (q && (q->cpu || q->memory)) out = {{"cpu", q->cpu ? json(*q->cpu) : json()}, {"memory", q->memory ? json(*q->memory) : json()}};
        return out;
    };
    json requests = quantities(r.resourceRequests);
    json limits = quantities(r.resourceLimits);
    json resources;  // null: no resources key at all
    if (!requests.is_null() || !limits.is_null()) resources = {{"requests", std::move(requests)}, {"limits", std::move(limits)}};
    c["resources"] = std::move(resources);
    json mounts = json::array();
    if (storage) mounts.push_back(json{{"name", storage->volumeName}, {"mountPath", p.mountPath}});
    c["hasMounts"] = !mounts.empty();
    c["mounts"] = std::move(mounts);
    return c;
}

/// Joins the contributed lists into the workload object at its slots: contributed items first,
/// then the template's own; an empty result leaves the key out. False when a slot's parent is
/// not an object in this rendering.
bool fill_slots(json& obj, const Pattern& workload, const json& contributed) {
    for (const auto& slot : workload.slots) {
        const json& add = contributed.at(slot.name);
        json::json_pointer parent_ptr = slot.at.parent_pointer();
        if (!obj.contains(parent_ptr) || !obj.at(parent_ptr).is_object()) return false;
        json& parent = obj.at(parent_ptr);
        const std::string& key = slot.at.back();
        json list = add;
        auto own = parent.find(key);
        if (own != parent.end()) {
            if (own->is_array())
                for (auto& e : *own) list.push_back(std::move(e));
            else if (!own->is_null())
                return false;
        }
        if (list.empty())
            parent.erase(key);
        else
            parent[key] = std::move(list);
    }
    return true;
}

void add_labels(json& obj, const std::string& app) {
    json& md = obj["metadata"];
    if (!md.is_object()) return;
    json& labels = md["labels"];
    if (!labels.is_object()) labels = json::object();
    const json standard = standard_labels(app);
    for (auto it = standard.begin(); it != standard.end(); ++it) labels[it.key()] = *it;
}

}  // namespace

std::string request_id_for(const AppRequest& r) {
    return r.id ? *r.id : rules::uuid_v5(kIdNamespace, canonical_request_text(to_json(r)));
}

std::string Bundle::stream() const {
    std::string out;
    for (const auto& f : files) {
        if (f.path == "kustomization.yaml") continue;
        out += "---\n# Source: " + f.path + "\n" + f.text;
    }
    return out;
}

const RenderedFile* Bundle::find(const std::string& path) const {
    for (const auto& f : files)
        if (f.path == path) return &f;
    return nullptr;
}

Result<Bundle> render_bundle(const AppRequest& r, const ClusterProfile& p, const Catalog& catalog) {
    Result<Bundle> out;
    auto fail = [&](std::string path, std::string code, std::string msg) {
        out.diagnostics.push_back(Diagnostic{std::move(path), std::move(code), std::move(msg), Severity::error});
    };
    const Pattern* storage = catalog.find(PatternKind::storage, r.storagePattern);
    const Pattern* ingress = catalog.find(PatternKind::ingress, r.ingressPattern);
    const Pattern* backup = catalog.find(PatternKind::backup, r.backupStrategy);
    const Pattern* workload = catalog.find(PatternKind::workload, workload_pattern_id(r, p));
    if (!storage || !ingress || !backup || !workload) {
        fail("", "render.pattern", "request names a pattern the catalog does not have; validate it first");
        return out;
    }
    const std::string id = request_id_for(r);
    json ctx = build_context(r, p, storage, ingress, backup, id);
    ParseLimits limits;
    limits.max_documents = 1;

    auto render_one = [&](const Template& t, const std::string& what) -> std::optional<json> {
        auto docs = t.render_documents(ctx, limits);
        if (!docs.ok()) {
            fail("", "render.yaml", what + " rendered invalid YAML: " + docs.diagnostics.front().message);
            return std::nullopt;
        }
        if (docs.value->empty()) return json();  // a conditional template that rendered nothing
        return std::move(docs.value->front());
    };
    // What the storage pattern contributes to the workload's slots, as parsed trees.
    json contributed{{"volumes", json::array()}, {"env", json::array()}};
    if (storage->volume) {
        auto v = render_one(*storage->volume, storage->source + " volume");
        if (v && v->is_object()) contributed["volumes"].push_back(std::move(*v));
    }
    if (storage->env) {
        auto e = render_one(*storage->env, storage->source + " env");
        if (e && e->is_array()) contributed["env"] = std::move(*e);
    }

    Bundle b;
    b.appName = r.appName;
    b.namespace_ = r.effective_namespace();
    std::set<std::string> names{"kustomization.yaml"};
    // The workload first: its first file leads the kustomization's resources.
    for (const Pattern* pat : {workload, ingress, storage, backup}) {
        for (std::size_t mi = 0; mi < pat->manifests.size(); ++mi) {
            const auto& m = pat->manifests[mi];
            auto obj = render_one(*m.tmpl, pat->source + " " + m.file);
            if (!obj || obj->is_null()) continue;
            if (!obj->is_object()) {
                fail("", "render.shape", pat->source + " " + m.file + " must render one object");
                continue;
            }
            if (pat == workload && mi == 0 && !fill_slots(*obj, *pat, contributed)) {
                fail("", "render.slot", pat->source + " " + m.file + " has no list where its slots point");
                continue;
            }
            if (!names.insert(m.file).second) {
                fail("", "render.file_clash", "two patterns write " + m.file);
                continue;
            }
            add_labels(*obj, r.appName);
            b.files.push_back(RenderedFile{m.file, std::move(*obj), {}});
        }
    }
    json resources = json::array();
    for (const auto& f : b.files) resources.push_back(f.path);
    json kustomization{{"apiVersion", "kustomize.config.k8s.io/v1beta1"},
                       {"kind", "Kustomization"},
                       {"resources", resources}};
    b.files.push_back(RenderedFile{"kustomization.yaml", std::move(kustomization), {}});
    // Every object came through a template parse, which refuses invalid UTF-8; the kustomization
    // holds only file names the pattern schema allows.
    for (auto& f : b.files) f.text = to_yaml(f.object);
    if (!out.diagnostics.empty()) return out;
    out.value = std::move(b);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Verification

std::shared_ptr<const SchemaRegistry> SchemaRegistry::builtin() {
    auto reg = std::make_shared<SchemaRegistry>();
    json index = json::parse(resources::find("schemas/kubernetes/index.json").value());
    for (const auto& e : index) {
        std::string file = e["file"].get<std::string>();
        auto text = resources::find("schemas/kubernetes/" + file);
        if (!text) continue;
        std::string key = e["apiVersion"].get<std::string>() + "/" + e["kind"].get<std::string>();
        reg->by_type_[key] = std::make_unique<JsonSchema>(json::parse(*text), e["kind"].get<std::string>());
    }
    return reg;
}

const JsonSchema* SchemaRegistry::find(const std::string& apiVersion, const std::string& kind) const {
    auto it = by_type_.find(apiVersion + "/" + kind);
    return it == by_type_.end() ? nullptr : it->second.get();
}

namespace {

const json* at(const json& j, std::initializer_list<const char*> path) {
    const json* cur = &j;
    for (const char* k : path) {
        if (!cur->is_object()) return nullptr;
        auto it = cur->find(k);
        if (it == cur->end()) return nullptr;
        cur = &*it;
    }
    return cur;
}

bool selector_matches(const json& selector, const json& labels) {
    if (!selector.is_object() || selector.empty() || !labels.is_object()) return false;
    for (auto it = selector.begin(); it != selector.end(); ++it) {
        auto l = labels.find(it.key());
        if (l == labels.end() || *l != *it) return false;
    }
    return true;
}

}  // namespace

Diagnostics verify_bundle(const Bundle& b, const AppRequest& r, const ClusterProfile& p, const Catalog& catalog,
                          const SchemaRegistry& schemas) {
    Diagnostics out;
    // where: the object's pointer ("/bundle/<file>", or ".../items/<i>" inside a List).
    auto err = [&](const std::string& where, const std::string& ptr, std::string code, std::string msg) {
        out.push_back(Diagnostic{where + ptr, std::move(code), std::move(msg), Severity::error});
    };
    // Lists are opened: their items are verified like top-level objects (a Secret inside a List is
    // still a plaintext Secret in git).
    const auto objects = flatten_bundle(b);
    std::set<std::string> claims;
    std::set<std::string> services;
    const json* pod_labels = nullptr;
    const json* container = nullptr;
    for (const auto& bo : objects) {
        const json& o = *bo.object;
        if (!o.is_object()) {
            err(bo.pointer, "", "verify.list_item", "a List item must be a Kubernetes object");
            continue;
        }
        std::string apiVersion = o.value("apiVersion", "");
        std::string kind = o.value("kind", "");
        // Whatever apiVersion it claims: a Secret's data is in git in plain text either way
        // (found by fuzz_pattern_policy with apiVersion v0 inside a List).
        if (kind == "Secret")
            err(bo.pointer, "", "verify.plaintext_secret",
                "a plaintext Secret must never be committed to the GitOps repo; use an ExternalSecret");
        if (const JsonSchema* s = schemas.find(apiVersion, kind)) {
            for (auto d : s->validate(o, bo.pointer)) {
                d.code = "verify." + d.code;
                d.message = kind + " " + d.message;
                out.push_back(std::move(d));
            }
        } else {
            out.push_back(Diagnostic{bo.pointer, "verify.unknown_kind",
                                     "no bundled schema for " + apiVersion + " " + kind + "; the object was not verified",
                                     Severity::warning});
        }
        const json* ns = at(o, {"metadata", "namespace"});
        if (ns && ns->is_string() && *ns != b.namespace_)
            err(bo.pointer, "/metadata/namespace", "verify.namespace",
                kind + " is in namespace '" + ns->get<std::string>() + "', not the app's '" + b.namespace_ + "'");
        const json* name = at(o, {"metadata", "name"});
        if (kind == "PersistentVolumeClaim" && name && name->is_string()) claims.insert(name->get<std::string>());
        if (kind == "Service" && name && name->is_string()) {
            services.insert(name->get<std::string>());
            if (!rules::is_dns1035_label(name->get<std::string>()))
                err(bo.pointer, "/metadata/name", "verify.service_name", "Service name must be a DNS-1035 label");
        }
        if (kind == "Deployment") {
            pod_labels = at(o, {"spec", "template", "metadata", "labels"});
            const json* sel = at(o, {"spec", "selector", "matchLabels"});
            if (!sel || !pod_labels || !selector_matches(*sel, *pod_labels))
                err(bo.pointer, "/spec/selector", "verify.selector", "Deployment selector does not match its pod labels");
            const json* cs = at(o, {"spec", "template", "spec", "containers"});
            if (cs && cs->is_array() && !cs->empty()) container = &(*cs)[0];
        }
    }
    // Cross-object invariants.
    for (const auto& bo : objects) {
        const json& o = *bo.object;
        if (!o.is_object()) continue;
        std::string kind = o.value("kind", "");
        if (kind == "Deployment") {
            const json* vols = at(o, {"spec", "template", "spec", "volumes"});
            std::set<std::string> vol_names;
            if (vols && vols->is_array())
                for (std::size_t i = 0; i < vols->size(); ++i) {
                    const json& v = (*vols)[i];
                    if (v.contains("name") && v["name"].is_string()) vol_names.insert(v["name"].get<std::string>());
                    const json* claim = at(v, {"persistentVolumeClaim", "claimName"});
                    if (claim && claim->is_string() && !claims.count(claim->get<std::string>()))
                        err(bo.pointer, "/spec/template/spec/volumes/" + std::to_string(i), "verify.claim_missing",
                            "volume uses claim '" + claim->get<std::string>() + "' but the bundle has no such PersistentVolumeClaim");
                }
            const json* mounts = container ? at(*container, {"volumeMounts"}) : nullptr;
            if (mounts && mounts->is_array())
                for (const auto& m : *mounts)
                    if (m.contains("name") && m["name"].is_string() && !vol_names.count(m["name"].get<std::string>()))
                        err(bo.pointer, "/spec/template/spec/containers/0/volumeMounts", "verify.mount_missing",
                            "volumeMount '" + m["name"].get<std::string>() + "' has no volume");
        } else if (kind == "Service") {
            const json* sel = at(o, {"spec", "selector"});
            if (!sel || !pod_labels || !selector_matches(*sel, *pod_labels))
                err(bo.pointer, "/spec/selector", "verify.service_selector", "Service selector does not match the pod labels");
            const json* ports = at(o, {"spec", "ports"});
            if (ports && ports->is_array() && container)
                for (std::size_t i = 0; i < ports->size(); ++i) {
                    const json& tp = (*ports)[i].value("targetPort", json());
                    bool ok = false;
                    for (const auto& cp : container->value("ports", json::array()))
                        ok = ok || (tp.is_string() && cp.value("name", "") == tp.get<std::string>()) ||
                             (tp.is_number_integer() && cp.value("containerPort", -1) == tp.get<int>());
                    if (!ok)
                        err(bo.pointer, "/spec/ports/" + std::to_string(i) + "/targetPort", "verify.target_port",
                            "Service targetPort does not name a container port");
                }
        } else if (kind == "Ingress") {
            const Pattern* ing = catalog.find(PatternKind::ingress, r.ingressPattern);
            bool is_public = ing && ing->is_public;
            const json* rules_ = at(o, {"spec", "rules"});
            if (rules_ && rules_->is_array())
                for (std::size_t i = 0; i < rules_->size(); ++i) {
                    std::string host = (*rules_)[i].value("host", "");
                    bool ok = is_public ? rules::is_under_zone(host, p.publicZone) && !rules::is_under_zone(host, p.internalZone)
                                        : rules::is_under_zone(host, p.internalZone);
                    if (!ok)
                        err(bo.pointer, "/spec/rules/" + std::to_string(i) + "/host", "verify.host_intent",
                            "Ingress host '" + host + "' does not match the " + (is_public ? "public" : "internal") +
                                " intent of pattern '" + r.ingressPattern + "'");
                    const json* paths = at((*rules_)[i], {"http", "paths"});
                    if (paths && paths->is_array())
                        for (const auto& pth : *paths) {
                            const json* svc = at(pth, {"backend", "service", "name"});
                            if (svc && svc->is_string() && !services.count(svc->get<std::string>()))
                                err(bo.pointer, "/spec/rules/" + std::to_string(i), "verify.backend",
                                    "Ingress backend service '" + svc->get<std::string>() + "' is not in the bundle");
                        }
                }
        } else if (kind == "ReplicationSource") {
            const json* pvc = at(o, {"spec", "sourcePVC"});
            if (!pvc || !pvc->is_string() || !claims.count(pvc->get<std::string>()))
                err(bo.pointer, "/spec/sourcePVC", "verify.source_pvc", "ReplicationSource must back up a claim in the bundle");
        }
    }
    auto policy = check_policy(objects, b, p);
    out.insert(out.end(), policy.begin(), policy.end());
    return out;
}

}  // namespace appforge
