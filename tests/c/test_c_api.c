/* The C API from C (C89, -pedantic -Werror): success paths, every NULL argument, unreadable and
 * invalid input, version macros against the library, and the per-thread last error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appforge/appforge.h"

static int failures = 0;
static int checks = 0;

static void check_(int ok, const char* what, int line) {
    ++checks;
    if (!ok) {
        ++failures;
        fprintf(stderr, "test_c_api.c:%d: CHECK failed: %s (last error: %s)\n", line, what, af_last_error());
    }
}
#define CHECK(c) check_((c) ? 1 : 0, #c, __LINE__)

/* Reads a file under the source tree into a malloc'd NUL-terminated string. */
static char* slurp(const char* rel) {
    char path[1024];
    FILE* f;
    char* data;
    long n;
    sprintf(path, "%s/%s", APPFORGE_SOURCE_DIR, rel);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = (char*)malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    data[n] = '\0';
    fclose(f);
    return data;
}

static int contains(const af_buf* b, const char* needle) {
    return b->data != NULL && strstr(b->data, needle) != NULL;
}

static int is_empty(const af_buf* b) { return b->data == NULL && b->len == 0; }

static void test_version(void) {
    char expected[64];
    sprintf(expected, "%d.%d.%d", AF_VERSION_MAJOR, AF_VERSION_MINOR, AF_VERSION_PATCH);
    CHECK(strcmp(af_version(), expected) == 0);
    CHECK(af_version_number() == AF_VERSION_NUMBER);
    CHECK(strcmp(af_status_name(AF_OK), "AF_OK") == 0);
    CHECK(strcmp(af_status_name(AF_EINVALID), "AF_EINVALID") == 0);
    CHECK(strcmp(af_status_name(AF_EIO), "AF_EIO") == 0);
    CHECK(strcmp(af_status_name(12345), "AF_UNKNOWN") == 0);
}

static void test_free_functions_accept_null(void) {
    af_buf empty;
    empty.data = NULL;
    empty.len = 0;
    af_buf_dispose(NULL);
    af_buf_dispose(&empty);
    af_engine_destroy(NULL);
    CHECK(is_empty(&empty));
}

static void test_engine_create(void) {
    af_engine* e = (af_engine*)&failures; /* poison: create must reset it */
    char* profile;
    CHECK(af_engine_create(NULL, NULL, NULL) == AF_EINVAL);
    CHECK(strstr(af_last_error(), "out") != NULL);

    CHECK(af_engine_create(&e, "name: [unclosed", NULL) == AF_EPARSE);
    CHECK(e == NULL);
    CHECK(strlen(af_last_error()) > 0);

    CHECK(af_engine_create(&e, "publicZone: 42\n", NULL) == AF_EINVALID);
    CHECK(e == NULL);
    CHECK(strstr(af_last_error(), "publicZone") != NULL);

    CHECK(af_engine_create(&e, NULL, "/nonexistent/appforge/patterns") != AF_OK);
    CHECK(e == NULL);

    profile = slurp("tests/data/profiles/production.yaml");
    CHECK(af_engine_create(&e, profile, NULL) == AF_OK);
    CHECK(e != NULL);
    CHECK(strcmp(af_last_error(), "") == 0);
    af_engine_destroy(e);
    free(profile);
}

static void test_validate(const af_engine* e) {
    af_buf diags;
    char* valid = slurp("examples/requests/whoami-internal.yaml");
    char* invalid = slurp("tests/data/requests/invalid/app-name-uppercase.yaml");

    CHECK(af_validate(&diags, e, valid) == AF_OK);
    CHECK(diags.data != NULL && strcmp(diags.data, "[]") == 0 && diags.len == 2);
    af_buf_dispose(&diags);
    CHECK(is_empty(&diags));

    CHECK(af_validate(&diags, e, invalid) == AF_EINVALID);
    CHECK(contains(&diags, "\"path\":\"/appName\""));
    CHECK(contains(&diags, "\"severity\":\"error\""));
    CHECK(strstr(af_last_error(), "/appName") != NULL);
    af_buf_dispose(&diags);

    CHECK(af_validate(&diags, e, "appName: [1, 2\n") == AF_EPARSE);
    CHECK(contains(&diags, "parse."));
    af_buf_dispose(&diags);

    CHECK(af_validate(&diags, e, "{\"appName\": ") == AF_EPARSE);
    af_buf_dispose(&diags);

    CHECK(af_validate(&diags, e, "a: &x 1\nb: *x\n") == AF_EPARSE);
    af_buf_dispose(&diags);

    CHECK(af_validate(&diags, e, "") != AF_OK);
    af_buf_dispose(&diags);

    /* every NULL argument */
    CHECK(af_validate(NULL, e, valid) == AF_EINVAL);
    CHECK(af_validate(&diags, NULL, valid) == AF_EINVAL);
    CHECK(is_empty(&diags));
    CHECK(strstr(af_last_error(), "engine") != NULL);
    CHECK(af_validate(&diags, e, NULL) == AF_EINVAL);
    CHECK(is_empty(&diags));
    CHECK(strstr(af_last_error(), "request_text") != NULL);

    free(valid);
    free(invalid);
}

static void test_render(const af_engine* e) {
    af_buf bundle, diags;
    char* valid = slurp("examples/requests/paperless-longhorn-backup.yaml");
    char* invalid = slurp("tests/data/requests/invalid/app-name-uppercase.yaml");
    char* komodo = slurp("examples/requests/myapp-komodo.yaml");

    CHECK(af_render(&bundle, &diags, e, valid) == AF_OK);
    CHECK(contains(&bundle, "\"app\":\"paperless\""));
    CHECK(contains(&bundle, "\"path\":\"kustomization.yaml\""));
    CHECK(contains(&bundle, "kind: Deployment"));
    CHECK(bundle.len == strlen(bundle.data));
    CHECK(diags.data != NULL);
    af_buf_dispose(&bundle);
    af_buf_dispose(&diags);

    /* diagnostics output is optional */
    CHECK(af_render(&bundle, NULL, e, valid) == AF_OK);
    CHECK(contains(&bundle, "kustomization.yaml"));
    af_buf_dispose(&bundle);

    CHECK(af_render(&bundle, &diags, e, invalid) == AF_EINVALID);
    CHECK(is_empty(&bundle));
    CHECK(contains(&diags, "/appName"));
    af_buf_dispose(&diags);

    CHECK(af_render(&bundle, &diags, e, komodo) == AF_EKIND);
    CHECK(is_empty(&bundle));
    CHECK(contains(&diags, "render.kind"));
    af_buf_dispose(&diags);

    CHECK(af_render(&bundle, &diags, e, "- just\n- a list\n") == AF_EINVALID);
    CHECK(is_empty(&bundle));
    af_buf_dispose(&diags);

    CHECK(af_render(&bundle, &diags, e, "{unclosed: 1\n") == AF_EPARSE);
    af_buf_dispose(&diags);

    CHECK(af_render(NULL, &diags, e, valid) == AF_EINVAL);
    CHECK(is_empty(&diags));
    CHECK(af_render(&bundle, &diags, NULL, valid) == AF_EINVAL);
    CHECK(af_render(&bundle, &diags, e, NULL) == AF_EINVAL);
    CHECK(is_empty(&bundle) && is_empty(&diags));

    free(valid);
    free(invalid);
    free(komodo);
}

static void test_komodo_payload(const af_engine* e) {
    af_buf payload, diags;
    char* komodo = slurp("examples/requests/myapp-komodo.yaml");
    char* gitops = slurp("examples/requests/whoami-internal.yaml");

    CHECK(af_komodo_payload(&payload, &diags, e, komodo) == AF_OK);
    CHECK(contains(&payload, "\"appName\":\"myapp\""));
    CHECK(contains(&payload, "\"storageLocation\":\"/mnt/pool/apps/myapp\""));
    af_buf_dispose(&payload);
    af_buf_dispose(&diags);

    CHECK(af_komodo_payload(&payload, &diags, e, gitops) == AF_EKIND);
    CHECK(is_empty(&payload));
    af_buf_dispose(&diags);

    CHECK(af_komodo_payload(&payload, NULL, e, "komodoRequest: {}\n") == AF_EINVALID);
    CHECK(is_empty(&payload));

    CHECK(af_komodo_payload(NULL, &diags, e, komodo) == AF_EINVAL);
    CHECK(af_komodo_payload(&payload, &diags, NULL, komodo) == AF_EINVAL);
    CHECK(af_komodo_payload(&payload, &diags, e, NULL) == AF_EINVAL);
    CHECK(is_empty(&payload) && is_empty(&diags));

    free(komodo);
    free(gitops);
}

static int file_contains(const char* dir, const char* name, const char* needle) {
    char path[1024];
    char text[4096];
    size_t n;
    FILE* f;
    sprintf(path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) return 0;
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return strstr(text, needle) != NULL;
}

static void test_render_to_dir(const af_engine* e, const char* scratch) {
    char dir[1024], bad_dir[1024];
    af_buf diags;
    FILE* f;
    char* valid = slurp("examples/requests/whoami-internal.yaml");
    char* invalid = slurp("tests/data/requests/invalid/app-name-uppercase.yaml");
    sprintf(dir, "%s/whoami", scratch);
    sprintf(bad_dir, "%s/invalid", scratch);

    CHECK(af_render_to_dir(&diags, e, valid, dir) == AF_OK);
    CHECK(diags.data != NULL && strcmp(diags.data, "[]") == 0);
    af_buf_dispose(&diags);
    CHECK(file_contains(dir, "kustomization.yaml", "deployment.yaml"));
    CHECK(file_contains(dir, "deployment.yaml", "traefik/whoami:v1.10.1"));

    /* never overwrites */
    CHECK(af_render_to_dir(NULL, e, valid, dir) == AF_EIO);
    CHECK(strstr(af_last_error(), "not an empty folder") != NULL);

    /* an invalid request writes nothing */
    CHECK(af_render_to_dir(&diags, e, invalid, bad_dir) == AF_EINVALID);
    CHECK(contains(&diags, "/appName"));
    af_buf_dispose(&diags);
    f = fopen(bad_dir, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);

    CHECK(af_render_to_dir(&diags, NULL, valid, bad_dir) == AF_EINVAL);
    CHECK(af_render_to_dir(&diags, e, NULL, bad_dir) == AF_EINVAL);
    CHECK(af_render_to_dir(&diags, e, valid, NULL) == AF_EINVAL);
    CHECK(af_render_to_dir(&diags, e, valid, "") == AF_EINVAL);
    CHECK(is_empty(&diags));
    free(valid);
    free(invalid);
}

/* ---- plan / apply against a real git repository (the test shells out to git to build it) ---- */

#define NS_ROOT "kubernetes/clusters/homelab/namespaces"

static void put_file(const char* repo, const char* rel, const char* text) {
    char path[1200];
    FILE* f;
    sprintf(path, "%s/%s", repo, rel);
    f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static int sh(const char* fmt, const char* a, const char* b) {
    char cmd[4096];
    sprintf(cmd, fmt, a, b);
    return system(cmd);
}

/* The text of a small file, or "" when it cannot be read. */
static void read_small(const char* path, char* out, size_t cap) {
    FILE* f = fopen(path, "rb");
    size_t n = 0;
    if (f) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

/* A checkout with a namespaces kustomization and one namespace (tools), committed on main. */
static void make_repo(const char* repo) {
    if (sh("rm -rf '%s' && mkdir -p '%s/" NS_ROOT "/tools'", repo, repo) != 0) {
        fprintf(stderr, "cannot create %s\n", repo);
        exit(2);
    }
    put_file(repo, NS_ROOT "/kustomization.yaml",
             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./tools  # utilities\n");
    put_file(repo, NS_ROOT "/tools/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n");
    put_file(repo, NS_ROOT "/tools/kustomization.yaml",
             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n");
    put_file(repo, "README.md", "# gitops\n");
    if (sh("cd '%s' && git init -q -b main . && git add -A && "
           "git -c user.name=Fixture -c user.email=fixture@example.org commit -q -m 'initial tree'%s",
           repo, "") != 0) {
        fprintf(stderr, "git could not build the fixture repo in %s (is git installed?)\n", repo);
        exit(2);
    }
}

/* The value of "key":"..." in compact JSON text, copied into out ("" when absent). */
static void json_string(const af_buf* b, const char* key, char* out, size_t cap) {
    char needle[128];
    const char* p;
    size_t n = 0;
    out[0] = '\0';
    if (!b->data) return;
    sprintf(needle, "\"%s\":\"", key);
    p = strstr(b->data, needle);
    if (!p) return;
    p += strlen(needle);
    while (p[n] && p[n] != '"' && n + 1 < cap) {
        out[n] = p[n];
        ++n;
    }
    out[n] = '\0';
}

static int is_sha1_hex(const char* s) {
    size_t i;
    for (i = 0; i < 40; ++i)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[40] == '\0';
}

static void test_plan(const af_engine* e, const char* scratch) {
    char repo[1024], head_before[128], head_after[128], tmp[1100];
    af_buf plan, diags;
    char* valid = slurp("examples/requests/whoami-internal.yaml");
    char* komodo = slurp("examples/requests/myapp-komodo.yaml");
    char* invalid = slurp("tests/data/requests/invalid/app-name-uppercase.yaml");
    sprintf(repo, "%s/plan-repo", scratch);
    sprintf(tmp, "%s/head.txt", scratch);
    make_repo(repo);
    sh("git -C '%s' rev-parse HEAD > '%s'", repo, tmp);
    read_small(tmp, head_before, sizeof head_before);

    CHECK(af_plan(&plan, &diags, e, valid, repo) == AF_OK);
    CHECK(strcmp(af_last_error(), "") == 0);
    CHECK(contains(&plan, "\"ok\":true"));
    CHECK(contains(&plan, "\"branch\":\"feat/app/whoami-"));
    CHECK(contains(&plan, "\"entry\":\"./whoami\""));
    CHECK(contains(&plan, "\"path\":\"" NS_ROOT "/whoami/whoami/deployment.yaml\""));
    CHECK(contains(&plan, "\"newNamespace\":true"));
    CHECK(contains(&plan, "\"verdict\":\"auto-merge\""));
    CHECK(diags.data != NULL && strcmp(diags.data, "[]") == 0);
    af_buf_dispose(&plan);
    af_buf_dispose(&diags);
    /* planning writes nothing */
    CHECK(sh("test -z \"$(git -C '%s' status --porcelain --untracked-files=all)\"%s", repo, "") == 0);
    sh("git -C '%s' rev-parse HEAD > '%s'", repo, tmp);
    read_small(tmp, head_after, sizeof head_after);
    CHECK(head_before[0] != '\0' && strcmp(head_before, head_after) == 0);

    /* the diagnostics buffer is optional; the plan of the same request is the same */
    CHECK(af_plan(&plan, NULL, e, valid, repo) == AF_OK);
    CHECK(contains(&plan, "\"branch\":\"feat/app/whoami-"));
    af_buf_dispose(&plan);

    /* wrong workflow, invalid and unreadable requests: a plan JSON with ok:false plus diagnostics */
    CHECK(af_plan(&plan, &diags, e, komodo, repo) == AF_EKIND);
    CHECK(contains(&diags, "gitops.kind") && contains(&plan, "\"ok\":false"));
    af_buf_dispose(&plan);
    af_buf_dispose(&diags);
    CHECK(af_plan(&plan, &diags, e, invalid, repo) == AF_EINVALID);
    CHECK(contains(&diags, "/appName") && strstr(af_last_error(), "/appName") != NULL);
    af_buf_dispose(&plan);
    af_buf_dispose(&diags);
    CHECK(af_plan(&plan, &diags, e, "appName: [unclosed", repo) == AF_EPARSE);
    af_buf_dispose(&plan);
    af_buf_dispose(&diags);

    /* NULL arguments and a repo that is not a folder */
    CHECK(af_plan(NULL, &diags, e, valid, repo) == AF_EINVAL);
    CHECK(af_plan(&plan, &diags, NULL, valid, repo) == AF_EINVAL);
    CHECK(af_plan(&plan, &diags, e, NULL, repo) == AF_EINVAL);
    CHECK(af_plan(&plan, &diags, e, valid, NULL) == AF_EINVAL);
    CHECK(af_plan(&plan, &diags, e, valid, tmp) == AF_EINVAL);
    CHECK(strstr(af_last_error(), "not a folder") != NULL);
    CHECK(is_empty(&plan) && is_empty(&diags));
    free(valid);
    free(komodo);
    free(invalid);
}

static void test_komodo_sync(const char* scratch) {
    char repo[1024];
    af_buf out, diags;
    af_engine* e = NULL;
    char* komodo = slurp("examples/requests/myapp-komodo.yaml");
    char* gitops = slurp("examples/requests/whoami-internal.yaml");
    CHECK(af_engine_create(&e, "komodo:\n  url: https://komodo.internal.hypyr.space\n  server: truenas\n"
                               "  linkedRepo: homelab\n", NULL) == AF_OK);
    sprintf(repo, "%s/komodo-repo", scratch);
    make_repo(repo);

    CHECK(af_komodo_plan(&out, &diags, e, komodo, repo) == AF_OK);
    CHECK(contains(&out, "\"ok\":true") && contains(&out, "\"syncFile\":\"komodo/resources.toml\""));
    CHECK(contains(&out, "\"path\":\"stacks/apps/myapp/compose.yaml\""));
    af_buf_dispose(&out);
    af_buf_dispose(&diags);
    CHECK(af_komodo_plan(&out, &diags, e, gitops, repo) == AF_EKIND);
    CHECK(contains(&diags, "komodo.kind"));
    af_buf_dispose(&out);
    af_buf_dispose(&diags);

    CHECK(af_komodo_apply(&out, &diags, e, komodo, repo, NULL) == AF_OK);
    CHECK(contains(&out, "\"outcome\":\"committed\"") && contains(&out, "\"branch\":\"feat/app/myapp-"));
    af_buf_dispose(&out);
    af_buf_dispose(&diags);
    CHECK(af_komodo_apply(&out, &diags, e, komodo, repo, NULL) == AF_EINVALID);  /* the branch exists */
    CHECK(contains(&diags, "git.branch.exists"));
    af_buf_dispose(&out);
    af_buf_dispose(&diags);

    CHECK(af_komodo_plan(NULL, &diags, e, komodo, repo) == AF_EINVAL);
    CHECK(af_komodo_apply(&out, &diags, e, komodo, NULL, NULL) == AF_EINVAL);
    CHECK(is_empty(&out) && is_empty(&diags));
    af_engine_destroy(e);
    free(komodo);
    free(gitops);
}

static void test_apply(const af_engine* e, const char* scratch) {
    char repo[1024], audit[1100], tmp[1100], branch[256], commit[128], head[128], log[4096];
    af_buf result, diags;
    char* valid = slurp("examples/requests/whoami-internal.yaml");
    sprintf(repo, "%s/apply-repo", scratch);
    sprintf(audit, "%s/audit.log", scratch);
    sprintf(tmp, "%s/head.txt", scratch);
    remove(audit);
    make_repo(repo);

    CHECK(af_apply(&result, &diags, e, valid, repo, audit) == AF_OK);
    CHECK(strcmp(af_last_error(), "") == 0);
    CHECK(contains(&result, "\"ok\":true") && contains(&result, "\"outcome\":\"committed\""));
    CHECK(contains(&result, "\"prTitle\":\"feat: deploy whoami\""));
    json_string(&result, "branch", branch, sizeof branch);
    json_string(&result, "commit", commit, sizeof commit);
    CHECK(strncmp(branch, "feat/app/whoami-", 16) == 0 && strlen(branch) == 24);
    CHECK(is_sha1_hex(commit));
    CHECK(diags.data != NULL && strcmp(diags.data, "[]") == 0);
    af_buf_dispose(&result);
    af_buf_dispose(&diags);
    /* git agrees: the feature branch holds the new commit; the checkout stays on main */
    sprintf(log, "git -C '%s' rev-parse '%s' > '%s'", repo, branch, tmp);
    CHECK(system(log) == 0);
    read_small(tmp, head, sizeof head);
    CHECK(strncmp(head, commit, 40) == 0);
    sh("git -C '%s' symbolic-ref --short HEAD > '%s'", repo, tmp);
    read_small(tmp, head, sizeof head);
    CHECK(strncmp(head, "main", 4) == 0);

    /* the same request again, on the branch: the app folder now exists, nothing is touched */
    CHECK(sh("git -C '%s' checkout -q '%s'", repo, branch) == 0);
    CHECK(af_apply(&result, &diags, e, valid, repo, audit) == AF_EINVALID);
    CHECK(contains(&result, "\"outcome\":\"rejected\"") && contains(&diags, "gitops.app.exists"));
    CHECK(strstr(af_last_error(), "gitops.app.exists") != NULL);
    af_buf_dispose(&result);
    af_buf_dispose(&diags);

    /* a dirty tree is refused */
    sh("git -C '%s' checkout -q main && echo wip > '%s/notes.txt'", repo, repo);
    CHECK(af_apply(&result, NULL, e, valid, repo, NULL) == AF_EINVALID);
    CHECK(contains(&result, "git.dirty"));
    af_buf_dispose(&result);
    CHECK(sh("test \"$(git -C '%s' for-each-ref --format=x refs/heads/ | wc -l)\" -eq 2%s", repo, "") == 0);

    /* one audit line per call that got an audit log: committed, then rejected */
    read_small(audit, log, sizeof log);
    CHECK(strstr(log, "\"outcome\":\"committed\"") != NULL && strstr(log, "\"outcome\":\"rejected\"") != NULL);
    CHECK(strstr(log, commit) != NULL);

    /* NULL arguments, a repo that is not a folder, an audit log that cannot be opened */
    CHECK(af_apply(NULL, &diags, e, valid, repo, NULL) == AF_EINVAL);
    CHECK(af_apply(&result, &diags, NULL, valid, repo, NULL) == AF_EINVAL);
    CHECK(af_apply(&result, &diags, e, NULL, repo, NULL) == AF_EINVAL);
    CHECK(af_apply(&result, &diags, e, valid, NULL, NULL) == AF_EINVAL);
    CHECK(af_apply(&result, &diags, e, valid, audit, NULL) == AF_EINVAL);
    CHECK(strstr(af_last_error(), "not a folder") != NULL);
    CHECK(af_apply(&result, &diags, e, valid, repo, repo) == AF_EIO);
    CHECK(strstr(af_last_error(), "audit log") != NULL);
    CHECK(is_empty(&result) && is_empty(&diags));
    free(valid);
}

/* Per-thread last error: a failure on one thread is not seen, nor cleared, by another. */
struct thread_arg {
    const af_engine* engine;
    const char* request;
    int status;
    char error[256];
    char* bundle;
};

static void* fail_then_wait(void* p) {
    struct thread_arg* a = (struct thread_arg*)p;
    af_buf diags;
    a->status = af_validate(&diags, NULL, a->request);
    strncpy(a->error, af_last_error(), sizeof a->error - 1);
    a->error[sizeof a->error - 1] = '\0';
    return NULL;
}

static void* render_one(void* p) {
    struct thread_arg* a = (struct thread_arg*)p;
    af_buf bundle;
    a->status = af_render(&bundle, NULL, a->engine, a->request);
    strncpy(a->error, af_last_error(), sizeof a->error - 1);
    a->error[sizeof a->error - 1] = '\0';
    a->bundle = bundle.data; /* ownership moves to the test */
    return NULL;
}

static void test_threads(const af_engine* e) {
    pthread_t t[4];
    struct thread_arg args[4];
    af_buf diags;
    int i;
    char* valid = slurp("examples/requests/paperless-longhorn-backup.yaml");

    /* this thread fails first ... */
    CHECK(af_validate(&diags, e, NULL) == AF_EINVAL);
    CHECK(strstr(af_last_error(), "request_text") != NULL);

    /* ... another thread fails differently and a third succeeds ... */
    memset(args, 0, sizeof args);
    args[0].engine = e;
    args[0].request = valid;
    CHECK(pthread_create(&t[0], NULL, fail_then_wait, &args[0]) == 0);
    CHECK(pthread_join(t[0], NULL) == 0);
    CHECK(args[0].status == AF_EINVAL);
    CHECK(strstr(args[0].error, "engine is NULL") != NULL);

    /* ... and this thread's message is still its own. */
    CHECK(strstr(af_last_error(), "request_text") != NULL);
    CHECK(strstr(af_last_error(), "engine is NULL") == NULL);

    /* one engine shared by several threads renders identical bundles */
    for (i = 0; i < 4; ++i) {
        args[i].engine = e;
        args[i].request = valid;
        args[i].bundle = NULL;
        CHECK(pthread_create(&t[i], NULL, render_one, &args[i]) == 0);
    }
    for (i = 0; i < 4; ++i) CHECK(pthread_join(t[i], NULL) == 0);
    for (i = 0; i < 4; ++i) {
        CHECK(args[i].status == AF_OK);
        CHECK(strcmp(args[i].error, "") == 0);
        CHECK(args[i].bundle != NULL && args[0].bundle != NULL && strcmp(args[i].bundle, args[0].bundle) == 0);
    }
    for (i = 0; i < 4; ++i) {
        af_buf b;
        b.data = args[i].bundle;
        b.len = 0;
        af_buf_dispose(&b);
    }
    /* success on this thread clears its last error */
    CHECK(af_render(&diags, NULL, e, valid) == AF_OK);
    CHECK(strcmp(af_last_error(), "") == 0);
    af_buf_dispose(&diags);
    free(valid);
}

int main(int argc, char** argv) {
    af_engine* engine = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: test_c_api SCRATCH_DIR\n");
        return 2;
    }
    test_version();
    test_free_functions_accept_null();
    test_engine_create();
    if (af_engine_create(&engine, NULL, NULL) != AF_OK) {
        fprintf(stderr, "cannot create the default engine: %s\n", af_last_error());
        return 1;
    }
    test_validate(engine);
    test_render(engine);
    test_komodo_payload(engine);
    test_render_to_dir(engine, argv[1]);
    test_plan(engine, argv[1]);
    test_apply(engine, argv[1]);
    test_komodo_sync(argv[1]);
    test_threads(engine);
    af_engine_destroy(engine);
    printf("test_c_api: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
