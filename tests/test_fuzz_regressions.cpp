// Every input a fuzz target ever failed on (tests/data/hostile/regressions/<target>--<what>.*)
// runs again through the same target code with the same invariants (fuzz/targets.hpp).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>

#define APPFORGE_FUZZ_THROW 1
#include "../fuzz/targets.hpp"

namespace {

int run_target(const std::string& target, const std::string& bytes) {
    auto d = reinterpret_cast<const std::uint8_t*>(bytes.data());
    namespace f = appforge::fuzz;
    if (target == "parse") return f::parse_one(d, bytes.size());
    if (target == "check") return f::check_one(d, bytes.size());
    if (target == "render") return f::render_one(d, bytes.size());
    if (target == "render_fields") return f::render_fields_one(d, bytes.size());
    if (target == "profile") return f::profile_one(d, bytes.size());
    if (target == "pattern") return f::pattern_one(d, bytes.size());
    if (target == "plan") return f::plan_one(d, bytes.size());
    if (target == "pattern_policy") return f::pattern_policy_one(d, bytes.size());
    FAIL("unknown fuzz target '" << target << "' in a regression file name");
    return -1;
}

}  // namespace

TEST_CASE("fuzz regressions stay fixed", "[hostile][fuzz]") {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(std::string(APPFORGE_SOURCE_DIR) + "/tests/data/hostile/regressions"))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    for (const auto& p : files) {
        std::string name = p.filename().string();
        auto sep = name.find("--");
        REQUIRE(sep != std::string::npos);
        std::ifstream in(p, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        SECTION(name) {
            CHECK_NOTHROW(run_target(name.substr(0, sep), ss.str()));
        }
    }
}
