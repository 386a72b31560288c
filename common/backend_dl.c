/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend_dl.c - moat_backend in libmoat.so.0: backends/<name>.so in the
 * directory libmoat.so.0 itself was loaded from (so a package's modules
 * and backends always come from one installation), dlopened RTLD_NOW (a
 * symbol missing fails here, not in the middle of a call) and RTLD_LOCAL
 * (its library's names stay out of Exim's scope).
 */
#include "backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define BACKENDS_MAX 4
#define BACKEND_ERR_MAX 512

static struct loaded_backend {
    char name[16];
    const void *table;       /* NULL: could not be loaded (why in err) */
    char err[BACKEND_ERR_MAX];
} loaded[BACKENDS_MAX];
static size_t nloaded;

/* backend_path - dir-of-libmoat/backends/name.so into path; 0, or -1 with err */
static int backend_path(const char *name, char *path, size_t cap, char *err, size_t errlen)
{
    Dl_info self;
    const char *slash;
    int n;

    if (dladdr((const void *)&moat_backend, &self) == 0 || self.dli_fname == NULL ||
        (slash = strrchr(self.dli_fname, '/')) == NULL) {
        snprintf(err, errlen, "cannot tell which directory libmoat.so.0 was loaded from");
        return -1;
    }
    n = snprintf(path, cap, "%.*s/backends/%s.so", (int)(slash - self.dli_fname),
                 self.dli_fname, name);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "the path of backends/%s.so is too long", name);
        return -1;
    }
    return 0;
}

/* load - open backends/name.so and find its table; NULL with why in err */
static const void *load(const char *name, char *err, size_t errlen)
{
    char path[4096], symbol[64];
    const char *why;
    const void *table;
    void *handle;

    if (backend_path(name, path, sizeof path, err, errlen) != 0)
        return NULL;
    if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        why = dlerror();
        snprintf(err, errlen, "cannot load backend %s: %s", name, why ? why : path);
        return NULL;
    }
    snprintf(symbol, sizeof symbol, "moat_backend_%s_%s", name, MOAT_BACKEND_VERSION);
    if ((table = dlsym(handle, symbol)) == NULL) {
        snprintf(err, errlen, "%s has no %s: not a moat backend of this version", path, symbol);
        dlclose(handle);
        return NULL;
    }
    return table;
}

const void *moat_backend(const char *name, char *err, size_t errlen)
{
    struct loaded_backend *b;
    size_t i;

    for (i = 0; i < nloaded; i++) {
        if (strcmp(loaded[i].name, name) == 0) {
            if (loaded[i].table == NULL)
                snprintf(err, errlen, "%s", loaded[i].err);
            return loaded[i].table;
        }
    }
    if (nloaded == BACKENDS_MAX || strlen(name) >= sizeof loaded[0].name) {
        snprintf(err, errlen, "no backend called %s", name);
        return NULL;
    }
    b = &loaded[nloaded++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->table = load(name, b->err, sizeof b->err);
    if (b->table == NULL)
        snprintf(err, errlen, "%s", b->err);
    return b->table;
}
