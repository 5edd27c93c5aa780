// Allocation counting for bounds that do not depend on the machine's speed: how many heap
// allocations a piece of code makes, and how many bytes it asks for, on the calling thread.
// tests/alloc_count.cpp hooks every allocation: under AddressSanitizer through its malloc hook
// (so ASan keeps its own operator new and its mismatch checks), otherwise by replacing the
// global operator new.
#pragma once

#include <cstdint>
#include <utility>

namespace alloc_count {

struct Totals {
    std::uint64_t calls = 0;  ///< allocations
    std::uint64_t bytes = 0;  ///< bytes requested, summed (not the peak)
};

/// This thread's running totals since it started.
Totals now();

/// The allocations made on this thread while f runs.
template <class F>
Totals during(F&& f) {
    Totals a = now();
    std::forward<F>(f)();
    Totals b = now();
    return {b.calls - a.calls, b.bytes - a.bytes};
}

/// Whether the hook is live (a sanity check: a counter that never counts proves nothing).
bool active();

}  // namespace alloc_count
