// FsRepo: the GitOps checkout read through RepoView. Every path is resolved one segment at a time
// with openat(O_NOFOLLOW|O_DIRECTORY) from the root, so no link anywhere on the way is followed:
// plan reads exactly what apply may write, and reports the links it meets (gitops.symlink).
#include "appforge/edge/fs_repo.hpp"

#include <algorithm>

#include <fcntl.h>

#include "appforge/edge/safe_fs.hpp"

namespace appforge::edge {

namespace sfs = safe_fs;

namespace {

constexpr std::size_t kMaxFile = 16u << 20;  // no GitOps manifest is this large; the parser caps far lower
constexpr int kMaxDepth = 64;                // deeper than any layout; bounds descriptors held at once

std::vector<std::string> segments(const std::string& path) {
    std::vector<std::string> out;
    if (path.empty()) return out;
    for (std::size_t start = 0;;) {
        std::size_t slash = path.find('/', start);
        out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return out;
}

/// Walks from the root through the first `count` segments, never through a link; an unopened Dir
/// when one of them is missing, a link or not a folder.
sfs::Dir walk(const std::string& root, const std::vector<std::string>& segs, std::size_t count) {
    std::string e;
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // the checkout the operator named
    sfs::Dir cur(fd);
    for (std::size_t i = 0; i < count && cur.is_open(); ++i) cur = sfs::open_subdir(cur, segs[i], false, e);
    return cur;
}

void collect(const sfs::Dir& dir, const std::string& prefix, int depth, std::vector<std::string>* files,
             std::vector<std::string>* links) {
    std::vector<sfs::Entry> entries;
    std::string e;
    if (depth > kMaxDepth || !sfs::list(dir, entries, e)) return;
    for (const auto& entry : entries) {
        std::string rel = prefix + entry.name;
        if (entry.kind == sfs::Kind::file) {
            if (files) files->push_back(rel);
        } else if (entry.kind == sfs::Kind::symlink) {
            if (links) links->push_back(rel);
        } else if (entry.kind == sfs::Kind::folder && entry.name != ".git") {
            sfs::Dir sub = sfs::open_subdir(dir, entry.name, false, e);
            if (sub.is_open()) collect(sub, rel + "/", depth + 1, files, links);
        }
    }
}

}  // namespace

bool is_safe_repo_path(const std::string& path) {
    if (path.empty()) return true;  // the root itself
    if (path.front() == '/' || path.find('\0') != std::string::npos) return false;
    for (const auto& seg : segments(path))
        if (seg.empty() || seg == "." || seg == "..") return false;
    return true;
}

std::optional<std::string> FsRepo::read_file(const std::string& path) const {
    if (path.empty() || !is_safe_repo_path(path)) return std::nullopt;
    auto segs = segments(path);
    sfs::Dir parent = walk(root_, segs, segs.size() - 1);
    if (!parent.is_open()) return std::nullopt;
    std::string e;
    return sfs::read_file(parent, segs.back(), e, kMaxFile);
}

bool FsRepo::exists(const std::string& path) const {
    if (!is_safe_repo_path(path)) return false;
    if (symlink_on_path(path)) return true;  // the link occupies the path, whatever it points to
    auto segs = segments(path);
    if (segs.empty()) return walk(root_, segs, 0).is_open();
    sfs::Dir parent = walk(root_, segs, segs.size() - 1);
    return parent.is_open() && sfs::kind_of(parent, segs.back()) != sfs::Kind::missing;
}

std::optional<std::string> FsRepo::symlink_on_path(const std::string& path) const {
    if (path.empty() || !is_safe_repo_path(path)) return std::nullopt;
    auto segs = segments(path);
    std::string e, prefix;
    sfs::Dir cur(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (std::size_t i = 0; i < segs.size() && cur.is_open(); ++i) {
        prefix += (i ? "/" : "") + segs[i];
        switch (sfs::kind_of(cur, segs[i])) {
            case sfs::Kind::symlink: return prefix;
            case sfs::Kind::folder: cur = sfs::open_subdir(cur, segs[i], false, e); break;
            default: return std::nullopt;  // missing or a file: nothing below it can be a link
        }
    }
    return std::nullopt;
}

std::vector<std::string> FsRepo::list_files(const std::string& dir) const {
    std::vector<std::string> out;
    if (!is_safe_repo_path(dir)) return out;
    auto segs = segments(dir);
    sfs::Dir d = walk(root_, segs, segs.size());
    if (d.is_open()) collect(d, dir.empty() ? "" : dir + "/", 0, &out, nullptr);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> FsRepo::list_symlinks(const std::string& dir) const {
    std::vector<std::string> out;
    if (!is_safe_repo_path(dir)) return out;
    auto segs = segments(dir);
    sfs::Dir d = walk(root_, segs, segs.size());
    if (d.is_open()) collect(d, dir.empty() ? "" : dir + "/", 0, nullptr, &out);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace appforge::edge
