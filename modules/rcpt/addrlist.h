/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addrlist.h - a text file of addresses kept in memory and reloaded when
 * it changes: the "file" directory source and the alias map.
 *
 * One entry a line, "#" comments; "local@domain" (a valid address, the
 * domain becomes covered), "*@domain" (a domain not to judge), and for
 * alias maps "alias@domain: target@domain". Case-insensitive.
 */
#ifndef MOAT_RCPT_ADDRLIST_H
#define MOAT_RCPT_ADDRLIST_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "api.h"

typedef struct addrlist {
    char path[4096];
    char **entries;        /* sorted, lower-cased "local@domain" */
    char **targets;        /* parallel to entries: alias target or NULL */
    size_t count;
    char **covered;        /* sorted domains with at least one address */
    size_t ncovered;
    char **skipped;        /* sorted domains listed as *@domain */
    size_t nskipped;
    ino_t ino;
    off_t size;
    time_t mtime;
    time_t checked;        /* last stat, at most once a second */
    int loaded;
    unsigned long generation;  /* a number no other load in this process had */
    long bad_lines;        /* lines that were not addresses (reported once) */
} addrlist;

/*
 * addrlist_refresh - (re)load list from path when it changed; 0 when the
 * list is usable (possibly unchanged), -1 with err when the file cannot be
 * read and nothing was loaded before.
 */
MOAT_API int addrlist_refresh(addrlist *list, const char *path, time_t now, char *err,
                              size_t errlen);

/*
 * addrlist_load_stream - parse the list format from f into fresh (zeroed
 * by the caller; path names it in messages); 0, or -1 with err. The
 * caller frees fresh with addrlist_free either way.
 */
int addrlist_load_stream(addrlist *fresh, FILE *f, const char *path, char *err, size_t errlen);

/* addrlist_find - index of the lower-cased address, or -1 */
long addrlist_find(const addrlist *list, const char *address);

/* addrlist_find_key - the same for an address lower-cased already (addr_key) */
long addrlist_find_key(const addrlist *list, const char *key);
int addrlist_covers(const addrlist *list, const char *domain);
int addrlist_skips(const addrlist *list, const char *domain);

MOAT_API void addrlist_free(addrlist *list);

#endif
