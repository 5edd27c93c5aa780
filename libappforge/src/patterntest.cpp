#include "appforge/patterntest.hpp"

#include <algorithm>
#include <filesystem>

#include "appforge/document.hpp"

namespace appforge::patterntest {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------
// Myers' O(ND) difference algorithm on lines
// ---------------------------------------------------------------------------------------

/// Lines keep their '\n', so a last line without one differs from the same line with one.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {
            out.push_back(text.substr(start));
            break;
        }
        out.push_back(text.substr(start, nl - start + 1));
        start = nl + 1;
    }
    return out;
}

enum class Op { equal, del, ins };

/// The shortest edit script from a to b, as one op per line (equal lines consume both sides).
std::vector<Op> myers(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const long n = static_cast<long>(a.size()), m = static_cast<long>(b.size());
    const long max = n + m;
    const long off = max + 1;
    std::vector<long> v(static_cast<std::size_t>(2 * max + 3), 0);
    std::vector<std::vector<long>> trace;
    long found_d = -1;
    for (long d = 0; d <= max && found_d < 0; ++d) {
        trace.push_back(v);
        for (long k = -d; k <= d; k += 2) {
            long x;
            // Prefer the deletion side on ties so deletions print before insertions.
            if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) x = v[off + k + 1];
            else x = v[off + k - 1] + 1;
            long y = x - k;
            while (x < n && y < m && a[x] == b[y]) ++x, ++y;
            v[off + k] = x;
            if (x >= n && y >= m) {
                found_d = d;
                break;
            }
        }
    }
    // Walk the trace backwards from (n, m) to (0, 0).
    std::vector<Op> ops;
    long x = n, y = m;
    for (long d = found_d; d > 0; --d) {
        const std::vector<long>& pv = trace[static_cast<std::size_t>(d)];
        long k = x - y;
        long prev_k;
        if (k == -d || (k != d && pv[off + k - 1] < pv[off + k + 1])) prev_k = k + 1;
        else prev_k = k - 1;
        long prev_x = pv[off + prev_k];
        long prev_y = prev_x - prev_k;
        while (x > prev_x && y > prev_y) {
            ops.push_back(Op::equal);
            --x, --y;
        }
        ops.push_back(x == prev_x ? Op::ins : Op::del);
        x = prev_x, y = prev_y;
    }
    while (x > 0 && y > 0) {
        ops.push_back(Op::equal);
        --x, --y;
    }
    std::reverse(ops.begin(), ops.end());
    return ops;
}

/// A hunk range as `diff -u` writes it: "start,count", "start" for one line, and for an empty
/// range the line before it.
std::string range(long start0, long count) {
    if (count == 0) return std::to_string(start0) + ",0";
    if (count == 1) return std::to_string(start0 + 1);
    return std::to_string(start0 + 1) + "," + std::to_string(count);
}

void emit_line(std::string& out, char sign, const std::string& line) {
    out.push_back(sign);
    out += line;
    if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

std::string unified_diff(const std::string& old_text, const std::string& new_text, const std::string& old_name,
                         const std::string& new_name, int context) {
    if (old_text == new_text) return {};
    if (context < 0) context = 0;
    auto a = split_lines(old_text), b = split_lines(new_text);
    auto ops = myers(a, b);
    // Positions in a and b before each op.
    std::vector<long> pa(ops.size() + 1), pb(ops.size() + 1);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        pa[i + 1] = pa[i] + (ops[i] != Op::ins);
        pb[i + 1] = pb[i] + (ops[i] != Op::del);
    }
    std::string out = "--- " + old_name + "\n+++ " + new_name + "\n";
    const long n = static_cast<long>(ops.size()), c = context;
    long i = 0;
    while (i < n) {
        while (i < n && ops[static_cast<std::size_t>(i)] == Op::equal) ++i;
        if (i >= n) break;
        long first = i, last = i;  // first and last change of this hunk
        for (long j = i + 1; j < n; ++j) {
            if (ops[static_cast<std::size_t>(j)] == Op::equal) continue;
            if (j - last - 1 > 2 * c) break;
            last = j;
        }
        long begin = std::max(0L, first - c), end = std::min(n, last + c + 1);
        long old_count = pa[static_cast<std::size_t>(end)] - pa[static_cast<std::size_t>(begin)];
        long new_count = pb[static_cast<std::size_t>(end)] - pb[static_cast<std::size_t>(begin)];
        out += "@@ -" + range(pa[static_cast<std::size_t>(begin)], old_count) + " +" +
               range(pb[static_cast<std::size_t>(begin)], new_count) + " @@\n";
        for (long j = begin; j < end; ++j) {
            auto sj = static_cast<std::size_t>(j);
            switch (ops[sj]) {
                case Op::equal: emit_line(out, ' ', a[static_cast<std::size_t>(pa[sj])]); break;
                case Op::del: emit_line(out, '-', a[static_cast<std::size_t>(pa[sj])]); break;
                case Op::ins: emit_line(out, '+', b[static_cast<std::size_t>(pb[sj])]); break;
            }
        }
        i = end;
    }
    return out;
}

const char* to_string(FileDiff::Kind k) {
    switch (k) {
        case FileDiff::Kind::missing: return "missing";
        case FileDiff::Kind::unexpected: return "unexpected";
        case FileDiff::Kind::changed: return "changed";
    }
    return "changed";
}

Outputs render_outputs(const Engine& engine, const std::string& request_text) {
    Outputs out;
    auto r = engine.render_text(request_text);
    if (r.ok()) {
        for (const auto& f : r.value->files) out[f.path] = f.text;
        return out;
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : r.diagnostics)
        arr.push_back({{"path", d.path}, {"code", d.code}, {"message", d.message}, {"severity", to_string(d.severity)}});
    out[kDiagnosticsFile] = to_json_text(arr);
    return out;
}

std::vector<FileDiff> compare_outputs(const Outputs& expected, const Outputs& actual, const std::string& expected_label,
                                      const std::string& actual_label) {
    std::vector<FileDiff> out;
    auto e = expected.begin();
    auto a = actual.begin();
    // Both maps are sorted by path: one merge pass gives a deterministic order.
    while (e != expected.end() || a != actual.end()) {
        if (a == actual.end() || (e != expected.end() && e->first < a->first)) {
            out.push_back({FileDiff::Kind::missing, e->first,
                           unified_diff(e->second, "", expected_label + "/" + e->first, "/dev/null")});
            ++e;
        } else if (e == expected.end() || a->first < e->first) {
            out.push_back({FileDiff::Kind::unexpected, a->first,
                           unified_diff("", a->second, "/dev/null", actual_label + "/" + a->first)});
            ++a;
        } else {
            if (e->second != a->second)
                out.push_back({FileDiff::Kind::changed, e->first,
                               unified_diff(e->second, a->second, expected_label + "/" + e->first,
                                            actual_label + "/" + a->first)});
            ++e, ++a;
        }
    }
    return out;
}

// run_case and update_case read and write case folders: they live in the edge library
// (libappforge/edge/pattern_cases.cpp), on top of its safe_fs.

std::vector<std::string> find_cases(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    fs::path root(dir);
    if (!fs::is_directory(root, ec)) return out;
    std::vector<fs::path> stack{root};
    while (!stack.empty()) {
        fs::path d = stack.back();
        stack.pop_back();
        if (fs::exists(d / "request.yaml", ec) || fs::exists(d / "request.json", ec)) {
            out.push_back(d.generic_string());
            continue;  // a case's own folders (expected/) are not cases
        }
        for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
            if (it->is_directory(ec) && !it->is_symlink(ec)) stack.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<RequestDiff> diff_catalogs(const std::vector<std::pair<std::string, std::string>>& requests,
                                       const Engine& old_engine, const Engine& new_engine) {
    std::vector<RequestDiff> out;
    for (const auto& [name, text] : requests) {
        RequestDiff rd;
        rd.name = name;
        rd.diffs = compare_outputs(render_outputs(old_engine, text), render_outputs(new_engine, text), "old/" + name,
                                   "new/" + name);
        out.push_back(std::move(rd));
    }
    return out;
}

}  // namespace appforge::patterntest
