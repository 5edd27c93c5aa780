// The pattern authors' kit (test-patterns, diff) and the Backstage template generator.
#include <filesystem>
#include <iostream>

#include "appforge/backstage.hpp"
#include "appforge/document.hpp"
#include "appforge/edge/safe_fs.hpp"
#include "appforge/patterntest.hpp"
#include "cli.hpp"

namespace appforge::cli {

namespace fs = std::filesystem;

namespace {

std::string case_label(const std::string& root, const std::string& dir) {
    std::string rel = fs::path(dir).lexically_relative(root).generic_string();
    return rel.empty() || rel == "." ? dir : rel;
}

void print_file_diffs(std::ostream& out, const std::vector<patterntest::FileDiff>& diffs) {
    for (const auto& d : diffs) out << d.diff;
}

}  // namespace

int cmd_test_patterns(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns"});
    if (!args.errors.empty() || args.positional.size() != 1) {
        for (const auto& e : args.errors) std::cerr << "appforge test-patterns: " << e << "\n";
        std::cerr << "usage: appforge test-patterns CASES_DIR [--patterns DIR] [--profile P] [--update]\n";
        return kUnreadable;
    }
    const std::string root = args.positional[0];
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    auto cases = patterntest::find_cases(root);
    if (cases.empty()) {
        std::cerr << "appforge test-patterns: " << root << ": no case folders (folders with request.yaml)\n";
        return kUnreadable;
    }
    const bool update = args.has("update");
    int passed = 0, failed = 0;
    for (const auto& dir : cases) {
        const std::string label = case_label(root, dir);
        if (update) {
            auto before = patterntest::run_case(dir, *engine);
            if (before.errors.empty() && !before.diffs.empty()) {
                auto problems = patterntest::update_case(dir, *engine);
                print_diagnostics(std::cerr, label, problems);
                if (problems.empty()) std::cout << "updated " << label << " (" << before.diffs.size() << " files)\n";
            }
        }
        auto r = patterntest::run_case(dir, *engine);
        if (r.passed()) {
            ++passed;
            std::cout << "ok   " << label << "\n";
            continue;
        }
        ++failed;
        std::cout << "FAIL " << label << "\n";
        print_diagnostics(std::cout, label, r.errors);
        for (const auto& d : r.diffs) std::cout << "  " << patterntest::to_string(d.kind) << ": " << d.path << "\n";
        print_file_diffs(std::cout, r.diffs);
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed ? kInvalid : kOk;
}

int cmd_diff(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "patterns-new"});
    if (!args.errors.empty() || args.positional.empty() || !args.has("patterns-new")) {
        for (const auto& e : args.errors) std::cerr << "appforge diff: " << e << "\n";
        std::cerr << "usage: appforge diff [--patterns OLD] --patterns-new NEW [--profile P] REQUEST...\n";
        return kUnreadable;
    }
    auto old_engine = make_engine(args, std::cerr);
    Args new_args = args;
    new_args.options["patterns"] = args.options.at("patterns-new");
    auto new_engine = make_engine(new_args, std::cerr);
    if (!old_engine || !new_engine) return kUnreadable;

    std::vector<std::pair<std::string, std::string>> requests;
    for (const auto& file : args.positional) {
        std::string error;
        auto text = read_input(file, error);
        if (!text) {
            std::cerr << file << ": " << error << "\n";
            return kUnreadable;
        }
        requests.emplace_back(file, *text);
    }
    int changed = 0;
    for (const auto& rd : patterntest::diff_catalogs(requests, *old_engine, *new_engine)) {
        if (rd.diffs.empty()) {
            std::cout << "unchanged " << rd.name << "\n";
            continue;
        }
        ++changed;
        std::cout << "changed   " << rd.name << " (" << rd.diffs.size() << " files)\n";
        print_file_diffs(std::cout, rd.diffs);
    }
    std::cout << changed << " changed, " << (requests.size() - static_cast<std::size_t>(changed)) << " unchanged\n";
    return changed ? kInvalid : kOk;
}

int cmd_backstage_template(int argc, char** argv) {
    Args args = parse_args(argc, argv, 2, {"profile", "patterns", "workflow", "out", "output"});
    std::string workflow = args.get("workflow").value_or("");
    std::string format = args.get("output").value_or("yaml");
    if (!args.errors.empty() || !args.positional.empty() ||
        (workflow != "" && workflow != "gitops" && workflow != "nas") || (format != "yaml" && format != "json")) {
        for (const auto& e : args.errors) std::cerr << "appforge backstage-template: " << e << "\n";
        std::cerr << "usage: appforge backstage-template [--profile P] [--patterns DIR] [--workflow gitops|nas] "
                     "[--out DIR] [--output yaml|json] [--form-schema]\n";
        return kUnreadable;
    }
    auto engine = make_engine(args, std::cerr);
    if (!engine) return kUnreadable;
    std::vector<backstage::Workflow> flows;
    if (workflow != "nas") flows.push_back(backstage::Workflow::gitops);
    if (workflow != "gitops") flows.push_back(backstage::Workflow::nas);
    const bool form_only = args.has("form-schema");
    auto text_of = [&](const nlohmann::json& doc) {
        return format == "json" ? to_json_text(doc) : to_yaml(doc);
    };

    if (auto out = args.get("out")) {
        // The folders are held open and written through edge::safe_fs, so a link planted in --out
        // (a workflow folder, or any temporary name) is never followed.
        std::string error;
        edge::safe_fs::Dir top = edge::safe_fs::open_dir(*out, true, error);
        if (!top.is_open()) {
            std::cerr << "appforge backstage-template: " << error << "\n";
            return kUnreadable;
        }
        for (auto w : flows) {
            const std::string sub = backstage::to_string(w);
            edge::safe_fs::Dir dir = edge::safe_fs::open_subdir(top, sub, true, error);
            const std::string shown = (fs::path(*out) / sub).generic_string();
            if (!dir.is_open()) {
                std::cerr << "appforge backstage-template: " << shown << ": " << error << "\n";
                return kUnreadable;
            }
            auto doc = form_only ? backstage::form_schema(*engine, w) : backstage::template_document(*engine, w);
            std::string name = form_only ? "form-schema.json" : (format == "json" ? "template.json" : "template.yaml");
            if (!edge::safe_fs::write_file(dir, name, form_only ? to_json_text(doc) : text_of(doc), error)) {
                std::cerr << "appforge backstage-template: " << shown << "/" << error << "\n";
                return kUnreadable;
            }
            std::cout << shown << "/" << name << "\n";
        }
        return kOk;
    }
    if (form_only) {
        if (flows.size() != 1) {
            std::cerr << "appforge backstage-template: --form-schema needs --workflow gitops|nas\n";
            return kUnreadable;
        }
        std::cout << to_json_text(backstage::form_schema(*engine, flows[0]));
        return kOk;
    }
    if (format == "json" && flows.size() > 1) {
        nlohmann::json all = nlohmann::json::array();
        for (auto w : flows) all.push_back(backstage::template_document(*engine, w));
        std::cout << to_json_text(all);
        return kOk;
    }
    bool first = true;
    for (auto w : flows) {
        if (format == "yaml" && !first) std::cout << "---\n";
        std::cout << text_of(backstage::template_document(*engine, w));
        first = false;
    }
    return kOk;
}

}  // namespace appforge::cli
