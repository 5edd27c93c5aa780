// appforge: validate requests, render GitOps bundles, plan and apply them, drive Komodo.
#include <cstring>
#include <iostream>

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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::cout << "appforge " << appforge::version() << "\n";
        return 0;
    }
    for (const auto& c : kCommands)
        if (!std::strcmp(argv[1], c.name)) {
            try {
                return c.run(argc, argv);
            } catch (const std::exception& e) {
                std::cerr << "appforge: internal error: " << e.what() << "\n";
                return 3;
            }
        }
    std::cerr << "appforge: unknown command '" << argv[1] << "'\n";
    usage(std::cerr);
    return 2;
}
