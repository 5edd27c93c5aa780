// Writing rendered bundles into folders, all or nothing. Part of the edge library
// (appforge_edge): the CLI, the C API and the Python package write bundles through it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "appforge/render.hpp"

namespace appforge::edge {

/// How write_bundles ended; `error` says why when it did not succeed.
struct WriteResult {
    enum class Status { ok, exists, bad_name, io_error } status = Status::ok;
    std::string error;
    /// Set on success when the replaced folder could not be removed whole because something appeared in it
    /// during the swap: where it was kept (next to the target), so nothing created meanwhile is lost.
    std::string kept;
    /// True when every file was written.
    bool ok() const { return status == Status::ok; }
};

/// Writes the bundles' files into `dir` (with `per_app`, into `dir/<app>` each) in a staging
/// folder next to it (safe_fs: O_EXCL|O_NOFOLLOW), then renames that into place: a new `dir` with
/// RENAME_NOREPLACE, an existing one with RENAME_EXCHANGE, after which the old folder is removed
/// only if it is exactly what was checked before rendering (else it is swapped back and the write
/// fails), so nothing created in the target meanwhile is lost. A failure leaves nothing behind.
/// Refuses an existing `dir` that is a link, not a folder, or not empty unless `overwrite`, file
/// names that are not plain names, and two bundles of one app with `per_app`.
/// before_rename is a test hook: it runs once the staging folder is complete, just before it is renamed
/// into place, i.e. at the moment another process writing into the target would do the most harm.
WriteResult write_bundles(const std::vector<Bundle>& bundles, const std::string& dir, bool per_app, bool overwrite,
                          const std::function<void()>& before_rename = {});

}  // namespace appforge::edge
