// Validation: Engine::check on arbitrary text reports diagnostics that name fields, never crashes.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::check_one(data, size);
}
