/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * history.c - the autoreply records in the store (keys in history.h).
 */
#include "history.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "hash.h"

#define PREFIX "autoreply:"

static const char *const kind_names[HIST_KIND_COUNT] = {
    [HIST_NEVER] = "never", [HIST_OURS] = "ours", [HIST_SUSPECT] = "suspect",
    [HIST_GOT] = "got", [HIST_SENT] = "sent", [HIST_BOUNCED] = "bounced",
    [HIST_KNOWN] = "known",
};

void history_key(hist_kind kind, const char *a, const char *b, char *key, size_t cap)
{
    char subject[2048], plain_a[ADDR_TEXT_MAX + 1], plain_b[ADDR_TEXT_MAX + 1];
    size_t n, i;

    /* a BATV-tagged address (prvs=KDDDSSSSSS=user@domain, a new tag a day)
     * is its user's: one reply a period, one record, whatever the tag */
    if (a && addr_strip_prvs(a, plain_a, sizeof plain_a) == 1)
        a = plain_a;
    if (b && addr_strip_prvs(b, plain_b, sizeof plain_b) == 1)
        b = plain_b;
    snprintf(subject, sizeof subject, "%s%s%s", a ? a : "", b ? "|" : "", b ? b : "");
    for (i = 0; subject[i]; i++)
        subject[i] = (char)tolower((unsigned char)subject[i]);
    n = (size_t)snprintf(key, cap, PREFIX "%s:%s", kind_names[kind], subject);
    if (n >= cap || n > STORE_KEY_MAX)
        snprintf(key, cap, PREFIX "%s:#%016llx", kind_names[kind],   /* subject lower-cased */
                 (unsigned long long)moat_fnv1a(subject));
}

int history_mark(moat_store *st, hist_kind kind, const char *a, const char *b,
                 const char *note, uint32_t ttl_s, time_t now, const char **why)
{
    char key[STORE_KEY_MAX + 1];

    history_key(kind, a, b, key, sizeof key);
    note = note ? note : "";
    if (moat_store_set(st, key, note, strlen(note), ttl_s, now) != STORE_OK) {
        *why = moat_store_last_error(st);
        return -1;
    }
    return 0;
}

int history_mark_new(moat_store *st, hist_kind kind, const char *a, const char *b,
                     const char *note, uint32_t ttl_s, time_t now, const char **why)
{
    char key[STORE_KEY_MAX + 1];
    int created = 0;

    history_key(kind, a, b, key, sizeof key);
    note = note ? note : "";
    if (moat_store_set_new(st, key, note, strlen(note), ttl_s, now, &created) != STORE_OK) {
        *why = moat_store_last_error(st);
        return -1;
    }
    return created;
}

int history_has(moat_store *st, hist_kind kind, const char *a, const char *b, time_t now,
                const char **why)
{
    char key[STORE_KEY_MAX + 1];
    store_status s;

    history_key(kind, a, b, key, sizeof key);
    s = moat_store_get(st, key, NULL, 0, NULL, NULL, now);
    if (s == STORE_ERROR) {
        *why = moat_store_last_error(st);
        return -1;
    }
    return s == STORE_OK;
}

int history_count(moat_store *st, const char *dest, uint32_t window_s, time_t now,
                  uint64_t *address_total, uint64_t *domain_total, const char **why)
{
    char key[STORE_KEY_MAX + 1];
    const char *at = strrchr(dest, '@');
    size_t i;

    snprintf(key, sizeof key, PREFIX "cap:a:%s", dest);
    for (i = 0; key[i]; i++)
        key[i] = (char)tolower((unsigned char)key[i]);
    if (moat_store_counter_add(st, key, window_s, 1, now, address_total) != STORE_OK)
        goto fail;
    snprintf(key, sizeof key, PREFIX "cap:d:%s", at ? at + 1 : dest);
    for (i = 0; key[i]; i++)
        key[i] = (char)tolower((unsigned char)key[i]);
    if (moat_store_counter_add(st, key, window_s, 1, now, domain_total) != STORE_OK)
        goto fail;
    return 0;
fail:
    *why = moat_store_last_error(st);
    return -1;
}

typedef struct list_scan {
    moat_store *st;
    const char *address;   /* lower-cased */
    const char *domain;    /* after '@', for cap:d: */
    time_t now;
    history_fn fn;
    void *arg;
} list_scan;

/* names - whether the key's subject contains address as a whole item */
static int names(const char *subject, const char *address)
{
    size_t al = strlen(address);
    const char *p = subject;

    while ((p = strstr(p, address)) != NULL) {
        int starts = p == subject || p[-1] == '|' || p[-1] == ':';
        int ends = p[al] == '\0' || p[al] == '|';
        if (starts && ends)
            return 1;
        p++;
    }
    return 0;
}

static int list_one(const char *key, void *arg)
{
    list_scan *ls = arg;
    const char *subject = strchr(key + strlen(PREFIX), ':');
    char note[640] = "";             /* a reasons list: 21 names at most */
    time_t expires = 0;

    if (subject == NULL)
        return 0;
    subject++;
    if (strncmp(key, PREFIX "cap:", strlen(PREFIX "cap:")) == 0) {
        if (!names(subject, ls->address) && !(ls->domain && names(subject, ls->domain)))
            return 0;
        return ls->fn(key + strlen(PREFIX), "counter", 0, ls->arg);
    }
    if (!names(subject, ls->address))
        return 0;
    if (moat_store_get_str(ls->st, key, note, sizeof note, &expires, ls->now) != STORE_OK)
        return 0;
    return ls->fn(key + strlen(PREFIX), note, expires, ls->arg);
}

int history_list(moat_store *st, const char *address, time_t now, history_fn fn, void *arg)
{
    char lower[512];
    const char *at;
    size_t i;
    list_scan ls;

    snprintf(lower, sizeof lower, "%s", address);
    for (i = 0; lower[i]; i++)
        lower[i] = (char)tolower((unsigned char)lower[i]);
    at = strrchr(lower, '@');
    ls = (list_scan){st, lower, at ? at + 1 : NULL, now, fn, arg};
    return moat_store_scan(st, PREFIX, now, list_one, &ls) == STORE_OK ? 0 : -1;
}
