#include "appforge/profile.hpp"

#include <algorithm>
#include <cctype>

#include "appforge/document.hpp"
#include "appforge/resources.hpp"
#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

json merge_profile_json(json base, const json& overlay) {
    if (!overlay.is_object() || !base.is_object()) return overlay;
    // An explicit worklist instead of recursion: the overlay's depth is only what the parser allowed.
    struct Step {
        json* into;
        const json* from;
    };
    std::vector<Step> todo{{&base, &overlay}};
    while (!todo.empty()) {
        Step s = todo.back();
        todo.pop_back();
        for (auto it = s.from->begin(); it != s.from->end(); ++it) {
            if (it->is_null()) {
                s.into->erase(it.key());
                continue;
            }
            auto slot = s.into->find(it.key());
            if (slot != s.into->end() && slot->is_object() && it->is_object()) {
                todo.push_back(Step{&*slot, &*it});
            } else {
                (*s.into)[it.key()] = *it;
            }
        }
    }
    return base;
}

const json& default_profile_json() {
    static const json doc = [] {
        auto parsed = parse_document(*resources::find("libappforge/profiles/default.yaml"));
        return parsed.ok() ? *parsed.value : json::object();
    }();
    return doc;
}

std::vector<std::string> always_reserved_namespaces(const ClusterProfile& p) {
    std::vector<std::string> out{"kube-*", "kube-system", "flux-system", "volsync-system"};
    if (p.secretStore) out.push_back("external-secrets");
    if (p.storageClass.rfind("longhorn", 0) == 0) out.push_back("longhorn-system");
    return out;
}

namespace {

/// A namespace entry is an exact name or a prefix followed by one '*': anything else (a regex
/// such as "prod-.*" or "^kube") would silently match nothing the author meant.
bool is_namespace_glob(const std::string& g) {
    if (g.empty()) return false;
    std::string_view body(g);
    if (body.back() == '*') body.remove_suffix(1);
    if (body.empty()) return true;  // "*": every namespace
    for (char c : body)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (body.front() == '-') return false;
    return body.size() <= 63 && (g.back() == '*' || rules::is_dns1123_label(std::string(body)));
}

bool has_git_segment(const std::string& path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        std::transform(seg.begin(), seg.end(), seg.begin(), [](unsigned char c) { return std::tolower(c); });
        if (seg == ".git") return true;  // case-folded: macOS and Windows checkouts fold names
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return false;
}

}  // namespace

Diagnostics check_profile_safety(const ClusterProfile& p) {
    Diagnostics out;
    auto err = [&](std::string path, const char* code, std::string message) {
        out.push_back(Diagnostic{std::move(path), code, std::move(message), Severity::error});
    };
    if (!rules::is_dns1123_label(p.name))
        err("/name", "profile.name.label",
            "profile name '" + p.name + "' must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)");
    for (std::size_t i = 0; i < p.nasAppRoots.size(); ++i)
        if (p.nasAppRoots[i] == "/")
            err("/nas/appRoots/" + std::to_string(i), "profile.nasAppRoot.root",
                "a NAS app root must not be '/': every app folder would be created at the top of the NAS file system");
    if (p.mountPath == "/")
        err("/storage/mountPath", "profile.mountPath.root",
            "mountPath must not be '/': the volume would hide the container's whole file system");
    struct Layout {
        const char* ptr;
        const char* name;
        const std::string* value;
    };
    for (const Layout& l : {Layout{"/gitops/root", "gitops.root", &p.gitopsRoot},
                            Layout{"/gitops/cluster", "gitops.cluster", &p.gitopsCluster},
                            Layout{"/gitops/namespacesDir", "gitops.namespacesDir", &p.gitopsNamespacesDir}})
        if (has_git_segment(*l.value))
            err(l.ptr, "profile.layout.git",
                std::string(l.name) + " must not contain a '.git' folder: apply would write into the repository's own metadata");
    // The Resource Sync flow writes below these: repo-relative, no '.', '..', '.git' or empty segment.
    for (const Layout& l : {Layout{"/komodo/stacksDir", "komodo.stacksDir", &p.komodoStacksDir},
                            Layout{"/komodo/syncFile", "komodo.syncFile", &p.komodoSyncFile},
                            Layout{"/komodo/defaultTier", "komodo.defaultTier", &p.komodoDefaultTier}}) {
        bool bad = l.value->empty() || l.value->front() == '/' || l.value->back() == '/' ||
                   rules::contains_control_chars(*l.value);
        std::size_t start = 0;
        while (!bad && start <= l.value->size()) {
            std::size_t slash = l.value->find('/', start);
            std::string seg = l.value->substr(start, slash == std::string::npos ? std::string::npos : slash - start);
            if (seg.empty() || seg == "." || seg == "..") bad = true;
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        if (bad)
            err(l.ptr, "profile.komodo.path",
                std::string(l.name) + " must be a relative repo path without '.', '..' or empty segments");
        else if (has_git_segment(*l.value))
            err(l.ptr, "profile.layout.git",
                std::string(l.name) + " must not contain a '.git' folder: apply would write into the repository's own metadata");
    }
    if (p.komodoSyncFile.size() < 6 || p.komodoSyncFile.compare(p.komodoSyncFile.size() - 5, 5, ".toml") != 0)
        err("/komodo/syncFile", "profile.komodo.syncFile", "komodo.syncFile must name a .toml file");
    if (p.komodoServer && p.komodoSwarm)
        err("/komodo/swarm", "profile.komodo.target",
            "komodo.server and komodo.swarm exclude each other: a stack runs on one server or on one swarm");
    auto globs = [&](const std::vector<std::string>& list, const std::string& ptr) {
        for (std::size_t i = 0; i < list.size(); ++i)
            if (!is_namespace_glob(list[i]))
                err(ptr + "/" + std::to_string(i), "profile.namespaces.pattern",
                    "namespace entry '" + list[i] + "' must be a namespace name or a prefix ending in '*' "
                    "(regular expressions are not supported)");
    };
    globs(p.reservedNamespaces, "/namespaces/reserved");
    globs(p.managementNamespaces, "/namespaces/management");
    return out;
}

}  // namespace appforge
