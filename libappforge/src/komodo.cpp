// The NAS workflow in the core: payload, compose file and the Komodo protocol machine.
#include "appforge/komodo.hpp"

#include <cctype>
#include <iomanip>
#include <set>
#include <sstream>

#include "appforge/document.hpp"
#include "appforge/validate.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

namespace {

constexpr const char* kConfig = "/komodoRequest/appConfig";
constexpr std::size_t kMaxText = 1000;  // bound on any Komodo text copied into a message

void error(Diagnostics& out, std::string path, std::string code, std::string message) {
    out.push_back(Diagnostic{std::move(path), std::move(code), std::move(message), Severity::error});
}

// Keeps messages one line and bounded: Komodo logs can be megabytes of terminal output.
std::string one_line(const std::string& s, std::size_t limit = kMaxText) {
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    auto b = out.find_first_not_of(' ');
    auto e = out.find_last_not_of(' ');
    out = b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
    if (out.size() > limit) out = out.substr(0, limit) + "...";
    return out;
}

// 30 -> "30", 1.5 -> "1.5": the time-out as the operator wrote it.
std::string seconds_text(double s) {
    std::ostringstream o;
    o << std::setprecision(6) << s;
    return o.str();
}

bool is_env_name(const std::string& s) {
    if (s.empty() || s.size() > 256) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

// "8080", "8080:80", "53:53/udp" -> normalised "host:container[/udp]"; nullopt when malformed.
std::optional<std::string> parse_port_spec(const std::string& s) {
    std::string spec = s, proto;
    auto slash = spec.find('/');
    if (slash != std::string::npos) {
        proto = spec.substr(slash + 1);
        spec = spec.substr(0, slash);
        if (proto != "tcp" && proto != "udp") return std::nullopt;
    }
    auto number = [](const std::string& t) -> std::optional<int> {
        if (t.empty() || t.size() > 5) return std::nullopt;
        int v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + (c - '0');
        }
        if (v < 1 || v > 65535) return std::nullopt;
        return v;
    };
    auto colon = spec.find(':');
    std::optional<int> host = number(colon == std::string::npos ? spec : spec.substr(0, colon));
    std::optional<int> container = colon == std::string::npos ? host : number(spec.substr(colon + 1));
    if (!host || !container) return std::nullopt;
    std::string out = std::to_string(*host) + ":" + std::to_string(*container);
    if (proto == "udp") out += "/udp";
    return out;
}

const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

// Everything the compose file reads from appConfig, gathered once; diagnostics for the rest.
struct ComposeParts {
    std::vector<std::string> ports;
    std::optional<std::string> volume_target;
    json environment = json::object();
    std::vector<std::pair<std::string, std::string>> secret_env;  // (NAME, Komodo variable), in request order
    std::optional<std::string> server;
    json healthcheck;               // null when appConfig.probe is absent
    std::optional<std::string> user;  // "uid[:gid]"
    std::optional<std::string> memory, cpus;
    std::optional<std::string> ingress_host;
    std::optional<int> ingress_port;
    std::optional<std::string> tier, group;
};

// Komodo variable and secret names as `[[NAME]]` can carry them (no brackets, no spaces).
bool is_komodo_variable(const std::string& s) {
    if (s.empty() || s.size() > 256) return false;
    for (char c : s)
        if (!(c == '_' || c == '-' || c == '.' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    return true;
}

// A folder name of the Resource Sync layout: one DNS-1123 label.
bool is_folder_label(const json& v) { return v.is_string() && rules::is_dns1123_label(v.get<std::string>()); }

// 512m, 1g, 1073741824 (compose's byte units); lower-cased.
std::optional<std::string> memory_spec(const json& v) {
    if (!v.is_string()) return std::nullopt;
    std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 16) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
        bool digit = c >= '0' && c <= '9';
        bool unit = i + 1 == s.size() && i > 0 && (c == 'b' || c == 'k' || c == 'm' || c == 'g');
        if (!digit && !unit) return std::nullopt;
        out += c;
    }
    if (out.find_first_not_of('0') == std::string::npos || out[0] == '0') return std::nullopt;
    return out;
}

ComposeParts read_app_config(const KomodoRequest& r, const ClusterProfile& profile, Diagnostics& out) {
    ComposeParts p;
    const json& cfg = r.komodoRequest.appConfig;
    if (!cfg.is_object()) return p;  // the schema reports it

    if (const json* net = member(cfg, "network")) {
        const std::string base = std::string(kConfig) + "/network";
        if (!net->is_object()) {
            error(out, base, "komodo.network.type", "appConfig.network must be an object");
        } else if (const json* ports = member(*net, "ports")) {
            if (!ports->is_array()) {
                error(out, base + "/ports", "komodo.ports.type", "appConfig.network.ports must be a list");
            } else {
                std::set<std::string> seen;
                for (std::size_t i = 0; i < ports->size(); ++i) {
                    const json& v = (*ports)[i];
                    std::string at = base + "/ports/" + std::to_string(i);
                    std::optional<std::string> spec;
                    if (v.is_number_integer()) spec = parse_port_spec(std::to_string(v.get<std::int64_t>()));
                    else if (v.is_string()) spec = parse_port_spec(v.get<std::string>());
                    if (!spec) {
                        error(out, at, "komodo.port.format",
                              "port must be an integer 1-65535 or \"host:container[/tcp|/udp]\"");
                        continue;
                    }
                    std::string key = spec->substr(0, spec->find(':')) + (spec->find("/udp") != std::string::npos ? "/udp" : "");
                    if (!seen.insert(key).second) {
                        error(out, at, "komodo.port.duplicate", "host port " + key + " is published twice");
                        continue;
                    }
                    p.ports.push_back(*spec);
                }
            }
        }
    }

    if (const json* st = member(cfg, "storage")) {
        const std::string base = std::string(kConfig) + "/storage";
        if (!st->is_object()) {
            error(out, base, "komodo.storage.type", "appConfig.storage must be an object");
        } else {
            bool enabled = true;
            if (const json* en = member(*st, "enabled")) {
                if (!en->is_boolean()) error(out, base + "/enabled", "komodo.storage.enabled", "enabled must be true or false");
                else enabled = en->get<bool>();
            }
            std::string target = profile.mountPath;
            if (const json* path = member(*st, "path")) {
                if (!path->is_string() || !rules::is_absolute_clean_path(path->get<std::string>()) ||
                    path->get<std::string>() == "/" || rules::contains_control_chars(path->get<std::string>()))
                    error(out, base + "/path", "komodo.storage.path",
                          "storage.path must be an absolute container path other than '/', without '.', '..' or empty segments");
                else target = path->get<std::string>();
            }
            if (enabled) p.volume_target = target;
        }
    }

    if (const json* env = member(cfg, "environment")) {
        const std::string base = std::string(kConfig) + "/environment";
        if (!env->is_object()) {
            error(out, base, "komodo.environment.type", "appConfig.environment must be a map of NAME: value");
        } else {
            for (const auto& [k, v] : env->items()) {
                std::string at = base + "/" + pointer_token(k);
                if (!is_env_name(k)) {
                    error(out, at, "komodo.environment.name",
                          "environment variable names must match [A-Za-z_][A-Za-z0-9_]*");
                    continue;
                }
                std::string value;
                if (v.is_string()) value = v.get<std::string>();
                else if (v.is_boolean()) value = v.get<bool>() ? "true" : "false";
                else if (v.is_number()) value = v.dump();
                else {
                    error(out, at, "komodo.environment.value", "environment values must be strings, numbers or booleans");
                    continue;
                }
                if (value.find('\0') != std::string::npos) {
                    error(out, at, "komodo.environment.value", "environment values must not contain NUL");
                    continue;
                }
                // Compose interpolates "$"; "$$" keeps the operator's value literal.
                std::string escaped;
                for (char c : value) escaped += c == '$' ? std::string("$$") : std::string(1, c);
                p.environment[k] = escaped;
            }
        }
    }

    if (const json* se = member(cfg, "secretEnv")) {
        const std::string base = std::string(kConfig) + "/secretEnv";
        if (!se->is_array()) {
            error(out, base, "komodo.secretEnv.type",
                  "appConfig.secretEnv must be a list of {name, komodoVariable}");
        } else {
            std::set<std::string> seen;
            for (std::size_t i = 0; i < se->size(); ++i) {
                const json& item = (*se)[i];
                const std::string at = base + "/" + std::to_string(i);
                if (!item.is_object()) {
                    error(out, at, "komodo.secretEnv.type", "each secretEnv entry must be {name, komodoVariable}");
                    continue;
                }
                const json* name = member(item, "name");
                const json* var = member(item, "komodoVariable");
                bool ok = true;
                if (!name || !name->is_string() || !is_env_name(name->get<std::string>())) {
                    error(out, at + "/name", "komodo.secretEnv.name",
                          "secretEnv name must be an environment variable name matching [A-Za-z_][A-Za-z0-9_]*");
                    ok = false;
                }
                if (!var || !var->is_string() || !is_komodo_variable(var->get<std::string>())) {
                    error(out, at + "/komodoVariable", "komodo.secretEnv.variable",
                          "komodoVariable must name a Komodo variable or secret ([A-Za-z0-9_.-], as written inside [[...]]); "
                          "the value itself never goes into the request");
                    ok = false;
                }
                if (!ok) continue;
                const std::string n = name->get<std::string>();
                if (!seen.insert(n).second) {
                    error(out, at + "/name", "komodo.secretEnv.duplicate", "secretEnv name " + n + " is listed twice");
                    continue;
                }
                if (p.environment.contains(n)) {
                    error(out, at + "/name", "komodo.secretEnv.conflict",
                          "secretEnv name " + n + " is also set in appConfig.environment: a variable is either a plain value or a secret");
                    continue;
                }
                p.secret_env.emplace_back(n, var->get<std::string>());
            }
        }
    }

    if (const json* probe = member(cfg, "probe")) {
        const std::string base = std::string(kConfig) + "/probe";
        const json* cmd = member(*probe, "command");
        const json* path = member(*probe, "path");
        const json* port = member(*probe, "port");
        if (!probe->is_object() || (!cmd && !path)) {
            error(out, base, "komodo.probe.type",
                  "appConfig.probe must be {command} (a shell command) or {path, port} (an HTTP GET inside the container)");
        } else if (cmd) {
            if (!cmd->is_string() || cmd->get<std::string>().empty() || rules::contains_control_chars(cmd->get<std::string>()))
                error(out, base + "/command", "komodo.probe.command", "probe.command must be a one-line shell command");
            else
                p.healthcheck = json::array({"CMD-SHELL", cmd->get<std::string>()});
        } else {
            bool ok = true;
            if (!path->is_string() || path->get<std::string>().empty() || path->get<std::string>()[0] != '/' ||
                path->get<std::string>().find_first_of(" '\"\\$`;&|<>") != std::string::npos ||
                rules::contains_control_chars(path->get<std::string>())) {
                error(out, base + "/path", "komodo.probe.path",
                      "probe.path must be an absolute URL path without spaces, quotes or shell characters");
                ok = false;
            }
            if (!port || !port->is_number_integer() || port->get<std::int64_t>() < 1 || port->get<std::int64_t>() > 65535) {
                error(out, base + "/port", "komodo.probe.port", "probe.port must be the container port 1-65535 the path is served on");
                ok = false;
            }
            if (ok)
                p.healthcheck = json::array({"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:" +
                                                              std::to_string(port->get<std::int64_t>()) +
                                                              path->get<std::string>() + " || exit 1"});
        }
        if (!p.healthcheck.is_null())
            p.healthcheck = json{{"test", p.healthcheck}, {"interval", "30s"}, {"timeout", "5s"}, {"retries", 3},
                                 {"start_period", "30s"}};
    }

    if (const json* run_as = member(cfg, "runAs")) {
        const std::string base = std::string(kConfig) + "/runAs";
        auto id = [&](const char* k, bool required) -> std::optional<std::int64_t> {
            const json* v = member(*run_as, k);
            if (!v) {
                if (required) error(out, base + "/" + k, "komodo.runAs.id", std::string("runAs.") + k + " is required");
                return std::nullopt;
            }
            if (!v->is_number_integer() || v->get<std::int64_t>() < 0 || v->get<std::int64_t>() > 2147483647) {
                error(out, base + "/" + k, "komodo.runAs.id", std::string("runAs.") + k + " must be a numeric id 0-2147483647");
                return std::nullopt;
            }
            return v->get<std::int64_t>();
        };
        if (!run_as->is_object()) {
            error(out, base, "komodo.runAs.type", "appConfig.runAs must be {user, group} numeric ids");
        } else {
            auto u = id("user", true);
            auto g = id("group", false);
            if (u) p.user = std::to_string(*u) + (g ? ":" + std::to_string(*g) : std::string());
        }
    }

    if (const json* res = member(cfg, "resources")) {
        const std::string base = std::string(kConfig) + "/resources";
        if (!res->is_object()) {
            error(out, base, "komodo.resources.type", "appConfig.resources must be {memory, cpus}");
        } else {
            if (const json* m = member(*res, "memory")) {
                if (auto spec = memory_spec(*m)) p.memory = *spec;
                else error(out, base + "/memory", "komodo.resources.memory",
                           "resources.memory must be a byte count with an optional unit b, k, m or g (e.g. 512m)");
            }
            if (const json* c = member(*res, "cpus")) {
                if (!c->is_number() || c->get<double>() <= 0 || c->get<double>() > 1024)
                    error(out, base + "/cpus", "komodo.resources.cpus", "resources.cpus must be a number of CPUs above 0 (e.g. 0.5)");
                else p.cpus = c->is_number_integer() ? std::to_string(c->get<std::int64_t>()) : one_line(c->dump(), 32);
            }
        }
    }

    if (const json* ing = member(cfg, "ingress")) {
        const std::string base = std::string(kConfig) + "/ingress";
        if (!ing->is_object()) {
            error(out, base, "komodo.ingress.type", "appConfig.ingress must be {host, port}");
        } else {
            const json* host = member(*ing, "host");
            const json* port = member(*ing, "port");
            std::string h = host && host->is_string() ? host->get<std::string>() : "";
            if (!rules::is_hostname(h) ||
                !(rules::is_under_zone(h, profile.internalZone) || rules::is_under_zone(h, profile.publicZone)))
                error(out, base + "/host", "komodo.ingress.host",
                      "ingress.host must be a host name under the profile's zones (" + profile.internalZone + " or " +
                          profile.publicZone + ")");
            else p.ingress_host = h;
            if (!port || !port->is_number_integer() || port->get<std::int64_t>() < 1 || port->get<std::int64_t>() > 65535)
                error(out, base + "/port", "komodo.ingress.port", "ingress.port must be the container port 1-65535 the proxy forwards to");
            else p.ingress_port = static_cast<int>(port->get<std::int64_t>());
            if (p.ingress_host && profile.komodoProxy == "none")
                error(out, base, "komodo.ingress.proxy",
                      "appConfig.ingress needs a reverse proxy: set komodo.proxy in the profile (caddy or traefik)");
        }
    }

    for (const char* k : {"tier", "group"}) {
        if (const json* v = member(cfg, k)) {
            if (!is_folder_label(*v))
                error(out, std::string(kConfig) + "/" + k, "komodo.layout.folder",
                      std::string("appConfig.") + k + " must be a folder name (a DNS-1123 label: lowercase letters, digits and '-')");
            else (std::string(k) == "tier" ? p.tier : p.group) = v->get<std::string>();
        }
    }

    if (const json* server = member(cfg, "server")) {
        if (!server->is_string() || server->get<std::string>().empty() ||
            rules::contains_control_chars(server->get<std::string>()) || server->get<std::string>().size() > 256)
            error(out, std::string(kConfig) + "/server", "komodo.server", "appConfig.server must be a Komodo server name or id");
        else p.server = server->get<std::string>();
    }
    return p;
}

const std::string& stack_name_of(const KomodoRequest& r) {
    return r.komodoRequest.appName.empty() ? r.appName : r.komodoRequest.appName;
}

// Komodo writes ids as {"_id": {"$oid": "..."}}; list items carry a plain "id".
std::string object_id(const json& j) {
    if (!j.is_object()) return {};
    if (const json* id = member(j, "_id")) {
        if (id->is_string()) return id->get<std::string>();
        if (const json* oid = member(*id, "$oid"); oid && oid->is_string()) return oid->get<std::string>();
    }
    if (const json* id = member(j, "id"); id && id->is_string()) return id->get<std::string>();
    return {};
}

}  // namespace

std::string effective_storage_location(const KomodoRequest& r, const ClusterProfile& profile) {
    if (r.komodoRequest.storageLocation) return *r.komodoRequest.storageLocation;
    if (profile.nasAppRoots.empty()) return {};
    std::string root = profile.nasAppRoots.front();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return (root == "/" ? "" : root) + "/" + stack_name_of(r);
}

json komodo_payload(const KomodoRequest& r, const ClusterProfile& profile) {
    json j = json::object();
    j["appName"] = stack_name_of(r);
    j["appVersion"] = r.komodoRequest.appVersion;
    j["appConfig"] = r.komodoRequest.appConfig;
    std::string storage = effective_storage_location(r, profile);
    if (!storage.empty()) j["storageLocation"] = storage;
    return j;
}

Result<std::string> komodo_image(const KomodoRequest& r) {
    Result<std::string> res;
    const std::string& version = r.komodoRequest.appVersion;
    auto with_version = [&](const std::string& base, const std::string& blame_path) {
        std::string candidate = base + ":" + version;
        std::string why;
        if (!rules::parse_image_reference(candidate, &why))
            error(res.diagnostics, blame_path, "komodo.image.tag",
                  "appVersion '" + one_line(version, 128) + "' cannot be used as the image tag: " + why);
        else res.value = candidate;
    };
    const json* img = member(r.komodoRequest.appConfig, "image");
    if (!img) {
        with_version(stack_name_of(r), "/komodoRequest/appVersion");
        return res;
    }
    const std::string at = std::string(kConfig) + "/image";
    if (!img->is_string() || img->get<std::string>().empty()) {
        error(res.diagnostics, at, "komodo.image.type", "appConfig.image must be an image reference string");
        return res;
    }
    const std::string& s = img->get_ref<const std::string&>();
    std::string why;
    auto ref = rules::parse_image_reference(s, &why);
    if (!ref) {
        error(res.diagnostics, at, "image.format", "Container image reference is not valid: " + why);
        return res;
    }
    if (ref->tag.empty() && ref->digest.empty()) with_version(s, "/komodoRequest/appVersion");
    else res.value = s;
    return res;
}

Diagnostics check_komodo_app_config(const KomodoRequest& r, const ClusterProfile& profile) {
    Diagnostics out;
    if (!r.komodoRequest.appVersion.empty() && !stack_name_of(r).empty()) {
        auto image = komodo_image(r);
        out = image.diagnostics;
    }
    read_app_config(r, profile, out);
    return out;
}

Result<std::string> komodo_compose(const KomodoRequest& r, const ClusterProfile& profile) {
    Result<std::string> res;
    auto image = komodo_image(r);
    res.diagnostics = image.diagnostics;
    ComposeParts parts = read_app_config(r, profile, res.diagnostics);
    std::string storage = effective_storage_location(r, profile);
    if (parts.volume_target && storage.empty())
        error(res.diagnostics, "/komodoRequest/storageLocation", "komodo.storageLocation.required",
              "storageLocation is needed for appConfig.storage and the profile has no NAS app root");
    if (has_errors(res.diagnostics)) return res;

    // A swarm stack unless the request names its own server (appConfig.server wins over the profile).
    const bool swarm = profile.komodoSwarm.has_value() && !parts.server;
    const std::string& name = stack_name_of(r);
    json service = json::object();
    service["image"] = *image.value;
    if (!swarm) service["restart"] = "unless-stopped";
    if (!parts.ports.empty()) service["ports"] = parts.ports;
    if (parts.volume_target) {
        std::string t = *parts.volume_target;
        std::string leaf = t.substr(t.find_last_of('/') + 1);
        service["volumes"] = json::array({json{{"type", "bind"},
                                               {"source", storage + "/" + leaf},
                                               {"target", t},
                                               {"bind", json{{"create_host_path", true}}}}});
    }
    json env = parts.environment;
    // A secret reaches the container as ${NAME}, filled from the stack's env file (NAME='[[VARIABLE]]'):
    // written by appforge, so never '$$'-escaped like an operator's literal value.
    for (const auto& [n, var] : parts.secret_env) env[n] = "${" + n + "}";
    if (!env.empty()) service["environment"] = env;
    if (!parts.healthcheck.is_null()) service["healthcheck"] = parts.healthcheck;
    if (parts.user) service["user"] = *parts.user;
    json limits = json::object();
    if (parts.memory) {
        if (swarm) limits["memory"] = *parts.memory;
        else service["mem_limit"] = *parts.memory;
    }
    if (parts.cpus) {
        if (swarm) limits["cpus"] = *parts.cpus;
        else service["cpus"] = *parts.cpus;
    }
    json labels = json::object();
    if (parts.ingress_host && parts.ingress_port) {
        const std::string port = std::to_string(*parts.ingress_port);
        if (profile.komodoProxy == "caddy") {
            labels["caddy"] = *parts.ingress_host;
            labels["caddy.reverse_proxy"] = "{{upstreams " + port + "}}";
        } else if (profile.komodoProxy == "traefik") {
            labels["traefik.enable"] = "true";
            labels["traefik.http.routers." + name + ".rule"] = "Host(`" + *parts.ingress_host + "`)";
            labels["traefik.http.services." + name + ".loadbalancer.server.port"] = port;
        }
    }
    json deploy = json::object();
    if (swarm) {
        deploy["restart_policy"] = json{{"condition", "any"}};
        if (!limits.empty()) deploy["resources"] = json{{"limits", limits}};
        if (!labels.empty()) deploy["labels"] = labels;  // swarm proxies read service labels
        service["deploy"] = deploy;
    } else if (!labels.empty()) {
        service["labels"] = labels;
    }
    json compose = json{{"services", json{{name, service}}}};
    if (parts.ingress_host && profile.komodoProxyNetwork) {
        service["networks"] = json::array({*profile.komodoProxyNetwork});
        compose["services"][name] = service;
        compose["networks"] = json{{*profile.komodoProxyNetwork, json{{"external", true}}}};
    }
    res.value = to_yaml(compose);
    return res;
}

std::string komodo_stack_environment(const KomodoRequest& r, const ClusterProfile& profile) {
    Diagnostics ignored;
    ComposeParts parts = read_app_config(r, profile, ignored);
    std::string out;
    // Single-quoted: Komodo keeps the quotes (parse_key_value_list in client/core/rs/src/parsers.rs),
    // compose reads a single-quoted env-file value literally, and in swarm mode Periphery sources the
    // file with `set -a && . .env` (bin/periphery/src/api/swarm/stack.rs), where quotes keep the
    // shell from expanding '$' or splitting on spaces. Only a value containing ' cannot be carried.
    for (const auto& [n, var] : parts.secret_env) out += n + "='[[" + var + "]]'\n";
    return out;
}

KomodoStackLayout komodo_stack_layout(const KomodoRequest& r, const ClusterProfile& profile) {
    Diagnostics ignored;
    ComposeParts parts = read_app_config(r, profile, ignored);
    KomodoStackLayout l;
    l.tier = parts.tier.value_or(profile.komodoDefaultTier);
    l.group = parts.group.value_or(stack_name_of(r));
    l.run_directory = profile.komodoStacksDir + "/" + l.tier + "/" + l.group;
    l.compose_path = l.run_directory + "/compose.yaml";
    return l;
}

// ----------------------------------------------------------------------------------------
// The protocol machine
// ----------------------------------------------------------------------------------------

const char* to_string(KomodoOutcome o) {
    switch (o) {
        case KomodoOutcome::running: return "running";
        case KomodoOutcome::succeeded: return "succeeded";
        case KomodoOutcome::deploy_failed: return "deploy_failed";
        case KomodoOutcome::rejected: return "rejected";
        case KomodoOutcome::transport_failed: return "transport_failed";
        case KomodoOutcome::timed_out: return "timed_out";
        case KomodoOutcome::not_found: return "not_found";
    }
    return "running";
}

std::string komodo_error_text(const std::string& body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_object()) {
        if (const json* e = member(j, "error"); e && e->is_string()) {
            std::string out = e->get<std::string>();
            if (const json* trace = member(j, "trace"); trace && trace->is_array() && !trace->empty()) {
                std::string t;
                for (const auto& item : *trace)
                    if (item.is_string()) t += (t.empty() ? "" : "; ") + item.get<std::string>();
                if (!t.empty()) out += " (trace: " + t + ")";
            }
            return one_line(out);
        }
    }
    std::string raw = one_line(body);
    return raw.empty() ? "(empty body)" : raw;
}

namespace {

// The checks every operation shares: a usable profile URL.
void check_url(const ClusterProfile& profile, Diagnostics& out) {
    if (!profile.komodoUrl) {
        error(out, "", "komodo.url.missing",
              "no Komodo URL is configured: set komodo.url in the profile or pass --url "
              "(a request's komodoApiUrl is never used as the target)");
    } else if (std::string why = rules::komodo_url_problem(*profile.komodoUrl); !why.empty()) {
        error(out, "", "komodo.url.insecure", why);
    }
}

// Komodo list items report how a stack gets its files (ListStacks' StackListItemInfo in
// client/core/rs/src/entities/stack.rs); "" when it uses the UI-defined file_contents.
std::string managed_elsewhere(const json& item) {
    const json* info = member(item, "info");
    if (!info) return {};
    auto text = [&](const char* k) {
        const json* v = member(*info, k);
        return v && v->is_string() ? v->get<std::string>() : std::string();
    };
    if (const json* f = member(*info, "files_on_host"); f && f->is_boolean() && f->get<bool>()) return "files on the host";
    if (!text("linked_repo").empty()) return "the linked repo '" + one_line(text("linked_repo"), 100) + "'";
    if (!text("repo").empty()) return "the git repo '" + one_line(text("repo"), 100) + "'";
    return {};
}

}  // namespace

Result<KomodoSession> KomodoSession::start(const KomodoRequest& request, const ClusterProfile& profile,
                                           const KomodoDeployOptions& options) {
    Result<KomodoSession> res;
    Status current = request.status.value_or(Status::pending);
    if (current != Status::pending)
        error(res.diagnostics, "/status", "komodo.status",
              std::string("only a pending request can be deployed; this one is ") + to_string(current));
    auto compose = komodo_compose(request, profile);
    res.diagnostics.insert(res.diagnostics.end(), compose.diagnostics.begin(), compose.diagnostics.end());
    if (stack_name_of(request).empty())
        error(res.diagnostics, "/komodoRequest/appName", "komodo.appName.required", "appName must not be empty");
    // The target is the profile's URL (a deploy's override already replaced it there), never the request's.
    check_url(profile, res.diagnostics);
    if (profile.komodoUrl && rules::komodo_url_problem(*profile.komodoUrl).empty()) {
        auto ds = rules::check_komodo_api_url(request.komodoApiUrl, profile.komodoUrl);
        res.diagnostics.insert(res.diagnostics.end(), ds.begin(), ds.end());
    }
    if (has_errors(res.diagnostics)) return res;

    KomodoSession m;
    m.mode_ = Mode::deploy;
    m.request_ = request;
    m.request_.status = Status::pending;
    m.options_ = options;
    if (m.options_.poll_interval_ms < 0) m.options_.poll_interval_ms = 0;
    if (m.options_.retry.max_attempts < 1) m.options_.retry.max_attempts = 1;
    std::optional<std::string> swarm;
    if (!m.options_.server) {
        Diagnostics ignored;
        m.options_.server = read_app_config(request, profile, ignored).server;
    }
    if (!m.options_.server) {
        m.options_.server = profile.komodoServer;
        if (!m.options_.server) swarm = profile.komodoSwarm;
    }
    m.compose_ = *compose.value;
    m.url_ = rules::normalize_komodo_url(*profile.komodoUrl);
    m.stack_name_ = stack_name_of(request);
    // Pinned to the UI-defined file: files_on_host, repo and linked_repo take precedence over
    // file_contents in Periphery (bin/periphery/src/stack/write.rs, write_stack), so all three are
    // cleared on every write. run_directory is not sent: a UI-defined stack always runs in
    // <periphery root>/stacks/<name> (write_stack_ui_defined).
    m.config_ = json{{"file_contents", m.compose_}, {"files_on_host", false}, {"repo", ""}, {"linked_repo", ""}};
    std::string env = komodo_stack_environment(request, profile);
    if (!env.empty()) m.config_["environment"] = env;
    if (m.options_.server) m.config_["server_id"] = *m.options_.server;
    else if (swarm) m.config_["swarm_id"] = *swarm;
    // UpdateResourceMeta (client/core/rs/src/api/write/resource.rs): tags by name, created when missing
    // (bin/core/src/resource/mod.rs, update_meta), and the request's appDescription.
    m.meta_ = json::object();
    if (request.appDescription) m.meta_["description"] = *request.appDescription;
    if (!profile.komodoTags.empty()) m.meta_["tags"] = profile.komodoTags;
    m.update_op_ = "DeployStack";
    res.value = std::move(m);
    return res;
}

Result<KomodoSession> KomodoSession::start_named(Mode mode, const std::string& stack, const ClusterProfile& profile,
                                                 const KomodoDeployOptions& options) {
    Result<KomodoSession> res;
    if (stack.empty() || stack.size() > 256 || rules::contains_control_chars(stack))
        error(res.diagnostics, "", "komodo.stack.name", "the stack name must be 1-256 printable characters");
    check_url(profile, res.diagnostics);
    if (has_errors(res.diagnostics)) return res;
    KomodoSession m;
    m.mode_ = mode;
    m.request_.appName = stack;
    m.request_.komodoRequest.appName = stack;
    m.request_.status = Status::pending;
    m.options_ = options;
    if (m.options_.poll_interval_ms < 0) m.options_.poll_interval_ms = 0;
    if (m.options_.retry.max_attempts < 1) m.options_.retry.max_attempts = 1;
    m.url_ = rules::normalize_komodo_url(*profile.komodoUrl);
    m.stack_name_ = stack;
    m.update_op_ = "DestroyStack";
    res.value = std::move(m);
    return res;
}

Result<KomodoSession> KomodoSession::start_status(const std::string& stack, const ClusterProfile& profile,
                                                  const KomodoDeployOptions& options) {
    return start_named(Mode::status, stack, profile, options);
}

Result<KomodoSession> KomodoSession::start_destroy(const std::string& stack, const ClusterProfile& profile,
                                                   const KomodoDeployOptions& options) {
    return start_named(Mode::destroy, stack, profile, options);
}

KomodoCall KomodoSession::make_call(const char* path, const char* type, json params, bool read) const {
    KomodoCall c;
    c.path = path;
    c.type = type;
    c.read = read;
    c.headers = {{"Accept", "application/json"}, {"Content-Type", "application/json"}};
    c.body = json{{"type", type}, {"params", std::move(params)}};
    c.attempt = attempt_;
    c.delay_ms = delay_ms_;
    return c;
}

std::optional<KomodoCall> KomodoSession::next() const {
    switch (step_) {
        case Step::lookup:
            return make_call("/read", "ListStacks", json{{"query", json{{"names", json::array({stack_name_})}}}}, true);
        case Step::create:
            return make_call("/write", "CreateStack", json{{"name", stack_name_}, {"config", config_}}, false);
        case Step::update:
            return make_call("/write", "UpdateStack", json{{"id", stack_id_}, {"config", config_}}, false);
        case Step::meta: {
            json params = meta_;
            params["target"] = json{{"type", "Stack"}, {"id", stack_id_}};
            return make_call("/write", "UpdateResourceMeta", params, false);
        }
        case Step::deploy:
            return make_call("/execute", "DeployStack", json{{"stack", stack_id_}}, false);
        case Step::poll:
            return make_call("/read", "GetUpdate", json{{"id", update_id_}}, true);
        case Step::services:
            return make_call("/read", "ListStackServices", json{{"stack", stack_id_}}, true);
        case Step::destroy:
            return make_call("/execute", "DestroyStack", json{{"stack", stack_id_}}, false);
        case Step::remove:
            return make_call("/write", "DeleteStack", json{{"id", stack_id_}}, false);
        case Step::done:
            return std::nullopt;
    }
    return std::nullopt;
}

void KomodoSession::advance(Step step, int delay_ms) {
    step_ = step;
    attempt_ = 1;
    delay_ms_ = delay_ms;
}

void KomodoSession::finish(KomodoOutcome outcome, Status status, std::string error_text) {
    Status from = request_.status.value_or(Status::pending);
    auto bad = check_status_transition(from, status);
    if (bad.empty()) request_.status = status;
    diagnostics_.insert(diagnostics_.end(), bad.begin(), bad.end());
    if (!error_text.empty()) request_.errorMessage = error_text;
    outcome_ = outcome;
    step_ = Step::done;
}

void KomodoSession::retry_or_fail(int http_status, const std::string& why) {
    auto call = next();
    if (!call) return;
    if (should_retry(call->read, http_status, attempt_, options_.retry)) {
        delay_ms_ = backoff_delay_ms(attempt_, options_.retry);
        ++attempt_;
        return;
    }
    std::string tries = call->read ? " after " + std::to_string(attempt_) + " attempt(s)" : " (writes are not retried)";
    if (http_status == 0) {
        request_.submissionStatus = call->type + ": no answer";
        std::string maybe = call->read ? "" : "; the change may or may not have been applied";
        finish(KomodoOutcome::transport_failed, Status::failed,
               "no answer from Komodo to " + call->type + tries + ": " + why + maybe);
    } else {
        request_.submissionStatus = call->type + ": HTTP " + std::to_string(http_status);
        finish(call->read ? KomodoOutcome::transport_failed : KomodoOutcome::deploy_failed, Status::failed,
               "Komodo " + call->type + " failed with HTTP " + std::to_string(http_status) + tries + ": " + why);
    }
}

void KomodoSession::on_transport_error(TransportError kind, const std::string& detail) {
    if (finished()) return;
    std::string why = (kind == TransportError::timeout ? "request timed out" :
                       kind == TransportError::connect ? "cannot connect" : "transport error");
    if (!detail.empty()) why += " (" + one_line(detail, 300) + ")";
    retry_or_fail(0, why);
}

void KomodoSession::on_timeout(double waited_seconds) {
    if (finished()) return;
    std::string where = step_ == Step::poll ? "update " + update_id_ + " is still " + update_status_
                                            : "no answer to " + next()->type + " yet";
    finish(KomodoOutcome::timed_out, Status::failed,
           "timed out after " + seconds_text(waited_seconds) + " s waiting for Komodo (" + where + ")");
}

void KomodoSession::on_response(int http_status, const std::string& body) {
    if (finished()) return;
    auto call = next();
    const std::string code = std::to_string(http_status);
    if (http_status >= 200 && http_status <= 299) {
        json j = json::parse(body, nullptr, false);
        if (j.is_discarded()) {
            request_.submissionStatus = call->type + ": HTTP " + code;
            finish(KomodoOutcome::transport_failed, Status::failed,
                   "Komodo answered " + call->type + " with a body that is not JSON: " + one_line(body, 200));
            return;
        }
        handle_ok(j);
        return;
    }
    if (http_status >= 500 && http_status <= 599) {
        retry_or_fail(http_status, komodo_error_text(body));
        return;
    }
    request_.submissionStatus = call->type + ": HTTP " + code;
    std::string detail = komodo_error_text(body);
    switch (http_status) {
        case 401:
            finish(KomodoOutcome::rejected, Status::failed,
                   "Komodo rejected the API credentials (HTTP 401) on " + call->type +
                       ": check KOMODO_API_KEY and KOMODO_API_SECRET: " + detail);
            return;
        case 403:
            finish(KomodoOutcome::rejected, Status::failed,
                   "the Komodo API key is not allowed to run " + call->type + " (HTTP 403): " + detail);
            return;
        case 404:
        case 405:
            // Komodo's router has no such path: the web UI's catch-all answers (bin/core/src/api/mod.rs,
            // fallback_service), 405 for a POST.
            finish(KomodoOutcome::rejected, Status::failed,
                   "Komodo API endpoint " + call->path + " not found (HTTP " + code + "): check the Komodo URL: " + detail);
            return;
        case 409:
            // create() in bin/core/src/resource/mod.rs: a resource of that name exists (created meanwhile).
            finish(KomodoOutcome::deploy_failed, Status::failed,
                   "Komodo refused " + call->type + " (HTTP 409): a stack named '" + stack_name_ +
                       "' already exists: " + detail);
            return;
        default:
            finish(call->read ? KomodoOutcome::transport_failed : KomodoOutcome::deploy_failed, Status::failed,
                   "Komodo refused " + call->type + " (HTTP " + code + "): " + detail);
    }
}

void KomodoSession::on_lookup(const json& body) {
    if (!body.is_array()) {
        request_.submissionStatus = "ListStacks: unexpected answer";
        return finish(KomodoOutcome::transport_failed, Status::failed,
                      "unexpected answer from Komodo to ListStacks: expected a list of stacks");
    }
    const json* found = nullptr;
    for (const auto& item : body) {
        const json* name = member(item, "name");
        if (name && name->is_string() && name->get<std::string>() == stack_name_) found = &item;
    }
    if (found) {
        stack_id_ = object_id(*found);
        if (stack_id_.empty()) stack_id_ = stack_name_;
    }
    if (mode_ != Mode::deploy) {
        if (!found) {
            request_.submissionStatus = "ListStacks: stack not found";
            return finish(KomodoOutcome::not_found, Status::failed, "stack '" + stack_name_ + "' does not exist on Komodo");
        }
        if (mode_ == Mode::destroy) {
            result_ = json{{"stack", stack_name_}, {"id", stack_id_}, {"destroyed", false}, {"deleted", false}};
            return advance(Step::destroy);
        }
        const json* info = member(*found, "info");
        auto text = [&](const char* k) {
            const json* v = info ? member(*info, k) : nullptr;
            return v && v->is_string() ? one_line(v->get<std::string>(), 200) : std::string();
        };
        const json* foh = info ? member(*info, "files_on_host") : nullptr;
        result_ = json{{"stack", stack_name_},
                       {"id", stack_id_},
                       {"state", text("state").empty() ? "unknown" : text("state")},
                       {"server", text("server_id")},
                       {"swarm", text("swarm_id")},
                       {"filesOnHost", foh && foh->is_boolean() && foh->get<bool>()},
                       {"repo", text("repo")},
                       {"linkedRepo", text("linked_repo")},
                       {"managedElsewhere", !managed_elsewhere(*found).empty()},
                       {"services", json::array()}};
        return advance(Step::services);
    }
    if (found) {
        std::string how = managed_elsewhere(*found);
        if (!how.empty() && !options_.take_over) {
            std::string msg = "stack '" + stack_name_ + "' exists on Komodo but takes its compose file from " + how +
                              ", which Komodo prefers over the file appforge sends: appforge's deploy would be ignored. "
                              "Switch it back in Komodo, or pass --take-over to pin it to appforge's compose file";
            diagnostics_.push_back(Diagnostic{"/komodoRequest/appName", "komodo.stack.managed", msg, Severity::error});
            request_.submissionStatus = "ListStacks: stack managed elsewhere";
            return finish(KomodoOutcome::deploy_failed, Status::failed, msg);
        }
        if (!how.empty())
            diagnostics_.push_back(Diagnostic{"/komodoRequest/appName", "komodo.stack.taken_over",
                                              "stack '" + stack_name_ + "' took its compose file from " + how +
                                                  "; --take-over pins it to appforge's compose file",
                                              Severity::warning});
        return advance(Step::update);
    }
    if (!config_.contains("server_id") && !config_.contains("swarm_id")) {
        request_.submissionStatus = "ListStacks: stack not found";
        return finish(KomodoOutcome::deploy_failed, Status::failed,
                      "stack '" + stack_name_ + "' does not exist on Komodo and no server was given to create it "
                      "on (set komodo.server or komodo.swarm in the profile, appConfig.server, or --server / --swarm)");
    }
    return advance(Step::create);
}

// An Update (client/core/rs/src/entities/update.rs): polled until Complete, then success decides.
void KomodoSession::on_update(const json& body) {
    const std::string op = update_op_;
    auto bad_body = [&](const std::string& what) {
        request_.submissionStatus = next()->type + ": unexpected answer";
        finish(KomodoOutcome::transport_failed, Status::failed, "unexpected answer from Komodo to " + next()->type + ": " + what);
    };
    if (!body.is_object()) return bad_body("expected an Update object");
    std::string id = object_id(body);
    if (!id.empty()) update_id_ = id;
    const json* st = member(body, "status");
    std::string status = st && st->is_string() ? st->get<std::string>() : "";
    if (status.empty()) return bad_body("the Update has no status");
    update_status_ = status;
    request_.submissionStatus = op + " update " + (update_id_.empty() ? "?" : update_id_) + ": " + status;
    if (status != "Complete") {
        if (update_id_.empty()) return bad_body("the Update has no id to poll");
        return advance(Step::poll, options_.poll_interval_ms);
    }
    const json* ok = member(body, "success");
    if (ok && ok->is_boolean() && ok->get<bool>()) {
        if (mode_ == Mode::destroy) {
            result_["destroyed"] = true;
            return advance(Step::remove);
        }
        return finish(KomodoOutcome::succeeded, Status::success, "");
    }
    std::string logs;
    if (const json* ls = member(body, "logs"); ls && ls->is_array()) {
        for (const auto& log : *ls) {
            const json* s = member(log, "success");
            if (s && s->is_boolean() && s->get<bool>()) continue;
            auto text = [&](const char* k) {
                const json* v = member(log, k);
                return v && v->is_string() ? one_line(v->get<std::string>(), 400) : std::string();
            };
            std::string stage = text("stage"), out = text("stderr");
            if (out.empty()) out = text("stdout");
            logs += (logs.empty() ? "" : " | ") + (stage.empty() ? std::string("log") : stage) + (out.empty() ? "" : ": " + out);
        }
    }
    const std::string what = mode_ == Mode::destroy ? "destroy" : "deploy";
    return finish(KomodoOutcome::deploy_failed, Status::failed,
                  "Komodo " + what + " of stack '" + stack_name_ + "' failed" +
                      (logs.empty() ? std::string(" (the Update reports success = false)") : ": " + one_line(logs)));
}

void KomodoSession::handle_ok(const json& body) {
    auto bad_body = [&](const std::string& what) {
        request_.submissionStatus = next()->type + ": unexpected answer";
        finish(KomodoOutcome::transport_failed, Status::failed,
               "unexpected answer from Komodo to " + next()->type + ": " + what);
    };
    switch (step_) {
        case Step::lookup:
            return on_lookup(body);
        case Step::create:
        case Step::update: {
            if (!body.is_object()) return bad_body("expected a stack object");
            std::string id = object_id(body);
            if (!id.empty()) stack_id_ = id;
            if (stack_id_.empty()) stack_id_ = stack_name_;
            return advance(meta_.empty() ? Step::deploy : Step::meta);
        }
        case Step::meta:
            return advance(Step::deploy);
        case Step::deploy:
        case Step::destroy:
        case Step::poll:
            return on_update(body);
        case Step::services: {
            if (!body.is_array()) return bad_body("expected a list of services");
            json services = json::array();
            for (const auto& svc : body) {
                auto text = [&](const json& o, const char* k) {
                    const json* v = member(o, k);
                    return v && v->is_string() ? one_line(v->get<std::string>(), 200) : std::string();
                };
                json entry = {{"service", text(svc, "service")}, {"image", text(svc, "image")},
                              {"state", text(svc, "state")}};
                if (const json* c = member(svc, "container"); c && c->is_object()) entry["status"] = text(*c, "status");
                services.push_back(entry);
            }
            result_["services"] = services;
            request_.submissionStatus = "ListStackServices: " + std::to_string(services.size()) + " service(s)";
            return finish(KomodoOutcome::succeeded, Status::success, "");
        }
        case Step::remove:
            result_["deleted"] = true;
            request_.submissionStatus = "DeleteStack: deleted";
            return finish(KomodoOutcome::succeeded, Status::success, "");
        case Step::done:
            return;
    }
}

}  // namespace appforge
