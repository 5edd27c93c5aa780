#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "cli.hpp"

namespace appforge::cli {

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& value_options) {
    Args a;
    auto takes_value = [&](const std::string& n) {
        for (const auto& v : value_options)
            if (v == n) return true;
        return false;
    };
    for (int i = first; i < argc; ++i) {
        std::string s = argv[i];
        if (s.size() > 2 && s.rfind("--", 0) == 0) {
            std::string name = s.substr(2), value;
            auto eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            } else if (takes_value(name)) {
                if (i + 1 >= argc) {
                    a.errors.push_back("option --" + name + " needs a value");
                    continue;
                }
                value = argv[++i];
            }
            a.options[name].push_back(value);
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

std::optional<std::string> read_input(const std::string& path, std::string& error) {
    constexpr std::size_t kMax = 64u << 20;  // the parser refuses > 1 MiB with a diagnostic; don't slurp GBs
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!f) {
        error = std::string("cannot read: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::string data;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        data.append(buf, n);
        if (data.size() > kMax) break;
    }
    bool bad = std::ferror(f);
    if (f != stdin) std::fclose(f);
    if (bad) {
        error = "read error";
        return std::nullopt;
    }
    return data;
}

std::optional<long> fail_after_writes_hook() {
    const char* v = std::getenv("APPFORGE_FAIL_AFTER_WRITES");
    if (!v || !*v) return std::nullopt;
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (*end || n < 0) return std::nullopt;
    return n;
}

std::shared_ptr<const Engine> make_engine(const Args& args, std::ostream& err) {
    EngineOptions opts;
    if (auto p = args.get("profile")) {
        std::string e;
        auto text = read_input(*p, e);
        if (!text) {
            err << *p << ": " << e << "\n";
            return nullptr;
        }
        opts.profile_text = *text;
        opts.profile_name = *p;
    }
    if (args.options.count("patterns"))
        for (const auto& d : args.options.at("patterns")) opts.pattern_dirs.push_back(d);
    if (auto url = args.get("url")) opts.komodo_url = *url;  // only `komodo` takes --url: it overrides komodo.url
    if (auto s = args.get("server")) opts.komodo_server = *s;  // and --server / --swarm: komodo.server / swarm
    if (auto s = args.get("swarm")) opts.komodo_swarm = *s;
    auto engine = Engine::create(opts);
    for (const auto& d : engine.diagnostics)
        err << "appforge: " << (d.path.empty() ? "" : d.path + ": ") << d.message << " [" << d.code << "]\n";
    return engine.ok() ? *engine.value : nullptr;
}

void print_diagnostics(std::ostream& out, const std::string& file, const Diagnostics& ds) {
    for (const auto& d : ds)
        out << file << ": " << (d.path.empty() ? "/" : d.path) << ": " << (d.severity == Severity::warning ? "warning: " : "")
            << d.message << " [" << d.code << "]\n";
}

nlohmann::json diagnostic_json(const Diagnostic& d) {
    return nlohmann::json{{"path", d.path}, {"code", d.code}, {"message", d.message}, {"severity", to_string(d.severity)}};
}

}  // namespace appforge::cli
