#include "appforge/resources.hpp"

#include <algorithm>

namespace appforge::resources {
namespace detail {
struct Entry {
    const char* path;
    std::string_view data;
};
extern const Entry entries[];
}  // namespace detail

std::optional<std::string_view> find(std::string_view path) {
    for (const detail::Entry* e = detail::entries; e->path != nullptr; ++e)
        if (path == e->path) return e->data;
    return std::nullopt;
}

std::vector<std::string> list(std::string_view prefix) {
    std::vector<std::string> out;
    for (const detail::Entry* e = detail::entries; e->path != nullptr; ++e) {
        std::string_view p = e->path;
        if (p.substr(0, prefix.size()) == prefix) out.emplace_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace appforge::resources
