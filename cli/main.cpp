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
    {"validate", appforge::cli::cmd_validate, "validate FILE... [--profile P] [--patterns DIR] [--output text|json]"},
    {"render", appforge::cli::cmd_render,
     "render FILE... [--profile P] [--patterns DIR] [--out DIR] [--output yaml|json]"},
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
