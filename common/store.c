/*
 * store.c - placeholder until the LMDB and Redis backends land.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct moat_store {
    moat_store_config cfg;
    char err[256];
};

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
    if (st)
        st->cfg = *sc;
    return st;
}

void moat_store_free(moat_store *st) { free(st); }
const char *moat_store_last_error(const moat_store *st) { return st->err; }
const char *moat_store_backend_name(const moat_store *st)
{
    return st->cfg.backend == STORE_BACKEND_REDIS ? "redis" : "lmdb";
}

static store_status nyi(moat_store *st)
{
    snprintf(st->err, sizeof st->err, "store not implemented");
    return STORE_ERROR;
}

store_status moat_store_counter_add(moat_store *st, const char *key, uint32_t window_s,
                               uint32_t n, time_t now, uint64_t *total)
{ (void)key; (void)window_s; (void)n; (void)now; (void)total; return nyi(st); }
store_status moat_store_counter_get(moat_store *st, const char *key, uint32_t window_s,
                               time_t now, uint64_t *total)
{ (void)key; (void)window_s; (void)now; (void)total; return nyi(st); }
store_status moat_store_distinct_add(moat_store *st, const char *key, const char *member,
                                uint32_t window_s, time_t now, uint64_t *distinct)
{ (void)key; (void)member; (void)window_s; (void)now; (void)distinct; return nyi(st); }
store_status moat_store_set(moat_store *st, const char *key, const void *value, size_t len,
                       uint32_t ttl_s, time_t now)
{ (void)key; (void)value; (void)len; (void)ttl_s; (void)now; return nyi(st); }
store_status moat_store_get(moat_store *st, const char *key, void *buf, size_t cap,
                       size_t *len, time_t *expires, time_t now)
{ (void)key; (void)buf; (void)cap; (void)len; (void)expires; (void)now; return nyi(st); }
store_status moat_store_del(moat_store *st, const char *key) { (void)key; return nyi(st); }
store_status moat_store_scan(moat_store *st, const char *prefix, time_t now,
                        moat_store_scan_fn fn, void *arg)
{ (void)prefix; (void)now; (void)fn; (void)arg; return nyi(st); }
store_status moat_store_sweep(moat_store *st, time_t now, uint64_t *removed)
{ (void)now; (void)removed; return nyi(st); }
