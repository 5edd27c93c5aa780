/* Validate a request and render it into a folder, with the appforge C API (C89).
 * usage: render_request REQUEST OUT_DIR */
#include <stdio.h>
#include <stdlib.h>

#include <appforge/appforge.h>

static char* read_file(const char* path) {
    FILE* f = fopen(path, "rb");
    char* text;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = (char*)malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = '\0';
    } else {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

int main(int argc, char** argv) {
    af_engine* engine = NULL;
    af_buf diagnostics = {NULL, 0};
    char* request;
    int status;

    if (argc != 3) {
        fprintf(stderr, "usage: render_request REQUEST OUT_DIR\n");
        return 2;
    }
    request = read_file(argv[1]);
    if (!request) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 2;
    }
    if (af_engine_create(&engine, NULL, NULL) != AF_OK) {
        fprintf(stderr, "appforge: %s\n", af_last_error());
        free(request);
        return 2;
    }

    /* Validate first: the diagnostics come back as a JSON array. */
    status = af_validate(&diagnostics, engine, request);
    if (status == AF_OK) status = af_render_to_dir(NULL, engine, request, argv[2]);
    if (status != AF_OK) {
        fprintf(stderr, "%s: %s: %s\n", argv[1], af_status_name(status), af_last_error());
        fprintf(stderr, "%s\n", diagnostics.data ? diagnostics.data : "[]");
    } else {
        printf("appforge %s rendered %s into %s\n", af_version(), argv[1], argv[2]);
    }

    af_buf_dispose(&diagnostics);
    af_engine_destroy(engine);
    free(request);
    return status == AF_OK ? 0 : (status == AF_EPARSE ? 2 : 1);
}
