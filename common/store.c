/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c - the state store front: argument checks, fork detection, and
 * dispatch to the configured backend.
 */
#include "store_internal.h"

#include "backend.h"

#include <openssl/evp.h>
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
    sc->source_quota = 5000;
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
    /* Redis's operations are a backend of their own, loaded at first use */
    st->ops = sc->backend == STORE_BACKEND_REDIS ? NULL : &store_lmdb_ops;
    (void)pthread_once(&atfork_once, watch_forks);
    st->generation = fork_generation;
    return st;
}

void moat_store_free(moat_store *st)
{
    if (st == NULL)
        return;
    if (st->ops != NULL)
        st->ops->drop(st, st->generation != fork_generation);
    memset(st->cfg.redis_password, 0, sizeof st->cfg.redis_password);
    memset(st->cfg.sentinel_password, 0, sizeof st->cfg.sentinel_password);
    free(st);
}

void moat_store_source(moat_store *st, const char *source)
{
    char buf[STORE_MEMBER_SHORT + 1];
    const char *s;
    size_t n;

    /* the same source again (every RCPT of a session): nothing to do */
    if (source != NULL && strcmp(st->source, source) == 0)
        return;
    s = source ? store_shorten(source, STORE_MEMBER_SHORT, buf) : NULL;
    n = s ? strlen(s) : 0;
    if (n >= sizeof st->source)
        n = sizeof st->source - 1;
    memcpy(st->source, s ? s : "", n);
    st->source[n] = '\0';
}

/* moat_store_tls_available - a property of the build: the Redis backend is
 * built with the same flags (MOAT_HIREDIS_SSL where hiredis_ssl exists) */
int moat_store_tls_available(void)
{
#ifdef MOAT_HIREDIS_SSL
    return 1;
#else
    return 0;
#endif
}

const char *moat_store_last_error(const moat_store *st) { return st->err; }
const char *moat_store_backend_name(const moat_store *st)
{
    if (st->ops != NULL)
        return st->ops->name;
    return st->cfg.backend == STORE_BACKEND_REDIS ? "redis" : "lmdb";
}

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

/*
 * store_shorten - s itself when it is at most limit bytes, else its first
 * limit - 33 bytes, '#' and the first 32 hex digits of the SHA-256 of all
 * of it, in buf (limit + 1 bytes): the same on every host (MX hosts that
 * share a Redis agree), a prefix still there for listings, and a record
 * sized to need whatever a stranger made the name. NULL if the digest
 * cannot be computed.
 */
const char *store_shorten(const char *s, size_t limit, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    static EVP_MD *sha256;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t len = strlen(s), keep = limit - 33, i;

    if (len <= limit)
        return s;
    if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        return NULL;
    if (EVP_Digest(s, len, md, &mdlen, sha256, NULL) != 1 || mdlen < 16)
        return NULL;
    memcpy(buf, s, keep);
    buf[keep] = '#';
    for (i = 0; i < 16; i++) {
        buf[keep + 1 + 2 * i] = hex[md[i] >> 4];
        buf[keep + 2 + 2 * i] = hex[md[i] & 15];
    }
    buf[limit] = '\0';
    return buf;
}

/* load_ops - the Redis backend's operations, loaded on the first call that needs them */
static int load_ops(moat_store *st)
{
    char why[STORE_ERR_MAX - 32];

    if ((st->ops = moat_backend("redis", why, sizeof why)) == NULL) {
        store_fail(st, "the redis store: %s", why);
        return 0;
    }
    return 1;
}

/* ready - common checks before every call: a usable key, the backend's
 * operations at hand, and a fresh backend after fork */
static int ready(moat_store *st, const char *key)
{
    st->err[0] = '\0';
    if (st->ops == NULL && !load_ops(st))
        return 0;
    if (st->generation != fork_generation) {
        st->ops->drop(st, 1);
        st->generation = fork_generation;
        st->batch_depth = 0;   /* a batch belongs to the process that began it */
    }
    if (key == NULL || *key == '\0') {
        store_fail(st, "empty key");
        return 0;
    }
    return 1;
}

/* SHORT - key (or member) in the form it is stored in: a long one by its digest */
#define SHORT(st, name, limit, buf)                                                  \
    do {                                                                             \
        if ((name) && ((name) = store_shorten((name), (limit), (buf))) == NULL)      \
            return store_fail((st), "cannot compute a digest of a long key");        \
    } while (0)

store_status moat_store_counter_add(moat_store *st, const char *key, uint32_t window_s,
                                    uint32_t n, time_t now, uint64_t *total)
{
    char kbuf[STORE_KEY_SHORT + 1];
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
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
    char kbuf[STORE_KEY_SHORT + 1], mbuf[STORE_MEMBER_SHORT + 1];
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    SHORT(st, member, STORE_MEMBER_SHORT, mbuf);
    if (window_s == 0)
        return store_fail(st, "set %s: window of 0 seconds", key);
    if (max == 0 || max > STORE_DISTINCT_CAP)
        max = STORE_DISTINCT_CAP;
    return st->ops->distinct_add(st, key, member, window_s, now, max,
                                 distinct ? distinct : &ignored);
}

store_status moat_store_distinct_contains(moat_store *st, const char *key, const char *member,
                                          uint32_t window_s, time_t now)
{
    char kbuf[STORE_KEY_SHORT + 1], mbuf[STORE_MEMBER_SHORT + 1];

    if (!ready(st, key))
        return STORE_ERROR;
    if (member == NULL)
        return store_fail(st, "set %s: no member", key);
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    SHORT(st, member, STORE_MEMBER_SHORT, mbuf);
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
    char kbuf[STORE_KEY_SHORT + 1];

    if (!value_ok(st, key, len, ttl_s))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    return st->ops->set(st, key, value, len, ttl_s, now);
}

store_status moat_store_set_new(moat_store *st, const char *key, const void *value, size_t len,
                                uint32_t ttl_s, time_t now, int *created)
{
    char kbuf[STORE_KEY_SHORT + 1];

    *created = 0;
    if (!value_ok(st, key, len, ttl_s))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    return st->ops->set_new(st, key, value, len, ttl_s, now, created);
}

int64_t store_parse_number(const void *value, size_t len)
{
    const char *p = value;
    int64_t n = 0;
    size_t i = 0;
    int neg = 0;

    if (len > 0 && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 18)
        return 0;                                      /* not one moat wrote */
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        n = n * 10 + (p[i] - '0');
    }
    if (n > STORE_NUMBER_MAX)
        n = STORE_NUMBER_MAX;                          /* planted */
    return neg ? -n : n;
}

store_status moat_store_value_add(moat_store *st, const char *key, int64_t delta,
                                  uint32_t ttl_s, time_t now, int64_t *result)
{
    char kbuf[STORE_KEY_SHORT + 1];
    int64_t ignored;

    if (!value_ok(st, key, 0, ttl_s))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    if (delta > STORE_NUMBER_MAX || delta < -STORE_NUMBER_MAX)
        return store_fail(st, "value %s: %lld to add is out of range", key, (long long)delta);
    return st->ops->value_add(st, key, delta, ttl_s, now, result ? result : &ignored);
}

store_status moat_store_swap(moat_store *st, const char *key, const void *old, size_t old_len,
                             const void *value, size_t len, uint32_t ttl_s, time_t now,
                             int *swapped)
{
    char kbuf[STORE_KEY_SHORT + 1];

    *swapped = 0;
    if (!value_ok(st, key, len, ttl_s) || old_len > STORE_VALUE_MAX)
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    return st->ops->swap(st, key, old, old_len, value, len, ttl_s, now, swapped);
}

int64_t store_clamp(int64_t a, int64_t b)
{
    int64_t s = a + b;   /* |a|, |b| <= STORE_NUMBER_MAX: no overflow */

    return s > STORE_NUMBER_MAX ? STORE_NUMBER_MAX : s < -STORE_NUMBER_MAX ? -STORE_NUMBER_MAX : s;
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
    char kbuf[STORE_KEY_SHORT + 1];
    size_t ignored_len;
    time_t ignored_exp;

    if (!ready(st, key))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    return st->ops->get(st, key, buf, cap, len ? len : &ignored_len,
                        expires ? expires : &ignored_exp, now);
}

store_status moat_store_get_first(moat_store *st, const char *const *keys, int n, int *which,
                                  time_t *expires, time_t now)
{
    char kbuf[STORE_GET_FIRST_MAX][STORE_KEY_SHORT + 1];
    const char *k[STORE_GET_FIRST_MAX];
    int ignored_which;
    time_t ignored_exp;

    if (n < 1 || n > STORE_GET_FIRST_MAX)
        return store_fail(st, "get_first: %d keys", n);
    for (int i = 0; i < n; i++) {
        if (!ready(st, keys[i]))
            return STORE_ERROR;
        k[i] = keys[i];
        SHORT(st, k[i], STORE_KEY_SHORT, kbuf[i]);
    }
    return st->ops->get_first(st, k, n, which ? which : &ignored_which,
                              expires ? expires : &ignored_exp, now);
}

store_status moat_store_del(moat_store *st, const char *key)
{
    char kbuf[STORE_KEY_SHORT + 1];

    if (!ready(st, key))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
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
    char kbuf[STORE_KEY_SHORT + 1];
    uint64_t ignored;

    if (!ready(st, key))
        return STORE_ERROR;
    SHORT(st, key, STORE_KEY_SHORT, kbuf);
    return st->ops->tally_add(st, key, n, now, total ? total : &ignored);
}

store_status moat_store_tally_note(moat_store *st, const char *key, uint64_t n, time_t now)
{
    char saved[STORE_ERR_MAX];
    uint64_t ignored;
    store_status s;

    memcpy(saved, st->err, sizeof saved);
    st->quiet = 1;
    s = moat_store_tally_add(st, key, n, now, &ignored);
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
