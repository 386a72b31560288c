/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.h - the state store: one interface, two backends.
 *
 * LMDB (default) keeps state in one environment on this host, shared by
 * every Exim process; Redis/Valkey shares it between several MX hosts.
 * Both give the same semantics:
 *
 *   counters   sliding-window counts (a ring of MOAT_WINDOW_SLOTS slots of
 *              window/MOAT_WINDOW_SLOTS seconds each): add n, read the sum
 *              of the slots still inside the window;
 *   distinct   sliding-window sets: how many different members were added
 *              to a key within the window (usernames per IP, local parts
 *              per domain);
 *   values     opaque bytes with an expiry (blocks, caches, histories).
 *
 * Every key carries an expiry; expired data reads as absent. Keys are
 * plain strings such as "rcpt:ip:192.0.2.7"; the Redis backend adds its
 * prefix. The store is opened lazily on first use and reopened after
 * fork (LMDB forbids use across fork; a Redis socket must not be shared).
 * Every call returns STORE_OK, STORE_NOTFOUND or STORE_ERROR; on
 * STORE_ERROR, moat_store_last_error() says why in one line.
 */
#ifndef MOAT_STORE_H
#define MOAT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MOAT_WINDOW_SLOTS 8
#define STORE_KEY_MAX 480         /* what callers build keys in (LMDB's limit is 511) */
/*
 * Keys longer than STORE_KEY_SHORT bytes, and set members longer than
 * STORE_MEMBER_SHORT, are stored as their first bytes, '#' and 32 hex
 * digits of their SHA-256 (the same on every host): records sized to need
 * whatever names strangers choose. Listings show that form.
 */
#define STORE_KEY_SHORT 128
#define STORE_MEMBER_SHORT 64
#define STORE_VALUE_MAX 65536
#define STORE_SENTINELS_MAX 8

typedef enum { STORE_OK = 0, STORE_NOTFOUND = 1, STORE_ERROR = -1 } store_status;
typedef enum { STORE_BACKEND_LMDB = 0, STORE_BACKEND_REDIS = 1 } store_backend;

typedef struct moat_store_config {
    store_backend backend;
    /* lmdb */
    char path[4096];              /* directory of the environment */
    size_t map_size;              /* bytes */
    uint32_t source_quota;        /* lmdb: new records a source may create a day (0 = no limit) */
    /* redis */
    char redis_host[256];         /* host name or address; "" = use socket */
    int redis_port;
    char redis_socket[4096];      /* unix socket path, used when set */
    char redis_password[256];     /* read from password_file, never logged */
    char redis_username[128];
    int redis_db;
    char redis_prefix[64];
    int connect_timeout_ms;
    int command_timeout_ms;
    /* redis through Sentinel: the master is asked of these, by name */
    struct {
        char host[256];
        int port;
    } sentinels[STORE_SENTINELS_MAX];
    int sentinel_count;           /* 0: no Sentinel, host/port/socket as given */
    char master_name[128];
    char sentinel_username[128];
    char sentinel_password[256];  /* read from sentinel_password_file, never logged */
    /* redis over TLS (a build with hiredis_ssl only: moat_store_tls_available) */
    int redis_tls;
    char tls_ca_file[4096];
    char tls_cert_file[4096];
    char tls_key_file[4096];
    char tls_server_name[256];
} moat_store_config;

/* moat_store_tls_available - whether this build can speak TLS to Redis */
int moat_store_tls_available(void);

typedef struct moat_store moat_store;

/* moat_store_config_defaults - LMDB under /var/lib/moat, Redis timeouts 50/100 ms */
void moat_store_config_defaults(moat_store_config *sc);

/* moat_store_new - a handle; nothing is opened until the first call that needs it */
moat_store *moat_store_new(const moat_store_config *sc);
void moat_store_free(moat_store *st);

/*
 * moat_store_source - who the next calls act for ("ip:192.0.2.7", NULL =
 * nobody): on LMDB, the new records one source creates in a day outside
 * the protected classes (blocks, locks, offences, the counters of attacks)
 * are limited to store { source_quota }; past it they are not stored (the
 * call still answers STORE_OK; one error line a minute for the host).
 */
void moat_store_source(moat_store *st, const char *source);

/* moat_store_last_error - one line on the last STORE_ERROR ("" if none) */
const char *moat_store_last_error(const moat_store *st);
const char *moat_store_backend_name(const moat_store *st);

/*
 * moat_store_counter_add - add n to key's window of window_s seconds at time now;
 * *total (if not NULL) receives the count within the window afterwards.
 * n = 0 reads without changing.
 */
store_status moat_store_counter_add(moat_store *st, const char *key, uint32_t window_s,
                               uint32_t n, time_t now, uint64_t *total);

/* moat_store_counter_get - the count within the window (0 when absent) */
store_status moat_store_counter_get(moat_store *st, const char *key, uint32_t window_s,
                               time_t now, uint64_t *total);

/*
 * moat_store_distinct_add - record member under key for window_s seconds;
 * *distinct (if not NULL) receives how many different members key holds
 * within the window afterwards. member NULL reads without changing.
 */
store_status moat_store_distinct_add(moat_store *st, const char *key, const char *member,
                                uint32_t window_s, time_t now, uint64_t *distinct);

/*
 * moat_store_distinct_add_max - the same, but counting stops at max: for
 * callers that only need "at least max" the cost stays bounded however
 * large the set grows (LMDB counts members one by one).
 */
store_status moat_store_distinct_add_max(moat_store *st, const char *key, const char *member,
                                         uint32_t window_s, time_t now, uint64_t max,
                                         uint64_t *distinct);

/*
 * moat_store_distinct_contains - whether member was added to key within
 * the window: STORE_OK (yes), STORE_NOTFOUND (no) or STORE_ERROR.
 */
store_status moat_store_distinct_contains(moat_store *st, const char *key, const char *member,
                                          uint32_t window_s, time_t now);

/*
 * moat_store_key(buf, cap, part, ...) - the parts (strings) joined into
 * buf, cut to fit cap; its length. Builds keys on the hot paths without
 * printf's cost. moat_store_key_join takes the list NULL-terminated.
 */
size_t moat_store_key_join(char *buf, size_t cap, const char *part, ...)
    __attribute__((sentinel));
#define moat_store_key(buf, cap, ...) \
    moat_store_key_join((buf), (cap), __VA_ARGS__, (const char *)NULL)

/* moat_store_set - value of len bytes, expiring ttl_s seconds after now */
store_status moat_store_set(moat_store *st, const char *key, const void *value, size_t len,
                       uint32_t ttl_s, time_t now);

/*
 * moat_store_set_new - the same, only when key holds no live value: one
 * atomic step on both backends (inside LMDB's write transaction; Redis
 * SET NX), for what concurrent processes must start once (a block).
 * *created says whether it did.
 */
store_status moat_store_set_new(moat_store *st, const char *key, const void *value, size_t len,
                                uint32_t ttl_s, time_t now, int *created);

/*
 * moat_store_value_add - add delta to the number a value holds (decimal
 * text; absent, expired or not a number counts as 0) and store the sum,
 * expiring ttl_s seconds after now: one atomic step on both backends
 * (inside LMDB's write transaction; a Lua script on Redis), so concurrent
 * processes lose no update (offence counts). *result (if not NULL) gets
 * the sum.
 */
store_status moat_store_value_add(moat_store *st, const char *key, int64_t delta,
                                  uint32_t ttl_s, time_t now, int64_t *result);

/*
 * moat_store_swap - compare and set: store value (len bytes, ttl_s) only if
 * key holds exactly old (old_len bytes; old NULL: no live value) - one
 * atomic step on both backends. *swapped says whether it did; a caller
 * that lost the race reads again and retries (every read-modify-write of
 * a stored value whose new value depends on the old: baselines, counts in
 * text).
 */
store_status moat_store_swap(moat_store *st, const char *key, const void *old, size_t old_len,
                             const void *value, size_t len, uint32_t ttl_s, time_t now,
                             int *swapped);

/*
 * moat_store_get - copy the value into buf (up to cap bytes); *len gets its full
 * length; *expires (if not NULL) its expiry time. STORE_NOTFOUND when
 * absent or expired.
 */
store_status moat_store_get(moat_store *st, const char *key, void *buf, size_t cap,
                       size_t *len, time_t *expires, time_t now);

/*
 * moat_store_get_first - which of keys[0..n-1] (n <= STORE_GET_FIRST_MAX)
 * holds a live value first, in one read (one LMDB read transaction, one
 * Redis round trip): its index into *which and its expiry into *expires
 * (either may be NULL); STORE_NOTFOUND when none does.
 */
#define STORE_GET_FIRST_MAX 4
store_status moat_store_get_first(moat_store *st, const char *const *keys, int n, int *which,
                                  time_t *expires, time_t now);

/*
 * moat_store_get_str - the value as a C string in buf (cap >= 1): a value
 * of cap bytes or more, or one with a NUL byte inside, is STORE_NOTFOUND
 * (nothing moat writes is like that: it was planted or damaged), so a
 * reader never sees a cut or oversized value. *expires as moat_store_get.
 */
store_status moat_store_get_str(moat_store *st, const char *key, char *buf, size_t cap,
                                time_t *expires, time_t now);

/* moat_store_del - remove key, whatever it holds (counter, set, value) */
store_status moat_store_del(moat_store *st, const char *key);

/*
 * moat_store_scan - call fn for every live key starting with prefix (values and
 * counters; a set is reported once under its key), for admin listings.
 * fn returns 0 to go on, non-zero to stop.
 */
typedef int (*moat_store_scan_fn)(const char *key, void *arg);
store_status moat_store_scan(moat_store *st, const char *prefix, time_t now,
                        moat_store_scan_fn fn, void *arg);

/* moat_store_sweep - remove every expired entry; *removed gets how many */
store_status moat_store_sweep(moat_store *st, time_t now, uint64_t *removed);

/*
 * moat_store_batch_begin, moat_store_batch_end - the calls in between form
 * one write: LMDB runs them in a single transaction (reads see the batch's
 * own writes; after an error inside, none of them is kept), which costs
 * about one write instead of one per call. The writer's lock is held in
 * between, so nothing slow (network, a directory lookup) may happen there;
 * a sweep is refused inside. Redis runs each call as it comes.
 * Pairs nest; only the outermost end commits. batch_end says whether the
 * writes were kept; a failed begin still needs its end.
 */
store_status moat_store_batch_begin(moat_store *st);
store_status moat_store_batch_end(moat_store *st);

/*
 * moat_store_tally_add - add n to the plain running count under key (no
 * window: it only grows) and give the sum in *total (if not NULL); n = 0
 * reads. A tally lives STORE_TALLY_TTL seconds after its last addition.
 * For the metrics (common/stats.c): one write per counted event.
 */
#define STORE_TALLY_TTL (400L * 86400)
store_status moat_store_tally_add(moat_store *st, const char *key, uint64_t n, time_t now,
                                  uint64_t *total);

/*
 * moat_store_tally_note - add n to the tally, leaving moat_store_last_error
 * as it was: for counting while a caller still holds the text of an error.
 * A full LMDB map is not reported for it (the next real write reports it).
 */
store_status moat_store_tally_note(moat_store *st, const char *key, uint64_t n, time_t now);

/*
 * moat_store_usage - how full the store is: LMDB the bytes of pages in use
 * and the map size; Redis used_memory and maxmemory (0 = no limit).
 */
store_status moat_store_usage(moat_store *st, uint64_t *used, uint64_t *limit);

#endif
