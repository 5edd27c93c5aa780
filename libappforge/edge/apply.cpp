// Apply (appforge/edge/apply.hpp): the change set is committed with git plumbing, off to the side.
// A temporary index (GIT_INDEX_FILE in a private folder) is filled from the base commit, the new
// blobs are written with hash-object, the tree with write-tree, the commit with commit-tree, and the
// branch is created by one compare-and-swap update-ref. The working tree, the checkout's index and
// HEAD are never touched, so concurrent or killed applies can only serialise, fail cleanly, or leave
// the repo wholly applied. The plan itself comes from the pure core (plan_checked_request).
#include "appforge/edge/apply.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <signal.h>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appforge/edge/fs_repo.hpp"
#include "appforge/komodo_sync.hpp"
#include "appforge/value_rules.hpp"

extern char** environ;

namespace appforge::edge {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------
// git through posix_spawn (never a shell), with a deadline and without waiting on inherited pipes
// ---------------------------------------------------------------------------------------

struct GitResult {
    int status = -1;  ///< exit status; -1 when git could not be started, was killed or timed out
    bool timed_out = false;
    std::string out, err;
    bool ok() const { return status == 0; }
};

struct GitCall {
    std::vector<std::string> args;
    std::string input;                  ///< written to git's stdin (otherwise /dev/null)
    std::vector<std::string> env_extra; ///< NAME=value entries added to the environment
};

/// Settings every git call gets: no repo hook or fsmonitor command runs (appforge commits with
/// plumbing, and a hook that leaves a child behind must not block it), no pager, no prompt.
const std::vector<std::string> kGitConfig = {"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                                             "--no-pager", "--no-optional-locks"};

/// Variables that would point git somewhere other than the --repo checkout.
bool redirecting_git_variable(const char* entry) {
    static const char* const names[] = {"GIT_DIR=",          "GIT_WORK_TREE=",   "GIT_INDEX_FILE=",
                                        "GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=",
                                        "GIT_COMMON_DIR=",   "GIT_NAMESPACE=",   "GIT_CEILING_DIRECTORIES="};
    for (const char* n : names)
        if (std::strncmp(entry, n, std::strlen(n)) == 0) return true;
    return false;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

GitResult run_git(const std::string& repo, const GitCall& call, std::chrono::milliseconds timeout) {
    GitResult r;
    std::vector<std::string> argv_s{"git", "-C", repo};
    argv_s.insert(argv_s.end(), kGitConfig.begin(), kGitConfig.end());
    argv_s.insert(argv_s.end(), call.args.begin(), call.args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_s;
    for (char** e = environ; e && *e; ++e)
        if (!redirecting_git_variable(*e)) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), call.env_extra.begin(), call.env_extra.end());
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    auto close_all = [&]() {
        for (int* p : {in_pipe, out_pipe, err_pipe})
            for (int i = 0; i < 2; ++i)
                if (p[i] >= 0) ::close(p[i]), p[i] = -1;
    };
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        (!call.input.empty() && ::pipe2(in_pipe, O_CLOEXEC) != 0)) {
        r.err = std::strerror(errno);
        close_all();
        return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_pipe[0] >= 0) posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);  // no prompt can hang on stdin
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    for (int* fd : {&in_pipe[0], &out_pipe[1], &err_pipe[1]})
        if (*fd >= 0) ::close(*fd), *fd = -1;
    if (rc != 0) {
        r.err = std::string("cannot run git: ") + std::strerror(rc);
        close_all();
        return r;
    }
    // The child's exit is what ends the call, not EOF on its pipes: a hook or helper that leaves a
    // background process holding them open must not block apply. A pidfd makes the exit pollable.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (in_pipe[1] >= 0) set_nonblocking(in_pipe[1]);
    set_nonblocking(out_pipe[0]);
    set_nonblocking(err_pipe[0]);
    // git closing its stdin early must be a failed call, not the host process's death: SIGPIPE is
    // blocked in this thread for the call and a pending one it caused is consumed afterwards.
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending_before;
    sigpending(&pending_before);
    const bool had_pending = sigismember(&pending_before, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    struct SigRestore {
        sigset_t* set; sigset_t* old; bool had;
        ~SigRestore() {
            sigset_t now;
            sigpending(&now);
            if (!had && sigismember(&now, SIGPIPE) == 1) {
                timespec zero{0, 0};
                sigtimedwait(set, nullptr, &zero);
            }
            pthread_sigmask(SIG_SETMASK, old, nullptr);
        }
    } restore{&pipe_set, &old_set, had_pending};

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t written = 0;
    std::string* sinks[2] = {&r.out, &r.err};
    int* readers[2] = {&out_pipe[0], &err_pipe[0]};
    char buf[8192];
    auto drain = [&](int i) {
        while (*readers[i] >= 0) {
            ssize_t n = ::read(*readers[i], buf, sizeof buf);
            if (n > 0) {
                if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n == 0 || errno != EAGAIN) ::close(*readers[i]), *readers[i] = -1;
            return;
        }
    };
    bool exited = false;
    int st = 0;
    // On time-out git first gets SIGTERM, on which it removes its lock files (a ref lock left behind
    // would block every later apply of the request), and SIGKILL only if it is still there 2 s later.
    auto grace_end = deadline;
    while (!exited) {
        auto now = std::chrono::steady_clock::now();
        if (!r.timed_out && now >= deadline) {
            ::kill(pid, SIGTERM);
            r.timed_out = true;
            grace_end = now + std::chrono::seconds(2);
        }
        if (r.timed_out && now >= grace_end) {
            ::kill(pid, SIGKILL);
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>((r.timed_out ? grace_end : deadline) - now);
        if (left.count() <= 0) left = std::chrono::milliseconds(1);
        pollfd fds[4];
        int n = 0;
        int idx_in = -1, idx_pid = -1, idx_r[2] = {-1, -1};
        if (in_pipe[1] >= 0) idx_in = n, fds[n++] = {in_pipe[1], POLLOUT, 0};
        for (int i = 0; i < 2; ++i)
            if (*readers[i] >= 0) idx_r[i] = n, fds[n++] = {*readers[i], POLLIN, 0};
        if (pidfd >= 0) idx_pid = n, fds[n++] = {pidfd, POLLIN, 0};
        // Without a pidfd (old kernels) poll in short slices and ask waitpid.
        int wait_ms = pidfd >= 0 ? static_cast<int>(std::min<long long>(left.count(), 1 << 30)) : 20;
        int pr = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (pr < 0 && errno != EINTR) {
            ::kill(pid, SIGKILL);  // we can no longer watch it, so it may not go on unwatched
            r.err = std::string("cannot wait for git: ") + std::strerror(errno);
            r.timed_out = false;
            break;
        }
        if (idx_in >= 0 && fds[idx_in].revents) {
            ssize_t w = ::write(in_pipe[1], call.input.data() + written, call.input.size() - written);
            if (w > 0) written += static_cast<std::size_t>(w);
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == call.input.size())
                ::close(in_pipe[1]), in_pipe[1] = -1;
        }
        for (int i = 0; i < 2; ++i)
            if (idx_r[i] >= 0 && fds[idx_r[i]].revents) drain(i);
        if (idx_pid >= 0 && fds[idx_pid].revents) exited = true;
        if (pidfd < 0 || (*readers[0] < 0 && *readers[1] < 0)) {
            pid_t w = ::waitpid(pid, &st, WNOHANG);
            if (w < 0 && errno == ECHILD) break;  // reaped by someone else: handled below
            if (w == pid) {
                for (int i = 0; i < 2; ++i) drain(i);
                close_all();
                if (pidfd >= 0) ::close(pidfd);
                r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                return r;
            }
        }
    }
    // Exited (or killed): take what is already in the pipes, never wait for their writers.
    for (int i = 0; i < 2; ++i) drain(i);
    close_all();
    if (pidfd >= 0) ::close(pidfd);
    pid_t w;
    while ((w = ::waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
    }
    if (w != pid) {
        // A host that ignores SIGCHLD or reaps every child (some event loops do) took the status:
        // without it the call cannot count as a success.
        r.err = "cannot learn how git ended (its exit status was collected elsewhere: " +
                std::string(std::strerror(errno)) + ")";
        r.status = -1;
        return r;
    }
    r.status = (!r.timed_out && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string first_line(const std::string& s) {
    std::string t = s.substr(0, s.find('\n'));
    while (!t.empty() && t.back() == '\r') t.pop_back();
    return t;
}

std::string git_error(const std::string& what, const GitResult& r) {
    if (r.timed_out) return what + " did not finish in time and was stopped";
    std::string e = r.err.empty() ? r.out : r.err;
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    return what + " failed" + (r.status >= 0 ? " (exit " + std::to_string(r.status) + ")" : "") +
           (e.empty() ? "" : ": " + e);
}

/// A private folder for the temporary index, removed when apply returns however it ends.
class ScratchDir {
public:
    ScratchDir() {
        std::error_code ec;
        std::string tmpl = (fs::temp_directory_path(ec) / "appforge-apply-XXXXXX").string();
        if (ec) tmpl = "/tmp/appforge-apply-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data())) path_ = buf.data();
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    /// Empty when the folder could not be made.
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// Whether path lies inside (or is) folder, both resolved as far as they exist.
bool is_inside(const fs::path& path, const fs::path& folder) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    fs::path f = fs::weakly_canonical(fs::absolute(folder, ec), ec);
    auto rel = p.lexically_relative(f);
    return !rel.empty() && *rel.begin() != "..";
}

/// The operations git leaves state for while they wait on the user: applying on top of one would
/// commit onto the wrong base or make the user lose the pending state.
const std::pair<const char*, const char*> kInProgress[] = {
    {"rebase-merge", "a rebase"},       {"rebase-apply", "a rebase or git am"}, {"MERGE_HEAD", "a merge"},
    {"CHERRY_PICK_HEAD", "a cherry-pick"}, {"REVERT_HEAD", "a revert"},        {"BISECT_LOG", "a bisect"},
    {"sequencer", "a cherry-pick or revert sequence"}};

/// Cuts an untrusted string for the audit log: UTF-8-safe, with the original length noted.
std::string capped(const std::string& s, std::size_t max_bytes = 256) {
    if (s.size() <= max_bytes) return s;
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return s.substr(0, cut) + "...(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------

namespace {
bool write_all(int fd, const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t w = ::write(fd, text.data() + off, text.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return false;
        off += static_cast<std::size_t>(w);
    }
    return true;
}

/// Every string in an audit record capped, so one hostile field cannot bloat the log.
void cap_strings(nlohmann::json& j) {
    if (j.is_string()) j = capped(j.get_ref<const std::string&>());
    else if (j.is_structured())
        for (auto& v : j) cap_strings(v);
}
}  // namespace

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::open(const std::string& path, std::string& error) {
    if (fd_ >= 0) ::close(fd_);
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) error = path + ": " + std::strerror(errno);
    return fd_ >= 0;
}

bool AuditLog::append(const nlohmann::json& record, std::string& error) {
    if (fd_ < 0) return true;
    nlohmann::json r = record;
    cap_strings(r);
    std::string line = r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (!write_all(fd_, line) || ::fsync(fd_) != 0) {
        error = path_ + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

bool audit_result(AuditLog& log, const ApplyResult& r, std::string& error) {
    AuditOutcome outcome;
    outcome.outcome = r.outcome;
    outcome.diagnostics = r.diagnostics.size();
    // A rejected submission never got a branch; a failed one names the branch it did not create.
    if (r.outcome != "rejected" && r.plan) outcome.branch = r.plan->branch;
    if (!r.commit.empty()) outcome.commit = r.commit;
    if (r.komodo) return log.append(komodo_audit_record(&*r.komodo, outcome, rules::utc_now_iso8601()), error);
    return log.append(audit_record(r.request ? &*r.request : nullptr, outcome, rules::utc_now_iso8601()), error);
}

// ---------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------

namespace {

/// Every check before anything is written, then blobs, tree and commit off to the side, then the
/// branch in one compare-and-swap. Nothing before the last step is visible in the checkout.
/// Steps 2-5 of apply for any plan (GitOps or Resource Sync): the repo state, the base commit, the
/// commit built off to the side and the branch. Sets r.commit on success; on failure r carries why.
void commit_plan(const std::string& repo_dir, const Plan& plan, const AuditLog* audit, const ApplyOptions& options,
                 ApplyResult& r) {
    auto reject = [&](const std::string& code, const std::string& message) {
        r.diagnostics.push_back(Diagnostic{"", code, message, Severity::error});
        r.status = ApplyStatus::invalid;
        r.outcome = "rejected";
    };
    const auto timeout = options.git_timeout;
    auto git = [&](std::vector<std::string> args, std::string input = {}, std::vector<std::string> env = {}) {
        return run_git(repo_dir, GitCall{std::move(args), std::move(input), std::move(env)}, timeout);
    };
    std::error_code ec;
    if (!fs::is_directory(repo_dir, ec)) {
        r.status = ApplyStatus::unreadable;
        r.error = repo_dir + ": not a folder";
        return;
    }

    // 2. The repo's state: the checkout's top, on a branch, no operation pending, clean, branch unused.
    auto top = git({"rev-parse", "--show-toplevel"});
    if (!top.ok()) return reject("git.not-a-repo", git_error("git rev-parse", top));
    const std::string top_dir = first_line(top.out);
    if (fs::canonical(top_dir, ec) != fs::canonical(repo_dir, ec))
        return reject("git.not-top", "--repo must be the top folder of the checkout (" + top_dir + ")");
    if (audit && audit->is_open() && is_inside(audit->path(), top_dir) &&
        !is_inside(audit->path(), fs::path(top_dir) / ".git") &&
        !git({"check-ignore", "-q", "--no-index", "--", fs::absolute(audit->path(), ec).string()}).ok())
        return reject("audit.inside-repo", "the audit log " + audit->path() +
                                               " is inside the checkout and not ignored: every apply would find the "
                                               "tree dirty; keep the log outside the repository (or .gitignore it)");
    std::vector<std::string> where{"rev-parse"};
    for (const auto& entry : kInProgress) where.insert(where.end(), {"--git-path", entry.first});
    auto paths = git(where);  // one line per --git-path, relative to repo_dir unless absolute
    if (!paths.ok()) return reject("git.status", git_error("git rev-parse --git-path", paths));
    std::size_t at = 0;
    for (const auto& [name, what] : kInProgress) {
        std::size_t nl = paths.out.find('\n', at);
        const std::string shown = paths.out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? paths.out.size() : nl + 1;
        fs::path state = shown.empty() ? fs::path(".git") / name : fs::path(shown);
        if (state.is_relative()) state = fs::path(repo_dir) / state;
        struct stat sst {};
        if (::lstat(state.c_str(), &sst) == 0)
            return reject("git.in-progress",
                          std::string(what) + " is in progress (" + shown + "); finish or abort it before apply");
    }
    auto head = git({"rev-parse", "--verify", "-q", "HEAD^{commit}"});
    if (!head.ok()) return reject("git.no-head", "the repo has no commit to branch from");
    const std::string base = first_line(head.out);
    auto sym = git({"symbolic-ref", "-q", "HEAD"});
    if (!sym.ok())
        return reject("git.detached", "HEAD is detached at " + base.substr(0, 12) +
                                          "; check out the branch the change should be based on");
    auto status = git({"status", "--porcelain=v1", "--untracked-files=all"});
    if (!status.ok()) return reject("git.status", git_error("git status", status));
    if (!status.out.empty())
        return reject("git.dirty", "the working tree has uncommitted or untracked changes; commit or stash them first");
    const std::string branch_ref = "refs/heads/" + plan.branch;
    if (git({"rev-parse", "--verify", "-q", branch_ref}).ok())
        return reject("git.branch.exists", "branch " + plan.branch + " already exists");

    // 3. The base commit must hold exactly what was planned against: every edited file as read,
    //    no created path. (The checkout was clean, but a concurrent commit may have moved HEAD.)
    std::vector<std::string> ls{"ls-tree", "-z", "--full-tree", base, "--"};
    for (const auto& f : plan.creates) ls.push_back(f.path);
    for (const auto& e : plan.edits) ls.push_back(e.path);
    auto listed = git(ls);
    if (!listed.ok()) return reject("git.status", git_error("git ls-tree", listed));
    std::map<std::string, std::string> base_modes;  // path -> mode, for the paths of the plan
    std::map<std::string, std::string> base_ids;    // path -> object id
    for (std::size_t pos = 0; pos < listed.out.size();) {
        std::size_t end = listed.out.find('\0', pos);
        if (end == std::string::npos) end = listed.out.size();
        std::string entry = listed.out.substr(pos, end - pos);  // "mode type id\tpath"
        pos = end + 1;
        auto tab = entry.find('\t');
        if (tab == std::string::npos) continue;
        const std::string path = entry.substr(tab + 1);
        base_modes[path] = entry.substr(0, entry.find(' '));
        auto id_at = entry.rfind(' ', tab);
        if (id_at != std::string::npos) base_ids[path] = entry.substr(id_at + 1, tab - id_at - 1);
    }
    for (const auto& f : plan.creates)
        if (base_modes.count(f.path))
            return reject("gitops.changed", f.path + ": exists in " + base.substr(0, 12) + " but was absent when planned");
    for (const auto& e : plan.edits) {
        // The id of the bytes planned against, compared with the base's: no size limit on either.
        auto m = base_modes.find(e.path);
        auto planned_id = git({"hash-object", "--no-filters", "--stdin"}, e.old_text);
        if (m == base_modes.end() || (m->second != "100644" && m->second != "100755") || !planned_id.ok() ||
            first_line(planned_id.out) != base_ids[e.path])
            return reject("gitops.changed", e.path + ": differs in " + base.substr(0, 12) + " from what was planned");
    }

    // 4. Blobs, tree and commit in a temporary index: the checkout's own index is never opened.
    ScratchDir scratch;
    if (scratch.path().empty()) return reject("git.failed", std::string("cannot make a scratch folder: ") + std::strerror(errno));
    const std::vector<std::string> index_env{"GIT_INDEX_FILE=" + scratch.path() + "/index"};
    std::string error;
    std::string commit;
    auto fail = [&](std::string why) {
        error = std::move(why);
        return false;
    };
    auto attempt = [&]() {
        auto rt = git({"read-tree", base}, {}, index_env);
        if (!rt.ok()) return fail(git_error("git read-tree", rt));
        std::string index_info;  // "mode SP sha TAB path NUL" for update-index -z --index-info
        long writes = 0;
        auto add = [&](const std::string& path, const std::string& content, const std::string& mode) {
            if (options.fail_after_writes && writes >= *options.fail_after_writes) {
                error = "injected failure after " + std::to_string(writes) + " object write(s) (fail_after_writes)";
                return false;
            }
            // --no-filters: the commit holds exactly the bytes appforge rendered and verified.
            auto h = git({"hash-object", "-w", "--no-filters", "--stdin"}, content);
            if (!h.ok() || first_line(h.out).empty()) return fail(git_error("git hash-object", h));
            index_info += mode + " " + first_line(h.out) + "\t" + path + '\0';
            ++writes;
            return true;
        };
        for (const auto& f : plan.creates) {
            if (!is_safe_repo_path(f.path)) return fail(f.path + ": unsafe path");
            if (!add(f.path, f.content, "100644")) return false;
        }
        for (const auto& e : plan.edits)
            if (!add(e.path, e.new_text, base_modes[e.path])) return false;
        if (options.fail_after_writes && writes >= *options.fail_after_writes) {
            error = "injected failure after " + std::to_string(writes) + " object write(s) (fail_after_writes)";
            return false;
        }
        auto ui = git({"update-index", "-z", "--index-info"}, index_info, index_env);
        if (!ui.ok()) return fail(git_error("git update-index", ui));
        auto wt = git({"write-tree"}, {}, index_env);
        if (!wt.ok()) return fail(git_error("git write-tree", wt));
        // update-index replaces what stands in a new path's way (a file or link where a folder goes),
        // so the tree is compared with the base: exactly the planned files added and edited.
        auto dt = git({"diff-tree", "-r", "-z", "--no-renames", "--name-status", base, first_line(wt.out)});
        if (!dt.ok()) return fail(git_error("git diff-tree", dt));
        std::vector<std::string> changed, planned;
        for (std::size_t pos = 0; pos < dt.out.size();) {
            std::size_t a = dt.out.find('\0', pos);
            if (a == std::string::npos) break;
            std::size_t b = dt.out.find('\0', a + 1);
            if (b == std::string::npos) b = dt.out.size();
            changed.push_back(dt.out.substr(pos, a - pos) + " " + dt.out.substr(a + 1, b - a - 1));
            pos = b + 1;
        }
        for (const auto& f : plan.creates) planned.push_back("A " + f.path);
        for (const auto& e : plan.edits) planned.push_back("M " + e.path);
        std::sort(changed.begin(), changed.end());
        std::sort(planned.begin(), planned.end());
        if (changed != planned)
            return fail("the commit would change more than the plan (" + std::to_string(changed.size()) +
                        " paths instead of " + std::to_string(planned.size()) +
                        "): something in the base commit stands where a planned file goes");
        std::vector<std::string> ct;
        if (!git({"config", "user.name"}).ok()) ct.insert(ct.end(), {"-c", "user.name=appforge"});
        if (!git({"config", "user.email"}).ok()) ct.insert(ct.end(), {"-c", "user.email=appforge@localhost"});
        ct.insert(ct.end(), {"commit-tree", first_line(wt.out), "-p", base, "-F", "-"});
        // commit-tree ignores commit.gpgSign (git 2.9.1 on), so the user's signing policy is passed on.
        auto sign = git({"config", "--type=bool", "commit.gpgsign"});
        if (sign.ok() && first_line(sign.out) == "true") ct.push_back("-S");
        auto c = git(ct, plan.commitMessage);
        if (!c.ok() || first_line(c.out).empty()) return fail(git_error("git commit-tree", c));
        commit = first_line(c.out);
        return true;
    };
    if (!attempt()) {
        std::string msg = "apply failed: " + error + "; nothing in the repository changed (no branch was created)";
        r.diagnostics.push_back(Diagnostic{"", "git.failed", msg, Severity::error});
        r.status = ApplyStatus::invalid;
        r.outcome = "failed";
        r.error = msg;
        return;
    }

    // 5. The branch, created only if it does not exist (an empty old value): of two runs racing for
    //    one branch exactly one wins, and the other reports it.
    auto ref = git({"update-ref", "-m", "appforge apply: " + plan.branch, branch_ref, commit, ""});
    if (!ref.ok() && ref.timed_out) {
        // Stopped after it may have moved the ref: the branch decides. (A refused compare-and-swap
        // is a lost race even when the winner's commit is byte-identical to ours.)
        auto now = git({"rev-parse", "--verify", "-q", branch_ref});
        if (now.ok() && first_line(now.out) == commit) ref.status = 0;
    }
    if (!ref.ok()) {
        bool exists = git({"rev-parse", "--verify", "-q", branch_ref}).ok();
        if (exists) return reject("git.branch.exists", "branch " + plan.branch + " already exists (created meanwhile)");
        std::string msg = "apply failed: " + git_error("git update-ref", ref) + "; no branch was created";
        r.diagnostics.push_back(Diagnostic{"", "git.failed", msg, Severity::error});
        r.status = ApplyStatus::invalid;
        r.outcome = "failed";
        r.error = msg;
        return;
    }

    r.commit = commit;
}

void apply_steps(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                 const AuditLog* audit, const ApplyOptions& options, ApplyResult& r) {
    std::error_code ec;
    if (!fs::is_directory(repo_dir, ec)) {
        r.status = ApplyStatus::unreadable;
        r.error = repo_dir + ": not a folder";
        return;
    }
    FsRepo repo(repo_dir);

    // 1. Plan: check, render, conflicts. Nothing has been touched yet.
    PlannedRequest planned = plan_checked_request(engine, checked, repo);
    r.request = planned.app;
    r.diagnostics = planned.diagnostics;
    r.plan = planned.plan;
    if (!planned.ok()) {
        r.status = is_parse_failure(r.diagnostics) ? ApplyStatus::unreadable : ApplyStatus::invalid;
        return;
    }
    const Plan& plan = *r.plan;
    commit_plan(repo_dir, plan, audit, options, r);
    if (r.commit.empty()) return;
    const std::string commit = r.commit;

    // 6. Lifecycle: the request now carries its branch and commit (still pending until merged).
    auto lc = record_commit(*r.request, plan.branch, commit);
    r.diagnostics.insert(r.diagnostics.end(), lc.begin(), lc.end());
    r.status = ApplyStatus::ok;
    r.outcome = "committed";
    r.commit = commit;
}

/// The Resource Sync flow: plan a NAS request's stack, then the same commit steps as GitOps.
void apply_komodo_steps(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                        const AuditLog* audit, const ApplyOptions& options, ApplyResult& r) {
    std::error_code ec;
    if (!fs::is_directory(repo_dir, ec)) {
        r.status = ApplyStatus::unreadable;
        r.error = repo_dir + ": not a folder";
        return;
    }
    FsRepo repo(repo_dir);
    KomodoPlannedRequest planned = plan_komodo_checked_request(engine, checked, repo);
    r.komodo = planned.komodo;
    r.diagnostics = planned.diagnostics;
    r.plan = planned.plan;
    if (!planned.ok()) {
        r.status = is_parse_failure(r.diagnostics) ? ApplyStatus::unreadable : ApplyStatus::invalid;
        return;
    }
    commit_plan(repo_dir, *r.plan, audit, options, r);
    if (r.commit.empty()) return;
    // The request stays pending: the stack is deployed when the sync runs after the merge.
    r.komodo->submissionStatus = "Resource Sync: committed " + r.commit.substr(0, 12) + " on branch " + r.plan->branch;
    r.status = ApplyStatus::ok;
    r.outcome = "committed";
}

}  // namespace

ApplyResult apply_checked_request(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                                  AuditLog* audit, const ApplyOptions& options) {
    ApplyResult r;
    apply_steps(engine, checked, repo_dir, audit, options, r);
    if (audit && audit->is_open()) {
        std::string e;
        if (!audit_result(*audit, r, e)) r.audit_error = e;
    }
    return r;
}

ApplyResult apply_komodo_checked_request(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                                         AuditLog* audit, const ApplyOptions& options) {
    ApplyResult r;
    apply_komodo_steps(engine, checked, repo_dir, audit, options, r);
    if (audit && audit->is_open()) {
        std::string e;
        if (!audit_result(*audit, r, e)) r.audit_error = e;
    }
    return r;
}

ApplyResult apply_request(const Engine& engine, std::string_view request_text, const std::string& repo_dir,
                          AuditLog* audit, const ApplyOptions& options) {
    return apply_checked_request(engine, engine.check(request_text), repo_dir, audit, options);
}
nlohmann::json apply_result_to_json(const ApplyResult& r) {
    using nlohmann::json;
    json j;
    if (r.ok() && r.plan && (r.request || r.komodo)) {
        const Plan& plan = *r.plan;
        json files = json::array();
        for (const auto& e : plan.edits) files.push_back({{"path", e.path}, {"action", "edit"}});
        for (const auto& f : plan.creates) files.push_back({{"path", f.path}, {"action", "create"}});
        j = plan_review_to_json(plan);
        j.update(json{{"ok", true},
                      {"outcome", r.outcome},
                      {"commit", r.commit},
                      {"files", files},
                      {"request", r.komodo ? to_json(*r.komodo) : to_json(*r.request)}});
    } else {
        j = json{{"ok", false}, {"outcome", r.outcome}};
        if (!r.error.empty()) j["error"] = r.error;
    }
    j["diagnostics"] = diagnostics_to_json(r.diagnostics);
    if (!r.audit_error.empty()) j["auditError"] = r.audit_error;
    return j;
}

}  // namespace appforge::edge
