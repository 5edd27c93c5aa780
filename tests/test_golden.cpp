// Golden bundles: every storage x ingress x backup combination under the default profile and
// examples/profiles/lab2.yaml renders byte-for-byte what tests/golden/ holds (written by
// tools/update-goldens.sh and reviewed by eye); rejected combinations give their diagnostics.
#include <catch2/catch.hpp>

#include <set>

#include "corpus_support.hpp"

using nlohmann::json;
namespace fs = corpus::fs;

namespace {

/// "default" is the shipped profile; any other name is examples/profiles/<name>.yaml.
fs::path profile_file(const std::string& name) {
    return name == "default" ? fs::path() : corpus::source_dir() / "examples/profiles" / (name + ".yaml");
}

std::set<std::string> files_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

}  // namespace

TEST_CASE("golden folders cover every combination of the catalog under both profiles", "[golden]") {
    for (const std::string profile : {"default", "lab2"}) {
        auto engine = corpus::engine_for(profile_file(profile));
        const auto& cat = engine->catalog();
        std::size_t n = 0;
        for (const auto& s : cat.ids(appforge::PatternKind::storage))
            for (const auto& i : cat.ids(appforge::PatternKind::ingress))
                for (const auto& b : cat.ids(appforge::PatternKind::backup)) {
                    fs::path base = corpus::source_dir() / "tests/golden" / profile / (s + "__" + i + "__" + b);
                    INFO(base.string());
                    CHECK(fs::is_directory(base));
                    CHECK(fs::exists(base.string() + ".request.yaml"));
                    ++n;
                }
        CHECK(n == 16);
    }
}

TEST_CASE("rendering matches the golden folders byte for byte", "[golden]") {
    std::size_t rendered = 0, rejected = 0;
    for (const std::string profile : {"default", "lab2"}) {
        auto engine = corpus::engine_for(profile_file(profile));
        fs::path root = corpus::source_dir() / "tests/golden" / profile;
        std::vector<fs::path> requests;
        for (const auto& e : fs::directory_iterator(root)) {
            std::string n = e.path().filename().string();
            if (n.size() > 13 && n.substr(n.size() - 13) == ".request.yaml") requests.push_back(e.path());
        }
        std::sort(requests.begin(), requests.end());
        REQUIRE(requests.size() == 16);
        for (const auto& req : requests) {
            std::string name = req.filename().string();
            fs::path dir = root / name.substr(0, name.size() - 13);
            INFO("golden: " << dir.string());
            auto result = engine->render_text(corpus::read_file(req));
            auto golden = files_in(dir);
            if (golden.count("diagnostics.json")) {
                CHECK(golden.size() == 1);
                CHECK_FALSE(result.ok());
                json expected = json::parse(corpus::read_file(dir / "diagnostics.json"));
                CHECK(corpus::diagnostics_json(result.diagnostics) == expected);
                ++rejected;
                continue;
            }
            REQUIRE(result.ok());
            CHECK_FALSE(appforge::has_errors(result.diagnostics));
            std::set<std::string> produced;
            for (const auto& f : result.value->files) {
                produced.insert(f.path);
                if (!golden.count(f.path)) continue;
                INFO("file: " << f.path);
                CHECK(f.text == corpus::read_file(dir / f.path));
            }
            CHECK(produced == golden);
            ++rendered;
        }
    }
    // 4 storage x 2 ingress x 2 backup per profile; volsync needs a persistent volume, so the
    // ephemeral and s3-external backups are rejected.
    CHECK(rendered == 24);
    CHECK(rejected == 8);
}

TEST_CASE("golden files follow the output conventions", "[golden]") {
    for (const auto& e : fs::recursive_directory_iterator(corpus::source_dir() / "tests/golden")) {
        if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
        if (e.path().parent_path().filename() == "default" || e.path().parent_path().filename() == "lab2") continue;
        std::string text = corpus::read_file(e.path());
        INFO(e.path().string());
        REQUIRE_FALSE(text.empty());
        CHECK(text.back() == '\n');
        CHECK(text.find('\t') == std::string::npos);
        CHECK(text.find("\nkind: Secret\n") == std::string::npos);
        CHECK(text.find(" \n") == std::string::npos);  // no trailing spaces
        // 2-space indentation: every indent is even.
        std::istringstream lines(text);
        std::string line;
        while (std::getline(lines, line)) {
            std::size_t indent = line.find_first_not_of(' ');
            if (indent != std::string::npos) CHECK(indent % 2 == 0);
        }
    }
}
