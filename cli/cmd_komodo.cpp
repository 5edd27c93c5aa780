// appforge komodo payload|compose|deploy: the NAS workflow's face. The protocol lives in the
// core (appforge/komodo.hpp); this file only moves its requests over HTTP.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "appforge/document.hpp"
#include "appforge/komodo.hpp"
#include "appforge/net_rules.hpp"
#include "cli.hpp"
#include "net/http.hpp"

namespace appforge::cli {

namespace {

constexpr const char* kUsage =
    "usage: appforge komodo payload FILE [--profile P]\n"
    "       appforge komodo compose FILE [--profile P]\n"
    "       appforge komodo deploy FILE [--url URL] [--server NAME] [--timeout S] [--poll-interval S]\n"
    "                                   [--profile P] [--verbose]\n"
    "deploy reads the API key and secret from KOMODO_API_KEY and KOMODO_API_SECRET only, and sends them\n"
    "only to --url or the profile's komodo.url (https, or http to loopback); a request's komodoApiUrl\n"
    "must be absent or equal that URL.\n";

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

int deploy(const Engine& engine, const Args& args) {
    const std::string& file = args.positional[1];
    double timeout_s = 300, poll_s = 2;
    if (auto t = args.get("timeout")) {
        auto v = seconds(*t, false);
        if (!v) {
            std::cerr << "appforge komodo deploy: --timeout must be a number of seconds > 0\n";
            return kUnreadable;
        }
        timeout_s = *v;
    }
    if (auto p = args.get("poll-interval")) {
        auto v = seconds(*p, true);
        if (!v) {
            std::cerr << "appforge komodo deploy: --poll-interval must be a number of seconds >= 0\n";
            return kUnreadable;
        }
        poll_s = *v;
    }
    const char* key = std::getenv("KOMODO_API_KEY");
    const char* secret = std::getenv("KOMODO_API_SECRET");
    if (!key || !*key || !secret || !*secret) {
        std::cerr << "appforge komodo deploy: set KOMODO_API_KEY and KOMODO_API_SECRET in the environment "
                     "(credentials are never taken from arguments)\n";
        return kUnreadable;
    }

    int exit_code = kOk;
    auto request = load_request(engine, file, "deploy", exit_code);
    if (!request) return exit_code;
    KomodoDeployOptions opts;
    if (auto s = args.get("server")) opts.server = *s;
    opts.poll_interval_ms = static_cast<int>(poll_s * 1000);
    auto started = KomodoDeploy::start(*request, engine.profile(), opts);
    print_diagnostics(std::cerr, file, started.diagnostics);
    if (!started.ok()) return kInvalid;
    KomodoDeploy& m = *started.value;
    const std::string& url = m.url();  // the profile's komodo.url or --url, never the request's
    const bool verbose = args.has("verbose");

    using Clock = std::chrono::steady_clock;
    const auto begin = Clock::now();
    const auto deadline = begin + std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
    auto left_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    };
    const double waited = timeout_s;
    while (!m.finished()) {
        KomodoCall call = *m.next();
        if (call.delay_ms > 0) {
            if (call.delay_ms >= left_ms()) {
                net::sleep_ms(static_cast<int>(std::max<long long>(0, left_ms())));
                m.on_timeout(waited);
                break;
            }
            net::sleep_ms(call.delay_ms);
        }
        if (left_ms() <= 0) {
            m.on_timeout(waited);
            break;
        }
        if (verbose)
            std::cerr << "appforge komodo deploy: " << call.method << " " << call.path << " " << call.type
                      << " (attempt " << call.attempt << ")\n";
        net::HttpRequest req;
        req.method = call.method;
        req.url = url + call.path;
        req.headers = call.headers;
        req.headers.emplace_back("X-Api-Key", key);  // added here so the core never holds them
        req.headers.emplace_back("X-Api-Secret", secret);
        req.redact = {key, secret};  // a server that echoes them back must not get them printed or stored
        req.body = call.body.dump();
        net::HttpOptions h;
        h.timeout_ms = static_cast<long>(std::max<long long>(1, std::min<long long>(30000, left_ms())));
        h.connect_timeout_ms = std::min<long>(5000, h.timeout_ms);
        net::HttpResponse res = net::perform(req, h);
        if (res.status != 0) {
            m.on_response(res.status, res.body);
        } else if (left_ms() <= 0) {
            m.on_timeout(waited);
        } else {
            m.on_transport_error(res.failure == net::HttpFailure::timeout   ? TransportError::timeout
                                 : res.failure == net::HttpFailure::connect ? TransportError::connect
                                                                            : TransportError::other,
                                 res.error);
        }
    }

    std::cout << to_json_text(to_json(m.request()));
    print_diagnostics(std::cerr, file, m.diagnostics());
    const KomodoRequest& out = m.request();
    switch (m.outcome()) {
        case KomodoOutcome::succeeded:
            std::cerr << "appforge komodo deploy: stack '" << request->komodoRequest.appName << "' deployed ("
                      << out.submissionStatus.value_or("") << ")\n";
            return kOk;
        case KomodoOutcome::deploy_failed:
            std::cerr << "appforge komodo deploy: " << out.errorMessage.value_or("deploy failed") << "\n";
            return kInvalid;
        default:
            std::cerr << "appforge komodo deploy: " << out.errorMessage.value_or("deploy did not finish") << "\n";
            return kUnreadable;
    }
}

}  // namespace

int cmd_komodo(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "url", "server", "timeout", "poll-interval"});
    if (!args.errors.empty() || args.positional.size() != 2) {
        for (const auto& e : args.errors) std::cerr << "appforge komodo: " << e << "\n";
        std::cerr << kUsage;
        return kUnreadable;
    }
    const std::string& sub = args.positional[0];
    if (sub != "payload" && sub != "compose" && sub != "deploy") {
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
    if (sub == "deploy") return deploy(*engine, args);

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
