// One shared, immutable Engine used from 8 threads at once must give every thread exactly the
// output a single thread gets (run under ThreadSanitizer by tools/ci-sanitizers.sh).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"

namespace {

using appforge::Engine;
using nlohmann::json;

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Everything a caller can observe of one render: the bytes and every diagnostic.
std::string observe(const Engine& engine, const std::string& text) {
    std::string out;
    auto checked = engine.check(text);
    for (const auto& d : checked.diagnostics) out += "check " + d.path + " " + d.code + " " + d.message + "\n";
    auto r = engine.render_text(text);
    for (const auto& d : r.diagnostics) out += "render " + d.path + " " + d.code + " " + d.message + "\n";
    if (r.ok())
        for (const auto& f : r.value->files) out += "== " + f.path + "\n" + f.text;
    return out;
}

/// The example requests, each also under several app names, plus a few broken variants, so
/// threads exercise every pattern, the schema layer's error path and the template escapes.
std::vector<std::string> workload() {
    std::vector<std::string> texts;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(std::string(APPFORGE_SOURCE_DIR) + "/examples/requests"))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::string text = slurp(f);
        texts.push_back(text);
        auto doc = appforge::parse_document(text);
        if (!doc.ok() || !doc.value->contains("appName")) continue;
        for (int i = 0; i < 6; ++i) {
            json variant = *doc.value;
            variant["appName"] = variant["appName"].get<std::string>() + "-t" + std::to_string(i);
            if (i == 4) variant["appName"] = "Bad_Name";            // a rule error
            if (i == 5) variant["unknownField"] = "x\"\n- y: z";    // a schema error
            texts.push_back(appforge::to_yaml(variant));
        }
    }
    texts.push_back("appName: [unclosed");  // a parse error
    return texts;
}

}  // namespace

TEST_CASE("8 threads on one shared Engine render exactly what one thread renders", "[threads]") {
    auto created = Engine::create();
    REQUIRE(created.ok());
    std::shared_ptr<const Engine> engine = *created.value;
    const auto texts = workload();
    REQUIRE(texts.size() >= 20);

    std::vector<std::string> expected;
    for (const auto& t : texts) expected.push_back(observe(*engine, t));
    std::size_t rendered = 0;
    for (const auto& e : expected) rendered += e.find("== deployment.yaml") != std::string::npos;
    REQUIRE(rendered >= 10);  // the workload really renders, not only fails

    const char* env = std::getenv("APPFORGE_THREAD_ROUNDS");
    const int rounds = env ? std::max(1, std::atoi(env)) : 4;
    constexpr int kThreads = 8;
    std::atomic<int> mismatches{0};
    std::atomic<int> done{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; ++t)
        pool.emplace_back([&, t] {
            std::shared_ptr<const Engine> mine = engine;  // each thread holds its own reference
            ready.fetch_add(1);
            while (ready.load() < kThreads) std::this_thread::yield();  // start together
            for (int r = 0; r < rounds; ++r)
                for (std::size_t k = 0; k < texts.size(); ++k) {
                    std::size_t i = (k * 7 + static_cast<std::size_t>(t) * 3 + static_cast<std::size_t>(r)) % texts.size();
                    if (observe(*mine, texts[i]) != expected[i]) mismatches.fetch_add(1);
                    done.fetch_add(1);
                }
        });
    for (auto& th : pool) th.join();
    CHECK(done.load() == kThreads * rounds * static_cast<int>(texts.size()));
    CHECK(mismatches.load() == 0);
}

TEST_CASE("Engines created concurrently are equivalent", "[threads]") {
    // Engine::create fills shared caches (bundled schemas, Kubernetes schemas) on first use.
    std::vector<std::shared_ptr<const Engine>> engines(4);
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < engines.size(); ++i)
        pool.emplace_back([&, i] {
            auto e = Engine::create();
            if (e.ok()) engines[i] = *e.value;
        });
    for (auto& th : pool) th.join();
    const std::string text = slurp(std::string(APPFORGE_SOURCE_DIR) + "/examples/requests/paperless-longhorn-backup.yaml");
    REQUIRE(engines[0]);
    const std::string first = observe(*engines[0], text);
    CHECK(first.find("== deployment.yaml") != std::string::npos);
    for (const auto& e : engines) {
        REQUIRE(e);
        CHECK(observe(*e, text) == first);
    }
}
