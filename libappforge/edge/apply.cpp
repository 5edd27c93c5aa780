// Apply (appforge/edge/apply.hpp): the git CLI through posix_spawn (never a shell), file writes with
// an undo journal, and the audit log. The plan itself comes from the pure core (plan_checked_request).
#include "appforge/edge/apply.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appforge/edge/fs_repo.hpp"
#include "appforge/value_rules.hpp"

extern char** environ;

namespace appforge::edge {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------
// git through fork/exec (posix_spawn), never a shell
// ---------------------------------------------------------------------------------------

struct GitResult {
    int status = -1;  ///< exit status; -1 when git could not be started or was killed
    std::string out, err;
    bool ok() const { return status == 0; }
};

GitResult run_git(const std::string& repo, const std::vector<std::string>& args) {
    GitResult r;
    std::vector<std::string> argv_s{"git", "-C", repo};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        r.err = std::strerror(errno);
        return r;
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        r.err = std::strerror(errno);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);  // no prompt can hang on stdin
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        r.err = std::string("cannot run git: ") + std::strerror(rc);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        return r;
    }
    // Drain both pipes together so a chatty hook cannot deadlock us.
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    char buf[8192];
    while (open_fds > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string first_line(const std::string& s) {
    std::string t = s;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

std::string git_error(const std::string& what, const GitResult& r) {
    std::string e = r.err.empty() ? r.out : r.err;
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    return what + " failed" + (r.status >= 0 ? " (exit " + std::to_string(r.status) + ")" : "") +
           (e.empty() ? "" : ": " + e);
}

// ---------------------------------------------------------------------------------------
// File writes with an undo journal
// ---------------------------------------------------------------------------------------

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

/// Temporary file next to the target, fsync, rename: a reader sees the old or the new file, never half.
bool write_atomic(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
    std::string tmp = path + ".appforge-tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        error = tmp + ": " + std::strerror(errno);
        return false;
    }
    bool ok = write_all(fd, text) && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
    int saved = errno;
    ok = (::close(fd) == 0) && ok;
    if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
        saved = errno;
        ok = false;
    }
    if (!ok) {
        error = path + ": " + std::strerror(saved);
        ::unlink(tmp.c_str());
    }
    return ok;
}

/// Everything apply changed on disk, so a failure can put every byte back.
struct Journal {
    std::vector<std::string> created_files;                  // full paths
    std::vector<std::string> created_dirs;                   // full paths, in creation order
    std::vector<std::tuple<std::string, std::string, mode_t>> edited;  // full path, old text, mode

    /// Undoes in reverse order; returns the problems it could not fix.
    std::vector<std::string> undo() {
        std::vector<std::string> problems;
        for (auto it = edited.rbegin(); it != edited.rend(); ++it) {
            std::string e;
            if (!write_atomic(std::get<0>(*it), std::get<1>(*it), std::get<2>(*it), e)) problems.push_back(e);
        }
        for (auto it = created_files.rbegin(); it != created_files.rend(); ++it)
            if (::unlink(it->c_str()) != 0 && errno != ENOENT) problems.push_back(*it + ": " + std::strerror(errno));
        for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it)
            if (::rmdir(it->c_str()) != 0 && errno != ENOENT) problems.push_back(*it + ": " + std::strerror(errno));
        return problems;
    }
};

/// Creates the missing parent folders of a repo path, journalling each one.
bool make_parents(const FsRepo& repo, const std::string& rel, Journal& j, std::string& error) {
    std::size_t pos = 0;
    while ((pos = rel.find('/', pos)) != std::string::npos) {
        std::string dir = repo.full(rel.substr(0, pos));
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0) {
            if (::mkdir(dir.c_str(), 0755) != 0) {
                error = dir + ": " + std::strerror(errno);
                return false;
            }
            j.created_dirs.push_back(dir);
        } else if (!S_ISDIR(st.st_mode)) {
            error = dir + ": exists and is not a folder";
            return false;
        }
        ++pos;
    }
    return true;
}

/// Writes the plan's files (creates, then edits) with every change journalled.
bool write_plan(const FsRepo& repo, const Plan& plan, const std::optional<long>& limit, Journal& j,
                std::string& error) {
    long writes = 0;
    auto injected = [&]() {
        if (limit && writes >= *limit) {
            error = "injected failure after " + std::to_string(writes) + " file write(s) (fail_after_writes)";
            return true;
        }
        return false;
    };
    for (const auto& f : plan.creates) {
        if (injected()) return false;
        if (!is_safe_repo_path(f.path)) {
            error = f.path + ": unsafe path";
            return false;
        }
        if (!make_parents(repo, f.path, j, error)) return false;
        std::string full = repo.full(f.path);
        struct stat st {};
        if (::lstat(full.c_str(), &st) == 0) {
            error = f.path + ": appeared after planning; refusing to overwrite";
            return false;
        }
        // Journal before writing: the rename may succeed even if a later step reports an error.
        j.created_files.push_back(full);
        if (!write_atomic(full, f.content, 0644, error)) return false;
        ++writes;
    }
    for (const auto& e : plan.edits) {
        if (injected()) return false;
        std::string full = repo.full(e.path);
        struct stat st {};
        auto now = repo.read_file(e.path);
        if (!now || *now != e.old_text || ::lstat(full.c_str(), &st) != 0) {
            error = e.path + ": changed after planning; refusing to edit";
            return false;
        }
        mode_t mode = st.st_mode & 07777;
        j.edited.emplace_back(full, e.old_text, mode);
        if (!write_atomic(full, e.new_text, mode, error)) return false;
        ++writes;
    }
    if (injected()) return false;
    return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::open(const std::string& path, std::string& error) {
    if (fd_ >= 0) ::close(fd_);
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) error = path + ": " + std::strerror(errno);
    return fd_ >= 0;
}

bool AuditLog::append(const nlohmann::json& record, std::string& error) {
    if (fd_ < 0) return true;
    std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
    // A rejected submission never got a branch; a failed one names the branch it rolled back.
    if (r.outcome != "rejected" && r.plan) outcome.branch = r.plan->branch;
    if (!r.commit.empty()) outcome.commit = r.commit;
    return log.append(audit_record(r.request ? &*r.request : nullptr, outcome, rules::utc_now_iso8601()), error);
}

// ---------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------

namespace {

/// Every check before any git operation that changes something, then branch, write, add, commit.
void apply_steps(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                 const ApplyOptions& options, ApplyResult& r) {
    auto reject = [&](const std::string& code, const std::string& message) {
        r.diagnostics.push_back(Diagnostic{"", code, message, Severity::error});
        r.status = ApplyStatus::invalid;
        r.outcome = "rejected";
    };
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

    // 2. The repo's state: the checkout's top, clean, with a commit to branch from, branch unused.
    auto top = run_git(repo_dir, {"rev-parse", "--show-toplevel"});
    if (!top.ok()) return reject("git.not-a-repo", git_error("git rev-parse", top));
    if (fs::canonical(first_line(top.out), ec) != fs::canonical(repo_dir, ec))
        return reject("git.not-top", "--repo must be the top folder of the checkout (" + first_line(top.out) + ")");
    auto status = run_git(repo_dir, {"status", "--porcelain=v1", "--untracked-files=all"});
    if (!status.ok()) return reject("git.status", git_error("git status", status));
    if (!status.out.empty())
        return reject("git.dirty", "the working tree has uncommitted or untracked changes; commit or stash them first");
    auto head = run_git(repo_dir, {"rev-parse", "--verify", "-q", "HEAD^{commit}"});
    if (!head.ok()) return reject("git.no-head", "the repo has no commit to branch from");
    const std::string orig_sha = first_line(head.out);
    auto sym = run_git(repo_dir, {"symbolic-ref", "-q", "HEAD"});
    const std::string orig_ref = sym.ok() ? first_line(sym.out) : "";  // empty: detached HEAD
    if (run_git(repo_dir, {"rev-parse", "--verify", "-q", "refs/heads/" + plan.branch}).ok())
        return reject("git.branch.exists", "branch " + plan.branch + " already exists");

    // 3. Author: the user's git config; appforge's identity only for what is unset.
    std::vector<std::string> identity;
    if (!run_git(repo_dir, {"config", "user.name"}).ok()) identity.insert(identity.end(), {"-c", "user.name=appforge"});
    if (!run_git(repo_dir, {"config", "user.email"}).ok())
        identity.insert(identity.end(), {"-c", "user.email=appforge@localhost"});

    // 4. Branch, write, add, commit; any failure undoes everything.
    Journal journal;
    bool branch_created = false;
    std::string error;
    std::string commit;
    auto attempt = [&]() {
        auto co = run_git(repo_dir, {"checkout", "-q", "-b", plan.branch});
        branch_created = run_git(repo_dir, {"rev-parse", "--verify", "-q", "refs/heads/" + plan.branch}).ok();
        if (!co.ok()) {
            error = git_error("git checkout -b", co);
            return false;
        }
        if (!write_plan(repo, plan, options.fail_after_writes, journal, error)) return false;
        std::vector<std::string> add{"add", "--"};
        for (const auto& f : plan.creates) add.push_back(f.path);
        for (const auto& e : plan.edits) add.push_back(e.path);
        auto added = run_git(repo_dir, add);
        if (!added.ok()) {
            error = git_error("git add", added);
            return false;
        }
        std::vector<std::string> ci = identity;
        ci.insert(ci.end(), {"commit", "-q", "-m", plan.commitMessage});
        auto committed = run_git(repo_dir, ci);
        if (!committed.ok()) {
            error = git_error("git commit", committed);
            return false;
        }
        auto sha = run_git(repo_dir, {"rev-parse", "--verify", "-q", "HEAD"});
        if (!sha.ok() || first_line(sha.out) == orig_sha) {
            error = git_error("git rev-parse HEAD", sha);
            return false;
        }
        commit = first_line(sha.out);
        return true;
    };
    // The git CLI is run with -C; a relative repo_dir is fine for it, the journal uses repo.full().
    if (!attempt()) {
        std::vector<std::string> problems = journal.undo();
        // HEAD back where it was without touching files, then the index from HEAD, then the branch.
        GitResult h = orig_ref.empty() ? run_git(repo_dir, {"update-ref", "--no-deref", "HEAD", orig_sha})
                                       : run_git(repo_dir, {"symbolic-ref", "HEAD", orig_ref});
        if (!h.ok()) problems.push_back(git_error("restoring HEAD", h));
        auto rs = run_git(repo_dir, {"reset", "-q"});
        if (!rs.ok()) problems.push_back(git_error("git reset", rs));
        if (branch_created) {
            auto del = run_git(repo_dir, {"branch", "-q", "-D", plan.branch});
            if (!del.ok()) problems.push_back(git_error("git branch -D", del));
        }
        std::string msg = "apply failed: " + error + "; ";
        if (problems.empty()) {
            msg += "the repository was restored";
        } else {
            msg += "ROLLBACK INCOMPLETE: ";
            for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
        }
        r.diagnostics.push_back(Diagnostic{"", problems.empty() ? "git.failed" : "git.rollback", msg, Severity::error});
        r.status = ApplyStatus::invalid;
        r.outcome = "failed";
        r.error = msg;
        return;
    }

    // 5. Lifecycle: the request now carries its branch and commit (still pending until merged).
    auto lc = record_commit(*r.request, plan.branch, commit);
    r.diagnostics.insert(r.diagnostics.end(), lc.begin(), lc.end());
    r.status = ApplyStatus::ok;
    r.outcome = "committed";
    r.commit = commit;
}

}  // namespace

ApplyResult apply_checked_request(const Engine& engine, const CheckedRequest& checked, const std::string& repo_dir,
                                  AuditLog* audit, const ApplyOptions& options) {
    ApplyResult r;
    apply_steps(engine, checked, repo_dir, options, r);
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
    if (r.ok() && r.plan && r.request) {
        const Plan& plan = *r.plan;
        json files = json::array();
        for (const auto& e : plan.edits) files.push_back({{"path", e.path}, {"action", "edit"}});
        for (const auto& f : plan.creates) files.push_back({{"path", f.path}, {"action", "create"}});
        j = plan_review_to_json(plan);
        j.update(json{{"ok", true},
                      {"outcome", r.outcome},
                      {"commit", r.commit},
                      {"files", files},
                      {"request", to_json(*r.request)}});
    } else {
        j = json{{"ok", false}, {"outcome", r.outcome}};
        if (!r.error.empty()) j["error"] = r.error;
    }
    j["diagnostics"] = diagnostics_to_json(r.diagnostics);
    if (!r.audit_error.empty()) j["auditError"] = r.audit_error;
    return j;
}

}  // namespace appforge::edge
