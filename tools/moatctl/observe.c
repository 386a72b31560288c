/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe.c - collecting the state moatctl metrics and report show: one
 * scan per key prefix, each value read back through the store's checks.
 */
#include "observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "logline.h"
#include "stats.h"

typedef struct scan_ctx {
    moat_runtime *rt;
    obs_state *o;
    time_t now;
    const char *module;
    int failed;
} scan_ctx;

/* grow - room for one more element in *arr of *n (cap doubling); -1 without memory */
static int grow(void **arr, size_t n, size_t size)
{
    void *p;

    /* capacity: 16, then doubled each time n reaches a power of two */
    if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
        return 0;
    p = realloc(*arr, (n ? n * 2 : 16) * size);
    if (p == NULL)
        return -1;
    *arr = p;
    return 0;
}

/* add_tally - one "stats:MODULE:ACTION:REASON" key with its count */
static int add_tally(const char *key, void *arg)
{
    scan_ctx *c = arg;
    obs_tally t;
    const char *p = key + strlen(STATS_PREFIX), *a, *r;
    uint64_t n = 0;

    memset(&t, 0, sizeof t);
    if ((a = strchr(p, ':')) == NULL || (r = strchr(a + 1, ':')) == NULL ||
        (size_t)(a - p) >= sizeof t.module || (size_t)(r - a - 1) >= sizeof t.action ||
        strlen(r + 1) >= sizeof t.reason)
        return 0;
    memcpy(t.module, p, (size_t)(a - p));
    memcpy(t.action, a + 1, (size_t)(r - a - 1));
    snprintf(t.reason, sizeof t.reason, "%s", r + 1);
    if (!logline_word_ok(t.module) || !logline_word_ok(t.action) || !logline_word_ok(t.reason))
        return 0;                                      /* not a key moat writes */
    if (moat_store_tally_add(c->rt->store, key, 0, c->now, &n) != STORE_OK) {
        c->failed = 1;
        return 1;
    }
    if (n == 0)
        return 0;
    t.count = n;
    if (grow((void **)&c->o->tallies, c->o->ntallies, sizeof t) != 0)
        return 1;
    c->o->tallies[c->o->ntallies++] = t;
    return 0;
}

/* add_block - one "<module>:block:<subject>" key that is live */
static int add_block(const char *key, void *arg)
{
    scan_ctx *c = arg;
    obs_block b;
    const char *subject = key + strlen(c->module) + strlen(":block:");
    const char *colon;
    long until = 0;
    int r;

    memset(&b, 0, sizeof b);
    if ((r = block_active(c->rt->store, c->module, subject, c->now, &until)) < 0) {
        c->failed = 1;
        return 1;
    }
    if (r == 0)
        return 0;
    snprintf(b.module, sizeof b.module, "%s", c->module);
    if (strcmp(c->module, "authlock") == 0 && (colon = strchr(subject, ':')) != NULL &&
        (size_t)(colon - subject) < sizeof b.kind) {
        memcpy(b.kind, subject, (size_t)(colon - subject));
        subject = colon + 1;
    } else {
        snprintf(b.kind, sizeof b.kind, "%s", strchr(subject, '/') ? "net" : "ip");
    }
    if (!logline_word_ok(b.kind))
        return 0;
    snprintf(b.subject, sizeof b.subject, "%s", subject);
    obs_split_scope(b.subject, b.scope, sizeof b.scope);
    b.until = until;
    if (grow((void **)&c->o->blocks, c->o->nblocks, sizeof b) != 0)
        return 1;
    c->o->blocks[c->o->nblocks++] = b;
    return 0;
}

/* add_near - one "rcpt:near:<address>" record: "<count> <closest>" */
static int add_near(const char *key, void *arg)
{
    scan_ctx *c = arg;
    obs_near n;
    char val[700], *end;

    if (moat_store_get_str(c->rt->store, key, val, sizeof val, NULL, c->now) != STORE_OK)
        return 0;
    memset(&n, 0, sizeof n);
    n.count = strtol(val, &end, 10);
    if (end == val || n.count <= 0)
        return 0;
    snprintf(n.address, sizeof n.address, "%s", key + strlen("rcpt:near:"));
    snprintf(n.closest, sizeof n.closest, "%s", end + strspn(end, " "));
    if (grow((void **)&c->o->near, c->o->nnear, sizeof n) != 0)
        return 1;
    c->o->near[c->o->nnear++] = n;
    return 0;
}

/* add_probe - a cached probe verdict "<verdict>\t<host>\t<detail>" */
static int add_probe(const char *key, void *arg)
{
    scan_ctx *c = arg;
    char val[600];

    if (moat_store_get_str(c->rt->store, key, val, sizeof val, NULL, c->now) == STORE_OK &&
        val[0] >= '0' && val[0] <= '2' && val[1] == '\t')
        c->o->probe_verdicts[val[0] - '0']++;
    return 0;
}

void obs_split_scope(char *user, char *scope, size_t cap)
{
    static const char *const scopes[] = {":familiar", ":unfamiliar", ":sending"};
    size_t i, ul = strlen(user);

    scope[0] = '\0';
    for (i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        size_t sl = strlen(scopes[i]);
        if (ul > sl && strcmp(user + ul - sl, scopes[i]) == 0) {
            snprintf(scope, cap, "%s", scopes[i] + 1);
            user[ul - sl] = '\0';
            return;
        }
    }
}

const char *obs_probe_verdict_name(int i)
{
    return i == 1 ? "catchall" : i == 2 ? "not_catchall" : "inconclusive";
}

/* by_tally - by module, action, reason: a metric family's samples in a stable order */
static int by_tally(const void *a, const void *b)
{
    const obs_tally *x = a, *y = b;
    int d = strcmp(x->module, y->module);

    if (d == 0)
        d = strcmp(x->action, y->action);
    return d ? d : strcmp(x->reason, y->reason);
}

/* by_near - most frequent first */
static int by_near(const void *a, const void *b)
{
    const obs_near *x = a, *y = b;

    return (y->count > x->count) - (y->count < x->count);
}

int obs_collect(moat_runtime *rt, time_t now, obs_state *o)
{
    scan_ctx c = {rt, o, now, NULL, 0};
    static const struct {
        const char *prefix, *module;
        moat_store_scan_fn fn;
    } scans[] = {
        {STATS_PREFIX, NULL, add_tally},   {"rcpt:block:", "rcpt", add_block},
        {"authlock:block:", "authlock", add_block}, {"rcpt:near:", NULL, add_near},
        {"catchall:probe:", NULL, add_probe},
    };
    size_t i;

    memset(o, 0, sizeof *o);
    snprintf(o->backend, sizeof o->backend, "%s", moat_store_backend_name(rt->store));
    for (i = 0; i < sizeof scans / sizeof scans[0]; i++) {
        c.module = scans[i].module;
        if (moat_store_scan(rt->store, scans[i].prefix, now, scans[i].fn, &c) != STORE_OK ||
            c.failed) {
            snprintf(o->store_error, sizeof o->store_error, "%s",
                     moat_store_last_error(rt->store));
            return -1;
        }
    }
    if (moat_store_usage(rt->store, &o->used, &o->limit) != STORE_OK) {
        snprintf(o->store_error, sizeof o->store_error, "%s", moat_store_last_error(rt->store));
        return -1;
    }
    o->store_up = 1;
    if (o->ntallies)
        qsort(o->tallies, o->ntallies, sizeof *o->tallies, by_tally);
    if (o->nnear)
        qsort(o->near, o->nnear, sizeof *o->near, by_near);
    return 0;
}

void obs_free(obs_state *o)
{
    free(o->tallies);
    free(o->blocks);
    free(o->near);
    memset(o, 0, sizeof *o);
}
