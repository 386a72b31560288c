/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_internal.h - what a state store backend implements (store_lmdb.c,
 * store_redis.c) and the handle they share with store.c. Not for modules.
 */
#ifndef MOAT_STORE_INTERNAL_H
#define MOAT_STORE_INTERNAL_H

#include <sys/types.h>

#include "api.h"
#include "store.h"

#define STORE_ERR_MAX 256
#define STORE_DISTINCT_CAP 100000   /* a set is never counted past this */

typedef struct store_ops {
    const char *name;
    /* drop - forget the connection/environment; after_fork: the parent still uses it */
    void (*drop)(moat_store *st, int after_fork);
    store_status (*counter_add)(moat_store *st, const char *key, uint32_t window_s,
                                uint32_t n, time_t now, uint64_t *total);
    store_status (*distinct_add)(moat_store *st, const char *key, const char *member,
                                 uint32_t window_s, time_t now, uint64_t max,
                                 uint64_t *distinct);
    store_status (*contains)(moat_store *st, const char *key, const char *member,
                             uint32_t window_s, time_t now);
    store_status (*set)(moat_store *st, const char *key, const void *value, size_t len,
                        uint32_t ttl_s, time_t now);
    store_status (*set_new)(moat_store *st, const char *key, const void *value, size_t len,
                            uint32_t ttl_s, time_t now, int *created);
    store_status (*value_add)(moat_store *st, const char *key, int64_t delta, uint32_t ttl_s,
                              time_t now, int64_t *result);
    store_status (*swap)(moat_store *st, const char *key, const void *old, size_t old_len,
                         const void *value, size_t len, uint32_t ttl_s, time_t now,
                         int *swapped);
    store_status (*get)(moat_store *st, const char *key, void *buf, size_t cap,
                        size_t *len, time_t *expires, time_t now);
    /* get_first - moat_store_get_first, keys already shortened, 1 <= n <= STORE_GET_FIRST_MAX */
    store_status (*get_first)(moat_store *st, const char *const *keys, int n, int *which,
                              time_t *expires, time_t now);
    store_status (*del)(moat_store *st, const char *key);
    store_status (*scan)(moat_store *st, const char *prefix, time_t now,
                         moat_store_scan_fn fn, void *arg);
    store_status (*sweep)(moat_store *st, time_t now, uint64_t *removed);
    /* batch_begin/batch_end - see moat_store_batch_begin; called once per outermost pair */
    store_status (*batch_begin)(moat_store *st);
    store_status (*batch_end)(moat_store *st);
    store_status (*tally_add)(moat_store *st, const char *key, uint64_t n, time_t now,
                              uint64_t *total);
    store_status (*usage)(moat_store *st, uint64_t *used, uint64_t *limit);
} store_ops;

struct moat_store {
    moat_store_config cfg;
    const store_ops *ops;
    unsigned long generation;  /* the fork generation of the process that opened impl */
    void *impl;                /* backend state, NULL until first use */
    int batch_depth;           /* moat_store_batch_begin calls not yet ended */
    int quiet;                 /* a count for the metrics: its failure is not reported */
    char source[STORE_MEMBER_SHORT + 1];   /* moat_store_source, "" = none */
    char err[STORE_ERR_MAX];
};

extern const store_ops store_lmdb_ops;
/* The Redis store: backends/redis.so, loaded when first used (backend.h). */
extern MOAT_API const store_ops moat_backend_redis_v1;

/* store_fail - record why the last call failed; returns STORE_ERROR */
MOAT_API store_status store_fail(moat_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define STORE_NUMBER_MAX 9007199254740991LL   /* 2^53 - 1: exact in Redis's Lua too */

/* store_clamp - a + b kept within +-STORE_NUMBER_MAX (both within it already) */
int64_t store_clamp(int64_t a, int64_t b);

/* store_shorten - s, or (longer than limit) its digest form in buf[limit + 1]; NULL on failure */
const char *store_shorten(const char *s, size_t limit, char *buf);

/* store_parse_number - the number a value holds (decimal text, at most 20 digits), else 0 */
int64_t store_parse_number(const void *value, size_t len);

/* store_slot_len - seconds per slot of a window of window_s seconds (at least 1) */
MOAT_API uint32_t store_slot_len(uint32_t window_s);

#endif
