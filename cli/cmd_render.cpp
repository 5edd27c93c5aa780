#include <algorithm>
#include <iostream>

#include "appforge/edge/bundle_dir.hpp"
#include "cli.hpp"

namespace appforge::cli {

namespace {

/// Text held back until every request has rendered, in 1 MiB blocks filled to the brim: a
/// string per app would keep up to twice its size in capacity (10,000 apps: 25 MB of text).
class HeldText {
public:
    /// Appends a copy of `text`.
    void append(const std::string& text) {
        std::size_t at = 0;
        while (at < text.size()) {
            if (blocks_.empty() || blocks_.back().size() == blocks_.back().capacity()) {
                blocks_.emplace_back();
                blocks_.back().reserve(kBlock);
            }
            std::string& b = blocks_.back();
            std::size_t n = std::min(text.size() - at, b.capacity() - b.size());
            b.append(text, at, n);
            at += n;
        }
    }
    /// Writes everything held, in order.
    void write(std::ostream& out) const {
        for (const auto& b : blocks_) out.write(b.data(), static_cast<std::streamsize>(b.size()));
    }

private:
    static constexpr std::size_t kBlock = 1u << 20;
    std::vector<std::string> blocks_;
};

}  // namespace

int cmd_render(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "out", "output"});
    if (!args.errors.empty() || args.positional.empty()) {
        for (const auto& e : args.errors) std::cerr << "appforge render: " << e << "\n";
        std::cerr << "usage: appforge render FILE... [--profile P] [--patterns DIR] [--out DIR] [--output yaml|json]\n";
        return kUnreadable;
    }
    std::string format = args.get("output").value_or("yaml");
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    auto out_dir = args.get("out");

    int exit_code = kOk;
    std::vector<Bundle> bundles;
    HeldText streams;
    nlohmann::json json_out = nlohmann::json::array();
    for (const auto& file : args.positional) {
        std::string error;
        auto text = read_input(file, error);
        if (!text) {
            std::cerr << file << ": " << error << "\n";
            exit_code = kUnreadable;
            continue;
        }
        auto r = engine->render_text(*text);
        print_diagnostics(std::cerr, file, r.diagnostics);
        if (!r.ok()) {
            if (is_parse_failure(r.diagnostics)) exit_code = kUnreadable;
            else if (exit_code == kOk) exit_code = kInvalid;
            continue;
        }
        if (out_dir) {
            bundles.push_back(std::move(*r.value));
            // Only the text is written: dropping the objects keeps 10,000 bundles small.
            for (auto& f : bundles.back().files) f.object = nlohmann::json();
        } else if (format == "json") {
            nlohmann::json files = nlohmann::json::array();
            for (const auto& f : r.value->files) files.push_back({{"path", f.path}, {"content", f.text}});
            json_out.push_back({{"file", file}, {"app", r.value->appName}, {"files", files}});
        } else {
            streams.append(r.value->stream());
        }
    }
    // Nothing is written unless every request rendered.
    if (exit_code != kOk) return exit_code;
    if (out_dir) {
        auto written = edge::write_bundles(bundles, *out_dir, args.positional.size() > 1, false);
        if (!written.ok()) {
            std::cerr << "appforge render: " << written.error << "\n";
            return kUnreadable;
        }
        if (!written.kept.empty())
            std::cerr << "appforge render: warning: files appeared in the old " << *out_dir
                      << " while it was replaced; they were kept in " << written.kept << " next to it\n";
    } else if (format == "json") {
        std::cout << json_out.dump(2) << "\n";
    } else {
        streams.write(std::cout);
    }
    return kOk;
}

}  // namespace appforge::cli
