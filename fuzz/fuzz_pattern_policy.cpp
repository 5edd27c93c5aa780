// Pattern policy: a pattern that verifies renders no plaintext Secret and nothing the policy forbids.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::pattern_policy_one(data, size);
}
