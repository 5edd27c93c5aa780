#include "appforge/edge/bundle_dir.hpp"

#include <filesystem>
#include <fstream>
#include <random>

namespace appforge::edge {

namespace fs = std::filesystem;

namespace {

using Status = WriteResult::Status;

WriteResult failed(Status status, std::string error) { return WriteResult{status, std::move(error)}; }

/// A file name from a bundle must stay inside its folder.
bool plain_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

WriteResult write_bundles(const std::vector<Bundle>& bundles, const std::string& dir, bool per_app, bool overwrite) {
    std::error_code ec;
    fs::path target(dir);
    if (!target.has_filename()) target = target.parent_path();  // "out/" names the folder "out"
    if (fs::exists(target, ec)) {
        if (!fs::is_directory(target, ec))
            return failed(Status::exists, dir + ": exists and is not a folder; refusing to overwrite");
        if (!fs::is_empty(target, ec) && !overwrite)
            return failed(Status::exists, dir + ": exists and is not an empty folder; refusing to overwrite");
    }
    const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    fs::create_directories(parent, ec);
    const fs::path stage = parent / ("." + target.filename().string() + ".appforge-stage-" +
                                     std::to_string(std::random_device{}()));
    fs::remove_all(stage, ec);
    if (!fs::create_directories(stage, ec)) return failed(Status::io_error, stage.string() + ": " + ec.message());
    auto abandon = [&](Status status, std::string error) {
        std::error_code ignored;
        fs::remove_all(stage, ignored);
        return failed(status, std::move(error));
    };
    for (const auto& b : bundles) {
        fs::path folder = per_app ? stage / b.appName : stage;
        if (per_app) {
            if (!plain_name(b.appName)) return abandon(Status::bad_name, "refusing to write app folder '" + b.appName + "'");
            if (fs::exists(folder, ec)) return abandon(Status::exists, "two requests render the app '" + b.appName + "'");
            fs::create_directories(folder, ec);
        }
        for (const auto& f : b.files) {
            if (!plain_name(f.path)) return abandon(Status::bad_name, "refusing to write file name '" + f.path + "'");
            std::ofstream out(folder / f.path, std::ios::binary | std::ios::trunc);
            out.write(f.text.data(), static_cast<std::streamsize>(f.text.size()));
            out.close();
            if (!out) return abandon(Status::io_error, (folder / f.path).string() + ": cannot write");
        }
    }
    fs::permissions(stage, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec, ec);
    if (fs::exists(target, ec)) fs::remove_all(target, ec);
    fs::rename(stage, target, ec);
    if (ec) return abandon(Status::io_error, dir + ": " + ec.message());
    return WriteResult{};
}

}  // namespace appforge::edge
