// appforge._core: the private compiled half of the Python package. It converts between Python
// objects and the core's JSON values and calls the Engine; every rule stays in the C++ core and
// every exception class and convenience lives in the pure-Python package (appforge/__init__.py).
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "appforge/backstage.hpp"
#include "appforge/catalog.hpp"

#include "appforge/document.hpp"
#include "appforge/edge/apply.hpp"
#include "appforge/edge/bundle_dir.hpp"
#include "appforge/edge/fs_repo.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/komodo.hpp"
#include "appforge/komodo_sync.hpp"
#include "appforge/model.hpp"
#include "appforge/patterntest.hpp"

namespace py = pybind11;
using nlohmann::json;

namespace {

using DiagTuple = std::tuple<std::string, std::string, std::string, std::string>;
using FileTuple = std::pair<std::string, std::string>;

constexpr int kMaxDepth = 256;  // deeper than any request the parser accepts (64); stops runaway recursion

std::vector<DiagTuple> diag_tuples(const appforge::Diagnostics& ds) {
    std::vector<DiagTuple> out;
    out.reserve(ds.size());
    for (const auto& d : ds) out.emplace_back(d.path, d.code, d.message, to_string(d.severity));
    return out;
}

/// Python value -> JSON value; anything JSON cannot hold is a TypeError/ValueError naming where.
json to_json(py::handle o, const std::string& where, int depth) {
    if (depth > kMaxDepth) throw py::value_error(where + ": nested too deeply");
    if (o.is_none()) return nullptr;
    if (py::isinstance<py::bool_>(o)) return o.cast<bool>();
    if (py::isinstance<py::int_>(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
        if (overflow == 0) return static_cast<std::int64_t>(v);
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(o.ptr());
            if (!PyErr_Occurred()) return static_cast<std::uint64_t>(u);
            PyErr_Clear();
        }
        throw py::value_error(where + ": integer does not fit in 64 bits");
    }
    if (py::isinstance<py::float_>(o)) {
        double d = o.cast<double>();
        if (!std::isfinite(d)) throw py::value_error(where + ": NaN and infinity are not JSON values");
        return d;
    }
    if (py::isinstance<py::str>(o)) return o.cast<std::string>();
    if (py::isinstance<py::dict>(o)) {
        json obj = json::object();
        for (auto item : py::reinterpret_borrow<py::dict>(o)) {
            if (!py::isinstance<py::str>(item.first))
                throw py::type_error(where + ": mapping keys must be str, not " +
                                     std::string(py::str(py::type::of(item.first).attr("__name__"))));
            std::string key = item.first.cast<std::string>();
            obj[key] = to_json(item.second, where + "/" + appforge::pointer_token(key), depth + 1);
        }
        return obj;
    }
    if (py::isinstance<py::list>(o) || py::isinstance<py::tuple>(o)) {
        json arr = json::array();
        std::size_t i = 0;
        for (auto item : o) arr.push_back(to_json(item, where + "/" + std::to_string(i++), depth + 1));
        return arr;
    }
    static py::object mapping = py::module_::import("collections.abc").attr("Mapping");
    if (py::isinstance(o, mapping)) return to_json(py::dict(py::reinterpret_borrow<py::object>(o)), where, depth);
    throw py::type_error((where.empty() ? std::string("value") : where) + ": " +
                         std::string(py::str(py::type::of(o).attr("__name__"))) + " is not a JSON/YAML value");
}

/// JSON value -> Python value (objects become dicts with the core's key order).
py::object from_json(const json& j) {
    switch (j.type()) {
        case json::value_t::null: return py::none();
        case json::value_t::boolean: return py::bool_(j.get<bool>());
        case json::value_t::number_integer: return py::int_(j.get<std::int64_t>());
        case json::value_t::number_unsigned: return py::int_(j.get<std::uint64_t>());
        case json::value_t::number_float: return py::float_(j.get<double>());
        case json::value_t::string: return py::str(j.get_ref<const std::string&>());
        case json::value_t::array: {
            py::list l;
            for (const auto& v : j) l.append(from_json(v));
            return std::move(l);
        }
        case json::value_t::object: {
            py::dict d;
            for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = from_json(it.value());
            return std::move(d);
        }
        default: throw py::type_error("unsupported JSON value");
    }
}

/// A request given as text (YAML/JSON) or as a Python value, converted while the GIL is held.
struct RequestInput {
    bool is_text = false;
    std::string text;
    json document;
};

RequestInput request_input(py::handle request) {
    RequestInput in;
    if (py::isinstance<py::str>(request)) {
        in.is_text = true;
        in.text = request.cast<std::string>();
    } else if (py::isinstance<py::bytes>(request)) {
        in.is_text = true;
        in.text = request.cast<std::string>();
    } else {
        in.document = to_json(request, "", 0);
    }
    return in;
}

const char* kind_name(const appforge::CheckedRequest& c) {
    if (!c.document) return "";
    return c.kind == appforge::RequestKind::komodo ? "komodo" : "app";
}

/// The handle Python holds: the immutable, thread-safe core Engine.
struct PyEngine {
    std::shared_ptr<const appforge::Engine> engine;

    appforge::CheckedRequest check(const RequestInput& in) const {
        return in.is_text ? engine->check(in.text) : engine->check_document(in.document);
    }
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "Private compiled core of the appforge package; use the `appforge` package instead.";

    m.def("version", []() { return std::string(appforge::version()); },
          "The version of the C++ core compiled into this module.");

    m.def(
        "parse",
        [](py::handle source) {
            std::string text = source.cast<std::string>();
            appforge::Result<json> r;
            {
                py::gil_scoped_release release;
                r = appforge::parse_document(text);
            }
            py::object value = r.ok() ? from_json(*r.value) : py::none();
            return std::make_pair(value, diag_tuples(r.diagnostics));
        },
        py::arg("text"), "Parses one YAML/JSON document with the core's limits: (value or None, diagnostics).");

    m.def(
        "normalize", [](py::handle value) { return from_json(to_json(value, "", 0)); }, py::arg("value"),
        "A deep copy of a JSON-compatible value, rejecting anything YAML/JSON cannot hold.");

    m.def(
        "to_yaml", [](py::handle value) { return appforge::to_yaml(to_json(value, "", 0)); }, py::arg("value"),
        "Deterministic YAML text of a value.");

    m.def(
        "to_json", [](py::handle value) { return appforge::to_json_text(to_json(value, "", 0)); }, py::arg("value"),
        "Deterministic JSON text of a value.");

    m.def(
        "write_files",
        [](const std::vector<FileTuple>& files, const std::string& dir, bool overwrite) {
            appforge::Bundle b;
            for (const auto& f : files) b.files.push_back(appforge::RenderedFile{f.first, json(), f.second});
            appforge::edge::WriteResult r;
            {
                py::gil_scoped_release release;
                r = appforge::edge::write_bundles({std::move(b)}, dir, false, overwrite);
            }
            static const char* const names[] = {"ok", "exists", "bad_name", "io_error"};
            return std::make_pair(std::string(names[static_cast<int>(r.status)]), r.error);
        },
        py::arg("files"), py::arg("directory"), py::arg("overwrite"),
        "Writes (name, text) files into a folder all or nothing: (status, error); status is ok, exists, "
        "bad_name or io_error.");

    m.def(
        "is_komodo", [](py::handle value) { return appforge::is_komodo_document(to_json(value, "", 0)); },
        py::arg("value"), "Whether a document is a NAS (Komodo) request.");

    py::class_<PyEngine, std::shared_ptr<PyEngine>>(m, "Engine", "The core Engine; create it with create_engine().")
        .def(
            "check",
            [](const PyEngine& self, py::handle request) {
                RequestInput in = request_input(request);
                appforge::CheckedRequest c;
                {
                    py::gil_scoped_release release;
                    c = self.check(in);
                }
                return std::make_pair(std::string(kind_name(c)), diag_tuples(c.diagnostics));
            },
            py::arg("request"), "Validates a request (text or value): (kind, diagnostics).")
        .def(
            "render",
            [](const PyEngine& self, py::handle request) {
                RequestInput in = request_input(request);
                appforge::Result<appforge::Bundle> r;
                std::string stream;
                {
                    // Rendering and verification are pure C++: other Python threads run meanwhile.
                    py::gil_scoped_release release;
                    r = in.is_text ? self.engine->render_text(in.text) : self.engine->render_document(in.document);
                    if (r.ok()) stream = r.value->stream();
                }
                py::object bundle = py::none();
                if (r.ok()) {
                    std::vector<FileTuple> files;
                    for (const auto& f : r.value->files) files.emplace_back(f.path, f.text);
                    bundle = py::make_tuple(r.value->appName, r.value->namespace_, files, stream);
                }
                return std::make_pair(bundle, diag_tuples(r.diagnostics));
            },
            py::arg("request"),
            "Validates and renders a GitOps request: ((app, namespace, [(file, text)], stream) or None, diagnostics).")
        .def(
            "komodo_payload",
            [](const PyEngine& self, py::handle request) {
                RequestInput in = request_input(request);
                appforge::CheckedRequest c;
                json payload;
                bool have = false;
                {
                    py::gil_scoped_release release;
                    c = self.check(in);
                    if (c.ok() && c.kind == appforge::RequestKind::komodo && c.komodo) {
                        payload = appforge::komodo_payload(*c.komodo, self.engine->profile());
                        have = true;
                    }
                }
                return std::make_tuple(have ? from_json(payload) : py::none(), std::string(kind_name(c)),
                                       diag_tuples(c.diagnostics));
            },
            py::arg("request"), "Validates a NAS request and builds its payload: (payload or None, kind, diagnostics).")
        .def(
            "komodo_compose",
            [](const PyEngine& self, py::handle request) {
                RequestInput in = request_input(request);
                appforge::CheckedRequest c;
                appforge::Result<std::string> compose;
                {
                    py::gil_scoped_release release;
                    c = self.check(in);
                    if (c.ok() && c.kind == appforge::RequestKind::komodo && c.komodo)
                        compose = appforge::komodo_compose(*c.komodo, self.engine->profile());
                }
                appforge::Diagnostics ds = c.diagnostics;
                ds.insert(ds.end(), compose.diagnostics.begin(), compose.diagnostics.end());
                return std::make_tuple(compose.ok() ? py::object(py::str(*compose.value)) : py::none(),
                                       std::string(kind_name(c)), diag_tuples(ds));
            },
            py::arg("request"),
            "Validates a NAS request and builds its docker-compose file: (text or None, kind, diagnostics).")
        .def(
            "plan",
            [](const PyEngine& self, py::handle request, py::handle repo) {
                RequestInput in = request_input(request);
                // A mapping {path: text} plans against memory; a str against the checkout at that path.
                std::optional<appforge::MemoryRepo> memory;
                std::string repo_dir;
                if (py::isinstance<py::dict>(repo)) {
                    memory.emplace();
                    for (auto item : py::reinterpret_borrow<py::dict>(repo))
                        memory->put(item.first.cast<std::string>(), item.second.cast<std::string>());
                } else {
                    repo_dir = repo.cast<std::string>();
                }
                appforge::PlannedRequest p;
                {
                    py::gil_scoped_release release;
                    appforge::CheckedRequest c = self.check(in);
                    if (memory) {
                        p = appforge::plan_checked_request(*self.engine, c, *memory);
                    } else {
                        appforge::edge::FsRepo fs_repo(repo_dir);
                        p = appforge::plan_checked_request(*self.engine, c, fs_repo);
                    }
                }
                py::object plan = p.plan ? from_json(appforge::plan_to_json(*p.plan)) : py::none();
                return std::make_tuple(plan, p.ok(), diag_tuples(p.diagnostics));
            },
            py::arg("request"), py::arg("repo"),
            "Plans a GitOps request against a checkout (path) or {path: text}: (plan dict or None, ok, diagnostics).")
        .def(
            "apply",
            [](const PyEngine& self, py::handle request, const std::string& repo_dir, py::object audit_log) {
                RequestInput in = request_input(request);
                appforge::edge::AuditLog audit;
                if (!audit_log.is_none()) {
                    std::string error, path = audit_log.cast<std::string>();
                    if (!audit.open(path, error)) {
                        PyErr_SetString(PyExc_OSError, ("cannot open the audit log: " + error).c_str());
                        throw py::error_already_set();
                    }
                }
                appforge::edge::ApplyResult r;
                json result;
                {
                    // git runs as a child process and files are fsynced: other Python threads run meanwhile.
                    py::gil_scoped_release release;
                    r = appforge::edge::apply_checked_request(*self.engine, self.check(in), repo_dir, &audit);
                    result = appforge::edge::apply_result_to_json(r);
                }
                return std::make_tuple(from_json(result), static_cast<int>(r.status), diag_tuples(r.diagnostics));
            },
            py::arg("request"), py::arg("repo_dir"), py::arg("audit_log"),
            "Plans, writes, branches and commits in a git checkout: (result dict, status 0/1/2, diagnostics).")
        .def(
            "komodo_plan",
            [](const PyEngine& self, py::handle request, py::handle repo) {
                RequestInput in = request_input(request);
                std::optional<appforge::MemoryRepo> memory;
                std::string repo_dir;
                if (py::isinstance<py::dict>(repo)) {
                    memory.emplace();
                    for (auto item : py::reinterpret_borrow<py::dict>(repo))
                        memory->put(item.first.cast<std::string>(), item.second.cast<std::string>());
                } else {
                    repo_dir = repo.cast<std::string>();
                }
                appforge::KomodoPlannedRequest p;
                {
                    py::gil_scoped_release release;
                    appforge::CheckedRequest c = self.check(in);
                    if (memory) {
                        p = appforge::plan_komodo_checked_request(*self.engine, c, *memory);
                    } else {
                        appforge::edge::FsRepo fs_repo(repo_dir);
                        p = appforge::plan_komodo_checked_request(*self.engine, c, fs_repo);
                    }
                }
                return std::make_tuple(from_json(appforge::komodo_planned_request_to_json(p)), p.ok(),
                                       diag_tuples(p.diagnostics));
            },
            py::arg("request"), py::arg("repo"),
            "Plans a NAS request's Resource Sync change set against a checkout (path) or {path: text}: "
            "(plan dict, ok, diagnostics).")
        .def(
            "komodo_apply",
            [](const PyEngine& self, py::handle request, const std::string& repo_dir, py::object audit_log) {
                RequestInput in = request_input(request);
                appforge::edge::AuditLog audit;
                if (!audit_log.is_none()) {
                    std::string error, path = audit_log.cast<std::string>();
                    if (!audit.open(path, error)) {
                        PyErr_SetString(PyExc_OSError, ("cannot open the audit log: " + error).c_str());
                        throw py::error_already_set();
                    }
                }
                appforge::edge::ApplyResult r;
                json result;
                {
                    py::gil_scoped_release release;
                    r = appforge::edge::apply_komodo_checked_request(*self.engine, self.check(in), repo_dir, &audit);
                    result = appforge::edge::apply_result_to_json(r);
                }
                return std::make_tuple(from_json(result), static_cast<int>(r.status), diag_tuples(r.diagnostics));
            },
            py::arg("request"), py::arg("repo_dir"), py::arg("audit_log"),
            "Commits a NAS request's Resource Sync change set on its branch: (result dict, status 0/1/2, diagnostics).")
        .def(
            "profile", [](const PyEngine& self) { return from_json(appforge::to_json(self.engine->profile())); },
            "The effective cluster profile as a dict.")
        .def(
            "pattern_ids",
            [](const PyEngine& self) {
                std::map<std::string, std::vector<std::string>> ids;
                for (auto k : appforge::pattern_kinds()) ids[to_string(k)] = self.engine->catalog().ids(k);
                return ids;
            },
            "Pattern ids of the catalog by kind (storage, ingress, backup, workload).");

    // The pattern authors' kit (appforge.testing) and the Backstage generator: thin wrappers.
    m.def(
        "find_cases", [](const std::string& dir) { return appforge::patterntest::find_cases(dir); }, py::arg("dir"),
        "Case folders (holding request.yaml) under dir, sorted.");
    m.def(
        "run_case",
        [](const PyEngine& self, const std::string& dir, bool update) {
            appforge::Diagnostics problems;
            appforge::patterntest::CaseResult r;
            {
                py::gil_scoped_release release;
                if (update) problems = appforge::patterntest::update_case(dir, *self.engine);
                r = appforge::patterntest::run_case(dir, *self.engine);
            }
            std::vector<std::tuple<std::string, std::string, std::string>> diffs;
            for (const auto& d : r.diffs) diffs.emplace_back(appforge::patterntest::to_string(d.kind), d.path, d.diff);
            problems.insert(problems.end(), r.errors.begin(), r.errors.end());
            return py::make_tuple(r.name, r.actual, diffs, diag_tuples(problems));
        },
        py::arg("engine"), py::arg("dir"), py::arg("update") = false,
        "Runs (after rewriting expected/ when update) one case folder: (name, {file: text}, [(kind, path, diff)], "
        "problems).");
    m.def("unified_diff", &appforge::patterntest::unified_diff, py::arg("old_text"), py::arg("new_text"),
          py::arg("old_name"), py::arg("new_name"), py::arg("context") = 3, "A unified diff; empty when equal.");
    m.def(
        "backstage_template",
        [](const PyEngine& self, const std::string& workflow, bool form_only) {
            auto w = workflow == "nas" ? appforge::backstage::Workflow::nas : appforge::backstage::Workflow::gitops;
            if (workflow != "nas" && workflow != "gitops") throw py::value_error("workflow must be 'gitops' or 'nas'");
            return from_json(form_only ? appforge::backstage::form_schema(*self.engine, w)
                                       : appforge::backstage::template_document(*self.engine, w));
        },
        py::arg("engine"), py::arg("workflow"), py::arg("form_only") = false,
        "The Backstage Template (or its merged form schema) of one workflow, as a dict.");

    m.def(
        "create_engine",
        [](py::object profile_text, std::vector<std::string> pattern_dirs, std::string profile_name) {
            appforge::EngineOptions options;
            if (!profile_text.is_none()) options.profile_text = profile_text.cast<std::string>();
            options.pattern_dirs = std::move(pattern_dirs);
            options.profile_name = std::move(profile_name);
            appforge::Result<std::shared_ptr<const appforge::Engine>> r;
            {
                py::gil_scoped_release release;
                r = appforge::Engine::create(options);
            }
            std::shared_ptr<PyEngine> engine;
            if (r.ok()) engine = std::make_shared<PyEngine>(PyEngine{*r.value});
            return std::make_pair(engine, diag_tuples(r.diagnostics));
        },
        py::arg("profile_text"), py::arg("pattern_dirs"), py::arg("profile_name"),
        "Builds an Engine: (engine or None, diagnostics).");
}
