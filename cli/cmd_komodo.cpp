// appforge komodo payload|compose|deploy: the NAS workflow's face. The protocol lives in the
// core (appforge/komodo.hpp); this file only moves its requests over HTTP.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "appforge/document.hpp"
#include "appforge/edge/apply.hpp"
#include "appforge/edge/fs_repo.hpp"
#include "appforge/komodo.hpp"
#include "appforge/komodo_sync.hpp"
#include "appforge/net_rules.hpp"
#include "cli.hpp"
#include "net/http.hpp"

namespace appforge::cli {

namespace {

constexpr const char* kUsage =
    "usage: appforge komodo payload FILE [--profile P]\n"
    "       appforge komodo compose FILE [--profile P] [--swarm NAME]\n"
    "       appforge komodo deploy FILE [--url URL] [--server NAME | --swarm NAME] [--take-over] [--timeout S]\n"
    "                                   [--poll-interval S] [--profile P] [--verbose]\n"
    "       appforge komodo status STACK [--url URL] [--profile P] [--timeout S]\n"
    "       appforge komodo destroy STACK --yes [--url URL] [--profile P] [--timeout S] [--poll-interval S]\n"
    "       appforge komodo plan FILE --repo PATH [--profile P] [--server NAME | --swarm NAME] [--output text|json]\n"
    "       appforge komodo apply FILE --repo PATH [--profile P] [--server NAME | --swarm NAME] [--audit-log FILE]\n"
    "                                  [--git-timeout S]\n"
    "deploy, status and destroy read the API key and secret from KOMODO_API_KEY and KOMODO_API_SECRET only,\n"
    "and send them only to --url or the profile's komodo.url (https, or http to loopback); a request's\n"
    "komodoApiUrl must be absent or equal that URL.\n";

// Reads and checks a NAS request; prints why not and sets exit_code when it is not usable.
std::optional<KomodoRequest> load_request(const Engine& engine, const std::string& file, const char* cmd,
                                          int& exit_code) {
    std::string error;
    auto text = read_input(file, error);
    if (!text) {
        std::cerr << file << ": " << error << "\n";
        exit_code = kUnreadable;
        return std::nullopt;
    }
    CheckedRequest c = engine.check(*text);
    print_diagnostics(std::cerr, file, c.diagnostics);
    if (is_parse_failure(c.diagnostics)) {
        exit_code = kUnreadable;
        return std::nullopt;
    }
    if (c.document && c.kind != RequestKind::komodo) {
        std::cerr << "appforge komodo " << cmd << ": " << file
                  << " is a GitOps request (no komodoRequest member); use appforge render\n";
        exit_code = kUnreadable;
        return std::nullopt;
    }
    if (!c.ok() || !c.komodo) {
        exit_code = kInvalid;
        return std::nullopt;
    }
    return c.komodo;
}

// Seconds as a positive (or, when zero_ok, non-negative) finite number.
std::optional<double> seconds(const std::string& s, bool zero_ok) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v) || v < 0 || (!zero_ok && v == 0) || v > 86400) return std::nullopt;
    return v;
}

struct Timing {
    double timeout_s = 300, poll_s = 2;
};

// --timeout and --poll-interval; false (after a message) when one is malformed.
bool read_timing(const Args& args, const char* cmd, Timing& t) {
    if (auto v = args.get("timeout")) {
        auto s = seconds(*v, false);
        if (!s) {
            std::cerr << "appforge komodo " << cmd << ": --timeout must be a number of seconds > 0\n";
            return false;
        }
        t.timeout_s = *s;
    }
    if (auto v = args.get("poll-interval")) {
        auto s = seconds(*v, true);
        if (!s) {
            std::cerr << "appforge komodo " << cmd << ": --poll-interval must be a number of seconds >= 0\n";
            return false;
        }
        t.poll_s = *s;
    }
    return true;
}

struct Credentials {
    std::string key, secret;
};

std::optional<Credentials> credentials(const char* cmd) {
    const char* key = std::getenv("KOMODO_API_KEY");
    const char* secret = std::getenv("KOMODO_API_SECRET");
    if (!key || !*key || !secret || !*secret) {
        std::cerr << "appforge komodo " << cmd << ": set KOMODO_API_KEY and KOMODO_API_SECRET in the environment "
                     "(credentials are never taken from arguments)\n";
        return std::nullopt;
    }
    return Credentials{key, secret};
}

// Moves the session's calls over HTTP until it finishes or the deadline passes.
void drive(KomodoSession& m, const Credentials& c, double timeout_s, bool verbose, const char* cmd) {
    const std::string& url = m.url();  // the profile's komodo.url or --url, never the request's
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
    auto left_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    };
    while (!m.finished()) {
        KomodoCall call = *m.next();
        if (call.delay_ms > 0) {
            if (call.delay_ms >= left_ms()) {
                net::sleep_ms(static_cast<int>(std::max<long long>(0, left_ms())));
                m.on_timeout(timeout_s);
                break;
            }
            net::sleep_ms(call.delay_ms);
        }
        if (left_ms() <= 0) {
            m.on_timeout(timeout_s);
            break;
        }
        if (verbose)
            std::cerr << "appforge komodo " << cmd << ": " << call.method << " " << call.path << " " << call.type
                      << " (attempt " << call.attempt << ")\n";
        net::HttpRequest req;
        req.method = call.method;
        req.url = url + call.path;
        req.headers = call.headers;
        req.headers.emplace_back("X-Api-Key", c.key);  // added here so the core never holds them
        req.headers.emplace_back("X-Api-Secret", c.secret);
        req.redact = {c.key, c.secret};  // a server that echoes them back must not get them printed or stored
        req.body = call.body.dump();
        net::HttpOptions h;
        h.timeout_ms = static_cast<long>(std::max<long long>(1, std::min<long long>(30000, left_ms())));
        h.connect_timeout_ms = std::min<long>(5000, h.timeout_ms);
        net::HttpResponse res = net::perform(req, h);
        if (res.status != 0) {
            m.on_response(res.status, res.body);
        } else if (left_ms() <= 0) {
            m.on_timeout(timeout_s);
        } else {
            m.on_transport_error(res.failure == net::HttpFailure::timeout   ? TransportError::timeout
                                 : res.failure == net::HttpFailure::connect ? TransportError::connect
                                                                            : TransportError::other,
                                 res.error);
        }
    }
}

// Exit codes of deploy, status and destroy (docs/nas-workflow.md): 0 done, 1 Komodo said no or
// there is no such stack, 2 usage, credentials, permissions, URL, transport and time-outs.
int exit_code_of(KomodoOutcome o) {
    switch (o) {
        case KomodoOutcome::succeeded: return kOk;
        case KomodoOutcome::deploy_failed:
        case KomodoOutcome::not_found: return kInvalid;
        default: return kUnreadable;
    }
}

int deploy(const Engine& engine, const Args& args) {
    const std::string& file = args.positional[1];
    Timing t;
    if (!read_timing(args, "deploy", t)) return kUnreadable;
    auto creds = credentials("deploy");
    if (!creds) return kUnreadable;

    int exit_code = kOk;
    auto request = load_request(engine, file, "deploy", exit_code);
    if (!request) return exit_code;
    KomodoDeployOptions opts;
    opts.poll_interval_ms = static_cast<int>(t.poll_s * 1000);
    opts.take_over = args.has("take-over");
    auto started = KomodoSession::start(*request, engine.profile(), opts);
    print_diagnostics(std::cerr, file, started.diagnostics);
    if (!started.ok()) return kInvalid;
    KomodoSession& m = *started.value;
    drive(m, *creds, t.timeout_s, args.has("verbose"), "deploy");

    std::cout << to_json_text(to_json(m.request()));
    print_diagnostics(std::cerr, file, m.diagnostics());
    const KomodoRequest& out = m.request();
    if (m.outcome() == KomodoOutcome::succeeded)
        std::cerr << "appforge komodo deploy: stack '" << request->komodoRequest.appName << "' deployed ("
                  << out.submissionStatus.value_or("") << ")\n";
    else
        std::cerr << "appforge komodo deploy: " << out.errorMessage.value_or("deploy did not finish") << "\n";
    return exit_code_of(m.outcome());
}

// status and destroy: one stack by name.
int stack_command(const Engine& engine, const Args& args, bool destroy) {
    const char* cmd = destroy ? "destroy" : "status";
    const std::string& stack = args.positional[1];
    Timing t;
    t.timeout_s = destroy ? 300 : 30;
    if (!read_timing(args, cmd, t)) return kUnreadable;
    if (destroy && !args.has("yes")) {
        std::cerr << "appforge komodo destroy: this takes stack '" << stack
                  << "' down and deletes it from Komodo (its data folders stay); pass --yes to confirm\n";
        return kUnreadable;
    }
    auto creds = credentials(cmd);
    if (!creds) return kUnreadable;
    KomodoDeployOptions opts;
    opts.poll_interval_ms = static_cast<int>(t.poll_s * 1000);
    auto started = destroy ? KomodoSession::start_destroy(stack, engine.profile(), opts)
                           : KomodoSession::start_status(stack, engine.profile(), opts);
    print_diagnostics(std::cerr, stack, started.diagnostics);
    if (!started.ok()) return kUnreadable;
    KomodoSession& m = *started.value;
    drive(m, *creds, t.timeout_s, args.has("verbose"), cmd);
    nlohmann::json out = m.result().is_null() ? nlohmann::json{{"stack", stack}} : m.result();
    out["outcome"] = to_string(m.outcome());
    if (m.request().errorMessage) out["errorMessage"] = *m.request().errorMessage;
    std::cout << out.dump(2) << "\n";
    if (m.outcome() != KomodoOutcome::succeeded)
        std::cerr << "appforge komodo " << cmd << ": " << m.request().errorMessage.value_or("did not finish") << "\n";
    return exit_code_of(m.outcome());
}

void print_sync_plan(std::ostream& out, const Plan& p) {
    out << "plan: stack folder " << p.appDir << "\n";
    out << "  branch  " << p.branch << "\n";
    for (const auto& e : p.edits) out << "  edit    " << e.path << "\n          +" << e.line << ": " << e.entry << "\n";
    for (const auto& f : p.creates) out << "  create  " << f.path << "\n";
    out << "  commit  " << p.commitMessage.substr(0, p.commitMessage.find('\n')) << "\n";
    out << "  pr      " << p.prTitle << "\n";
    out << "  risk    " << to_string(p.risk.verdict) << "\n";
    for (const auto& r : p.risk.reasons) out << "          - " << r.message << "\n";
}

// komodo plan|apply FILE --repo PATH: the Resource Sync flow.
int sync_command(const Engine& engine, const Args& args, bool apply) {
    const char* cmd = apply ? "apply" : "plan";
    const std::string file = args.positional[1];
    auto repo_dir = args.get("repo");
    std::string format = args.get("output").value_or("text");
    if (!repo_dir || (format != "text" && format != "json")) {
        std::cerr << "appforge komodo " << cmd << ": --repo PATH is required\n" << kUsage;
        return kUnreadable;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(*repo_dir, ec)) {
        std::cerr << "appforge komodo " << cmd << ": " << *repo_dir << ": not a folder\n";
        return kUnreadable;
    }
    edge::AuditLog audit;
    if (auto a = args.get("audit-log"); a && apply) {
        std::string e;
        if (!audit.open(*a, e)) {
            std::cerr << "appforge komodo apply: cannot open the audit log: " << e << "\n";
            return kUnreadable;
        }
    }
    std::string read_error;
    auto text = read_input(file, read_error);
    if (!text) {
        std::cerr << file << ": " << read_error << "\n";
        return kUnreadable;
    }
    CheckedRequest checked = engine.check(*text);
    if (!apply) {
        KomodoPlannedRequest p = plan_komodo_checked_request(engine, checked, edge::FsRepo(*repo_dir));
        print_diagnostics(std::cerr, file, p.diagnostics);
        if (format == "json") std::cout << komodo_planned_request_to_json(p).dump(2) << "\n";
        else if (p.ok()) print_sync_plan(std::cout, *p.plan);
        if (p.ok()) return kOk;
        return is_parse_failure(p.diagnostics) ? kUnreadable : kInvalid;
    }
    edge::ApplyOptions options;
    options.fail_after_writes = fail_after_writes_hook();
    if (auto t = args.get("git-timeout")) {
        auto s = seconds(*t, false);
        if (!s) {
            std::cerr << "appforge komodo apply: --git-timeout must be a number of seconds > 0\n";
            return kUnreadable;
        }
        options.git_timeout = std::chrono::milliseconds(static_cast<long long>(*s * 1000));
    }
    edge::ApplyResult r = edge::apply_komodo_checked_request(engine, checked, *repo_dir, &audit, options);
    if (r.status == edge::ApplyStatus::unreadable && !r.error.empty()) std::cerr << "appforge komodo apply: " << r.error << "\n";
    print_diagnostics(std::cerr, file, r.diagnostics);
    int code = static_cast<int>(r.status);
    if (!r.audit_error.empty()) {
        std::cerr << "appforge komodo apply: audit log not written: " << r.audit_error << "\n";
        if (code == kOk) code = kInvalid;
    }
    nlohmann::json j = edge::apply_result_to_json(r);
    if (!r.ok()) j["file"] = file;
    std::cout << j.dump(2) << "\n" << std::flush;
    return code;
}

}  // namespace

int cmd_komodo(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2,
                           {"profile", "patterns", "url", "server", "swarm", "timeout", "poll-interval", "repo", "output",
                            "audit-log", "git-timeout"});
    if (!args.errors.empty() || args.positional.size() != 2) {
        for (const auto& e : args.errors) std::cerr << "appforge komodo: " << e << "\n";
        std::cerr << kUsage;
        return kUnreadable;
    }
    const std::string& sub = args.positional[0];
    if (sub != "payload" && sub != "compose" && sub != "deploy" && sub != "status" && sub != "destroy" &&
        sub != "plan" && sub != "apply") {
        std::cerr << "appforge komodo: unknown subcommand '" << sub << "'\n" << kUsage;
        return kUnreadable;
    }
    if (auto url = args.get("url")) {
        if (std::string why = rules::komodo_url_problem(*url); !why.empty()) {
            std::cerr << "appforge komodo: --url: " << why << "\n";
            return kUnreadable;
        }
    }
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    if (args.get("server") && args.get("swarm")) {
        std::cerr << "appforge komodo: --server and --swarm exclude each other\n";
        return kUnreadable;
    }
    if (sub == "deploy") return deploy(*engine, args);
    if (sub == "status" || sub == "destroy") return stack_command(*engine, args, sub == "destroy");
    if (sub == "plan" || sub == "apply") return sync_command(*engine, args, sub == "apply");

    int exit_code = kOk;
    auto request = load_request(*engine, args.positional[1], sub.c_str(), exit_code);
    if (!request) return exit_code;
    if (sub == "payload") {
        std::cout << to_json_text(komodo_payload(*request, engine->profile()));
        return kOk;
    }
    auto compose = komodo_compose(*request, engine->profile());
    print_diagnostics(std::cerr, args.positional[1], compose.diagnostics);
    if (!compose.ok()) return kInvalid;
    std::cout << *compose.value;
    return kOk;
}

}  // namespace appforge::cli
