/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addrlist.c - loading, sorting and searching a text list of addresses.
 */
#include "addrlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "log.h"

/* loads - lists loaded so far in this process: what an index built from a list compares */
static unsigned long loads;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

static void free_strings(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void addrlist_free(addrlist *list)
{
    size_t i;

    free_strings(list->entries, list->count);
    if (list->targets) {
        for (i = 0; i < list->count; i++)
            free(list->targets[i]);
        free(list->targets);
    }
    free_strings(list->covered, list->ncovered);
    free_strings(list->skipped, list->nskipped);
    list->entries = list->targets = list->covered = list->skipped = NULL;
    list->count = list->ncovered = list->nskipped = 0;
    list->loaded = 0;
    list->generation = 0;
}

/* push - append a copy of s (NULL stays NULL) to a growing vector; 0 or -1 */
static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
    char *copy = NULL;

    if (s && (copy = strdup(s)) == NULL)
        return -1;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, ncap * sizeof *nv);
        if (nv == NULL) {
            free(copy);
            return -1;
        }
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = copy;
    return 0;
}

/* unique - sort and drop duplicates */
static void unique(char **v, size_t *n)
{
    size_t i, out = 0;

    if (*n == 0)
        return;
    qsort(v, *n, sizeof *v, cmp_str);
    for (i = 0; i < *n; i++) {
        if (out && strcmp(v[out - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[out++] = v[i];
    }
    *n = out;
}

/* trim - strip comments and surrounding blanks in place */
static char *trim(char *s)
{
    char *end;

    s[strcspn(s, "#\r\n")] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

int addrlist_load_stream(addrlist *fresh, FILE *f, const char *path, char *err, size_t errlen)
{
    char line[1024];
    size_t cap = 0, ccap = 0, scap = 0, tcap = 0, ntargets = 0, i, lineno = 0;
    char **pairs_target = NULL;
    while (fgets(line, sizeof line, f)) {
        char *s, *colon, *target = NULL, key[ADDR_TEXT_MAX + 1];
        moat_addr a;
        const char *why;
        int c, whole = strchr(line, '\n') != NULL || feof(f);

        lineno++;
        if (!whole) {   /* longer than any address: skip the rest of it */
            while ((c = getc(f)) != EOF && c != '\n')
                ;
            line[80] = '\0';
        }
        s = trim(line);
        if (*s == '\0')
            continue;
        colon = strchr(s, ':');
        if (whole && colon && strchr(colon, '@')) {
            *colon = '\0';
            target = trim(colon + 1);
            s = trim(s);
        }
        if (whole && s[0] == '*' && s[1] == '@') {
            char dom[ADDR_DOMAIN_MAX + 1];
            addr_lower(s + 2, dom, sizeof dom);
            if (addr_domain_valid(dom)) {
                if (push(&fresh->skipped, &fresh->nskipped, &scap, dom) != 0)
                    goto oom;
                continue;
            }
        } else if (whole && addr_parse(s, &a, &why) == 0) {
            addr_key(&a, key, sizeof key);
            /* entries and pairs_target stay the same length, or the load fails */
            if (push(&fresh->entries, &fresh->count, &cap, key) != 0 ||
                push(&pairs_target, &ntargets, &tcap, target) != 0 ||
                push(&fresh->covered, &fresh->ncovered, &ccap, a.domain) != 0)
                goto oom;
            continue;
        }
        if (fresh->bad_lines++ == 0)
            moat_log(MOAT_LOG_WARN, "moat rcpt: %s:%zu: not an address, ignored: %.80s",
                     path, lineno, s);
    }
    /* Sort entries and targets together. */
    if (fresh->count) {
        char ***idx = malloc(fresh->count * sizeof *idx);
        char **e2 = malloc(fresh->count * sizeof *e2);
        char **t2 = malloc(fresh->count * sizeof *t2);
        if (idx == NULL || e2 == NULL || t2 == NULL) {
            free(idx);
            free(e2);
            free(t2);
            free_strings(pairs_target, ntargets);
            snprintf(err, errlen, "out of memory loading %s", path);
            return -1;
        }
        /* ntargets == fresh->count: the loop pushes to both or fails */
        for (i = 0; i < fresh->count; i++)
            idx[i] = &fresh->entries[i];
        qsort(idx, fresh->count, sizeof *idx, cmp_entry);
        for (i = 0; i < fresh->count; i++) {
            size_t at = (size_t)(idx[i] - fresh->entries);
            e2[i] = fresh->entries[at];
            t2[i] = pairs_target[at];
        }
        free(idx);
        free(fresh->entries);
        free(pairs_target);
        fresh->entries = e2;
        fresh->targets = t2;
    } else {
        free(pairs_target);
    }
    unique(fresh->covered, &fresh->ncovered);
    unique(fresh->skipped, &fresh->nskipped);
    fresh->loaded = 1;
    fresh->generation = ++loads;
    return 0;

oom:
    free_strings(pairs_target, ntargets);
    snprintf(err, errlen, "out of memory loading %s", path);
    return -1;
}

/* load - read the file at path into a fresh list; 0 or -1 */
static int load(addrlist *fresh, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    int r;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    r = addrlist_load_stream(fresh, f, path, err, errlen);
    if (ferror(f) && r == 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        r = -1;
    }
    fclose(f);
    return r;
}

int addrlist_refresh(addrlist *list, const char *path, time_t now, char *err, size_t errlen)
{
    struct stat sb;
    addrlist fresh;

    if (list->loaded && strcmp(list->path, path) == 0 && now == list->checked)
        return 0;
    list->checked = now;
    if (stat(path, &sb) != 0) {
        if (list->loaded && strcmp(list->path, path) == 0)
            return 0;   /* keep serving what we had */
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (list->loaded && strcmp(list->path, path) == 0 && sb.st_ino == list->ino &&
        sb.st_size == list->size && sb.st_mtime == list->mtime)
        return 0;
    memset(&fresh, 0, sizeof fresh);
    if (load(&fresh, path, err, errlen) != 0) {
        addrlist_free(&fresh);
        return list->loaded && strcmp(list->path, path) == 0 ? 0 : -1;
    }
    addrlist_free(list);
    *list = fresh;
    snprintf(list->path, sizeof list->path, "%s", path);
    list->ino = sb.st_ino;
    list->size = sb.st_size;
    list->mtime = sb.st_mtime;
    list->checked = now;
    return 0;
}

static long find_in(char *const *v, size_t n, const char *s)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(v[mid], s);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long addrlist_find(const addrlist *list, const char *address)
{
    char key[ADDR_TEXT_MAX + 1];

    addr_lower(address, key, sizeof key);
    return find_in(list->entries, list->count, key);
}

long addrlist_find_key(const addrlist *list, const char *key)
{
    return find_in(list->entries, list->count, key);
}

int addrlist_covers(const addrlist *list, const char *domain)
{
    char key[ADDR_DOMAIN_MAX + 1];

    addr_lower(domain, key, sizeof key);
    return find_in(list->covered, list->ncovered, key) >= 0;
}

int addrlist_skips(const addrlist *list, const char *domain)
{
    char key[ADDR_DOMAIN_MAX + 1];

    addr_lower(domain, key, sizeof key);
    return find_in(list->skipped, list->nskipped, key) >= 0;
}
