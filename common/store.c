/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c - the state store front: argument checks, fork detection, and
 * dispatch to the configured backend.
 */
#include "store_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Fork detection without a system call on every store call: each child
 * bumps the generation (pthread_atfork; glibc unregisters the handler when
 * the module is unloaded), and a handle opened in an earlier generation
 * belongs to the parent. Exim creates its processes with fork().
 */
static unsigned long fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void note_fork(void)
{
    fork_generation++;
}

static void watch_forks(void)
{
    (void)pthread_atfork(NULL, NULL, note_fork);
}

void moat_store_config_defaults(moat_store_config *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->backend = STORE_BACKEND_LMDB;
    snprintf(sc->path, sizeof sc->path, "/var/lib/moat");
    sc->map_size = 256UL * 1024 * 1024;
    snprintf(sc->redis_host, sizeof sc->redis_host, "127.0.0.1");
    sc->redis_port = 6379;
    snprintf(sc->redis_prefix, sizeof sc->redis_prefix, "moat:");
    sc->connect_timeout_ms = 50;
    sc->command_timeout_ms = 100;
}

moat_store *moat_store_new(const moat_store_config *sc)
{
    moat_store *st = calloc(1, sizeof *st);

    if (st == NULL)
        return NULL;
    st->cfg = *sc;
    st->ops = sc->backend == STORE_BACKEND_REDIS ? &store_redis_ops : &store_lmdb_ops;
    (void)pthread_once(&atfork_once, watch_forks);
    st->generation = fork_generation;
    return st;
}

void moat_store_free(moat_store *st)
{
    if (st == NULL)
        return;
    st->ops->drop(st, st->generation != fork_generation);
    memset(st->cfg.redis_password, 0, sizeof st->cfg.redis_password);
    memset(st->cfg.sentinel_password, 0, sizeof st->cfg.sentinel_password);
    free(st);
}

const char *moat_store_last_error(const moat_store *st) { return st->err; }
const char *moat_store_backend_name(const moat_store *st) { return st->ops->name; }

store_status store_fail(moat_store *st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return STORE_ERROR;
}

size_t moat_store_key_join(char *buf, size_t cap, const char *part, ...)
{
    va_list ap;
    size_t n = 0;

    if (cap == 0)
        return 0;
    va_start(ap, part);
    for (; part; part = va_arg(ap, const char *)) {
        size_t len = strlen(part);
        if (len > cap - 1 - n)
            len = cap - 1 - n;
        memcpy(buf + n, part, len);
        n += len;
    }
    va_end(ap);
    buf[n] = '\0';
    return n;
}

uint32_t store_slot_len(uint32_t window_s)
{
    uint32_t len = (window_s + MOAT_WINDOW_SLOTS - 1) / MOAT_WINDOW_SLOTS;
    return len ? len : 1;
}

/* ready - common checks before every call: a usable key, and a fresh backend after fork */
static int ready(moat_store *st, const char *key)
{
    st->err[0] = '\0';
    if (st->generation != fork_generation) {
        st->ops->drop(st, 1);
        st->generation = fork_generation;
        st->batch_depth = 0;   /* a batch belongs to the process that began it */
    }
    if (key == NULL || *key == '\0') {
        store_fail(st, "empty key");
        return 0;
    }
    if (strlen(key) > STORE_KEY_MAX) {
        store_fail(st, "key longer than %d bytes", STORE_KEY_MAX);
        return 0;
    }
    return 1;
}

store_status moat_store_counter_add(moat_store *st, const char *key, uint32_t window_s,
                                    uint32_t n, time_t now, uint64_t *total)
{
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    if (window_s == 0)
        return store_fail(st, "counter %s: window of 0 seconds", key);
    return st->ops->counter_add(st, key, window_s, n, now, total ? total : &ignored);
}

store_status moat_store_counter_get(moat_store *st, const char *key, uint32_t window_s,
                                    time_t now, uint64_t *total)
{
    return moat_store_counter_add(st, key, window_s, 0, now, total);
}

store_status moat_store_distinct_add(moat_store *st, const char *key, const char *member,
                                     uint32_t window_s, time_t now, uint64_t *distinct)
{
    return moat_store_distinct_add_max(st, key, member, window_s, now, STORE_DISTINCT_CAP,
                                       distinct);
}

store_status moat_store_distinct_add_max(moat_store *st, const char *key, const char *member,
                                         uint32_t window_s, time_t now, uint64_t max,
                                         uint64_t *distinct)
{
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    if (window_s == 0)
        return store_fail(st, "set %s: window of 0 seconds", key);
    if (member && strlen(key) + strlen(member) + 1 > STORE_KEY_MAX)
        return store_fail(st, "set %s: member too long", key);
    if (max == 0 || max > STORE_DISTINCT_CAP)
        max = STORE_DISTINCT_CAP;
    return st->ops->distinct_add(st, key, member, window_s, now, max,
                                 distinct ? distinct : &ignored);
}

store_status moat_store_distinct_contains(moat_store *st, const char *key, const char *member,
                                          uint32_t window_s, time_t now)
{
    if (!ready(st, key))
        return STORE_ERROR;
    if (member == NULL || strlen(key) + strlen(member) + 1 > STORE_KEY_MAX)
        return store_fail(st, "set %s: bad member", key);
    return st->ops->contains(st, key, member, window_s, now);
}

/* value_ok - whether a value may be stored under key: the store ready, its length and ttl sane */
static int value_ok(moat_store *st, const char *key, size_t len, uint32_t ttl_s)
{
    if (!ready(st, key))
        return 0;
    if (len > STORE_VALUE_MAX) {
        store_fail(st, "value of %s longer than %d bytes", key, STORE_VALUE_MAX);
        return 0;
    }
    if (ttl_s == 0) {
        store_fail(st, "value %s: a time to live of 0 seconds", key);
        return 0;
    }
    return 1;
}

store_status moat_store_set(moat_store *st, const char *key, const void *value, size_t len,
                            uint32_t ttl_s, time_t now)
{
    if (!value_ok(st, key, len, ttl_s))
        return STORE_ERROR;
    return st->ops->set(st, key, value, len, ttl_s, now);
}

store_status moat_store_set_new(moat_store *st, const char *key, const void *value, size_t len,
                                uint32_t ttl_s, time_t now, int *created)
{
    *created = 0;
    if (!value_ok(st, key, len, ttl_s))
        return STORE_ERROR;
    return st->ops->set_new(st, key, value, len, ttl_s, now, created);
}

store_status moat_store_get_str(moat_store *st, const char *key, char *buf, size_t cap,
                                time_t *expires, time_t now)
{
    size_t len = 0;
    store_status s;

    if (cap == 0)
        return store_fail(st, "get %s: no room", key);
    buf[0] = '\0';
    s = moat_store_get(st, key, buf, cap - 1, &len, expires, now);
    if (s != STORE_OK)
        return s;
    if (len > cap - 1 || memchr(buf, '\0', len) != NULL) {
        buf[0] = '\0';
        return STORE_NOTFOUND;                         /* not a value moat wrote */
    }
    buf[len] = '\0';
    return STORE_OK;
}

store_status moat_store_get(moat_store *st, const char *key, void *buf, size_t cap,
                            size_t *len, time_t *expires, time_t now)
{
    size_t ignored_len;
    time_t ignored_exp;

    if (!ready(st, key))
        return STORE_ERROR;
    return st->ops->get(st, key, buf, cap, len ? len : &ignored_len,
                        expires ? expires : &ignored_exp, now);
}

store_status moat_store_del(moat_store *st, const char *key)
{
    if (!ready(st, key))
        return STORE_ERROR;
    return st->ops->del(st, key);
}

store_status moat_store_scan(moat_store *st, const char *prefix, time_t now,
                             moat_store_scan_fn fn, void *arg)
{
    if (!ready(st, "scan"))
        return STORE_ERROR;
    return st->ops->scan(st, prefix ? prefix : "", now, fn, arg);
}

store_status moat_store_sweep(moat_store *st, time_t now, uint64_t *removed)
{
    uint64_t ignored;

    if (!ready(st, "sweep"))
        return STORE_ERROR;
    return st->ops->sweep(st, now, removed ? removed : &ignored);
}

store_status moat_store_batch_begin(moat_store *st)
{
    if (!ready(st, "batch"))
        return STORE_ERROR;
    if (st->batch_depth++ > 0)
        return STORE_OK;
    return st->ops->batch_begin(st);
}

store_status moat_store_batch_end(moat_store *st)
{
    if (st->batch_depth == 0)
        return store_fail(st, "batch end without a begin");
    if (--st->batch_depth > 0)
        return STORE_OK;
    return st->ops->batch_end(st);
}

store_status moat_store_tally_add(moat_store *st, const char *key, uint64_t n, time_t now,
                                  uint64_t *total)
{
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    return st->ops->tally_add(st, key, n, now, total ? total : &ignored);
}

store_status moat_store_tally_note(moat_store *st, const char *key, time_t now)
{
    char saved[STORE_ERR_MAX];
    uint64_t ignored;
    store_status s;

    memcpy(saved, st->err, sizeof saved);
    st->quiet = 1;
    s = moat_store_tally_add(st, key, 1, now, &ignored);
    st->quiet = 0;
    memcpy(st->err, saved, sizeof saved);
    return s;
}

store_status moat_store_usage(moat_store *st, uint64_t *used, uint64_t *limit)
{
    *used = *limit = 0;
    if (!ready(st, "usage"))
        return STORE_ERROR;
    return st->ops->usage(st, used, limit);
}
