// Writing rendered bundles into folders, all or nothing. Part of the edge library
// (appforge_edge): the CLI, the C API and the Python package write bundles through it.
#pragma once

#include <string>
#include <vector>

#include "appforge/render.hpp"

namespace appforge::edge {

/// How write_bundles ended; `error` says why when it did not succeed.
struct WriteResult {
    enum class Status { ok, exists, bad_name, io_error } status = Status::ok;
    std::string error;
    /// True when every file was written.
    bool ok() const { return status == Status::ok; }
};

/// Writes the bundles' files into `dir` (with `per_app`, into `dir/<app>` each) in a staging
/// folder next to it, then renames that into place: a failure leaves nothing behind. Refuses an
/// existing `dir` that is not an empty folder unless `overwrite` (then it is replaced), file
/// names that are not plain names, and two bundles of one app with `per_app`.
WriteResult write_bundles(const std::vector<Bundle>& bundles, const std::string& dir, bool per_app, bool overwrite);

}  // namespace appforge::edge
