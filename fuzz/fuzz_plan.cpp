// Planning against an in-memory GitOps repo: plan_request never writes outside the app's folder.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return appforge::fuzz::plan_one(data, size);
}
