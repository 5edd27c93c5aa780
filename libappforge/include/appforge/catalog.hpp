// The pattern catalog: workload, storage, ingress and backup patterns as data files with mustache templates.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appforge/diagnostic.hpp"
#include "appforge/document.hpp"

namespace appforge {

/// The dropdowns of the form (storage, ingress, backup) and the workload that holds the pod;
/// each pattern belongs to exactly one.
enum class PatternKind { storage, ingress, backup, workload };

/// Every kind, in the order the catalog lists them; the one table the folder names come from.
const std::vector<PatternKind>& pattern_kinds();
/// "storage", "ingress", "backup" or "workload" (also the catalog folder name).
const char* to_string(PatternKind k);
/// The kind with that name; nullopt for anything else.
std::optional<PatternKind> pattern_kind_from_string(std::string_view s);

/// A mustache template parsed once at load; rendering only substitutes escaped values.
class Template {
public:
    /// Parses the template; check error() before use.
    Template(std::string source_name, std::string text, int first_line);
    ~Template();
    Template(const Template&) = delete;
    Template& operator=(const Template&) = delete;

    /// Empty when the template parsed; else a message naming the file and line.
    const std::string& error() const { return error_; }
    /// The template text as written by the pattern author.
    const std::string& text() const { return text_; }
    /// Renders with every value passed through the YAML double-quoted escape (thread-safe:
    /// appforge's contexts hold no lambdas or partials, so rendering never mutates the template).
    std::string render(const nlohmann::json& context) const;
    /// parse_documents(render(context), limits), without re-parsing YAML on every call: each
    /// shape of context is rendered once with marker values, parsed, checked against the slow
    /// path, and cached; later calls substitute the values into the parsed skeleton. Any value
    /// or shape the fast path cannot prove identical falls back to the slow path.
    Result<std::vector<nlohmann::json>> render_documents(const nlohmann::json& context,
                                                         const ParseLimits& limits) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string text_;
    std::string error_;
};

/// One manifest a pattern adds to the bundle (one Kubernetes object per file).
struct PatternManifest {
    std::string file;
    std::shared_ptr<const Template> tmpl;
};

/// Where a workload pattern takes pieces other patterns contribute (a storage pattern's pod
/// volume and container env): a list at a JSON pointer inside its first manifest, joined as
/// parsed trees; contributed items go first, the workload's own follow, and the key exists only
/// when the list is not empty.
struct PatternSlot {
    std::string name;                  ///< "volumes" or "env"
    nlohmann::json::json_pointer at;   ///< e.g. /spec/template/spec/volumes
};

/// A pattern's metadata and compiled templates.
struct Pattern {
    PatternKind kind = PatternKind::storage;
    std::string id;
    std::string name;
    std::string description;
    std::vector<std::string> requiredFields;
    bool persistent = false;  ///< storage: data survives the pod (volsync can back it up)
    bool is_public = false;   ///< ingress: reachable from the internet
    std::string volumeName;
    std::shared_ptr<const Template> volume;  ///< storage: one pod volume entry (YAML mapping)
    std::shared_ptr<const Template> env;     ///< storage: container env entries (YAML list)
    std::vector<std::string> envNames;       ///< storage: the names its env sets (a request may not set them too)
    std::vector<PatternManifest> manifests;
    std::vector<PatternSlot> slots;  ///< workload: where contributed volumes and env go
    std::string source;  ///< where it was loaded from, for diagnostics
    nlohmann::json document;  ///< the pattern file as parsed (for the Backstage form and docs)
};

/// An immutable-after-load set of patterns; later loads override earlier ids.
class Catalog {
public:
    /// The patterns compiled into the library (libappforge/patterns/).
    static Result<Catalog> builtin();

    /// Adds or replaces patterns from "<dir>/{storage,ingress,backup,workload}/<id>.yaml"; all problems
    /// are returned and nothing is changed when any file is bad.
    Diagnostics load_dir(const std::string& dir);

    /// Adds or replaces one pattern from its file text; source_name appears in diagnostics.
    Diagnostics add(const std::string& source_name, std::string_view text);

    /// The pattern with that id, or nullptr.
    const Pattern* find(PatternKind kind, const std::string& id) const;

    /// Sorted ids of one kind, for "valid ids are ..." messages and the form's enum.
    std::vector<std::string> ids(PatternKind kind) const;

    /// All patterns of one kind in id order.
    std::vector<const Pattern*> patterns(PatternKind kind) const;

private:
    using Table = std::map<std::string, std::shared_ptr<const Pattern>>;
    Table tables_[4];  ///< indexed by PatternKind
    Table& table(PatternKind k) { return tables_[static_cast<int>(k)]; }
    const Table& table(PatternKind k) const { return tables_[static_cast<int>(k)]; }
};

}  // namespace appforge
