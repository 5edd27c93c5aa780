// safe_fs: folder descriptors, O_NOFOLLOW|O_EXCL creation under random names, renames that never
// replace what they did not check. Linux (openat, renameat2, getrandom).
#include "appforge/edge/safe_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace appforge::edge::safe_fs {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

Kind kind_of_mode(mode_t m) {
    if (S_ISREG(m)) return Kind::file;
    if (S_ISDIR(m)) return Kind::folder;
    if (S_ISLNK(m)) return Kind::symlink;
    return Kind::other;
}

/// 12 random letters and digits: a name nobody can guess and plant a link under beforehand.
std::string random_suffix() {
    static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[12];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got < sizeof bytes) {  // no getrandom (very old kernel): the C++ source is still unpredictable enough
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
    }
    std::string s;
    for (unsigned char b : bytes) s.push_back(kAlphabet[b % (sizeof kAlphabet - 1)]);
    return s;
}

bool write_all(int fd, std::string_view data, std::string& error, const std::string& label) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t w = ::write(fd, data.data() + off, data.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            error = label + ": " + errno_text(errno);
            return false;
        }
        off += static_cast<std::size_t>(w);
    }
    return true;
}

int renameat2_raw(int dirfd, const char* from, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_renameat2, dirfd, from, dirfd, to, flags));
}

constexpr unsigned kNoReplace = 1u << 0;  // RENAME_NOREPLACE
constexpr unsigned kExchange = 1u << 1;   // RENAME_EXCHANGE

/// A folder is known by its identity alone: its times move with every entry added or removed (which
/// the entries themselves show) and when it is renamed.
void identify(TreeEntry& t, const struct stat& st) {
    t.kind = kind_of_mode(st.st_mode);
    t.dev = st.st_dev, t.ino = st.st_ino;
    if (t.kind == Kind::folder) return;
    t.size = static_cast<std::uint64_t>(st.st_size);
    t.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    t.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

bool snapshot_into(int dirfd, const std::string& prefix, std::vector<TreeEntry>& out, std::string& error, int depth) {
    if (depth > 256) {
        error = prefix + ": folders nested too deeply";
        return false;
    }
    Dir dir(::dup(dirfd));
    std::vector<Entry> entries;
    if (!dir.is_open() || !list(dir, entries, error)) {
        if (error.empty()) error = prefix + ": " + errno_text(errno);
        return false;
    }
    for (const auto& e : entries) {
        struct stat st {};
        if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            error = prefix + e.name + ": " + errno_text(errno);
            return false;
        }
        TreeEntry t;
        t.path = prefix + e.name;
        identify(t, st);
        out.push_back(t);
        if (t.kind == Kind::folder) {
            int sub = ::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                error = t.path + ": " + errno_text(errno);
                return false;
            }
            Dir held(sub);
            if (!snapshot_into(sub, t.path + "/", out, error, depth + 1)) return false;
        }
    }
    return true;
}

bool remove_below(int dirfd, const std::string& label, std::string& error, int depth) {
    if (depth > 256) {
        error = label + ": folders nested too deeply";
        return false;
    }
    Dir dir(::dup(dirfd));
    std::vector<Entry> entries;
    if (!dir.is_open() || !list(dir, entries, error)) return false;
    bool ok = true;
    for (const auto& e : entries) {
        if (e.kind == Kind::folder) {
            int sub = ::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                Dir held(sub);
                ok = remove_below(sub, label + "/" + e.name, error, depth + 1) && ok;
            }
            if (::unlinkat(dirfd, e.name.c_str(), AT_REMOVEDIR) != 0) {
                error = label + "/" + e.name + ": " + errno_text(errno);
                ok = false;
            }
        } else if (::unlinkat(dirfd, e.name.c_str(), 0) != 0) {
            error = label + "/" + e.name + ": " + errno_text(errno);
            ok = false;
        }
    }
    return ok;
}

}  // namespace

Dir& Dir::operator=(Dir&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Dir::~Dir() {
    if (fd_ >= 0) ::close(fd_);
}

bool is_plain_name(std::string_view name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\\') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

Dir open_dir(const std::string& path, bool create, std::string& error) {
    if (path.empty() || path.find('\0') != std::string::npos) {
        error = "'" + path + "': not a folder path";
        return Dir();
    }
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();  // "out/" names the folder "out"
    if (p == "/") {
        int fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) error = "/: " + errno_text(errno);
        return Dir(fd);
    }
    std::size_t slash = p.rfind('/');
    std::string parent_path = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
    std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
    int pfd = ::open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 && errno == ENOENT && create) {
        std::string e;
        Dir made = open_dir(parent_path, true, e);
        if (!made.is_open()) {
            error = e;
            return Dir();
        }
        pfd = ::dup(made.fd());
    }
    if (pfd < 0) {
        error = parent_path + ": " + errno_text(errno);
        return Dir();
    }
    Dir parent(pfd);
    if (name == "." || name == "..") {
        int fd = ::openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) error = path + ": " + errno_text(errno);
        return Dir(fd);
    }
    std::string e;
    Dir d = open_subdir(parent, name, create, e);
    if (!d.is_open()) error = path + ": " + e;
    return d;
}

Dir open_subdir(const Dir& parent, const std::string& name, bool create, std::string& error) {
    if (!is_plain_name(name)) {
        error = "'" + name + "' is not a plain folder name";
        return Dir();
    }
    if (create && ::mkdirat(parent.fd(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        error = errno_text(errno);
        return Dir();
    }
    int fd = ::openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        error = kind_of(parent, name) == Kind::symlink ? "is a symbolic link; refusing to go through it"
                                                       : errno_text(e);
        return Dir();
    }
    return Dir(fd);
}

Kind kind_of(const Dir& parent, const std::string& name) {
    struct stat st {};
    if (::fstatat(parent.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Kind::missing;
    return kind_of_mode(st.st_mode);
}

bool list(const Dir& dir, std::vector<Entry>& out, std::string& error) {
    // fdopendir takes the descriptor over, so it gets its own copy (positioned at the start).
    int fd = ::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text(errno);
        return false;
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        error = errno_text(errno);
        ::close(fd);
        return false;
    }
    std::vector<Entry> entries;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        Kind k = Kind::other;
        switch (e->d_type) {
            case DT_REG: k = Kind::file; break;
            case DT_DIR: k = Kind::folder; break;
            case DT_LNK: k = Kind::symlink; break;
            case DT_UNKNOWN: k = kind_of(dir, name); break;
            default: k = Kind::other;
        }
        entries.push_back(Entry{std::move(name), k});
        errno = 0;
    }
    int e = errno;
    ::closedir(d);
    if (e != 0) {
        error = errno_text(e);
        return false;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    out = std::move(entries);
    return true;
}

std::optional<std::string> read_file(const Dir& dir, const std::string& name, std::string& error,
                                     std::size_t max_bytes) {
    if (!is_plain_name(name)) {
        error = "'" + name + "' is not a plain file name";
        return std::nullopt;
    }
    int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        error = kind_of(dir, name) == Kind::symlink ? "is a symbolic link; refusing to read through it" : errno_text(e);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error = "not a regular file";
        ::close(fd);
        return std::nullopt;
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        error = "larger than " + std::to_string(max_bytes) + " bytes";
        ::close(fd);
        return std::nullopt;
    }
    std::string data;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) {
            error = errno_text(errno);
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_bytes) {  // it grew while being read
            error = "larger than " + std::to_string(max_bytes) + " bytes";
            ::close(fd);
            return std::nullopt;
        }
    }
    ::close(fd);
    return data;
}

namespace {
/// Writes, fsyncs and closes a file we just created; a file that is not durable counts as failed.
bool fill_and_close(int fd, std::string_view data, std::string& error, const std::string& name) {
    bool ok = write_all(fd, data, error, name);
    if (ok && ::fsync(fd) != 0 && errno != EINVAL) {
        error = name + ": " + errno_text(errno);
        ok = false;
    }
    if (::close(fd) != 0 && ok) {
        error = name + ": " + errno_text(errno);
        ok = false;
    }
    return ok;
}
}  // namespace

bool create_file(const Dir& dir, const std::string& name, std::string_view data, std::string& error, mode_t mode) {
    if (!is_plain_name(name)) {
        error = "'" + name + "' is not a plain file name";
        return false;
    }
    int fd = ::openat(dir.fd(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        error = name + ": " + errno_text(errno);
        return false;
    }
    bool ok = fill_and_close(fd, data, error, name);
    if (!ok) ::unlinkat(dir.fd(), name.c_str(), 0);  // the name is ours: we just created it O_EXCL
    return ok;
}

bool write_file(const Dir& dir, const std::string& name, std::string_view data, std::string& error, mode_t mode) {
    if (!is_plain_name(name)) {
        error = "'" + name + "' is not a plain file name";
        return false;
    }
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string tmp = "." + name.substr(0, 64) + ".appforge-" + random_suffix();
        int fd = ::openat(dir.fd(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) {
            error = name + ": " + errno_text(errno);
            return false;
        }
        bool ok = fill_and_close(fd, data, error, name);
        if (ok && ::renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
            error = name + ": " + errno_text(errno);
            ok = false;
        }
        if (!ok) ::unlinkat(dir.fd(), tmp.c_str(), 0);
        return ok;
    }
    error = name + ": could not find a free temporary name";
    return false;
}

bool remove_file(const Dir& dir, const std::string& name, std::string& error) {
    if (!is_plain_name(name)) {
        error = "'" + name + "' is not a plain file name";
        return false;
    }
    Kind k = kind_of(dir, name);
    if (k == Kind::missing) return true;
    if (k != Kind::file) {
        error = k == Kind::symlink ? "is a symbolic link; refusing to remove it" : "not a regular file; refusing to remove it";
        return false;
    }
    if (::unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
        error = errno_text(errno);
        return false;
    }
    return true;
}

Dir make_temp_dir(const Dir& parent, const std::string& prefix, std::string& name, std::string& error) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string n = prefix + random_suffix();
        if (::mkdirat(parent.fd(), n.c_str(), 0700) != 0) {
            if (errno == EEXIST) continue;
            error = n + ": " + errno_text(errno);
            return Dir();
        }
        int fd = ::openat(parent.fd(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            error = n + ": " + errno_text(errno);
            ::unlinkat(parent.fd(), n.c_str(), AT_REMOVEDIR);
            return Dir();
        }
        name = n;
        return Dir(fd);
    }
    error = prefix + ": could not find a free temporary name";
    return Dir();
}

bool remove_tree(const Dir& parent, const std::string& name, std::string& error) {
    int fd = ::openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return true;
        error = name + ": " + errno_text(errno);
        return false;
    }
    bool ok;
    {
        Dir d(fd);
        ok = remove_below(d.fd(), name, error, 0);
    }
    if (::unlinkat(parent.fd(), name.c_str(), AT_REMOVEDIR) != 0) {
        error = name + ": " + errno_text(errno);
        return false;
    }
    return ok;
}

bool TreeEntry::operator==(const TreeEntry& o) const {
    return path == o.path && kind == o.kind && dev == o.dev && ino == o.ino && size == o.size &&
           mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
}

bool snapshot_tree(const Dir& parent, const std::string& name, std::vector<TreeEntry>& out, std::string& error) {
    out.clear();
    struct stat st {};
    if (::fstatat(parent.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        error = name + ": " + errno_text(errno);
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        error = name + ": not a folder";
        return false;
    }
    int fd = ::openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        error = name + ": " + errno_text(errno);
        return false;
    }
    Dir d(fd);
    TreeEntry top;
    identify(top, st);
    out.push_back(top);
    if (!snapshot_into(d.fd(), "", out, error, 0)) return false;
    std::sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
    return true;
}

bool remove_tree_if_unchanged(const Dir& parent, const std::string& name, const std::vector<TreeEntry>& expected,
                              std::string& error) {
    int fd = ::openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        error = name + ": " + errno_text(errno);
        return false;
    }
    Dir top(fd);
    // Deepest first, so folders are empty by the time rmdir reaches them (paths sort parents first).
    std::vector<const TreeEntry*> order;
    for (const auto& e : expected)
        if (!e.path.empty()) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const TreeEntry* a, const TreeEntry* b) { return a->path > b->path; });
    bool kept = false;
    for (const TreeEntry* e : order) {
        std::size_t slash = e->path.rfind('/');
        std::string base = slash == std::string::npos ? e->path : e->path.substr(slash + 1);
        Dir holder;
        int dirfd = top.fd();
        if (slash != std::string::npos) {
            // Walk to the entry's folder without following links.
            std::string rest = e->path.substr(0, slash);
            holder = Dir(::dup(top.fd()));
            std::size_t start = 0;
            bool reached = true;
            while (reached && start <= rest.size()) {
                std::size_t s = rest.find('/', start);
                std::string seg = rest.substr(start, s == std::string::npos ? std::string::npos : s - start);
                int next = ::openat(holder.fd(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) reached = false;
                else holder = Dir(next);
                if (s == std::string::npos) break;
                start = s + 1;
            }
            if (!reached) {
                kept = true;
                continue;
            }
            dirfd = holder.fd();
        }
        struct stat st {};
        if (::fstatat(dirfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // already gone
        TreeEntry now;
        now.path = e->path;
        identify(now, st);
        if (!(now == *e) || ::unlinkat(dirfd, base.c_str(), e->kind == Kind::folder ? AT_REMOVEDIR : 0) != 0) kept = true;
    }
    top = Dir();
    if (kept || ::unlinkat(parent.fd(), name.c_str(), AT_REMOVEDIR) != 0) {
        error = name + ": something was added or changed in it meanwhile; it was kept";
        return false;
    }
    return true;
}

bool rename_noreplace(const Dir& dir, const std::string& from, const std::string& to) {
    return renameat2_raw(dir.fd(), from.c_str(), to.c_str(), kNoReplace) == 0;
}

bool rename_exchange(const Dir& dir, const std::string& a, const std::string& b) {
    return renameat2_raw(dir.fd(), a.c_str(), b.c_str(), kExchange) == 0;
}

}  // namespace appforge::edge::safe_fs
