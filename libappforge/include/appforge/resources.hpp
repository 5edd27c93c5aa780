// Files compiled into the library at build time (schemas, patterns, the default profile).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appforge::resources {

/// The embedded file at a repository-relative path such as "schemas/app-request.schema.json".
std::optional<std::string_view> find(std::string_view path);

/// Every embedded path that starts with prefix, sorted, so loaders need no directory listing.
std::vector<std::string> list(std::string_view prefix);

}  // namespace appforge::resources
