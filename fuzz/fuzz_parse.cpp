// Request parsing (YAML and JSON): parse_document never crashes, and whatever it accepts
// survives the deterministic YAML and JSON emitters unchanged.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::parse_one(data, size);
}
