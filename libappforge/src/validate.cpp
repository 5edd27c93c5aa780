#include "appforge/validate.hpp"

#include "appforge/profile.hpp"

#include <algorithm>
#include <cctype>

namespace appforge {

namespace {

constexpr std::size_t kMaxField = 4096;  // any string field; checked before any scanner runs

/// Echoes user text in a message without letting control characters reach a terminal or log.
std::string yaml_safe_preview(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    return out;
}

struct Sink {
    Diagnostics& out;
    void error(std::string path, std::string code, std::string message) {
        out.push_back(Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error});
    }
    void warning(std::string path, std::string code, std::string message) {
        out.push_back(Diagnostic{std::move(path), std::move(code), std::move(message), Severity::warning});
    }
};

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

/// Length and control-character bounds every free-text field shares; false stops further rules.
bool bounded(Sink& s, const std::string& path, const std::string& code, const std::string& value,
             const char* what, std::size_t max = kMaxField) {
    if (value.size() > max) {
        s.error(path, code + ".length",
                std::string(what) + " is " + std::to_string(value.size()) + " characters; at most " +
                    std::to_string(max) + " are allowed");
        return false;
    }
    if (rules::contains_control_chars(value)) {
        s.error(path, code + ".control", std::string(what) + " must not contain control characters");
        return false;
    }
    return true;
}

/// appName is the Deployment, container, Service and label value; the data model's rule first,
/// then what a real API server needs (DNS-1035, 63 characters).
void check_app_name(Sink& s, const std::string& path, const std::string& name, std::size_t derived_extra,
                    const std::string& derived_example) {
    if (name.empty()) {
        s.error(path, "app.name.required", "App name must not be empty");
        return;
    }
    if (name.size() > kMaxField) {
        s.error(path, "app.name.length",
                "App name is " + std::to_string(name.size()) + " characters; at most 63 are allowed");
        return;
    }
    if (!rules::matches_app_name_pattern(name)) {
        s.error(path, "app.name.pattern", messages::app_name);
        return;
    }
    if (name.size() > 63) {
        s.error(path, "app.name.length",
                "App name is " + std::to_string(name.size()) +
                    " characters; at most 63 are allowed because it names the Service (a DNS-1035 label)");
        return;
    }
    if (!rules::is_dns1035_label(name)) {
        s.error(path, "app.name.dns1035",
                "App name must start with a letter: it names the Service, and Kubernetes Service names are "
                "DNS-1035 labels");
        return;
    }
    if (derived_extra > 0 && name.size() + derived_extra > 63)
        s.error(path, "app.name.derived_length",
                "App name must be at most " + std::to_string(63 - derived_extra) + " characters here: " +
                    derived_example + " must fit a 63-character Kubernetes label");
}

void check_common_meta(Sink& s, const std::optional<std::string>& id, const std::string& operatorId,
                       const std::optional<std::string>& timestamp) {
    if (id && (!bounded(s, "/id", "app.id", *id, "id", 64) || !rules::is_uuid(*id)))
        if (id->size() <= 64 && !rules::contains_control_chars(*id))
            s.error("/id", "app.id.format", "id must be a UUID (8-4-4-4-12 hexadecimal digits)");
    if (operatorId.empty()) s.error("/operatorId", "app.operator.required", "operatorId must not be empty");
    else bounded(s, "/operatorId", "app.operator", operatorId, "operatorId", 256);
    if (timestamp && bounded(s, "/timestamp", "app.timestamp", *timestamp, "timestamp", 64) &&
        !rules::is_iso8601_utc_or_offset(*timestamp))
        s.error("/timestamp", "app.timestamp.format",
                "timestamp must be an ISO 8601 date-time with a time zone, e.g. 2026-01-25T10:00:00Z");
}

std::optional<std::string> storage_field(const StorageConfig& c, const std::string& f) {
    if (f == "sizeGi") return c.sizeGi ? std::optional<std::string>(std::to_string(*c.sizeGi)) : std::nullopt;
    if (f == "nasEndpoint") return c.nasEndpoint;
    if (f == "nasSubpath") return c.nasSubpath;
    if (f == "s3Bucket") return c.s3Bucket;
    if (f == "s3Region") return c.s3Region;
    if (f == "s3UseExternalSecrets")
        return c.s3UseExternalSecrets ? std::optional<std::string>(*c.s3UseExternalSecrets ? "true" : "false")
                                      : std::nullopt;
    return std::nullopt;
}

const Pattern* check_pattern_id(Sink& s, const Catalog& catalog, PatternKind kind, const std::string& id,
                                const char* field) {
    if (id.empty()) return nullptr;  // schema reported the missing/mistyped field
    const Pattern* p = catalog.find(kind, id);
    if (!p) {
        std::string shown = id.size() > 64 ? id.substr(0, 64) + "..." : id;
        s.error(std::string("/") + field, std::string("pattern.") + to_string(kind) + ".unknown",
                "Unknown " + std::string(to_string(kind)) + " pattern '" + yaml_safe_preview(shown) +
                    "'; valid ids are: " + join(catalog.ids(kind)));
    }
    return p;
}

}  // namespace

bool parse_nas_endpoint(const std::string& endpoint, std::string& server, int& port) {
    std::string rest = endpoint;
    port = 2049;
    if (rest.rfind("nfs://", 0) == 0) rest = rest.substr(6);
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
        if (rest.substr(slash) != "/") return false;
        rest = rest.substr(0, slash);
    }
    auto colon = rest.rfind(':');
    if (colon != std::string::npos) {
        std::string p = rest.substr(colon + 1);
        if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        port = std::stoi(p);
        if (port < 1 || port > 65535) return false;
        rest = rest.substr(0, colon);
    }
    server = rest;
    return rules::is_hostname(server);
}

const std::string& workload_pattern_id(const AppRequest& r, const ClusterProfile& profile) {
    return r.workloadPattern ? *r.workloadPattern : profile.workloadDefault;
}

std::string effective_host(const AppRequest& r, const ClusterProfile& profile, bool is_public) {
    if (r.ingressConfig) {
        if (is_public && r.ingressConfig->externalHostname) return *r.ingressConfig->externalHostname;
        if (!is_public && r.ingressConfig->internalHostname) return *r.ingressConfig->internalHostname;
    }
    return r.appName + "." + (is_public ? profile.publicZone : profile.internalZone);
}

Diagnostics check_app_request(const AppRequest& r, const ClusterProfile& profile, const Catalog& catalog,
                              const ImageChecker* checker) {
    Diagnostics out;
    Sink s{out};
    check_common_meta(s, r.id, r.operatorId, r.timestamp);

    const Pattern* storage = check_pattern_id(s, catalog, PatternKind::storage, r.storagePattern, "storagePattern");
    const Pattern* ingress = check_pattern_id(s, catalog, PatternKind::ingress, r.ingressPattern, "ingressPattern");
    const Pattern* backup = check_pattern_id(s, catalog, PatternKind::backup, r.backupStrategy, "backupStrategy");
    bool backs_up = backup && !backup->manifests.empty();
    // The workload: one the catalog has and the profile lets a request pick (its default always).
    if (!r.workloadPattern && !catalog.find(PatternKind::workload, profile.workloadDefault))
        s.error("/workloadPattern", "workload.default.unknown",
                "This cluster's default workload pattern '" + profile.workloadDefault +
                    "' is not in the catalog; valid ids are: " + join(catalog.ids(PatternKind::workload)));
    if (r.workloadPattern && !r.workloadPattern->empty() &&
        check_pattern_id(s, catalog, PatternKind::workload, *r.workloadPattern, "workloadPattern") &&
        *r.workloadPattern != profile.workloadDefault &&
        std::find(profile.workloadAllowed.begin(), profile.workloadAllowed.end(), *r.workloadPattern) ==
            profile.workloadAllowed.end())
        s.error("/workloadPattern", "workload.not_allowed",
                "Workload pattern '" + *r.workloadPattern + "' is not allowed in this cluster; allowed: " +
                    join(profile.workloadAllowed));

    // Volsync names its mover Job "volsync-src-<source name>" and Kubernetes copies the Job
    // name into a 63-character label; the ReplicationSource is "<app>-backup".
    check_app_name(s, "/appName", r.appName, backs_up ? limits::volsync_job_overhead : 0,
                   "Volsync's mover Job 'volsync-src-<appName>-backup'");

    // Image: format always; existence only when a checker is plugged in.
    if (!r.containerImage.empty() && bounded(s, "/containerImage", "image", r.containerImage, "containerImage", 512)) {
        std::string why;
        auto ref = rules::parse_image_reference(r.containerImage, &why);
        if (!ref) {
            s.error("/containerImage", "image.format", "Container image reference is not valid: " + why);
        } else if (checker) {
            rules::ImageRef image = rules::normalize_image(*ref);
            // The profile decides which hosts may be asked: a request must not turn the check into a scanner.
            std::string refused = rules::registry_problem(image.domain, profile.registriesAllowed);
            auto res = refused.empty() ? checker->check(image) : ImageCheckResult{ImageCheckResult::Outcome::refused, refused};
            using O = ImageCheckResult::Outcome;
            if (res.outcome == O::not_found)
                s.error("/containerImage", "image.not_found", messages::image_not_found);
            else if (res.outcome == O::denied)
                s.error("/containerImage", "image.denied",
                        std::string(messages::image_not_found) + " (registry refused access: " + res.detail + ")");
            else if (res.outcome == O::unreachable)
                s.error("/containerImage", "image.unreachable",
                        "Container image could not be checked: registry unreachable (" + res.detail + ")");
            else if (res.outcome == O::refused)
                s.error("/containerImage", "image.not_allowed",
                        "Container image could not be checked: appforge may not contact it (" + res.detail + ")");
        }
    } else if (r.containerImage.empty()) {
        // an empty string passed the schema: say so
        s.error("/containerImage", "image.required", "containerImage must not be empty");
    }

    // Namespace: the given one or appName; both must be usable and not reserved.
    const std::string ns = r.effective_namespace();
    std::string ns_path = r.namespace_ ? "/namespace" : "/appName";
    if (r.namespace_ && bounded(s, "/namespace", "namespace", *r.namespace_, "namespace") &&
        !rules::is_dns1123_label(*r.namespace_))
        s.error("/namespace", "namespace.format",
                "Namespace must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters");
    if (ns.size() <= 63 && is_reserved_namespace(profile, ns))
        s.error(ns_path, "namespace.reserved", messages::namespace_reserved);

    // Resources: Kubernetes quantities; required where the profile says production.
    auto quantity = [&](const std::optional<std::string>& v, const char* name) {
        std::string path = std::string("/resourceRequests/") + name;
        if (v) {
            if (bounded(s, path, std::string("resources.") + name, *v, name, 64) && !rules::is_quantity(*v))
                s.error(path, std::string("resources.") + name + ".format",
                        std::string(name) + " must be a Kubernetes quantity such as " +
                            (std::string(name) == "cpu" ? "100m or 0.5" : "256Mi or 1Gi"));
        } else if (profile.requireResourceRequests) {
            s.error(path, std::string("resources.") + name + ".required",
                    std::string(name) + " request is required in this cluster (production profile)");
        }
    };
    ResourceRequests rr = r.resourceRequests.value_or(ResourceRequests{});
    quantity(rr.cpu, "cpu");
    quantity(rr.memory, "memory");
    if (r.resourceLimits) {
        const ResourceRequests& rl = *r.resourceLimits;
        if (rl.cpu && bounded(s, "/resourceLimits/cpu", "limits.cpu", *rl.cpu, "cpu", 64) && !rules::is_quantity(*rl.cpu))
            s.error("/resourceLimits/cpu", "limits.cpu.format", "cpu limit must be a Kubernetes quantity such as 1 or 500m");
        if (rl.memory && bounded(s, "/resourceLimits/memory", "limits.memory", *rl.memory, "memory", 64) &&
            !rules::is_quantity(*rl.memory))
            s.error("/resourceLimits/memory", "limits.memory.format",
                    "memory limit must be a Kubernetes quantity such as 512Mi or 1Gi");
    }

    // Ports: the first is the HTTP port (Service port 80, the route and the default probe port).
    std::vector<std::string> port_names{"http"};
    std::vector<std::string> udp_names;  // ports probes cannot use (kubelet probes connect over TCP)
    if (r.ports) {
        port_names.clear();
        if (r.ports->empty()) s.error("/ports", "ports.empty", "ports must list at least one port (the first is the HTTP port)");
        if (r.ports->size() > limits::max_ports)
            s.error("/ports", "ports.count", "at most " + std::to_string(limits::max_ports) + " ports are allowed");
        std::vector<std::string> seen_ports;
        for (std::size_t i = 0; i < r.ports->size() && i < limits::max_ports; ++i) {
            const PortSpec& ps = (*r.ports)[i];
            const std::string at = "/ports/" + std::to_string(i);
            if (bounded(s, at + "/name", "ports.name", ps.name, "port name", 64)) {
                if (!rules::is_port_name(ps.name))
                    s.error(at + "/name", "ports.name.format",
                            "Port name must be an IANA service name: 1-15 lowercase letters, digits and '-', with a letter");
                else if (std::find(port_names.begin(), port_names.end(), ps.name) != port_names.end())
                    s.error(at + "/name", "ports.name.duplicate", "Port name '" + ps.name + "' is used twice");
                else if (i > 0 && ps.name == "http")
                    s.error(at + "/name", "ports.name.http",
                            "Only the first port may be named 'http': the Service's HTTP port has that name");
                port_names.push_back(ps.name);
            }
            const std::string proto = ps.protocol.value_or("TCP");
            if (ps.port < 1 || ps.port > 65535) {
                s.error(at + "/port", "ports.port.range", "Port must be between 1 and 65535");
            } else {
                std::string key = std::to_string(ps.port) + "/" + proto;
                if (std::find(seen_ports.begin(), seen_ports.end(), key) != seen_ports.end())
                    s.error(at + "/port", "ports.port.duplicate", "Port " + key + " is declared twice");
                seen_ports.push_back(key);
            }
            if (i == 0 && proto != "TCP")
                s.error(at + "/protocol", "ports.http.protocol", "The first port is the app's HTTP port and must be TCP");
            // Further ports keep their number on the Service, whose HTTP port is 80/TCP.
            if (i > 0 && ps.port == 80 && proto == "TCP")
                s.error(at + "/port", "ports.port.service",
                        "Port 80/TCP is the Service's HTTP port; give this port another number");
            if (proto != "TCP") udp_names.push_back(ps.name);
        }
    }

    // Environment: plain values only; a credential never travels in the request.
    if (r.env) {
        if (r.env->size() > limits::max_env)
            s.error("/env", "env.count", "at most " + std::to_string(limits::max_env) + " environment variables are allowed");
        std::vector<std::string> names;
        for (std::size_t i = 0; i < r.env->size() && i < limits::max_env; ++i) {
            const EnvVar& ev = (*r.env)[i];
            const std::string at = "/env/" + std::to_string(i);
            if (bounded(s, at + "/name", "env.name", ev.name, "environment variable name", 256)) {
                if (!rules::is_env_var_name(ev.name))
                    s.error(at + "/name", "env.name.format",
                            "Environment variable name must be letters, digits, '_', '-' or '.', not starting with a digit");
                else if (std::find(names.begin(), names.end(), ev.name) != names.end())
                    s.error(at + "/name", "env.name.duplicate", "Environment variable '" + ev.name + "' is set twice");
                else if (storage && std::find(storage->envNames.begin(), storage->envNames.end(), ev.name) !=
                                        storage->envNames.end())
                    s.error(at + "/name", "env.name.storage",
                            "Environment variable '" + ev.name + "' is set by storage pattern '" + storage->id +
                                "'; a second entry would override or duplicate it");
                else if (rules::is_credential_name(ev.name))
                    s.error(at + "/value", "env.credential",
                            "'" + ev.name + "' looks like a credential: it must come from the cluster's secret store, "
                            "never as a literal value in the request");
                names.push_back(ev.name);
            }
            bounded(s, at + "/value", "env.value", ev.value, "environment variable value");
        }
    }

    // Command and arguments: bounded strings, no control characters.
    if (r.command) {
        if (r.command->size() > limits::max_args)
            s.error("/command", "command.count", "at most " + std::to_string(limits::max_args) + " command entries are allowed");
        for (std::size_t i = 0; i < r.command->size() && i < limits::max_args; ++i)
            bounded(s, "/command/" + std::to_string(i), "command.item", (*r.command)[i], "command entry");
    }
    if (r.args) {
        if (r.args->size() > limits::max_args)
            s.error("/args", "args.count", "at most " + std::to_string(limits::max_args) + " args are allowed");
        for (std::size_t i = 0; i < r.args->size() && i < limits::max_args; ++i)
            bounded(s, "/args/" + std::to_string(i), "args.item", (*r.args)[i], "argument");
    }

    // Probes: an http probe GETs an absolute path; any probe's port is one of the app's ports.
    if (r.probes) {
        const std::pair<const std::optional<ProbeSpec>*, const char*> all[] = {
            {&r.probes->liveness, "liveness"}, {&r.probes->readiness, "readiness"}, {&r.probes->startup, "startup"}};
        for (const auto& [probe, field] : all) {
            if (!*probe || (*probe)->type == "none") continue;
            const ProbeSpec& pr = **probe;
            const std::string at = std::string("/probes/") + field;
            if (pr.type == "http" && !pr.path)
                s.error(at + "/path", "probes.path.required", "An http probe needs a path, such as /health");
            if (pr.type == "http" && pr.path && bounded(s, at + "/path", "probes.path", *pr.path, "probe path", 1024) &&
                (pr.path->empty() || pr.path->front() != '/' || pr.path->find(' ') != std::string::npos))
                s.error(at + "/path", "probes.path.format", "Probe path must be an absolute URL path such as /health");
            if (pr.port && std::find(port_names.begin(), port_names.end(), *pr.port) == port_names.end())
                s.error(at + "/port", "probes.port.unknown",
                        "Probe port '" + yaml_safe_preview(pr.port->substr(0, 64)) + "' is not one of the app's ports: " +
                            join(port_names));
            else if (pr.port && std::find(udp_names.begin(), udp_names.end(), *pr.port) != udp_names.end())
                s.error(at + "/port", "probes.port.protocol",
                        "Probe port '" + *pr.port + "' is not TCP; probes connect over TCP");
        }
    }

    // Storage.
    StorageConfig sc = r.storageConfig.value_or(StorageConfig{});
    if (storage) {
        for (const auto& f : storage->requiredFields)
            if (!storage_field(sc, f))
                s.error("/storageConfig/" + f, "storage." + f + ".required",
                        f + " is required for storage pattern '" + storage->id + "'");
        for (const char* f : {"sizeGi", "nasEndpoint", "nasSubpath", "s3Bucket", "s3Region", "s3UseExternalSecrets"}) {
            bool used = std::find(storage->requiredFields.begin(), storage->requiredFields.end(), f) !=
                        storage->requiredFields.end();
            if (std::string(f) == "s3UseExternalSecrets" && storage->id == "s3-external") used = true;
            if (!used && storage_field(sc, f))
                s.warning(std::string("/storageConfig/") + f, "storage.unused",
                          std::string(f) + " is ignored by storage pattern '" + storage->id + "'");
        }
    }
    if (sc.sizeGi) {
        if (*sc.sizeGi < limits::sizeGi_min || *sc.sizeGi > limits::sizeGi_max)
            s.error("/storageConfig/sizeGi", "storage.sizeGi.range", "Storage size must be between 1 and 1000 Gi");
        else if (*sc.sizeGi > profile.storageWarnGi)
            s.warning("/storageConfig/sizeGi", "storage.sizeGi.large",
                      "Storage size " + std::to_string(*sc.sizeGi) + " Gi is above this cluster's warning threshold of " +
                          std::to_string(profile.storageWarnGi) + " Gi");
    }
    if (sc.nasEndpoint && bounded(s, "/storageConfig/nasEndpoint", "storage.nasEndpoint", *sc.nasEndpoint, "nasEndpoint") &&
        std::find(profile.nasEndpoints.begin(), profile.nasEndpoints.end(), *sc.nasEndpoint) == profile.nasEndpoints.end())
        s.error("/storageConfig/nasEndpoint", "storage.nasEndpoint.unknown",
                "NAS endpoint must be one of this cluster's endpoints: " + join(profile.nasEndpoints));
    if (sc.nasSubpath) {
        const std::string& p = *sc.nasSubpath;
        if (p.size() > kMaxField) {
            s.error("/storageConfig/nasSubpath", "storage.nasSubpath.length",
                    "nasSubpath is " + std::to_string(p.size()) + " characters; at most 4096 are allowed");
        } else {
            // The data model's rule ("must not contain ..") wins over the finer reasons, and
            // percent-encoded dots are the same traversal in disguise.
            std::string lower;
            for (char ch : p) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
            bool traversal = p.find("..") != std::string::npos || lower.find("%2e") != std::string::npos;
            if (traversal)
                s.error("/storageConfig/nasSubpath", "storage.nasSubpath.traversal", messages::subpath_traversal);
            else if (auto why = rules::subpath_problem(p))
                s.error("/storageConfig/nasSubpath", "storage.nasSubpath.format", "Subpath is not usable: " + *why);
            else if (!profile.nasAppRoots.empty() && !rules::is_below_an_app_root(p, profile.nasAppRoots))
                // The export is mounted as the app's volume: anywhere else on the NAS is other data
                // (the policy refuses the PersistentVolume too; this names the field).
                s.error("/storageConfig/nasSubpath", "storage.nasSubpath.root",
                        "Subpath must lie below one of this cluster's NAS app roots: " + join(profile.nasAppRoots));
        }
    }
    if (sc.s3Bucket && bounded(s, "/storageConfig/s3Bucket", "storage.s3Bucket", *sc.s3Bucket, "s3Bucket", 256))
        if (auto why = rules::s3_bucket_problem(*sc.s3Bucket))
            s.error("/storageConfig/s3Bucket", "storage.s3Bucket.format", "S3 bucket name is not valid: " + *why);
    if (sc.s3Region && bounded(s, "/storageConfig/s3Region", "storage.s3Region", *sc.s3Region, "s3Region", 64)) {
        const auto& regions = profile.s3Regions.empty() ? rules::default_aws_regions() : profile.s3Regions;
        if (std::find(regions.begin(), regions.end(), *sc.s3Region) == regions.end())
            s.error("/storageConfig/s3Region", "storage.s3Region.unknown",
                    "S3 region '" + *sc.s3Region + "' is not one of this cluster's allowed regions");
    }
    if (sc.s3UseExternalSecrets && *sc.s3UseExternalSecrets && !profile.secretStore)
        s.error("/storageConfig/s3UseExternalSecrets", "storage.s3.credentials", messages::s3_credentials);

    // Ingress hostnames: internal names only under the internal zone; public names only under
    // the public zone and never inside the internal zone.
    if (r.ingressConfig) {
        const IngressConfig& ic = *r.ingressConfig;
        auto host_ok = [&](const std::optional<std::string>& h, const char* field) {
            if (!h) return false;
            std::string path = std::string("/ingressConfig/") + field;
            if (!bounded(s, path, "ingress.host", *h, field, 253)) return false;
            if (!rules::is_hostname(*h)) {
                s.error(path, "ingress.host.format", std::string(field) + " must be a lowercase DNS name");
                return false;
            }
            return true;
        };
        if (host_ok(ic.internalHostname, "internalHostname") &&
            !rules::is_under_zone(*ic.internalHostname, profile.internalZone))
            s.error("/ingressConfig/internalHostname", "ingress.host.internal",
                    "Internal apps must use ." + profile.internalZone + " domain");
        if (host_ok(ic.externalHostname, "externalHostname") &&
            (!rules::is_under_zone(*ic.externalHostname, profile.publicZone) ||
             rules::is_under_zone(*ic.externalHostname, profile.internalZone)))
            s.error("/ingressConfig/externalHostname", "ingress.host.external",
                    "External apps must use ." + profile.publicZone + " domain");
        if (ingress && ingress->is_public && ic.internalHostname)
            s.warning("/ingressConfig/internalHostname", "ingress.unused",
                      "internalHostname is ignored by ingress pattern '" + ingress->id + "'");
        if (ingress && !ingress->is_public && ic.externalHostname)
            s.warning("/ingressConfig/externalHostname", "ingress.unused",
                      "externalHostname is ignored by ingress pattern '" + ingress->id + "'");
        if (ic.cloudflareZoneId &&
            (ic.cloudflareZoneId->size() != 32 ||
             !std::all_of(ic.cloudflareZoneId->begin(), ic.cloudflareZoneId->end(),
                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })))
            s.error("/ingressConfig/cloudflareZoneId", "ingress.cloudflareZoneId.format",
                    "cloudflareZoneId must be 32 lowercase hexadecimal characters");
    }
    // A derived host must itself be a DNS name (appName is checked; the zone is the profile's).

    // Backup.
    if (backs_up) {
        if (storage && !storage->persistent)
            s.error("/backupStrategy", "backup.storage",
                    "Backup '" + backup->id + "' needs a persistent volume (storage pattern longhorn-persistent or "
                    "nas-mount), not '" + storage->id + "'");
        if (r.backupConfig) {
            const BackupConfig& b = *r.backupConfig;
            if (b.schedule && bounded(s, "/backupConfig/schedule", "backup.schedule", *b.schedule, "schedule", 256)) {
                std::string why;
                // Volsync's CRD and controller accept less than general cron (no names, dow 0-6).
                if (!rules::is_volsync_schedule(*b.schedule, &why))
                    s.error("/backupConfig/schedule", "backup.schedule.format",
                            "Backup schedule must be a 5-field cron expression such as \"0 2 * * *\": " + why);
            }
            if (b.retentionDays && *b.retentionDays < limits::retentionDays_min)
                s.error("/backupConfig/retentionDays", "backup.retentionDays.range", "retentionDays must be at least 1");
            if (b.retentionDays && *b.retentionDays > limits::retentionDays_max)
                s.error("/backupConfig/retentionDays", "backup.retentionDays.range", "retentionDays must be at most 3650");
        }
    } else if (backup && r.backupConfig && (r.backupConfig->schedule || r.backupConfig->retentionDays)) {
        s.warning("/backupConfig", "backup.unused", "backupConfig is ignored by backup strategy '" + backup->id + "'");
    }

    // Workflow outputs, when present, must look like what the workflow writes.
    if (r.prNumber && *r.prNumber < 1) s.error("/prNumber", "app.prNumber.range", "prNumber must be at least 1");
    if (r.prUrl && bounded(s, "/prUrl", "app.prUrl", *r.prUrl, "prUrl", 2048) && !rules::is_http_url(*r.prUrl))
        s.error("/prUrl", "app.prUrl.format", "prUrl must be an http(s) URL");
    if (r.mergedAt && bounded(s, "/mergedAt", "app.mergedAt", *r.mergedAt, "mergedAt", 64) &&
        !rules::is_iso8601_utc_or_offset(*r.mergedAt))
        s.error("/mergedAt", "app.mergedAt.format", "mergedAt must be an ISO 8601 date-time with a time zone");
    if (r.commitSha) {
        const std::string& c = *r.commitSha;
        bool hex = std::all_of(c.begin(), c.end(), [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
        if (!hex || (c.size() != 40 && c.size() != 64))
            s.error("/commitSha", "app.commitSha.format", "commitSha must be a 40- or 64-character lowercase hex git object id");
    }
    return out;
}

Diagnostics check_komodo_request(const KomodoRequest& r, const ClusterProfile& profile) {
    Diagnostics out;
    Sink s{out};
    check_common_meta(s, r.id, r.operatorId, r.timestamp);
    check_app_name(s, "/appName", r.appName, 0, "");
    if (r.appDescription) bounded(s, "/appDescription", "komodo.description", *r.appDescription, "appDescription");
    const KomodoPayload& k = r.komodoRequest;
    if (!k.appName.empty() && k.appName != r.appName)
        s.error("/komodoRequest/appName", "komodo.appName.mismatch",
                "komodoRequest.appName must equal appName ('" + (r.appName.size() <= 63 ? r.appName : "...") + "')");
    if (k.appVersion.empty())
        s.error("/komodoRequest/appVersion", "komodo.appVersion.required", "appVersion must not be empty");
    else if (bounded(s, "/komodoRequest/appVersion", "komodo.appVersion", k.appVersion, "appVersion", 128) &&
             k.appVersion.find_first_of(" \t") != std::string::npos)
        s.error("/komodoRequest/appVersion", "komodo.appVersion.format", "appVersion must not contain spaces");
    if (k.storageLocation && bounded(s, "/komodoRequest/storageLocation", "komodo.storageLocation", *k.storageLocation,
                                     "storageLocation")) {
        if (!rules::is_absolute_clean_path(*k.storageLocation)) {
            s.error("/komodoRequest/storageLocation", "komodo.storageLocation.format",
                    "storageLocation must be an absolute path without '.', '..' or empty segments");
        } else {
            bool under = std::any_of(profile.nasAppRoots.begin(), profile.nasAppRoots.end(),
                                     [&](const std::string& root) { return rules::path_is_under(*k.storageLocation, root); });
            if (!under)
                s.error("/komodoRequest/storageLocation", "komodo.storageLocation.root",
                        "storageLocation must be under one of the NAS app roots: " + join(profile.nasAppRoots));
        }
    }
    if (const auto& url = r.komodoApiUrl) {
        if (url->empty() || !bounded(s, "/komodoApiUrl", "komodo.url", *url, "komodoApiUrl", 2048) ||
            !rules::is_http_url(*url)) {
            if (url->size() <= 2048 && !rules::contains_control_chars(*url))
                s.error("/komodoApiUrl", "komodo.url.format", "komodoApiUrl must be an http(s) URL");
        } else {
            // Never a target: the request may only repeat the profile's URL (credentials go nowhere else).
            auto ds = rules::check_komodo_api_url(url, profile.komodoUrl);
            out.insert(out.end(), ds.begin(), ds.end());
        }
    }
    return out;
}

Diagnostics check_profile(const ClusterProfile& p) {
    Diagnostics out;
    Sink s{out};
    auto zone = [&](const std::string& z, const char* path) {
        if (!rules::is_hostname(z)) s.error(path, "profile.zone", std::string("zone '") + z + "' must be a DNS name");
    };
    zone(p.publicZone, "/zones/public");
    zone(p.internalZone, "/zones/internal");
    if (p.tunnelTarget && !rules::is_hostname(*p.tunnelTarget))
        s.error("/ingress/tunnelTarget", "profile.tunnelTarget", "tunnelTarget must be a DNS name");
    // An annotation key is "<DNS subdomain prefix>/<name>"; any other prefix makes every Ingress invalid.
    if (!p.externalDnsPrefix.empty() &&
        (p.externalDnsPrefix.back() != '/' ||
         !rules::is_dns1123_subdomain(p.externalDnsPrefix.substr(0, p.externalDnsPrefix.size() - 1))))
        s.error("/externalDns/annotationPrefix", "profile.annotationPrefix",
                "annotationPrefix must be a DNS name followed by '/', e.g. external-dns.alpha.kubernetes.io/");
    for (std::size_t i = 0; i < p.nasEndpoints.size(); ++i) {
        std::string server;
        int port = 0;
        if (!parse_nas_endpoint(p.nasEndpoints[i], server, port))
            s.error("/nas/endpoints/" + std::to_string(i), "profile.nasEndpoint",
                    "NAS endpoint must look like nfs://server[:port]");
    }
    for (std::size_t i = 0; i < p.nasAppRoots.size(); ++i)
        if (!rules::is_absolute_clean_path(p.nasAppRoots[i]))
            s.error("/nas/appRoots/" + std::to_string(i), "profile.nasAppRoot", "NAS app roots must be absolute paths");
    if (!rules::is_absolute_clean_path(p.mountPath) || p.mountPath.find(':') != std::string::npos)
        s.error("/storage/mountPath", "profile.mountPath", "mountPath must be an absolute path without ':'");
    if (!rules::is_quantity(p.nasCapacity))
        s.error("/storage/nasCapacity", "profile.nasCapacity", "nasCapacity must be a Kubernetes quantity");
    if (p.volsyncRepositoryKey && !p.secretStore)
        s.error("/volsync/repositoryKey", "profile.secretStore",
                "volsync.repositoryKey needs a secretStore to create the restic Secret from");
    for (const auto* cls : {&p.storageClass, &p.internalIngressClass, &p.externalIngressClass})
        if (!rules::is_dns1123_subdomain(*cls))
            s.error("", "profile.className", "class name '" + *cls + "' must be a DNS-1123 subdomain");
    // Names the manifests use as object references must be names Kubernetes accepts.
    auto k8s_name = [&](const std::string& v, const char* path, const char* what) {
        if (!rules::is_dns1123_subdomain(v))
            s.error(path, "profile.name", std::string(what) + " must be a Kubernetes object name (DNS-1123 subdomain)");
    };
    if (p.secretStore) k8s_name(p.secretStore->name, "/secretStore/name", "secretStore.name");
    k8s_name(p.volsyncRepositorySecret, "/volsync/repositorySecret", "volsync.repositorySecret");
    k8s_name(p.volsyncSnapshotClass, "/volsync/snapshotClass", "volsync.snapshotClass");
    if (!rules::is_quantity(p.volsyncCacheCapacity))
        s.error("/volsync/cacheCapacity", "profile.cacheCapacity", "volsync.cacheCapacity must be a Kubernetes quantity");
    if (p.komodoUrl)
        if (std::string why = rules::komodo_url_problem(*p.komodoUrl); !why.empty())
            s.error("/komodo/url", "profile.komodoUrl", why);
    for (std::size_t i = 0; i < p.registriesAllowed.size(); ++i)
        if (std::string why = rules::allowed_host_entry_problem(p.registriesAllowed[i]); !why.empty())
            s.error("/registries/allowed/" + std::to_string(i), "profile.registryHost", why);
    return out;
}

bool is_reserved_namespace(const ClusterProfile& profile, const std::string& ns) {
    for (const auto& pat : profile.reservedNamespaces)
        if (rules::glob_match(pat, ns)) return true;
    // Also for profiles built in code, which never went through the loader's additions.
    for (const auto& pat : always_reserved_namespaces(profile))
        if (rules::glob_match(pat, ns)) return true;
    return false;
}

Diagnostics check_status_transition(Status from, Status to) {
    Diagnostics out;
    if (!(from == Status::pending && (to == Status::success || to == Status::failed)))
        out.push_back(Diagnostic{"/status", "status.transition",
                                 std::string("status can only move from pending to success or failed, not from ") +
                                     to_string(from) + " to " + to_string(to),
                                 Severity::error});
    return out;
}

}  // namespace appforge
