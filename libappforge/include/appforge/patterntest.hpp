// The pattern authors' kit: golden-file test cases for a catalog, and catalog-change diffs.
//
// A test case is a folder:
//   request.yaml          the request (YAML or JSON)
//   profile.yaml          optional cluster profile for this case (default: the engine's)
//   expected/             the rendered files, or expected/diagnostics.json when the case must fail
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "appforge/diagnostic.hpp"
#include "appforge/engine.hpp"

namespace appforge::patterntest {

/// The file a failing case's diagnostics are kept in, inside expected/.
inline constexpr const char* kDiagnosticsFile = "diagnostics.json";

/// A unified diff (like `diff -u`, 3 lines of context) computed with Myers' O(ND) algorithm, so
/// a pattern author reads the same format git and patch use; empty when the texts are equal.
std::string unified_diff(const std::string& old_text, const std::string& new_text, const std::string& old_name,
                         const std::string& new_name, int context = 3);

/// How one file of a case differs from what it should be.
struct FileDiff {
    enum class Kind { missing, unexpected, changed };
    Kind kind = Kind::changed;
    std::string path;  ///< relative to expected/ (e.g. "deployment.yaml" or "diagnostics.json")
    std::string diff;  ///< unified diff from the expected text to the actual text
};

/// "missing", "unexpected" or "changed".
const char* to_string(FileDiff::Kind k);

/// What a request produces under one engine: the rendered files, or diagnostics.json when it
/// does not render. Keys are relative file paths; values are the exact file texts.
using Outputs = std::map<std::string, std::string>;

/// Renders one request text: bundle files on success, else {"diagnostics.json": [...]} with every
/// diagnostic as {path, code, message, severity} (deterministic JSON, sorted keys).
Outputs render_outputs(const Engine& engine, const std::string& request_text);

/// Per-file differences between two output sets (expected first); empty when identical.
std::vector<FileDiff> compare_outputs(const Outputs& expected, const Outputs& actual,
                                      const std::string& expected_label = "expected",
                                      const std::string& actual_label = "actual");

/// The outcome of one case folder.
struct CaseResult {
    std::string name;               ///< the folder's name
    std::string dir;                ///< the folder as given
    Outputs actual;                 ///< what the engine produced
    std::vector<FileDiff> diffs;    ///< empty when the case passed
    Diagnostics errors;             ///< problems running the case itself (no request.yaml, bad profile)

    /// A case passes when it ran and every expected file matched exactly.
    bool passed() const { return errors.empty() && diffs.empty(); }
};

/// Runs one case folder against an engine. A case with its own profile.yaml gets a sibling
/// engine with that profile and the same pattern directories (engine.options()). A link in the case
/// folder (request, profile, expected/ or a file in it) is a `kit.symlink` error, never read through.
/// Defined in the edge library (appforge_edge), like update_case: both touch the file system.
CaseResult run_case(const std::string& case_dir, const Engine& engine);

/// Rewrites expected/ to what the engine produces now (stale files are removed); for --update
/// after a deliberate pattern change. Writes through edge::safe_fs only (random temporary names,
/// O_EXCL|O_NOFOLLOW, never deleting a link). Returns problems, empty on success.
Diagnostics update_case(const std::string& case_dir, const Engine& engine);

/// The case folders under dir (every folder holding request.yaml, dir itself included), sorted.
std::vector<std::string> find_cases(const std::string& dir);

/// What a catalog change does to one request.
struct RequestDiff {
    std::string name;             ///< the caller's label for the request (usually its path)
    std::vector<FileDiff> diffs;  ///< old catalog's output -> new catalog's output
};

/// Renders every request under two engines (old catalog, new catalog) and returns the per-file
/// differences for each request, in input order; requests given as (label, text) pairs.
std::vector<RequestDiff> diff_catalogs(const std::vector<std::pair<std::string, std::string>>& requests,
                                       const Engine& old_engine, const Engine& new_engine);

}  // namespace appforge::patterntest
