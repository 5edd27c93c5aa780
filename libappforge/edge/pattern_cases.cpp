// The pattern kit's case folders on disk (patterntest::run_case and update_case): read and written
// only through safe_fs, so a link planted in a case folder (expected/ itself, a file in it, the
// request or the profile) is reported, never read, written or deleted through.
#include <map>

#include "appforge/edge/safe_fs.hpp"
#include "appforge/patterntest.hpp"

namespace appforge::patterntest {

namespace {

namespace sfs = edge::safe_fs;

constexpr std::size_t kMaxCaseFile = 16u << 20;  // far above any rendered file; a case is not a dump
constexpr int kMaxDepth = 16;

Diagnostic problem(const std::string& path, const std::string& code, const std::string& message) {
    return Diagnostic{path, code, message, Severity::error};
}

Diagnostic link_problem(const std::string& path) {
    return problem(path, "kit.symlink",
                   path + " is a symbolic link; the pattern kit never reads, writes or deletes through a link in a "
                          "case folder (replace it with the real file or folder)");
}

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

/// Every regular file below an open expected/ folder, keyed by its '/'-separated relative path;
/// links are problems, other special files are left out.
void read_tree(const sfs::Dir& dir, const std::string& label, const std::string& prefix, int depth, Outputs& out,
               Diagnostics& errors) {
    std::vector<sfs::Entry> entries;
    std::string e;
    if (!sfs::list(dir, entries, e)) {
        errors.push_back(problem(label, "kit.expected.unreadable", label + ": " + e));
        return;
    }
    for (const auto& entry : entries) {
        const std::string path = join(label, entry.name);
        if (entry.kind == sfs::Kind::symlink) {
            errors.push_back(link_problem(path));
        } else if (entry.kind == sfs::Kind::file) {
            auto text = sfs::read_file(dir, entry.name, e, kMaxCaseFile);
            if (!text) errors.push_back(problem(path, "kit.expected.unreadable", path + ": " + e));
            else out[prefix + entry.name] = std::move(*text);
        } else if (entry.kind == sfs::Kind::folder && depth < kMaxDepth) {
            sfs::Dir sub = sfs::open_subdir(dir, entry.name, false, e);
            if (!sub.is_open()) errors.push_back(problem(path, "kit.expected.unreadable", path + ": " + e));
            else read_tree(sub, path, prefix + entry.name + "/", depth + 1, out, errors);
        }
    }
}

/// A case file that may be absent: its text, nullopt when absent, a problem when it is a link or unreadable.
std::optional<std::string> case_file(const sfs::Dir& dir, const std::string& case_dir, const std::string& name,
                                     Diagnostics& errors, const char* unreadable_code) {
    const std::string path = join(case_dir, name);
    switch (sfs::kind_of(dir, name)) {
        case sfs::Kind::missing: return std::nullopt;
        case sfs::Kind::symlink: errors.push_back(link_problem(path)); return std::nullopt;
        default: break;
    }
    std::string e;
    auto text = sfs::read_file(dir, name, e, kMaxCaseFile);
    if (!text) errors.push_back(problem(path, unreadable_code, name + " cannot be read: " + e));
    return text;
}

/// The engine a case runs under: the given one, or a sibling with the case's profile.yaml.
std::shared_ptr<const Engine> case_engine(const std::string& profile_path, const std::string& text,
                                          const Engine& engine, Diagnostics& errors, const Engine*& use) {
    EngineOptions opts = engine.options();
    opts.profile_text = text;
    opts.profile_name = profile_path;
    auto e = Engine::create(opts);
    if (!e.ok()) {
        for (const auto& d : e.diagnostics)
            if (d.severity == Severity::error) errors.push_back(d);
        return nullptr;
    }
    use = e.value->get();
    return *e.value;
}

}  // namespace

CaseResult run_case(const std::string& case_dir, const Engine& engine) {
    CaseResult res;
    res.dir = case_dir;
    {
        std::string n = case_dir;
        while (n.size() > 1 && n.back() == '/') n.pop_back();
        std::size_t slash = n.rfind('/');
        res.name = slash == std::string::npos ? n : n.substr(slash + 1);
    }
    std::string e;
    sfs::Dir dir = sfs::open_dir(case_dir, false, e);
    if (!dir.is_open()) {
        res.errors.push_back(problem(case_dir, "kit.request.missing", "case folder cannot be opened: " + e));
        return res;
    }
    std::optional<std::string> request;
    for (const char* name : {"request.yaml", "request.json"})
        if (!request && res.errors.empty()) request = case_file(dir, case_dir, name, res.errors, "kit.request.missing");
    if (!res.errors.empty()) return res;
    if (!request) {
        res.errors.push_back(problem(case_dir, "kit.request.missing", "case folder has no readable request.yaml"));
        return res;
    }
    const std::string profile_path = join(case_dir, "profile.yaml");
    auto profile = case_file(dir, case_dir, "profile.yaml", res.errors, "kit.profile.unreadable");
    if (!res.errors.empty()) return res;
    const Engine* use = &engine;
    std::shared_ptr<const Engine> keep;
    if (profile) {
        keep = case_engine(profile_path, *profile, engine, res.errors, use);
        if (!res.errors.empty()) return res;
    }

    Outputs expected;
    const std::string expected_label = join(case_dir, "expected");
    switch (sfs::kind_of(dir, "expected")) {
        case sfs::Kind::missing: break;
        case sfs::Kind::folder: {
            sfs::Dir ex = sfs::open_subdir(dir, "expected", false, e);
            if (!ex.is_open()) res.errors.push_back(problem(expected_label, "kit.expected.unreadable", expected_label + ": " + e));
            else read_tree(ex, expected_label, "", 0, expected, res.errors);
            break;
        }
        case sfs::Kind::symlink: res.errors.push_back(link_problem(expected_label)); break;
        default:
            res.errors.push_back(problem(expected_label, "kit.expected.unreadable", expected_label + " is not a folder"));
    }
    if (!res.errors.empty()) return res;
    res.actual = render_outputs(*use, *request);
    res.diffs = compare_outputs(expected, res.actual, expected_label, join(case_dir, "rendered"));
    return res;
}

Diagnostics update_case(const std::string& case_dir, const Engine& engine) {
    CaseResult r = run_case(case_dir, engine);
    if (!r.errors.empty()) return r.errors;
    Diagnostics out;
    std::string e;
    sfs::Dir dir = sfs::open_dir(case_dir, false, e);
    if (!dir.is_open()) return {problem(case_dir, "kit.update.write", "case folder cannot be opened: " + e)};
    const std::string expected_label = join(case_dir, "expected");
    sfs::Dir expected = sfs::open_subdir(dir, "expected", true, e);
    if (!expected.is_open()) {
        if (sfs::kind_of(dir, "expected") == sfs::Kind::symlink) return {link_problem(expected_label)};
        return {problem(expected_label, "kit.update.write", expected_label + ": " + e)};
    }
    for (const auto& d : r.diffs) {
        const std::string label = join(expected_label, d.path);
        const bool remove = d.kind == FileDiff::Kind::missing;
        // Nested expected files (only ever read from an existing tree) are reached segment by segment.
        std::vector<std::string> segs;
        for (std::size_t start = 0;;) {
            std::size_t slash = d.path.find('/', start);
            segs.push_back(d.path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        std::vector<sfs::Dir> held;
        const sfs::Dir* at = &expected;
        bool reached = true;
        for (std::size_t i = 0; i + 1 < segs.size() && reached; ++i) {
            held.push_back(sfs::open_subdir(*at, segs[i], !remove, e));
            reached = held.back().is_open();
            at = &held.back();
        }
        if (!reached) {
            out.push_back(problem(label, remove ? "kit.update.remove" : "kit.update.write", label + ": " + e));
            continue;
        }
        if (remove) {
            if (!sfs::remove_file(*at, segs.back(), e))
                out.push_back(problem(label, "kit.update.remove", "cannot remove stale expected file " + label + ": " + e));
            continue;
        }
        if (!sfs::write_file(*at, segs.back(), r.actual.at(d.path), e))
            out.push_back(problem(label, "kit.update.write", label + ": " + e));
    }
    return out;
}

}  // namespace appforge::patterntest
