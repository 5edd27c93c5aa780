// FsRepo: the GitOps checkout read through RepoView, refusing symlinks and paths outside the root.
#include "appforge/edge/fs_repo.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appforge::edge {

namespace fs = std::filesystem;

bool is_safe_repo_path(const std::string& path) {
    if (path.empty()) return true;  // the root itself
    if (path.front() == '/' || path.find('\0') != std::string::npos) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t slash = path.find('/', start);
        std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
}

std::optional<std::string> FsRepo::read_file(const std::string& path) const {
    constexpr off_t kMax = 16 << 20;  // no GitOps manifest is this large; the parser caps far lower
    if (path.empty() || !is_safe_repo_path(path)) return std::nullopt;
    int fd = ::open(full(path).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMax) {
        ::close(fd);
        return std::nullopt;
    }
    std::string data;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > static_cast<std::size_t>(kMax)) break;
    }
    ::close(fd);
    return data;
}

bool FsRepo::exists(const std::string& path) const {
    if (!is_safe_repo_path(path)) return false;
    struct stat st {};
    return ::lstat(full(path).c_str(), &st) == 0;
}

std::vector<std::string> FsRepo::list_files(const std::string& dir) const {
    std::vector<std::string> out;
    if (!is_safe_repo_path(dir)) return out;
    fs::path base = dir.empty() ? fs::path(root_) : fs::path(root_) / dir;
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(base, ec))) return out;
    fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, ec), end;
    while (!ec && it != end) {
        const auto& e = *it;
        auto st = e.symlink_status(ec);
        if (!ec) {
            if (fs::is_directory(st) && e.path().filename() == ".git") {
                it.disable_recursion_pending();
            } else if (fs::is_regular_file(st)) {
                out.push_back(e.path().lexically_relative(fs::path(root_)).generic_string());
            }
        }
        ec.clear();
        it.increment(ec);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace appforge::edge
