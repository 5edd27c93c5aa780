// The NAS workflow in the core: payload, compose file and the Komodo protocol machine.
#include "appforge/komodo.hpp"

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
    std::optional<std::string> server;
};

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

    json service = json::object();
    service["image"] = *image.value;
    service["restart"] = "unless-stopped";
    if (!parts.ports.empty()) service["ports"] = parts.ports;
    if (parts.volume_target) {
        std::string t = *parts.volume_target;
        std::string leaf = t.substr(t.find_last_of('/') + 1);
        service["volumes"] = json::array({json{{"type", "bind"},
                                               {"source", storage + "/" + leaf},
                                               {"target", t},
                                               {"bind", json{{"create_host_path", true}}}}});
    }
    if (!parts.environment.empty()) service["environment"] = parts.environment;
    json compose = json{{"services", json{{stack_name_of(r), service}}}};
    res.value = to_yaml(compose);
    return res;
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

Result<KomodoDeploy> KomodoDeploy::start(const KomodoRequest& request, const ClusterProfile& profile,
                                          const KomodoDeployOptions& options) {
    Result<KomodoDeploy> res;
    Status current = request.status.value_or(Status::pending);
    if (current != Status::pending)
        error(res.diagnostics, "/status", "komodo.status",
              std::string("only a pending request can be deployed; this one is ") + to_string(current));
    auto compose = komodo_compose(request, profile);
    res.diagnostics.insert(res.diagnostics.end(), compose.diagnostics.begin(), compose.diagnostics.end());
    if (stack_name_of(request).empty())
        error(res.diagnostics, "/komodoRequest/appName", "komodo.appName.required", "appName must not be empty");
    // The target is the profile's URL (a deploy's override already replaced it there), never the request's.
    if (!profile.komodoUrl) {
        error(res.diagnostics, "", "komodo.url.missing",
              "no Komodo URL is configured: set komodo.url in the profile or pass --url "
              "(a request's komodoApiUrl is never used as the target)");
    } else if (std::string why = rules::komodo_url_problem(*profile.komodoUrl); !why.empty()) {
        error(res.diagnostics, "", "komodo.url.insecure", why);
    } else {
        auto ds = rules::check_komodo_api_url(request.komodoApiUrl, profile.komodoUrl);
        res.diagnostics.insert(res.diagnostics.end(), ds.begin(), ds.end());
    }
    if (has_errors(res.diagnostics)) return res;

    KomodoDeploy m;
    m.request_ = request;
    m.request_.status = Status::pending;
    m.options_ = options;
    if (m.options_.poll_interval_ms < 0) m.options_.poll_interval_ms = 0;
    if (m.options_.retry.max_attempts < 1) m.options_.retry.max_attempts = 1;
    if (!m.options_.server) {
        Diagnostics ignored;
        m.options_.server = read_app_config(request, profile, ignored).server;
    }
    m.compose_ = *compose.value;
    m.url_ = rules::normalize_komodo_url(*profile.komodoUrl);
    m.stack_name_ = stack_name_of(request);
    m.storage_ = effective_storage_location(request, profile);
    m.config_ = json{{"file_contents", m.compose_}};
    if (!m.storage_.empty()) m.config_["run_directory"] = m.storage_;
    if (m.options_.server) m.config_["server_id"] = *m.options_.server;
    res.value = std::move(m);
    return res;
}

KomodoCall KomodoDeploy::make_call(const char* path, const char* type, json params, bool read) const {
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

std::optional<KomodoCall> KomodoDeploy::next() const {
    switch (step_) {
        case Step::lookup:
            return make_call("/read", "ListStacks", json{{"query", json{{"names", json::array({stack_name_})}}}}, true);
        case Step::create:
            return make_call("/write", "CreateStack", json{{"name", stack_name_}, {"config", config_}}, false);
        case Step::update:
            return make_call("/write", "UpdateStack", json{{"id", stack_id_}, {"config", config_}}, false);
        case Step::deploy:
            return make_call("/execute", "DeployStack", json{{"stack", stack_id_}}, false);
        case Step::poll:
            return make_call("/read", "GetUpdate", json{{"id", update_id_}}, true);
        case Step::done:
            return std::nullopt;
    }
    return std::nullopt;
}

void KomodoDeploy::advance(Step step, int delay_ms) {
    step_ = step;
    attempt_ = 1;
    delay_ms_ = delay_ms;
}

void KomodoDeploy::finish(KomodoOutcome outcome, Status status, std::string error_text) {
    Status from = request_.status.value_or(Status::pending);
    auto bad = check_status_transition(from, status);
    if (bad.empty()) request_.status = status;
    diagnostics_.insert(diagnostics_.end(), bad.begin(), bad.end());
    if (!error_text.empty()) request_.errorMessage = error_text;
    outcome_ = outcome;
    step_ = Step::done;
}

void KomodoDeploy::retry_or_fail(int http_status, const std::string& why) {
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

void KomodoDeploy::on_transport_error(TransportError kind, const std::string& detail) {
    if (finished()) return;
    std::string why = (kind == TransportError::timeout ? "request timed out" :
                       kind == TransportError::connect ? "cannot connect" : "transport error");
    if (!detail.empty()) why += " (" + one_line(detail, 300) + ")";
    retry_or_fail(0, why);
}

void KomodoDeploy::on_timeout(double waited_seconds) {
    if (finished()) return;
    std::string where = step_ == Step::poll ? "update " + update_id_ + " is still " + update_status_
                                            : "no answer to " + next()->type + " yet";
    finish(KomodoOutcome::timed_out, Status::failed,
           "timed out after " + seconds_text(waited_seconds) + " s waiting for Komodo (" + where + ")");
}

void KomodoDeploy::on_response(int http_status, const std::string& body) {
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
            finish(KomodoOutcome::rejected, Status::failed,
                   "Komodo API endpoint " + call->path + " not found (HTTP 404): check the Komodo URL: " + detail);
            return;
        default:
            finish(call->read ? KomodoOutcome::transport_failed : KomodoOutcome::deploy_failed, Status::failed,
                   "Komodo refused " + call->type + " (HTTP " + code + "): " + detail);
    }
}

void KomodoDeploy::handle_ok(const json& body) {
    auto bad_body = [&](const std::string& what) {
        request_.submissionStatus = next()->type + ": unexpected answer";
        finish(KomodoOutcome::transport_failed, Status::failed,
               "unexpected answer from Komodo to " + next()->type + ": " + what);
    };
    switch (step_) {
        case Step::lookup: {
            if (!body.is_array()) return bad_body("expected a list of stacks");
            for (const auto& item : body) {
                const json* name = member(item, "name");
                if (name && name->is_string() && name->get<std::string>() == stack_name_) {
                    stack_id_ = object_id(item);
                    if (stack_id_.empty()) stack_id_ = stack_name_;
                    return advance(Step::update);
                }
            }
            if (!options_.server) {
                request_.submissionStatus = "ListStacks: stack not found";
                return finish(KomodoOutcome::deploy_failed, Status::failed,
                              "stack '" + stack_name_ + "' does not exist on Komodo and no server was given to create it "
                              "on (set appConfig.server or --server)");
            }
            return advance(Step::create);
        }
        case Step::create:
        case Step::update: {
            if (!body.is_object()) return bad_body("expected a stack object");
            std::string id = object_id(body);
            if (!id.empty()) stack_id_ = id;
            if (stack_id_.empty()) stack_id_ = stack_name_;
            return advance(Step::deploy);
        }
        case Step::deploy:
        case Step::poll: {
            if (!body.is_object()) return bad_body("expected an Update object");
            std::string id = object_id(body);
            if (!id.empty()) update_id_ = id;
            const json* st = member(body, "status");
            std::string status = st && st->is_string() ? st->get<std::string>() : "";
            if (status.empty()) return bad_body("the Update has no status");
            update_status_ = status;
            request_.submissionStatus = "DeployStack update " + (update_id_.empty() ? "?" : update_id_) + ": " + status;
            if (status != "Complete") {
                if (update_id_.empty()) return bad_body("the Update has no id to poll");
                return advance(Step::poll, options_.poll_interval_ms);
            }
            const json* ok = member(body, "success");
            if (ok && ok->is_boolean() && ok->get<bool>()) return finish(KomodoOutcome::succeeded, Status::success, "");
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
                    logs += (logs.empty() ? "" : " | ") + (stage.empty() ? std::string("log") : stage) +
                            (out.empty() ? "" : ": " + out);
                }
            }
            return finish(KomodoOutcome::deploy_failed, Status::failed,
                          "Komodo deploy of stack '" + stack_name_ + "' failed" +
                              (logs.empty() ? std::string(" (the Update reports success = false)") : ": " + one_line(logs)));
        }
        case Step::done:
            return;
    }
}

}  // namespace appforge
