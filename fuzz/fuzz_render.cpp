// Rendering: Engine::render_text on arbitrary text; every bundle it produces reads back as
// the objects it claims to hold, and rendering the same text twice gives the same bytes.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::render_one(data, size);
}
