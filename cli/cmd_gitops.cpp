// `appforge plan` and `appforge apply`: a thin face. The plan comes from the pure core
// (plan_request in appforge/gitops.hpp), the checkout, git and the audit log from the edge library
// (appforge/edge/apply.hpp); this file only parses arguments and prints.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "appforge/edge/apply.hpp"
#include "appforge/edge/fs_repo.hpp"
#include "appforge/gitops.hpp"
#include "cli.hpp"

namespace appforge::cli {

namespace fs = std::filesystem;

namespace {

void print_plan_text(std::ostream& out, const Plan& p) {
    out << "plan: " << p.appDir << (p.newNamespace ? "  (new namespace folder " + p.namespaceDir + ")" : "") << "\n";
    out << "  branch  " << p.branch << "\n";
    for (const auto& e : p.edits) {
        // the inserted line exactly as written, so the operator sees its indentation
        std::size_t start = 0;
        for (std::size_t n = 1; n < e.line && start != std::string::npos; ++n) {
            start = e.new_text.find('\n', start);
            if (start != std::string::npos) ++start;
        }
        std::string line = start == std::string::npos ? e.entry : e.new_text.substr(start, e.new_text.find('\n', start) - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out << "  edit    " << e.path << "\n          +" << e.line << ": " << line << "\n";
    }
    for (const auto& f : p.creates) out << "  create  " << f.path << "\n";
    out << "  commit  " << p.commitMessage.substr(0, p.commitMessage.find('\n')) << "\n";
    out << "  pr      " << p.prTitle << "\n";
    out << "  risk    " << to_string(p.risk.verdict) << "\n";
    for (const auto& r : p.risk.reasons) out << "          - " << r.message << "\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

int cmd_plan(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "repo", "output"});
    std::string format = args.get("output").value_or("text");
    if (!args.errors.empty() || args.positional.size() != 1 || !args.get("repo") ||
        (format != "text" && format != "json")) {
        for (const auto& e : args.errors) std::cerr << "appforge plan: " << e << "\n";
        std::cerr << "usage: appforge plan FILE --repo PATH [--profile P] [--patterns DIR] [--output text|json]\n";
        return kUnreadable;
    }
    const std::string file = args.positional[0], repo_dir = *args.get("repo");
    std::error_code ec;
    if (!fs::is_directory(repo_dir, ec)) {
        std::cerr << "appforge plan: " << repo_dir << ": not a folder\n";
        return kUnreadable;
    }
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    std::string read_error;
    auto text = read_input(file, read_error);
    if (!text) {
        std::cerr << file << ": " << read_error << "\n";
        return kUnreadable;
    }
    PlannedRequest p = plan_request(*engine, *text, edge::FsRepo(repo_dir));
    print_diagnostics(std::cerr, file, p.diagnostics);
    if (format == "json") {
        nlohmann::json j = planned_request_to_json(p);
        j["file"] = file;
        std::cout << j.dump(2) << "\n";
    } else if (p.ok()) {
        print_plan_text(std::cout, *p.plan);
    }
    if (p.ok()) return kOk;
    return is_parse_failure(p.diagnostics) ? kUnreadable : kInvalid;
}

int cmd_apply(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "repo", "audit-log", "git-timeout"});
    std::optional<long> git_timeout_s = 60;
    if (auto t = args.get("git-timeout")) {
        char* end = nullptr;
        long v = std::strtol(t->c_str(), &end, 10);
        git_timeout_s = (!t->empty() && *end == '\0' && v > 0 && v <= 86400) ? std::optional<long>(v) : std::nullopt;
        if (!git_timeout_s) args.errors.push_back("--git-timeout must be a whole number of seconds between 1 and 86400");
    }
    if (!args.errors.empty() || args.positional.size() != 1 || !args.get("repo")) {
        for (const auto& e : args.errors) std::cerr << "appforge apply: " << e << "\n";
        std::cerr << "usage: appforge apply FILE --repo PATH [--profile P] [--patterns DIR] [--audit-log FILE]"
                     " [--git-timeout S]\n";
        return kUnreadable;
    }
    const std::string file = args.positional[0], repo_dir = *args.get("repo");
    edge::AuditLog audit;
    if (auto a = args.get("audit-log")) {
        std::string e;
        if (!audit.open(*a, e)) {
            std::cerr << "appforge apply: cannot open the audit log: " << e << "\n";
            return kUnreadable;
        }
    }
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;

    edge::ApplyResult r;
    std::string read_error;
    auto text = read_input(file, read_error);
    if (!text) {
        // Unreadable input is a submission too: it is audited like any rejection.
        std::cerr << file << ": " << read_error << "\n";
        r.status = edge::ApplyStatus::unreadable;
        r.error = read_error;
        std::string e;
        if (audit.is_open() && !edge::audit_result(audit, r, e)) r.audit_error = e;
    } else {
        edge::ApplyOptions options;
        options.fail_after_writes = fail_after_writes_hook();
        options.git_timeout = std::chrono::seconds(*git_timeout_s);
        r = edge::apply_request(*engine, *text, repo_dir, &audit, options);
        if (r.status == edge::ApplyStatus::unreadable && !r.error.empty())
            std::cerr << "appforge apply: " << r.error << "\n";
        print_diagnostics(std::cerr, file, r.diagnostics);
    }
    int code = static_cast<int>(r.status);
    if (!r.audit_error.empty()) {
        std::cerr << "appforge apply: audit log not written: " << r.audit_error << "\n";
        if (code == kOk) code = kInvalid;
    }
    nlohmann::json j = apply_result_to_json(r);
    if (!r.ok()) j["file"] = file;
    std::cout << j.dump(2) << "\n" << std::flush;
    // The commit exists even when its result cannot be printed: say where, so nobody applies twice.
    if (r.ok() && !std::cout.good())
        std::cerr << "appforge apply: committed " << r.commit << " on branch " << r.plan->branch
                  << ", but the result could not be written to standard output\n";
    return code;
}

}  // namespace appforge::cli
