#include "appforge/edge/bundle_dir.hpp"

#include <cerrno>
#include <cstring>
#include <set>

#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>

#include "appforge/edge/safe_fs.hpp"

namespace appforge::edge {

namespace {

using Status = WriteResult::Status;
namespace sfs = safe_fs;

WriteResult failed(Status status, std::string error) { return WriteResult{status, std::move(error), {}}; }

/// Splits "a/b/out/" into the parent "a/b" and the name "out".
void split_target(const std::string& dir, std::string& parent, std::string& name) {
    std::string p = dir;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::size_t slash = p.rfind('/');
    if (slash == std::string::npos) {
        parent = ".";
        name = p;
    } else {
        parent = slash == 0 ? "/" : p.substr(0, slash);
        name = p.substr(slash + 1);
    }
}

/// Swaps the staged folder with an existing target, then proves the old target is exactly what was
/// checked before rendering began: if not, swaps back so whatever appeared in it meanwhile stays.
WriteResult swap_in(const sfs::Dir& parent, const std::string& stage, const std::string& name, const std::string& dir,
                    const std::vector<sfs::TreeEntry>& checked) {
    std::string e;
    if (!sfs::rename_exchange(parent, stage, name)) {
        const int err = errno;
        sfs::remove_tree(parent, stage, e);
        return failed(Status::io_error, dir + ": cannot swap the new folder into place atomically (" +
                                            std::strerror(err) + "); nothing was replaced");
    }
    std::vector<sfs::TreeEntry> now;
    if (!sfs::snapshot_tree(parent, stage, now, e) || now != checked) {
        if (!sfs::rename_exchange(parent, stage, name))
            return failed(Status::io_error, dir + " changed while rendering and could not be put back: its previous "
                                                "contents are in " + stage + " next to it");
        sfs::remove_tree(parent, stage, e);
        return failed(Status::exists, dir + " changed while rendering (something was added, changed or removed in "
                                            "it); nothing was replaced");
    }
    WriteResult ok;
    if (!sfs::remove_tree_if_unchanged(parent, stage, checked, e)) ok.kept = stage;
    return ok;
}

}  // namespace

WriteResult write_bundles(const std::vector<Bundle>& bundles, const std::string& dir, bool per_app, bool overwrite,
                          const std::function<void()>& before_rename) {
    // Every name is checked before anything is touched.
    std::set<std::string> apps;
    for (const auto& b : bundles) {
        if (per_app) {
            if (!sfs::is_plain_name(b.appName)) return failed(Status::bad_name, "refusing to write app folder '" + b.appName + "'");
            if (!apps.insert(b.appName).second) return failed(Status::exists, "two requests render the app '" + b.appName + "'");
        }
        std::set<std::string> files;
        for (const auto& f : b.files) {
            if (!sfs::is_plain_name(f.path)) return failed(Status::bad_name, "refusing to write file name '" + f.path + "'");
            if (!files.insert(f.path).second) return failed(Status::bad_name, "the bundle names '" + f.path + "' twice");
        }
    }
    std::string parent_path, name;
    split_target(dir, parent_path, name);
    if (!sfs::is_plain_name(name))
        return failed(Status::bad_name, dir + ": name a folder to write into (not '.', '..' or '/')");

    std::string e;
    sfs::Dir parent = sfs::open_dir(parent_path, true, e);
    if (!parent.is_open()) return failed(Status::io_error, e);

    // What the target holds now: a later swap replaces it only if it still holds exactly this.
    std::vector<sfs::TreeEntry> checked;
    const sfs::Kind kind = sfs::kind_of(parent, name);
    if (kind == sfs::Kind::symlink)
        return failed(Status::exists, dir + ": is a symbolic link; refusing to write through it");
    if (kind == sfs::Kind::file || kind == sfs::Kind::other)
        return failed(Status::exists, dir + ": exists and is not a folder; refusing to overwrite");
    if (kind == sfs::Kind::folder) {
        if (!sfs::snapshot_tree(parent, name, checked, e)) return failed(Status::io_error, e);
        if (checked.size() > 1 && !overwrite)
            return failed(Status::exists, dir + ": exists and is not an empty folder; refusing to overwrite");
    }

    std::string stage_name;
    sfs::Dir stage = sfs::make_temp_dir(parent, "." + name.substr(0, 64) + ".appforge-stage-", stage_name, e);
    if (!stage.is_open()) return failed(Status::io_error, e);
    auto abandon = [&](Status status, std::string error) {
        std::string ignored;
        sfs::remove_tree(parent, stage_name, ignored);
        return failed(status, std::move(error));
    };
    for (const auto& b : bundles) {
        sfs::Dir app;
        if (per_app) {
            app = sfs::open_subdir(stage, b.appName, true, e);
            if (!app.is_open()) return abandon(Status::io_error, b.appName + ": " + e);
        }
        const sfs::Dir& folder = per_app ? app : stage;
        for (const auto& f : b.files)
            if (!sfs::create_file(folder, f.path, f.text, e, 0666)) return abandon(Status::io_error, e);
    }
    ::fchmod(stage.fd(), 0755);  // a staging folder is private (0700) until it is complete
    if (before_rename) before_rename();

    if (kind == sfs::Kind::missing) {
        if (sfs::rename_noreplace(parent, stage_name, name)) return WriteResult{};
        // A file system without renameat2: rename(2) still never replaces anything but an empty folder.
        if ((errno == EINVAL || errno == ENOSYS) && ::renameat(parent.fd(), stage_name.c_str(), parent.fd(), name.c_str()) == 0)
            return WriteResult{};
        if (errno == EEXIST || errno == ENOTEMPTY)
            return abandon(Status::exists, dir + ": appeared while rendering; nothing was replaced");
        return abandon(Status::io_error, dir + ": " + std::strerror(errno));
    }
    return swap_in(parent, stage_name, name, dir, checked);
}

}  // namespace appforge::edge
