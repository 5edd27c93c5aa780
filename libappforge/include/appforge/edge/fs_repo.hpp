// A RepoView over a directory checkout: the planner's window onto a real GitOps repo.
// Part of the edge library (appforge_edge): it reads the file system, which the pure core never does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appforge/gitops.hpp"

namespace appforge::edge {

/// Reads files below one root folder; never follows symlinks (no segment of a path is resolved through
/// a link: each is opened with openat(O_NOFOLLOW|O_DIRECTORY)) and never leaves the root.
class FsRepo : public RepoView {
public:
    /// root is the checkout's top folder.
    explicit FsRepo(std::string root) : root_(std::move(root)) {}

    /// See RepoView::read_file.
    std::optional<std::string> read_file(const std::string& path) const override;
    /// See RepoView::exists.
    bool exists(const std::string& path) const override;
    /// See RepoView::list_files.
    std::vector<std::string> list_files(const std::string& dir) const override;
    /// See RepoView::symlink_on_path.
    std::optional<std::string> symlink_on_path(const std::string& path) const override;
    /// See RepoView::list_symlinks.
    std::vector<std::string> list_symlinks(const std::string& dir) const override;

    /// The absolute-or-relative file system path of a repo-relative path.
    std::string full(const std::string& path) const { return root_ + "/" + path; }
    /// The root folder, as given.
    const std::string& root() const { return root_; }

private:
    std::string root_;
};

/// Repo paths are relative, '/'-separated and free of "." and ".." segments; anything else is refused.
bool is_safe_repo_path(const std::string& path);

}  // namespace appforge::edge
