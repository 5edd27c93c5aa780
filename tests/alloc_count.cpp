#include "alloc_count.hpp"

#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define APPFORGE_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define APPFORGE_ALLOC_ASAN 1
#endif
#endif

namespace {
thread_local std::uint64_t t_calls = 0;
thread_local std::uint64_t t_bytes = 0;
inline void count(std::size_t n) noexcept {
    ++t_calls;
    t_bytes += n;
}
}  // namespace

namespace alloc_count {
Totals now() { return {t_calls, t_bytes}; }
bool active() {
    Totals before = now();
    auto* p = new int(1);
    Totals after = now();
    delete p;
    return after.calls > before.calls && after.bytes >= before.bytes + sizeof(int);
}
}  // namespace alloc_count

#ifdef APPFORGE_ALLOC_ASAN
// Declared here: GCC ships only some of the sanitizer headers (not allocator_interface.h).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));
namespace {
void on_malloc(const volatile void*, std::size_t n) { count(n); }
void on_free(const volatile void*) {}
[[maybe_unused]] const int kInstalled = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
// Every form of operator new reaches one of these two; delete stays the default (it frees
// what malloc returned).
void* operator new(std::size_t n) {
    count(n);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
    count(n);
    std::size_t al = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    count(n);
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return operator new(n, std::nothrow); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
