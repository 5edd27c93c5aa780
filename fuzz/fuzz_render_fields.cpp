// Rendering with hostile values in otherwise valid requests: the first byte picks a request
// and a field, the rest becomes that field's value (string, or number when it parses as one).
// Whatever passes validation must render YAML that reads back as the same objects.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::render_fields_one(data, size);
}
