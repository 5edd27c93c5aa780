// Google Benchmark programs for the engine: each stage of one request, the whole pipeline,
// Engine creation, and a generated batch covering every pattern combination and two profiles.
//
// Inputs: examples/requests/ of the source tree; the batch is written by bench/gen_requests.py
// into a temporary folder (or read from $APPFORGE_BENCH_BATCH_DIR/{default,lab2}/ if set).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "appforge/document.hpp"
#include "appforge/engine.hpp"
#include "appforge/model.hpp"
#include "appforge/render.hpp"
#include "appforge/schema.hpp"

namespace fs = std::filesystem;
using namespace appforge;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

fs::path source_dir() { return fs::path(APPFORGE_SOURCE_DIR); }

/// The richest example (Longhorn volume, Volsync backup, resource requests): the pipeline's
/// most expensive common shape.
const std::string& example_text() {
    static const std::string text = slurp(source_dir() / "examples/requests/paperless-longhorn-backup.yaml");
    return text;
}

std::shared_ptr<const Engine> default_engine() {
    static const std::shared_ptr<const Engine> e = [] {
        auto r = Engine::create();
        if (!r.ok()) throw std::runtime_error("default engine does not load");
        return *r.value;
    }();
    return e;
}

/// The second profile of the batch (another cluster: zones, classes, NAS, regions, restic key).
fs::path lab2_profile_path() { return source_dir() / "examples/profiles/lab2.yaml"; }

std::shared_ptr<const Engine> lab2_engine() {
    static const std::shared_ptr<const Engine> e = [] {
        EngineOptions o;
        o.profile_text = slurp(lab2_profile_path());
        o.profile_name = lab2_profile_path().string();
        auto r = Engine::create(o);
        if (!r.ok()) {
            for (const auto& d : r.diagnostics) std::cerr << d.path << ": " << d.message << "\n";
            throw std::runtime_error("lab2 engine does not load");
        }
        return *r.value;
    }();
    return e;
}

/// Reads "zones.public"-style scalars from a profile so the generated requests fit it.
std::string profile_arg(const Engine& e, const std::string& what) {
    const ClusterProfile& p = e.profile();
    if (what == "nas") return p.nasEndpoints.empty() ? std::string("nfs://nas.internal:2049") : p.nasEndpoints.front();
    if (what == "nas-root") return p.nasAppRoots.empty() ? std::string("/mnt/apps") : p.nasAppRoots.front();
    if (what == "region") return p.s3Regions.empty() ? std::string("eu-central-1") : p.s3Regions.front();
    if (what == "zone") return p.publicZone;
    return p.internalZone;
}

struct Batch {
    std::vector<std::string> texts;
    std::shared_ptr<const Engine> engine;
};

std::vector<std::string> read_dir(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    out.reserve(files.size());
    for (const auto& f : files) out.push_back(slurp(f));
    return out;
}

/// 5,000 requests per profile (10,000 in all), generated once per process.
const std::vector<Batch>& batches() {
    static const std::vector<Batch> all = [] {
        std::vector<Batch> out;
        fs::path root;
        if (const char* env = std::getenv("APPFORGE_BENCH_BATCH_DIR")) {
            root = env;
        } else {
            root = fs::temp_directory_path() / ("appforge-bench-" + std::to_string(::getpid()));
            auto gen = [&](const std::string& name, const Engine& e) {
                std::string cmd = "python3 '" + (source_dir() / "bench/gen_requests.py").string() + "' '" +
                                  (root / name).string() + "' --count 5000 --prefix " + name + "x" +
                                  " --nas-endpoint '" + profile_arg(e, "nas") + "' --nas-root '" +
                                  profile_arg(e, "nas-root") + "' --s3-region '" +
                                  profile_arg(e, "region") + "' --zone '" + profile_arg(e, "zone") +
                                  "' --internal-zone '" + profile_arg(e, "internal") + "'" +
                                  (e.profile().requireResourceRequests ? " --always-resources" : "") + " 2>/dev/null";
                if (std::system(cmd.c_str()) != 0) throw std::runtime_error("gen_requests.py failed: " + cmd);
            };
            gen("default", *default_engine());
            gen("lab2", *lab2_engine());
        }
        out.push_back(Batch{read_dir(root / "default"), default_engine()});
        out.push_back(Batch{read_dir(root / "lab2"), lab2_engine()});
        if (!std::getenv("APPFORGE_BENCH_BATCH_DIR")) {
            std::error_code ec;
            fs::remove_all(root, ec);
        }
        // Every request must render: a failing one would measure the error path instead.
        for (const auto& b : out)
            for (const auto& t : b.texts) {
                auto r = b.engine->render_text(t);
                if (!r.ok()) {
                    for (const auto& d : r.diagnostics) std::cerr << d.path << ": " << d.message << "\n";
                    throw std::runtime_error("a generated request does not render:\n" + t);
                }
            }
        return out;
    }();
    return all;
}

void BM_ParseRequest(benchmark::State& state) {
    const std::string& text = example_text();
    for (auto _ : state) {
        auto doc = parse_document(text);
        benchmark::DoNotOptimize(doc);
    }
}
BENCHMARK(BM_ParseRequest);

void BM_Validate(benchmark::State& state) {
    auto engine = default_engine();
    auto doc = parse_document(example_text());
    for (auto _ : state) {
        auto c = engine->check_document(*doc.value);
        if (!c.ok()) state.SkipWithError("example does not validate");
        benchmark::DoNotOptimize(c);
    }
}
BENCHMARK(BM_Validate);

void BM_Render(benchmark::State& state) {
    auto engine = default_engine();
    auto c = engine->check(example_text());
    for (auto _ : state) {
        auto b = render_bundle(*c.app, engine->profile(), engine->catalog());
        benchmark::DoNotOptimize(b);
    }
}
BENCHMARK(BM_Render);

void BM_Verify(benchmark::State& state) {
    auto engine = default_engine();
    auto c = engine->check(example_text());
    auto b = render_bundle(*c.app, engine->profile(), engine->catalog());
    for (auto _ : state) {
        auto d = verify_bundle(*b.value, *c.app, engine->profile(), engine->catalog(), engine->kube_schemas());
        benchmark::DoNotOptimize(d);
    }
}
BENCHMARK(BM_Verify);

/// Text in, verified bundle out: parse + schema + rules + render + verify.
void BM_FullPipeline(benchmark::State& state) {
    auto engine = default_engine();
    const std::string& text = example_text();
    for (auto _ : state) {
        auto r = engine->render_text(text);
        if (!r.ok()) state.SkipWithError("example does not render");
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_FullPipeline);

/// 256 variants of the example that differ in every value a form fills in (name, namespace,
/// image tag, CPU, size, retention, schedule) but keep its pattern combination: what a form
/// preview or a repo-wide re-render sees, where no two requests repeat.
const std::vector<std::string>& distinct_texts() {
    static const std::vector<std::string> texts = [] {
        std::vector<std::string> out;
        for (int i = 0; i < 256; ++i)
            out.push_back("operatorId: op" + std::to_string(i % 7) + "\nappName: paperless-" + std::to_string(i) +
                          "\nnamespace: documents-" + std::to_string(i % 8) +
                          "\ncontainerImage: ghcr.io/paperless-ngx/paperless-ngx:2.13." + std::to_string(i) +
                          "\nresourceRequests:\n  cpu: " + std::to_string(100 + i) + "m\n  memory: " +
                          std::to_string(256 + i) + "Mi\nstoragePattern: longhorn-persistent\nstorageConfig:\n  sizeGi: " +
                          std::to_string(1 + i % 50) + "\ningressPattern: internal-only\nbackupStrategy: volsync-snapshots\n"
                          "backupConfig:\n  retentionDays: " + std::to_string(1 + i % 30) + "\n  schedule: \"" +
                          std::to_string(i % 60) + " 3 * * *\"\n");
        for (const auto& t : out)
            if (!default_engine()->render_text(t).ok()) throw std::runtime_error("a variant does not render:\n" + t);
        return out;
    }();
    return texts;
}

/// The full pipeline over distinct requests, one request per iteration.
void BM_FullPipelineDistinct(benchmark::State& state) {
    auto engine = default_engine();
    const auto& texts = distinct_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        auto r = engine->render_text(texts[i++ % texts.size()]);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_FullPipelineDistinct);

/// The same plus the multi-document text the CLI prints.
void BM_FullPipelineToStream(benchmark::State& state) {
    auto engine = default_engine();
    const std::string& text = example_text();
    for (auto _ : state) {
        auto r = engine->render_text(text);
        std::string s = r.value->stream();
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_FullPipelineToStream);

/// A new Engine in a process that already made one: profile parse + schema check, catalog
/// load (parse, lint, compile and probe every template); the Kubernetes schemas are shared.
/// A cold process's first creation is measured by the CLI timing in bench/README.md.
void BM_EngineCreate(benchmark::State& state) {
    default_engine();
    for (auto _ : state) {
        auto e = Engine::create();
        benchmark::DoNotOptimize(e);
    }
}
BENCHMARK(BM_EngineCreate)->Unit(benchmark::kMillisecond);

/// What a cold process pays once for the bundled Kubernetes/CRD schemas (SchemaRegistry::builtin:
/// parse + compile every schemas/kubernetes file; Engines share the result).
void BM_SchemaRegistryBuiltin(benchmark::State& state) {
    for (auto _ : state) {
        auto reg = SchemaRegistry::builtin();
        benchmark::DoNotOptimize(reg);
    }
}
BENCHMARK(BM_SchemaRegistryBuiltin)->Unit(benchmark::kMillisecond);

/// What the first SchemaRegistry::find_values("app-template") pays: parse + compile the chart's
/// values schema (schemas/app-template/values.schema.json).
void BM_ValuesSchemaLoad(benchmark::State& state) {
    const std::string text(*embedded_file("schemas/app-template/values.schema.json"));
    for (auto _ : state) {
        JsonSchema schema(nlohmann::json::parse(text), "app-template values");
        benchmark::DoNotOptimize(&schema);
    }
}
BENCHMARK(BM_ValuesSchemaLoad)->Unit(benchmark::kMillisecond);

/// One app-template HelmRelease's spec.values checked (an *arr app: claim, NFS, emptyDir,
/// configMap, probes, route), warm: the same values shape as the previous call.
void BM_ValuesValidate(benchmark::State& state) {
    auto reg = SchemaRegistry::builtin();
    const nlohmann::json release = nlohmann::json::parse(R"({"spec": {"values": {
      "defaultPodOptions": {"securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}},
      "controllers": {"app": {"containers": {"app": {
        "image": {"repository": "ghcr.io/home-operations/sonarr", "tag": "4.0.15"},
        "env": {"TZ": "Europe/Berlin"}, "envFrom": [{"secretRef": {"name": "sonarr-secret"}}],
        "probes": {"liveness": {"enabled": true, "custom": true, "spec": {"httpGet": {"path": "/ping", "port": 8989}}}},
        "resources": {"requests": {"cpu": "10m"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}}}},
      "service": {"app": {"controller": "app", "ports": {"http": {"port": 8989}}}},
      "route": {"app": {"hostnames": ["sonarr.example.com"], "parentRefs": [{"name": "internal"}]}},
      "persistence": {"config": {"existingClaim": "sonarr"},
                      "media": {"type": "nfs", "server": "nas", "path": "/media", "globalMounts": [{"path": "/data", "subPath": "tv"}]},
                      "tmp": {"type": "emptyDir"},
                      "settings": {"type": "configMap", "name": "sonarr-settings"}}}}})");
    if (!reg->validate_values("app-template", release).empty()) throw std::runtime_error("bench values invalid");
    for (auto _ : state) {
        auto ds = reg->validate_values("app-template", release);
        benchmark::DoNotOptimize(ds);
    }
}
BENCHMARK(BM_ValuesValidate);

/// 10,000 generated requests (5,000 per profile, every valid pattern combination), one
/// iteration = the whole batch; items_per_second is requests per second.
void BM_Batch10000(benchmark::State& state) {
    const auto& all = batches();
    std::size_t n = 0;
    for (const auto& b : all) n += b.texts.size();
    for (auto _ : state) {
        for (const auto& b : all)
            for (const auto& t : b.texts) {
                auto r = b.engine->render_text(t);
                std::string s = r.value->stream();
                benchmark::DoNotOptimize(s);
            }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Batch10000)->Unit(benchmark::kMillisecond)->Iterations(3);

/// The hostile-input corpus (tests/data/hostile/), checked and rendered: the timings the tests
/// used to assert, measured here instead (the tests bound allocations). One iteration = every
/// file once; every one must be refused, or the benchmark stops with an error.
void BM_HostileCorpus(benchmark::State& state) {
    static const std::vector<std::string> texts = [] {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(source_dir() / "tests/data/hostile"))
            if (e.is_regular_file() && e.path().filename() != "type-operator-yaml11-bool.yaml")
                out.push_back(slurp(e.path()));
        return out;
    }();
    auto engine = Engine::create();
    if (!engine.ok() || texts.empty()) {
        state.SkipWithError("no engine or no hostile corpus");
        return;
    }
    const Engine& e = **engine.value;
    for (auto _ : state) {
        for (const auto& t : texts) {
            auto r = e.render_text(t);
            if (r.ok()) {
                state.SkipWithError("a hostile file rendered");
                return;
            }
            benchmark::DoNotOptimize(r);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * texts.size()));
}
BENCHMARK(BM_HostileCorpus)->Unit(benchmark::kMillisecond);

/// The console reporter, counting the benchmarks that stopped with SkipWithError (an example
/// that no longer validates or renders): the program then exits 1, so the bench smoke stage
/// fails instead of printing an error line and passing.
class FailingReporter : public benchmark::ConsoleReporter {
public:
    int errors = 0;
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& r : runs)
            if (r.error_occurred) {
                ++errors;
                std::cerr << "appforge_bench: " << r.benchmark_name() << " stopped: " << r.error_message << "\n";
            }
        ConsoleReporter::ReportRuns(runs);
    }
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    FailingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    if (reporter.errors) {
        std::cerr << "appforge_bench: " << reporter.errors << " benchmark(s) stopped with an error\n";
        return 1;
    }
    return 0;
}
