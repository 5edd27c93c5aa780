// appforge: validate requests, render GitOps bundles, plan and apply them, drive Komodo.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "cli.hpp"

namespace {

struct Command {
    const char* name;
    int (*run)(int, char**);
    const char* help;
};

const Command kCommands[] = {
    {"validate", appforge::cli::cmd_validate, "validate FILE... [--profile P] [--patterns DIR] [--output text|json] [--check-images]"},
    {"render", appforge::cli::cmd_render,
     "render FILE... [--profile P] [--patterns DIR] [--out DIR] [--output yaml|json]"},
    {"plan", appforge::cli::cmd_plan,
     "plan FILE --repo PATH [--profile P] [--patterns DIR] [--output text|json]"},
    {"apply", appforge::cli::cmd_apply,
     "apply FILE --repo PATH [--profile P] [--patterns DIR] [--audit-log FILE]"},
    {"komodo", appforge::cli::cmd_komodo,
     "komodo payload|compose|deploy FILE [--profile P] [--url URL] [--server NAME] [--timeout S] [--poll-interval S]"},
    {"test-patterns", appforge::cli::cmd_test_patterns,
     "test-patterns CASES_DIR [--patterns DIR] [--profile P] [--update]"},
    {"diff", appforge::cli::cmd_diff, "diff [--patterns OLD] --patterns-new NEW [--profile P] REQUEST..."},
    {"backstage-template", appforge::cli::cmd_backstage_template,
     "backstage-template [--profile P] [--patterns DIR] [--workflow gitops|nas] [--out DIR] [--output yaml|json] "
     "[--form-schema]"},
};

void usage(std::ostream& out) {
    out << "appforge " << appforge::version() << ": app requests to GitOps bundles and Komodo deployments\n\n"
        << "usage:\n";
    for (const auto& c : kCommands) out << "  appforge " << c.help << "\n";
    out << "\nExit codes: 0 valid, 1 invalid, 2 unreadable input or usage error. FILE may be '-' for stdin.\n";
}

/// The exit code once standard output is flushed: output that could not be written whole (a full
/// disk, a closed pipe, /dev/full) fails the command with exit 2, whatever the command decided, so a
/// caller never takes a truncated plan, apply result or template for a complete one.
int finish(int code) {
    std::cout.flush();
    bool failed = !std::cout.good();
    errno = 0;
    if (std::fflush(stdout) != 0) failed = true;
    const int err = errno;
    if (std::ferror(stdout)) failed = true;
    if (!failed) return code;
    std::cerr << "appforge: cannot write standard output" << (err ? std::string(": ") + std::strerror(err) : "")
              << "; the output is incomplete\n";
    return appforge::cli::kUnreadable;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? std::cerr : std::cout);
        return finish(argc < 2 ? 2 : 0);
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::cout << "appforge " << appforge::version() << "\n";
        return finish(0);
    }
    for (const auto& c : kCommands)
        if (!std::strcmp(argv[1], c.name)) {
            try {
                return finish(c.run(argc, argv));
            } catch (const std::exception& e) {
                std::cerr << "appforge: internal error: " << e.what() << "\n";
                return finish(3);
            }
        }
    std::cerr << "appforge: unknown command '" << argv[1] << "'\n";
    usage(std::cerr);
    return 2;
}
