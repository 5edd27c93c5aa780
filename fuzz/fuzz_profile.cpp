// The profile loader: Engine::create with arbitrary profile text; a profile it accepts must
// render a known-good request into YAML that reads back as the same objects.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::profile_one(data, size);
}
