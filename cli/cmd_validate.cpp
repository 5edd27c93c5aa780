#include <iostream>

#include "cli.hpp"
#include "net/registry.hpp"

namespace appforge::cli {

int cmd_validate(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "output"});
    if (!args.errors.empty() || args.positional.empty()) {
        for (const auto& e : args.errors) std::cerr << "appforge validate: " << e << "\n";
        std::cerr << "usage: appforge validate FILE... [--profile P] [--patterns DIR] [--output text|json] [--check-images]\n";
        return kUnreadable;
    }
    std::string format = args.get("output").value_or("text");
    if (format != "text" && format != "json") {
        std::cerr << "appforge validate: --output must be text or json\n";
        return kUnreadable;
    }
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    // --check-images asks each image's registry (APPFORGE_INSECURE_REGISTRIES: plain-http hosts), and
    // only hosts the profile's registries.allowed lists (the core checks the registry, the checker
    // every realm and redirect).
    std::optional<net::RegistryImageChecker> registry;
    if (args.has("check-images")) {
        net::RegistryOptions o = net::registry_options_from_env();
        o.allowed = engine->profile().registriesAllowed;
        registry.emplace(std::move(o));
    }

    int exit_code = kOk;
    nlohmann::json all = nlohmann::json::array();
    std::size_t valid = 0;
    for (const auto& file : args.positional) {
        std::string error;
        auto text = read_input(file, error);
        Diagnostics ds;
        if (!text) {
            ds.push_back(Diagnostic{"", "io.read", error, Severity::error});
            exit_code = kUnreadable;
        } else {
            CheckedRequest c = engine->check(*text, registry ? &*registry : nullptr);
            ds = c.diagnostics;
            if (is_parse_failure(ds)) exit_code = kUnreadable;
            else if (has_errors(ds) && exit_code == kOk) exit_code = kInvalid;
            else if (!has_errors(ds)) ++valid;
        }
        if (format == "json") {
            for (const auto& d : ds) {
                auto j = diagnostic_json(d);
                j["file"] = file;
                all.push_back(j);
            }
        } else {
            print_diagnostics(std::cout, file, ds);
        }
    }
    if (format == "json") std::cout << all.dump(2) << "\n";
    std::cerr << "appforge validate: " << valid << " of " << args.positional.size()
              << " file(s) valid (image check: " << (registry ? "registry" : "format only") << ")\n";
    return exit_code;
}

}  // namespace appforge::cli
