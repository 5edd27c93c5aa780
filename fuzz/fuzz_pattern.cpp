// The pattern loader: Catalog::add with arbitrary pattern file text; a template it accepts
// renders with hostile values and still yields YAML of the shape the loader proved.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::pattern_one(data, size);
}
