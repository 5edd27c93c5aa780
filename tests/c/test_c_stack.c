/* Issue 13: a thread with a 32 KiB stack (pthread_attr_setstacksize) calls the C API on deeply
 * nested documents and gets a parse.depth diagnostic instead of a crash; normal requests still
 * validate there. C89, like test_c_api.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <appforge/appforge.h>

static af_engine* engine;
static int failures;

struct job {
    const char* text;
    int status;
    int has_depth;
};

static void* run(void* arg) {
    struct job* j = (struct job*)arg;
    af_buf diagnostics = {NULL, 0};
    af_buf bundle = {NULL, 0};
    j->status = af_validate(&diagnostics, engine, j->text);
    j->has_depth = diagnostics.data != NULL && strstr(diagnostics.data, "\"parse.depth\"") != NULL;
    af_buf_dispose(&diagnostics);
    if (af_render(&bundle, &diagnostics, engine, j->text) != j->status) j->status = -100;
    af_buf_dispose(&bundle);
    af_buf_dispose(&diagnostics);
    return NULL;
}

static void on_small_stack(struct job* j) {
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 32 * 1024);
    if (pthread_create(&t, &attr, run, j) != 0) {
        fprintf(stderr, "cannot start a 32 KiB thread\n");
        exit(1);
    }
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
}

/* mode 0: [[[...]]], 1: "- - - x" block sequences, 2: {a: {a: ...}} flow maps */
static char* nested(int depth, int mode) {
    char* s = (char*)malloc((size_t)depth * 5 + 16);
    char* p = s;
    int i;
    for (i = 0; i < depth; ++i) {
        if (mode == 0) *p++ = '[';
        if (mode == 1) { *p++ = '-'; *p++ = ' '; }
        if (mode == 2) { memcpy(p, "{a: ", 4); p += 4; }
    }
    if (mode == 1) *p++ = 'x';
    for (i = 0; i < depth && mode != 1; ++i) *p++ = mode == 0 ? ']' : '}';
    *p++ = '\n';
    *p = '\0';
    return s;
}

int main(void) {
    static const int depths[] = {65, 10000};
    int d, mode;
    struct job ok;
    if (af_engine_create(&engine, NULL, NULL) != AF_OK) {
        fprintf(stderr, "engine: %s\n", af_last_error());
        return 1;
    }
    for (d = 0; d < 2; ++d)
        for (mode = 0; mode < 3; ++mode) {
            struct job j;
            j.text = nested(depths[d], mode);
            j.status = 0;
            j.has_depth = 0;
            on_small_stack(&j);
            if (j.status != AF_EPARSE || !j.has_depth) {
                fprintf(stderr, "depth %d mode %d: status %d, parse.depth %d\n", depths[d], mode, j.status, j.has_depth);
                ++failures;
            }
            free((void*)j.text);
        }
    ok.text = "operatorId: alice\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
              "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n";
    on_small_stack(&ok);
    if (ok.status != AF_OK) {
        fprintf(stderr, "a valid request on a 32 KiB stack: status %d\n", ok.status);
        ++failures;
    }
    af_engine_destroy(engine);
    printf("c_stack: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
