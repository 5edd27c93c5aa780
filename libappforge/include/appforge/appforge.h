/*
 * appforge.h: the stable C API of appforge.
 *
 * A thin face over the C++ core for any language that can call C: every rule lives in the
 * core, this header only moves text in and JSON text out. Conventions (libgit2 / zstd style):
 *   - opaque handles (af_engine), created by af_<module>_create and freed by _destroy;
 *   - output parameters first, then the handle, then inputs;
 *   - every function returns an int status code (AF_OK = 0, negative on failure);
 *   - the message of the last failure on the calling thread is af_last_error();
 *   - every output string is an af_buf owned by the caller and released with af_buf_dispose;
 *   - every free/dispose function accepts NULL; a NULL argument anywhere else gives AF_EINVAL;
 *   - no C++ exception ever crosses this boundary.
 * An af_engine is immutable once created and may be used from many threads at once.
 *
 * JSON shapes:
 *   diagnostics: [{"path": JSON pointer, "code": "...", "message": "...",
 *                  "severity": "error"|"warning"}, ...]
 *   bundle:      {"app": NAME, "namespace": NS, "files": [{"path": FILE, "content": YAML}, ...]}
 *   payload:     the platform's Komodo request document {appName, appVersion, appConfig,
 *                storageLocation}
 *   plan:        {"ok": bool, "appDir", "namespaceDir", "newNamespace", "branch", "commitMessage",
 *                 "prTitle", "prBody", "creates": [{"path", "content"}], "edits": [{"path", "entry",
 *                 "line", "oldText", "newText"}], "risk": {"verdict": "auto-merge"|"needs-review",
 *                 "reasons": [{"code", "message"}]}, "diagnostics": [...]}
 *   apply:       committed: {"ok": true, "outcome": "committed", "branch", "commit", "commitMessage",
 *                 "prTitle", "prBody", "files": [{"path", "action": "create"|"edit"}], "risk",
 *                 "request": the request with featureBranch and commitSha, "diagnostics"};
 *                otherwise {"ok": false, "outcome": "rejected"|"failed", "error"?, "diagnostics"}
 */
#ifndef APPFORGE_APPFORGE_H
#define APPFORGE_APPFORGE_H

#include <stddef.h>

#define AF_VERSION_MAJOR 0
#define AF_VERSION_MINOR 1
#define AF_VERSION_PATCH 0
/* One number for compile-time comparisons: major * 10000 + minor * 100 + patch. */
#define AF_VERSION_NUMBER (AF_VERSION_MAJOR * 10000 + AF_VERSION_MINOR * 100 + AF_VERSION_PATCH)

#if defined(_WIN32)
#  if defined(AF_BUILDING_C_API)
#    define AF_API __declspec(dllexport)
#  else
#    define AF_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define AF_API __attribute__((visibility("default")))
#else
#  define AF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Negative values are failures; af_status_name() spells them. */
#define AF_OK 0         /* success (warnings may still be present in the diagnostics) */
#define AF_EINVAL -1    /* a NULL or otherwise unusable argument */
#define AF_EPARSE -2    /* the text is not a readable YAML/JSON document */
#define AF_EINVALID -3  /* the document parsed but validation or verification failed */
#define AF_ENOMEM -4    /* out of memory */
#define AF_EINTERNAL -5 /* an unexpected internal error (a bug: please report it) */
#define AF_EKIND -6     /* the request is of the other workflow (GitOps vs Komodo) */
#define AF_EIO -7       /* a file could not be written */

/* An engine: cluster profile, pattern catalog and schemas, loaded once. */
typedef struct af_engine af_engine;

/* A string owned by the caller: data is NUL-terminated and len excludes the NUL. */
typedef struct af_buf {
    char* data;
    size_t len;
} af_buf;

/* Releases a buffer's memory and resets it to {NULL, 0}; NULL and empty buffers are fine. */
AF_API void af_buf_dispose(af_buf* buf);

/* The library version as "major.minor.patch", for checking the header against the library. */
AF_API const char* af_version(void);

/* The library version as AF_VERSION_NUMBER would spell it, for run-time comparisons. */
AF_API int af_version_number(void);

/* The message of the last failed call on this thread ("" if none); valid until the next call. */
AF_API const char* af_last_error(void);

/* The name of a status code ("AF_OK", "AF_EINVAL", ...); "AF_UNKNOWN" for other values. */
AF_API const char* af_status_name(int status);

/*
 * Creates an engine. profile_text is a cluster profile as YAML or JSON text, NULL for the
 * shipped default; patterns_dir is a directory of pattern files loaded over the built-in
 * catalog, or NULL. On failure *out is NULL and af_last_error() lists the diagnostics.
 */
AF_API int af_engine_create(af_engine** out, const char* profile_text, const char* patterns_dir);

/* Destroys an engine; NULL is fine. */
AF_API void af_engine_destroy(af_engine* engine);

/*
 * Validates a request (YAML or JSON text; GitOps or Komodo). *out_diagnostics_json always
 * receives the diagnostics array on AF_OK, AF_EPARSE and AF_EINVALID. Returns AF_OK when the
 * request has no errors (warnings allowed).
 */
AF_API int af_validate(af_buf* out_diagnostics_json, const af_engine* engine, const char* request_text);

/*
 * Validates and renders a GitOps request. On AF_OK *out_bundle_json holds the bundle; the
 * diagnostics (warnings on success, errors otherwise) go to *out_diagnostics_json on AF_OK,
 * AF_EPARSE, AF_EINVALID and AF_EKIND. out_diagnostics_json may be NULL when not wanted.
 */
AF_API int af_render(af_buf* out_bundle_json, af_buf* out_diagnostics_json, const af_engine* engine,
                     const char* request_text);

/*
 * af_render, then writes the bundle's files into the folder out_dir (C has no JSON parser at
 * hand). out_dir must be absent or empty; the files are written into a staging folder that is
 * renamed into place, so on failure nothing is left behind. out_diagnostics_json may be NULL.
 */
AF_API int af_render_to_dir(af_buf* out_diagnostics_json, const af_engine* engine, const char* request_text,
                            const char* out_dir);

/*
 * Validates a Komodo (NAS) request and produces the platform's payload document, with the
 * storage location filled from the profile. Buffers as for af_render.
 */
AF_API int af_komodo_payload(af_buf* out_payload_json, af_buf* out_diagnostics_json, const af_engine* engine,
                             const char* request_text);

/*
 * Plans a GitOps request against the checkout at repo_dir without writing anything: the files to
 * create, the kustomization.yaml edits, branch, commit message, PR title/body and risk. Conflicts
 * (the app folder exists, a hostname is taken, a parent kustomization is missing or unreadable) are
 * diagnostics. Returns AF_OK when the plan may be applied; on AF_EPARSE, AF_EINVALID and AF_EKIND
 * *out_plan_json still holds the plan JSON (with "ok": false) and *out_diagnostics_json every
 * diagnostic; AF_EINVAL when repo_dir is not a folder. out_diagnostics_json may be NULL.
 */
AF_API int af_plan(af_buf* out_plan_json, af_buf* out_diagnostics_json, const af_engine* engine,
                   const char* request_text, const char* repo_dir);

/*
 * Plans, then commits the change set on its new feature branch in the git checkout repo_dir (its
 * top folder) with git plumbing; the working tree, index and HEAD are never touched. Refuses a dirty
 * tree, a pending operation, a detached HEAD, an existing branch or any conflict before git changes
 * anything (AF_EINVALID); a failed git step creates no branch and changes nothing (AF_EIO). audit_log names a file that receives one
 * JSON line per call (O_APPEND, fsync), or NULL; an audit log that cannot be opened gives AF_EIO
 * before anything else happens. *out_result_json holds the apply JSON on every status but
 * AF_EINVAL and AF_ENOMEM (a committed result whose audit line failed returns AF_EIO with "ok":
 * true and "auditError"). out_diagnostics_json may be NULL.
 */
AF_API int af_apply(af_buf* out_result_json, af_buf* out_diagnostics_json, const af_engine* engine,
                    const char* request_text, const char* repo_dir, const char* audit_log);

/*
 * GitOps for Komodo: plans a NAS request's Resource Sync change set against the checkout at
 * repo_dir without writing anything (the compose file at the profile's stack path, a [[stack]]
 * table appended to the profile's sync file). Statuses and buffers as for af_plan; a GitOps
 * request is AF_EKIND.
 */
AF_API int af_komodo_plan(af_buf* out_plan_json, af_buf* out_diagnostics_json, const af_engine* engine,
                          const char* request_text, const char* repo_dir);

/*
 * Commits a NAS request's Resource Sync change set on its new feature branch, with the same
 * refusals, plumbing, audit line and statuses as af_apply.
 */
AF_API int af_komodo_apply(af_buf* out_result_json, af_buf* out_diagnostics_json, const af_engine* engine,
                           const char* request_text, const char* repo_dir, const char* audit_log);

#ifdef __cplusplus
}
#endif

#endif /* APPFORGE_APPFORGE_H */
