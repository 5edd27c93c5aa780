// The C API's text entry points: af_validate, af_render and af_komodo_payload on arbitrary
// text always return a known status, JSON output that parses, and no leaked buffers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "appforge/appforge.h"
#include "targets.hpp"

namespace {

af_engine* engine() {
    static af_engine* e = [] {
        af_engine* out = nullptr;
        if (af_engine_create(&out, nullptr, nullptr) != AF_OK) appforge::fuzz::fail("af_engine_create failed");
        return out;
    }();
    return e;
}

void expect_json(const af_buf& b, const char* what, bool array) {
    if (!b.data) return;
    if (std::string(b.data).size() != b.len) appforge::fuzz::fail(std::string(what) + ": len does not match");
    auto j = nlohmann::json::parse(std::string(b.data, b.len), nullptr, false);
    if (j.is_discarded()) appforge::fuzz::fail(std::string(what) + " is not JSON: " + b.data);
    if (array && !j.is_array()) appforge::fuzz::fail(std::string(what) + " is not a JSON array");
}

void expect_status(int st, const char* what) {
    if (st != AF_OK && st != AF_EPARSE && st != AF_EINVALID && st != AF_EKIND && st != AF_EINVAL)
        appforge::fuzz::fail(std::string(what) + " returned " + af_status_name(st) + ": " + af_last_error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // C strings end at the first NUL; that truncation is the caller's, not a finding.
    std::string text(reinterpret_cast<const char*>(data), size);
    const char* t = text.c_str();
    af_buf diags{nullptr, 0};
    int st = af_validate(&diags, engine(), t);
    expect_status(st, "af_validate");
    if (st != AF_EINVAL && !diags.data) appforge::fuzz::fail("af_validate gave no diagnostics");
    expect_json(diags, "af_validate diagnostics", true);
    af_buf_dispose(&diags);

    af_buf bundle{nullptr, 0};
    st = af_render(&bundle, &diags, engine(), t);
    expect_status(st, "af_render");
    if ((st == AF_OK) != (bundle.data != nullptr)) appforge::fuzz::fail("af_render bundle presence disagrees with status");
    expect_json(bundle, "af_render bundle", false);
    expect_json(diags, "af_render diagnostics", true);
    af_buf_dispose(&bundle);
    af_buf_dispose(&diags);

    af_buf payload{nullptr, 0};
    st = af_komodo_payload(&payload, nullptr, engine(), t);
    expect_status(st, "af_komodo_payload");
    expect_json(payload, "af_komodo_payload payload", false);
    af_buf_dispose(&payload);
    af_buf_dispose(&payload);  // disposing twice is allowed: the first reset it
    return 0;
}
