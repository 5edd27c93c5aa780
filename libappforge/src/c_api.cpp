// The C API (appforge.h): a thin face over Engine. Every entry point converts C arguments,
// calls the core, and turns the outcome into a status code plus JSON text; no C++ exception and
// no rule lives here.
#include "appforge/appforge.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>

#include <pthread.h>

#include "appforge/edge/apply.hpp"
#include "appforge/edge/bundle_dir.hpp"
#include "appforge/edge/fs_repo.hpp"
#include "appforge/engine.hpp"
#include "appforge/gitops.hpp"
#include "appforge/komodo.hpp"
#include "appforge/komodo_sync.hpp"

// The header's version macros are hand-written (C89 consumers read them without CMake); the
// build passes the project version so a mismatch fails compilation instead of shipping.
#if defined(APPFORGE_VERSION_MAJOR) && defined(APPFORGE_VERSION_MINOR) && defined(APPFORGE_VERSION_PATCH)
static_assert(AF_VERSION_MAJOR == APPFORGE_VERSION_MAJOR && AF_VERSION_MINOR == APPFORGE_VERSION_MINOR &&
                  AF_VERSION_PATCH == APPFORGE_VERSION_PATCH,
              "appforge.h AF_VERSION_* disagrees with the CMake project version");
#endif

struct af_engine {
    std::shared_ptr<const appforge::Engine> engine;
};

namespace {

using appforge::Diagnostics;
using nlohmann::json;

thread_local std::string g_last_error;

/// Records why this thread's last call failed and passes the status through.
int fail(int status, std::string message) {
    g_last_error = std::move(message);
    return status;
}

/// The single place that catches what escaped the core, so no exception crosses into C.
int fail_current_exception() {
    try {
        throw;
    } catch (const std::bad_alloc&) {
        return fail(AF_ENOMEM, "out of memory");
    } catch (const std::exception& e) {
        return fail(AF_EINTERNAL, std::string("internal error: ") + e.what());
    } catch (...) {
        return fail(AF_EINTERNAL, "internal error: unknown exception");
    }
}

/// Copies text into a malloc'd, NUL-terminated buffer the caller frees with af_buf_dispose.
void fill(af_buf* out, const std::string& text) {
    if (!out) return;
    char* p = static_cast<char*>(std::malloc(text.size() + 1));
    if (!p) throw std::bad_alloc();
    std::memcpy(p, text.data(), text.size());
    p[text.size()] = '\0';
    out->data = p;
    out->len = text.size();
}

void clear(af_buf* out) {
    if (out) {
        out->data = nullptr;
        out->len = 0;
    }
}

/// The diagnostics array the caller receives even when the outcome failed (see appforge.h).
void fill_diagnostics(af_buf* out, const Diagnostics& ds) { fill(out, appforge::diagnostics_to_json(ds).dump()); }

/// A required pointer argument and its name in the header, for the AF_EINVAL message.
struct Arg {
    const void* value;
    const char* name;
};

/// AF_EINVAL naming the first NULL argument ("<fn>: <name> is NULL"); AF_OK when none is NULL.
int require(const char* fn, std::initializer_list<Arg> args) {
    for (const Arg& a : args)
        if (!a.value) return fail(AF_EINVAL, std::string(fn) + ": " + a.name + " is NULL");
    return AF_OK;
}

/// Every entry point runs its body through here: the output buffers start cleared, and if
/// anything escapes they are released again, so the caller never owns a half-filled buffer
/// and no exception crosses into C.
template <class Body>
int guard_here(std::initializer_list<af_buf*> outs, Body&& body) {
    try {
        for (af_buf* b : outs) clear(b);
        return body();
    } catch (...) {
        for (af_buf* b : outs) af_buf_dispose(b);
        return fail_current_exception();
    }
}

/// What one call may need: yaml-cpp's parser and valijson recurse once per nesting level, and
/// the parser stops a document at depth 64, so the need is bounded (a depth-64 document validated
/// in a 64 KiB thread, Release build; eight times that leaves room for the sanitizers' frames).
constexpr std::size_t kStackNeed = 512u << 10;

/// Bytes left on the calling thread's stack; SIZE_MAX when the platform cannot tell.
std::size_t stack_remaining() {
    thread_local std::uintptr_t low = 0;
    thread_local bool known = false;
    if (!known) {
        known = true;
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void* addr = nullptr;
            std::size_t size = 0;
            if (pthread_attr_getstack(&attr, &addr, &size) == 0) low = reinterpret_cast<std::uintptr_t>(addr);
            pthread_attr_destroy(&attr);
        }
    }
    char here;
    auto sp = reinterpret_cast<std::uintptr_t>(&here);
    if (low == 0 || sp <= low) return SIZE_MAX;
    return sp - low;
}

/// guard_here on a stack big enough for any document: threads with small stacks (32 KiB is
/// common in embedders) crashed at nesting depth 65, so their calls run on a helper thread with
/// its own stack; the helper's last error is handed back to the calling thread.
template <class Body>
int guard(std::initializer_list<af_buf*> outs, Body&& body) {
    if (stack_remaining() >= kStackNeed) return guard_here(outs, body);
    struct Call {
        std::initializer_list<af_buf*>* outs;
        Body* body;
        int status;
        std::string last_error;
    } call{&outs, &body, AF_ENOMEM, "out of memory"};
    auto run = [](void* p) -> void* {
        auto* c = static_cast<Call*>(p);
        c->status = guard_here(*c->outs, *c->body);
        c->last_error = g_last_error;
        return nullptr;
    };
    pthread_attr_t attr;
    pthread_t thread;
    bool started = pthread_attr_init(&attr) == 0;
    if (started) {
        started = pthread_attr_setstacksize(&attr, 2 * kStackNeed) == 0 && pthread_create(&thread, &attr, run, &call) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) return fail(AF_ENOMEM, "cannot start a thread with enough stack for this call");
    pthread_join(thread, nullptr);
    g_last_error = call.last_error;
    return call.status;
}

/// One line per diagnostic, for af_last_error().
std::string diagnostics_text(const Diagnostics& ds) {
    std::string s;
    for (const auto& d : ds) {
        if (d.severity != appforge::Severity::error) continue;
        if (!s.empty()) s += "\n";
        s += (d.path.empty() ? std::string("/") : d.path) + ": " + d.message + " [" + d.code + "]";
    }
    return s.empty() ? std::string("invalid input") : s;
}

/// Maps a failed outcome's diagnostics to a status code and the thread's last error.
int fail_with(const Diagnostics& ds) {
    int status = AF_EINVALID;
    if (appforge::is_parse_failure(ds)) status = AF_EPARSE;
    for (const auto& d : ds)
        if (d.code == "render.kind" || d.code == "gitops.kind" || d.code == "komodo.kind") status = AF_EKIND;
    return fail(status, diagnostics_text(ds));
}

/// Success: the thread's last error is reset so a stale message is never mistaken for a new one.
int ok() {
    g_last_error.clear();
    return AF_OK;
}

}  // namespace

extern "C" {

AF_API void af_buf_dispose(af_buf* buf) {
    if (!buf) return;
    std::free(buf->data);
    buf->data = nullptr;
    buf->len = 0;
}

AF_API const char* af_version(void) { return appforge::version(); }

AF_API int af_version_number(void) {
    return APPFORGE_VERSION_MAJOR * 10000 + APPFORGE_VERSION_MINOR * 100 + APPFORGE_VERSION_PATCH;
}

AF_API const char* af_last_error(void) { return g_last_error.c_str(); }

AF_API const char* af_status_name(int status) {
    switch (status) {
        case AF_OK: return "AF_OK";
        case AF_EINVAL: return "AF_EINVAL";
        case AF_EPARSE: return "AF_EPARSE";
        case AF_EINVALID: return "AF_EINVALID";
        case AF_ENOMEM: return "AF_ENOMEM";
        case AF_EINTERNAL: return "AF_EINTERNAL";
        case AF_EKIND: return "AF_EKIND";
        case AF_EIO: return "AF_EIO";
        default: return "AF_UNKNOWN";
    }
}

AF_API int af_engine_create(af_engine** out, const char* profile_text, const char* patterns_dir) {
    return guard({}, [&] {
        if (int rc = require("af_engine_create", {{out, "out"}})) return rc;
        *out = nullptr;
        appforge::EngineOptions options;
        if (profile_text) options.profile_text = std::string(profile_text);
        if (patterns_dir) options.pattern_dirs.push_back(patterns_dir);
        auto created = appforge::Engine::create(options);
        if (!created.ok()) return fail_with(created.diagnostics);
        *out = new af_engine{std::move(*created.value)};
        return ok();
    });
}

AF_API void af_engine_destroy(af_engine* engine) { delete engine; }

AF_API int af_validate(af_buf* out_diagnostics_json, const af_engine* engine, const char* request_text) {
    return guard({out_diagnostics_json}, [&] {
        if (int rc = require("af_validate", {{out_diagnostics_json, "out_diagnostics_json"},
                                             {engine, "engine"},
                                             {request_text, "request_text"}}))
            return rc;
        auto checked = engine->engine->check(request_text);
        fill_diagnostics(out_diagnostics_json, checked.diagnostics);
        if (!checked.ok()) return fail_with(checked.diagnostics);
        return ok();
    });
}

AF_API int af_render(af_buf* out_bundle_json, af_buf* out_diagnostics_json, const af_engine* engine,
                     const char* request_text) {
    return guard({out_bundle_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_render", {{out_bundle_json, "out_bundle_json"},
                                           {engine, "engine"},
                                           {request_text, "request_text"}}))
            return rc;
        auto r = engine->engine->render_text(request_text);
        fill_diagnostics(out_diagnostics_json, r.diagnostics);
        if (!r.ok()) return fail_with(r.diagnostics);
        json files = json::array();
        for (const auto& f : r.value->files) files.push_back({{"path", f.path}, {"content", f.text}});
        fill(out_bundle_json,
             json{{"app", r.value->appName}, {"namespace", r.value->namespace_}, {"files", files}}.dump());
        return ok();
    });
}

AF_API int af_render_to_dir(af_buf* out_diagnostics_json, const af_engine* engine, const char* request_text,
                            const char* out_dir) {
    return guard({out_diagnostics_json}, [&] {
        if (int rc = require("af_render_to_dir", {{engine, "engine"}, {request_text, "request_text"}})) return rc;
        if (!out_dir || !*out_dir) return fail(AF_EINVAL, "af_render_to_dir: out_dir is NULL or empty");
        auto r = engine->engine->render_text(request_text);
        fill_diagnostics(out_diagnostics_json, r.diagnostics);
        if (!r.ok()) return fail_with(r.diagnostics);

        auto written = appforge::edge::write_bundles({std::move(*r.value)}, out_dir, false, false);
        if (!written.ok()) return fail(AF_EIO, written.error);
        return ok();
    });
}

AF_API int af_komodo_payload(af_buf* out_payload_json, af_buf* out_diagnostics_json, const af_engine* engine,
                             const char* request_text) {
    return guard({out_payload_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_komodo_payload", {{out_payload_json, "out_payload_json"},
                                                   {engine, "engine"},
                                                   {request_text, "request_text"}}))
            return rc;
        auto checked = engine->engine->check(request_text);
        fill_diagnostics(out_diagnostics_json, checked.diagnostics);
        if (!checked.ok()) return fail_with(checked.diagnostics);
        if (checked.kind != appforge::RequestKind::komodo || !checked.komodo)
            return fail(AF_EKIND, "af_komodo_payload: this is a GitOps request (no komodoRequest member); use af_render");
        fill(out_payload_json, appforge::komodo_payload(*checked.komodo, engine->engine->profile()).dump());
        return ok();
    });
}

AF_API int af_plan(af_buf* out_plan_json, af_buf* out_diagnostics_json, const af_engine* engine,
                   const char* request_text, const char* repo_dir) {
    return guard({out_plan_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_plan", {{out_plan_json, "out_plan_json"},
                                         {engine, "engine"},
                                         {request_text, "request_text"},
                                         {repo_dir, "repo_dir"}}))
            return rc;
        std::error_code ec;
        if (!std::filesystem::is_directory(repo_dir, ec))
            return fail(AF_EINVAL, std::string("af_plan: ") + repo_dir + ": not a folder");
        auto planned = appforge::plan_request(*engine->engine, request_text, appforge::edge::FsRepo(repo_dir));
        fill(out_plan_json, appforge::planned_request_to_json(planned).dump());
        fill_diagnostics(out_diagnostics_json, planned.diagnostics);
        if (!planned.ok()) return fail_with(planned.diagnostics);
        return ok();
    });
}

AF_API int af_apply(af_buf* out_result_json, af_buf* out_diagnostics_json, const af_engine* engine,
                    const char* request_text, const char* repo_dir, const char* audit_log) {
    namespace edge = appforge::edge;
    return guard({out_result_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_apply", {{out_result_json, "out_result_json"},
                                          {engine, "engine"},
                                          {request_text, "request_text"},
                                          {repo_dir, "repo_dir"}}))
            return rc;
        std::error_code ec;
        if (!std::filesystem::is_directory(repo_dir, ec))
            return fail(AF_EINVAL, std::string("af_apply: ") + repo_dir + ": not a folder");
        edge::AuditLog audit;
        std::string why;
        if (audit_log && !audit.open(audit_log, why)) return fail(AF_EIO, "af_apply: cannot open the audit log: " + why);
        edge::ApplyResult r = edge::apply_request(*engine->engine, request_text, repo_dir, &audit);
        fill(out_result_json, edge::apply_result_to_json(r).dump());
        fill_diagnostics(out_diagnostics_json, r.diagnostics);
        if (r.ok()) {
            if (!r.audit_error.empty())
                return fail(AF_EIO, "af_apply: committed " + r.commit + " but the audit log was not written: " +
                                        r.audit_error);
            return ok();
        }
        if (r.outcome == "failed") return fail(AF_EIO, r.error);
        if (!r.error.empty() && r.diagnostics.empty()) return fail(AF_EIO, r.error);
        return fail_with(r.diagnostics);
    });
}

AF_API int af_komodo_plan(af_buf* out_plan_json, af_buf* out_diagnostics_json, const af_engine* engine,
                          const char* request_text, const char* repo_dir) {
    return guard({out_plan_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_komodo_plan", {{out_plan_json, "out_plan_json"},
                                                {engine, "engine"},
                                                {request_text, "request_text"},
                                                {repo_dir, "repo_dir"}}))
            return rc;
        std::error_code ec;
        if (!std::filesystem::is_directory(repo_dir, ec))
            return fail(AF_EINVAL, std::string("af_komodo_plan: ") + repo_dir + ": not a folder");
        auto planned =
            appforge::plan_komodo_request(*engine->engine, request_text, appforge::edge::FsRepo(repo_dir));
        fill(out_plan_json, appforge::komodo_planned_request_to_json(planned).dump());
        fill_diagnostics(out_diagnostics_json, planned.diagnostics);
        if (!planned.ok()) return fail_with(planned.diagnostics);
        return ok();
    });
}

AF_API int af_komodo_apply(af_buf* out_result_json, af_buf* out_diagnostics_json, const af_engine* engine,
                           const char* request_text, const char* repo_dir, const char* audit_log) {
    namespace edge = appforge::edge;
    return guard({out_result_json, out_diagnostics_json}, [&] {
        if (int rc = require("af_komodo_apply", {{out_result_json, "out_result_json"},
                                                 {engine, "engine"},
                                                 {request_text, "request_text"},
                                                 {repo_dir, "repo_dir"}}))
            return rc;
        std::error_code ec;
        if (!std::filesystem::is_directory(repo_dir, ec))
            return fail(AF_EINVAL, std::string("af_komodo_apply: ") + repo_dir + ": not a folder");
        edge::AuditLog audit;
        std::string why;
        if (audit_log && !audit.open(audit_log, why))
            return fail(AF_EIO, "af_komodo_apply: cannot open the audit log: " + why);
        edge::ApplyResult r =
            edge::apply_komodo_checked_request(*engine->engine, engine->engine->check(request_text), repo_dir, &audit);
        fill(out_result_json, edge::apply_result_to_json(r).dump());
        fill_diagnostics(out_diagnostics_json, r.diagnostics);
        if (r.ok()) {
            if (!r.audit_error.empty())
                return fail(AF_EIO, "af_komodo_apply: committed " + r.commit + " but the audit log was not written: " +
                                        r.audit_error);
            return ok();
        }
        if (r.outcome == "failed") return fail(AF_EIO, r.error);
        if (!r.error.empty() && r.diagnostics.empty()) return fail(AF_EIO, r.error);
        return fail_with(r.diagnostics);
    });
}

}  // extern "C"
