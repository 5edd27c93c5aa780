// The "image must be pullable" rule is wired to the ImageChecker interface: a fake proves
// which reference the core asks about and how each answer turns into a diagnostic.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "appforge/engine.hpp"
#include "appforge/validate.hpp"

using namespace appforge;

namespace {

class FakeChecker : public ImageChecker {
public:
    ImageCheckResult::Outcome outcome = ImageCheckResult::Outcome::found;
    mutable std::vector<std::string> asked;
    ImageCheckResult check(const rules::ImageRef& image) const override {
        asked.push_back(rules::image_reference_string(image));
        return {outcome, "fake says so"};
    }
};

std::string request(const std::string& image) {
    return "operatorId: alice\nappName: whoami\ncontainerImage: " + image +
           "\nstoragePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
}

std::vector<Diagnostic> image_diags(const CheckedRequest& c) {
    std::vector<Diagnostic> out;
    for (const auto& d : c.diagnostics)
        if (d.path == "/containerImage") out.push_back(d);
    return out;
}

}  // namespace

TEST_CASE("image checker: asked with the normalised reference, found passes", "[images]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    FakeChecker fake;
    auto c = (*engine.value)->check(request("nginx"), &fake);
    CHECK(c.ok());
    CHECK(fake.asked == std::vector<std::string>{"docker.io/library/nginx:latest"});

    // A loopback registry is asked only once the profile lists it (registries.allowed).
    EngineOptions o;
    o.profile_text = "registries:\n  allowed: [registry-1.docker.io, \"127.0.0.1:5000\"]\n";
    auto local = Engine::create(o);
    REQUIRE(local.ok());
    fake.asked.clear();
    (*local.value)->check(request("127.0.0.1:5000/acme/app:v2"), &fake);
    CHECK(fake.asked == std::vector<std::string>{"127.0.0.1:5000/acme/app:v2"});
}

TEST_CASE("image checker: not found gives the data model's exact message", "[images]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    FakeChecker fake;
    fake.outcome = ImageCheckResult::Outcome::not_found;
    auto c = (*engine.value)->check(request("ghcr.io/acme/missing:1.0"), &fake);
    CHECK_FALSE(c.ok());
    auto ds = image_diags(c);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].message == "Container image not found. Verify image name and registry access");
    CHECK(ds[0].code == "image.not_found");
}

TEST_CASE("image checker: unreachable and denied are told apart from not found", "[images]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    FakeChecker fake;
    fake.outcome = ImageCheckResult::Outcome::unreachable;
    auto ds = image_diags((*engine.value)->check(request("ghcr.io/acme/app:1"), &fake));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "image.unreachable");
    CHECK(ds[0].message.find("fake says so") != std::string::npos);

    fake.outcome = ImageCheckResult::Outcome::denied;
    ds = image_diags((*engine.value)->check(request("ghcr.io/acme/app:1"), &fake));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "image.denied");
}

TEST_CASE("image checker: without a checker only the format is checked, and bad formats never reach it", "[images]") {
    auto engine = Engine::create();
    REQUIRE(engine.ok());
    CHECK((*engine.value)->check(request("ghcr.io/acme/anything:1")).ok());
    FakeChecker fake;
    fake.outcome = ImageCheckResult::Outcome::not_found;
    auto c = (*engine.value)->check(request("UPPER/Case"), &fake);
    CHECK(fake.asked.empty());
    auto ds = image_diags(c);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == "image.format");
}
