// The one safe file writer (and reader) of the edge library: every file appforge writes, reads back
// or deletes is reached through a folder it holds open (O_DIRECTORY|O_NOFOLLOW), by a plain name,
// with openat(O_NOFOLLOW). New files are created O_EXCL under random names appforge made itself and
// renamed into place, so a link planted in a shared folder is never written, read or deleted
// through. The bundle writer, the pattern kit's --update and the Backstage generator use it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace appforge::edge::safe_fs {

/// A folder held open by file descriptor; move-only, closed on destruction.
class Dir {
public:
    Dir() = default;
    /// Takes ownership of an open folder descriptor (or -1).
    explicit Dir(int fd) : fd_(fd) {}
    Dir(Dir&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Dir& operator=(Dir&& o) noexcept;
    Dir(const Dir&) = delete;
    Dir& operator=(const Dir&) = delete;
    ~Dir();

    /// The descriptor, -1 when nothing is open.
    int fd() const { return fd_; }
    /// Whether a folder is open.
    bool is_open() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

/// What a name in a folder is, looked at without following it.
enum class Kind { missing, file, folder, symlink, other };

/// One entry of a folder listing.
struct Entry {
    std::string name;
    Kind kind = Kind::other;
};

/// Opens a folder the operator named. Its leading folders resolve as the operator's path says
/// (their links are the operator's own choice); the last segment is opened O_NOFOLLOW, so a link
/// planted in its place is refused. With create, a missing folder is made (parents included).
Dir open_dir(const std::string& path, bool create, std::string& error);

/// Opens (with create, first makes) the plain-named folder `name` inside `parent`, never through a link.
Dir open_subdir(const Dir& parent, const std::string& name, bool create, std::string& error);

/// What `name` is inside `parent` (fstatat with AT_SYMLINK_NOFOLLOW); missing when it is absent.
Kind kind_of(const Dir& parent, const std::string& name);

/// The entries of a folder, sorted by name ("." and ".." left out); false with a message on failure.
bool list(const Dir& dir, std::vector<Entry>& out, std::string& error);

/// A plain file name: not empty, not "." or "..", no '/', '\\' or NUL.
bool is_plain_name(std::string_view name);

/// Reads the regular file `name` in `dir` (O_NOFOLLOW, O_NONBLOCK so a FIFO never blocks); nullopt
/// with a message when it is absent, a link, not a regular file, larger than max_bytes or unreadable.
std::optional<std::string> read_file(const Dir& dir, const std::string& name, std::string& error,
                                     std::size_t max_bytes = 64u << 20);

/// Writes `name` in `dir` whole or not at all: a new file under a random name created O_EXCL|O_NOFOLLOW,
/// written, fsynced, then renamed over `name` (a link there is replaced, never followed).
bool write_file(const Dir& dir, const std::string& name, std::string_view data, std::string& error,
                mode_t mode = 0644);

/// Creates `name` in `dir` with O_EXCL|O_NOFOLLOW (it must not exist) and writes data; for folders
/// appforge made itself, where no temporary name is needed.
bool create_file(const Dir& dir, const std::string& name, std::string_view data, std::string& error,
                 mode_t mode = 0644);

/// Removes the regular file `name` from `dir`; refuses (false, message) anything else, links included.
bool remove_file(const Dir& dir, const std::string& name, std::string& error);

/// Makes a new folder with a random name "<prefix><random>" inside `parent` (mkdirat, so it never
/// existed before) and opens it; `name` receives the name chosen.
Dir make_temp_dir(const Dir& parent, const std::string& prefix, std::string& name, std::string& error);

/// Removes the folder `name` in `parent` and everything below it without following any link (a
/// link is unlinked itself, never its target). For folders appforge made itself.
bool remove_tree(const Dir& parent, const std::string& name, std::string& error);

/// One object of a folder tree, identified so a later look can tell whether it changed.
struct TreeEntry {
    std::string path;  ///< '/'-separated, relative to the tree's top ("" for the top itself)
    Kind kind = Kind::other;
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    /// Same path, kind and identity: device and inode, and for anything but a folder size and times too
    /// (a folder's times move with every entry added or removed, which its entries show anyway).
    bool operator==(const TreeEntry& o) const;
};

/// Every object under the folder `name` in `parent` (the top included, links not followed), sorted by
/// path; false when the tree cannot be read whole.
bool snapshot_tree(const Dir& parent, const std::string& name, std::vector<TreeEntry>& out, std::string& error);

/// Removes from the folder `name` in `parent` only what `expected` lists (same identity), deepest first,
/// folders with rmdir (which fails on anything new inside). True when the whole tree is gone; false
/// with a message when something that was not in `expected` kept part of it.
bool remove_tree_if_unchanged(const Dir& parent, const std::string& name, const std::vector<TreeEntry>& expected,
                              std::string& error);

/// renameat2(RENAME_NOREPLACE): moves `from` to `to` in `dir` only when `to` does not exist. errno is
/// left for the caller (EEXIST when something took the name).
bool rename_noreplace(const Dir& dir, const std::string& from, const std::string& to);

/// renameat2(RENAME_EXCHANGE): swaps `a` and `b` in `dir` atomically; both must exist.
bool rename_exchange(const Dir& dir, const std::string& a, const std::string& b);

}  // namespace appforge::edge::safe_fs
