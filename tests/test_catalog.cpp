// The catalog as data: an override directory changes the output without recompiling, unknown
// ids list the valid ones, broken or unsafe templates are rejected at load with file and line,
// and rendering is deterministic across calls and Engines.
#include <catch2/catch.hpp>

#include "corpus_support.hpp"

using nlohmann::json;

namespace {

std::string data(const std::string& rel) { return (corpus::source_dir() / "tests/data" / rel).string(); }

std::shared_ptr<const appforge::Engine> engine_with_patterns(const std::string& dir) {
    appforge::EngineOptions o;
    o.pattern_dirs.push_back(dir);
    auto e = appforge::Engine::create(o);
    INFO(corpus::diagnostics_json(e.diagnostics).dump(1));
    REQUIRE(e.ok());
    return *e.value;
}

const std::string kLonghorn =
    "operatorId: alice\nappName: demo\ncontainerImage: nginx:1.27\nstoragePattern: longhorn-persistent\n"
    "storageConfig: {sizeGi: 3}\ningressPattern: internal-only\nbackupStrategy: volsync-snapshots\n";

std::string with_storage(const std::string& id) {
    std::string t = kLonghorn;
    t.replace(t.find("longhorn-persistent"), 19, id);
    return t;
}

/// The line number of the first line containing needle, 1-based.
int line_containing(const std::string& file, const std::string& needle) {
    std::istringstream in(corpus::read_file(file));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.find(needle) != std::string::npos) return n;
    return -1;
}

}  // namespace

TEST_CASE("an override directory adds and replaces patterns at run time", "[catalog]") {
    auto builtin = corpus::engine_for({});
    auto over = engine_with_patterns(data("patterns-override"));

    // A new id: unknown to the built-in catalog, usable with the override.
    auto rejected = builtin->render_text(with_storage("ceph-rbd"));
    CHECK_FALSE(rejected.ok());
    auto ceph = over->render_text(with_storage("ceph-rbd"));
    INFO(corpus::diagnostics_json(ceph.diagnostics).dump(1));
    REQUIRE(ceph.ok());
    const auto* pvc = ceph.value->find("persistentvolumeclaim.yaml");
    REQUIRE(pvc);
    CHECK(pvc->object["spec"]["storageClassName"] == "ceph-rbd-retain");
    const auto& pod = ceph.value->find("deployment.yaml")->object["spec"]["template"]["spec"];
    CHECK(pod["volumes"][0]["name"] == "ceph-data");
    CHECK(ceph.value->find("replicationsource.yaml"));  // persistent: volsync accepts it

    // An override of a built-in id changes that pattern's output and nothing else.
    auto a = builtin->render_text(kLonghorn);
    auto b = over->render_text(kLonghorn);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.value->find("persistentvolumeclaim.yaml")->object["spec"]["storageClassName"] == "longhorn");
    CHECK(b.value->find("persistentvolumeclaim.yaml")->object["spec"]["storageClassName"] == "longhorn-retain");
    CHECK(a.value->find("deployment.yaml")->text == b.value->find("deployment.yaml")->text);
    CHECK(a.value->find("service.yaml")->text == b.value->find("service.yaml")->text);
    CHECK(over->catalog().find(appforge::PatternKind::storage, "longhorn-persistent")->name ==
          "Longhorn Persistent (site override)");
    // The built-in engine is untouched.
    CHECK(builtin->catalog().find(appforge::PatternKind::storage, "ceph-rbd") == nullptr);
}

TEST_CASE("an unknown pattern id lists the valid ids, including overrides", "[catalog]") {
    auto over = engine_with_patterns(data("patterns-override"));
    auto c = over->check(with_storage("cephfs"));
    REQUIRE(c.diagnostics.size() == 1);
    CHECK(c.diagnostics[0].path == "/storagePattern");
    CHECK(c.diagnostics[0].message ==
          "Unknown storage pattern 'cephfs'; valid ids are: ceph-rbd, ephemeral, longhorn-persistent, nas-mount, "
          "s3-external");
}

TEST_CASE("a template that does not parse is rejected at load, naming file and line", "[catalog]") {
    appforge::EngineOptions o;
    o.pattern_dirs.push_back(data("patterns-broken"));
    auto e = appforge::Engine::create(o);
    CHECK_FALSE(e.ok());
    REQUIRE(e.diagnostics.size() == 1);
    std::string file = data("patterns-broken/storage/broken.yaml");
    const std::string& msg = e.diagnostics[0].message;
    INFO(msg);
    CHECK(e.diagnostics[0].code == "pattern.template");
    CHECK(msg.find(file + ":") == 0);
    // The line is a real line of that file, inside the broken template.
    int line = std::stoi(msg.substr(file.size() + 1));
    CHECK(line >= line_containing(file, "template: |"));
    CHECK(line <= line_containing(file, "{{#s3Bucket}}"));
    CHECK(msg.find("does not parse") != std::string::npos);
    // And nothing from the broken directory leaked into a catalog.
    appforge::Catalog cat = *appforge::Catalog::builtin().value;
    CHECK_FALSE(cat.load_dir(data("patterns-broken")).empty());
    CHECK(cat.find(appforge::PatternKind::storage, "broken") == nullptr);
}

TEST_CASE("an unquoted {{value}} is rejected by the lint", "[catalog]") {
    appforge::Catalog cat = *appforge::Catalog::builtin().value;
    auto ds = cat.load_dir(data("patterns-unquoted"));
    REQUIRE(ds.size() == 1);
    std::string file = data("patterns-unquoted/storage/unquoted.yaml");
    CHECK(ds[0].message == file + ":" + std::to_string(line_containing(file, "name: {{volumeName}}")) +
                               ": {{volumeName}} must be inside a double-quoted YAML string (\"...\") so the escape applies");
    CHECK(cat.find(appforge::PatternKind::storage, "unquoted") == nullptr);
    // The other unsafe forms, straight through Catalog::add.
    auto lint = [&](const std::string& volume) {
        appforge::Catalog c;
        std::string text = "id: t\nkind: storage\nname: T\ndescription: d\nvolumeName: v\nvolume: |\n" + volume;
        auto d = c.add("t.yaml", text);
        return d.empty() ? std::string() : d[0].message;
    };
    CHECK(lint("  name: \"{{volumeName}}\"\n  emptyDir: {}\n").empty());
    CHECK(lint("  name: \"{{{volumeName}}}\"\n  emptyDir: {}\n").find("unescaped tag") != std::string::npos);
    CHECK(lint("  name: \"{{&volumeName}}\"\n  emptyDir: {}\n").find("unescaped tag") != std::string::npos);
    CHECK(lint("  name: '{{volumeName}}'\n  emptyDir: {}\n").find("inside single quotes") != std::string::npos);
    CHECK(lint("  name: \"{{>partial}}\"\n  emptyDir: {}\n").find("not allowed in patterns") != std::string::npos);
}

TEST_CASE("rendering is deterministic: twice, and in a fresh Engine, byte-identical", "[catalog]") {
    std::vector<std::string> requests;
    for (const auto& f : corpus::request_files("valid")) {
        if (corpus::profile_for(f).empty()) requests.push_back(corpus::read_file(f));
    }
    auto first = corpus::engine_for({});
    auto fresh = appforge::Engine::create();
    REQUIRE(fresh.ok());
    std::size_t rendered = 0;
    for (const auto& text : requests) {
        auto a = first->render_text(text);
        if (!a.ok()) continue;  // Komodo requests have no bundle
        auto b = first->render_text(text);
        auto c = (*fresh.value)->render_text(text);
        REQUIRE(b.ok());
        REQUIRE(c.ok());
        REQUIRE(a.value->files.size() == c.value->files.size());
        for (std::size_t i = 0; i < a.value->files.size(); ++i) {
            CHECK(a.value->files[i].path == c.value->files[i].path);
            CHECK(a.value->files[i].text == b.value->files[i].text);
            CHECK(a.value->files[i].text == c.value->files[i].text);
        }
        CHECK(a.value->stream() == c.value->stream());
        ++rendered;
    }
    CHECK(rendered >= 15);
}
