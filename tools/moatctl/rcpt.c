/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rcpt.c - moatctl rcpt VERB: status IP, list, unblock IP|NET, compile SRC
 * DST, near-misses, flush-cache [ADDRESS].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "block.h"
#include "ctl.h"
#include "net.h"
#include "rcpt/directory_cdb.h"
#include "rcpt/harvest.h"
#include "rcpt/rcpt.h"
#include "rcpt/store_keys.h"

static int usage(void)
{
    fprintf(stderr, "usage: moatctl rcpt status IP\n"
                    "       moatctl rcpt list\n"
                    "       moatctl rcpt unblock IP|NET\n"
                    "       moatctl rcpt compile SOURCE.txt DEST.cdb\n"
                    "       moatctl rcpt near-misses\n"
                    "       moatctl rcpt flush-cache [ADDRESS]\n");
    return CTL_USAGE;
}

static long counter(moat_runtime *rt, rcpt_key_kind kind, const char *subject, uint32_t window)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    rcpt_key(key, sizeof key, kind, subject);
    if (moat_store_counter_get(rt->store, key, window, time(NULL), &n) != STORE_OK)
        return -1;
    return (long)n;
}

static int status(const ctl_env *env, const char *ip)
{
    moat_runtime *rt = ctl_runtime(env);
    cfg_t *sec;
    char net[64];
    long until = 0, ipc, netc;
    int blocked;
    time_t now = time(NULL);

    if (rt == NULL)
        return CTL_USAGE;
    sec = moat_config_module(rt->config, "rcpt");
    harvest_network(sec, ip, net, sizeof net);
    if (net[0] == '\0') {
        fprintf(stderr, "moatctl rcpt status: '%s' is not an IP address\n", ip);
        return CTL_USAGE;
    }
    blocked = harvest_blocked(rt->store, sec, ip, now, &until);
    ipc = counter(rt, RCPT_KEY_IP, ip, (uint32_t)cfg_getint(sec, "window"));
    netc = counter(rt, RCPT_KEY_NET, net, (uint32_t)cfg_getint(sec, "window"));
    if (blocked < 0 || ipc < 0 || netc < 0) {
        fprintf(stderr, "moatctl rcpt status: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    if (env->json)
        printf("{\"ip\":\"%s\",\"network\":\"%s\",\"blocked\":%s,\"blocked_until\":%ld,"
               "\"invalid_ip\":%ld,\"invalid_network\":%ld}\n",
               ip, net, blocked ? "true" : "false", blocked ? until : 0L, ipc, netc);
    else
        printf("%s (network %s): %s; invalid recipients in the window: %ld from it, %ld from "
               "its network\n", ip, net,
               blocked ? "blocked" : "not blocked", ipc, netc);
    if (blocked && !env->json)
        printf("blocked until %s", ctime((time_t *)&until));
    return blocked ? CTL_PROBLEM : CTL_OK;
}

typedef struct near_row {
    char address[300];
    char suggestion[300];
    long count;
} near_row;

typedef struct near_list {
    moat_runtime *rt;
    near_row *rows;
    size_t n, cap;
} near_list;

static int collect_near(const char *key, void *arg)
{
    near_list *l = arg;
    char val[700];
    size_t len = 0;
    near_row *r;

    if (moat_store_get(l->rt->store, key, val, sizeof val - 1, &len, NULL, time(NULL)) != STORE_OK)
        return 0;
    val[len < sizeof val - 1 ? len : sizeof val - 1] = '\0';
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        near_row *nr = realloc(l->rows, ncap * sizeof *nr);
        if (nr == NULL)
            return 1;
        l->rows = nr;
        l->cap = ncap;
    }
    r = &l->rows[l->n];
    snprintf(r->address, sizeof r->address, "%s", key + strlen(rcpt_key_prefix(RCPT_KEY_NEAR)));
    r->count = 0;
    r->suggestion[0] = '\0';
    {
        char *end;
        r->count = strtol(val, &end, 10);
        if (end == val)
            return 0;   /* not a near-miss record */
        snprintf(r->suggestion, sizeof r->suggestion, "%s", end + strspn(end, " "));
        l->n++;
    }
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const near_row *x = a, *y = b;
    return (y->count > x->count) - (y->count < x->count);
}

static int near_misses(const ctl_env *env)
{
    near_list l = {ctl_runtime(env), NULL, 0, 0};
    size_t i;

    if (l.rt == NULL)
        return CTL_USAGE;
    if (moat_store_scan(l.rt->store, rcpt_key_prefix(RCPT_KEY_NEAR), time(NULL), collect_near, &l) != STORE_OK) {
        fprintf(stderr, "moatctl rcpt near-misses: %s\n", moat_store_last_error(l.rt->store));
        free(l.rows);
        return CTL_USAGE;
    }
    if (l.n)
        qsort(l.rows, l.n, sizeof *l.rows, by_count);
    if (env->json)
        printf("[");
    for (i = 0; i < l.n; i++) {
        if (env->json) {
            printf("%s{\"address\":", i ? "," : "");
            ctl_json_string(stdout, l.rows[i].address);
            printf(",\"closest\":");
            ctl_json_string(stdout, l.rows[i].suggestion);
            printf(",\"count\":%ld}", l.rows[i].count);
        } else {
            printf("%6ld  %-40s (closest: %s)\n", l.rows[i].count, ctl_safe(l.rows[i].address),
                   ctl_safe(l.rows[i].suggestion));
        }
    }
    if (env->json)
        printf("]\n");
    else if (l.n == 0)
        printf("no near misses recorded\n");
    free(l.rows);
    return CTL_OK;
}

typedef struct key_list {
    char **keys;
    size_t n, cap;
} key_list;

static int collect_key(const char *key, void *arg)
{
    key_list *l = arg;

    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **nk = realloc(l->keys, ncap * sizeof *nk);
        if (nk == NULL)
            return 1;
        l->keys = nk;
        l->cap = ncap;
    }
    if ((l->keys[l->n] = strdup(key)) == NULL)
        return 1;
    l->n++;
    return 0;
}

/* flush_cache - forget cached LDAP answers: one address, or all of them */
static int flush_cache(const ctl_env *env, const char *address)
{
    moat_runtime *rt = ctl_runtime(env);
    key_list l = {NULL, 0, 0};
    char key[600];
    size_t i, removed = 0;
    int failed = 0;

    if (rt == NULL)
        return CTL_USAGE;
    if (address) {
        char lower[600];
        addr_lower(address, lower, sizeof lower);
        rcpt_key(key, sizeof key, RCPT_KEY_LDAP, lower);
        failed = moat_store_del(rt->store, key) == STORE_ERROR;
        removed = !failed;
    } else {
        failed = moat_store_scan(rt->store, rcpt_key_prefix(RCPT_KEY_LDAP), time(NULL), collect_key, &l) != STORE_OK;
        for (i = 0; i < l.n && !failed; i++, removed++)
            failed = moat_store_del(rt->store, l.keys[i]) == STORE_ERROR;
        for (i = 0; i < l.n; i++)
            free(l.keys[i]);
        free(l.keys);
    }
    if (failed) {
        fprintf(stderr, "moatctl rcpt flush-cache: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    if (address)
        printf("cached answer for %s forgotten\n", address);
    else
        printf("%zu cached answers forgotten\n", removed);
    return CTL_OK;
}

/* list_blocks - the clients and networks blocked now, with their end */
static int list_blocks(const ctl_env *env)
{
    moat_runtime *rt = ctl_runtime(env);
    key_list l = {NULL, 0, 0};
    time_t now = time(NULL);
    int failed, shown = 0;
    char prefix[64];
    size_t prefix_len = block_scan_prefix(prefix, sizeof prefix, "rcpt");

    if (rt == NULL)
        return CTL_USAGE;

    failed = moat_store_scan(rt->store, prefix, now, collect_key, &l) != STORE_OK;
    if (env->json)
        printf("[");
    for (size_t i = 0; i < l.n && !failed; i++) {
        const char *subject = l.keys[i] + prefix_len;
        long until = 0;
        int on = block_active(rt->store, "rcpt", subject, now, &until);
        if (on < 0) {
            failed = 1;
            break;
        }
        if (on == 0)
            continue;
        if (env->json) {
            printf("%s{\"subject\":", shown++ ? "," : "");
            ctl_json_string(stdout, subject);
            printf(",\"until\":%ld}", until);
        } else {
            printf("%-40s blocked for %lds more\n", ctl_safe(subject), until - (long)now);
        }
    }
    if (env->json)
        printf("]\n");
    for (size_t i = 0; i < l.n; i++)
        free(l.keys[i]);
    free(l.keys);
    if (failed) {
        fprintf(stderr, "moatctl rcpt list: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    return CTL_OK;
}

int ctl_rcpt(const ctl_env *env, int argc, char **argv)
{
    char err[512], ip[MOAT_IP_TEXT_MAX];

    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "status") == 0 && argc == 3)
        return status(env, ctl_ip_text(argv[2], ip, sizeof ip));
    if (strcmp(argv[1], "unblock") == 0 && argc == 3) {
        moat_runtime *rt = ctl_runtime(env);
        const char *subject = ctl_ip_text(argv[2], ip, sizeof ip);
        if (rt == NULL)
            return CTL_USAGE;
        int was = block_active(rt->store, "rcpt", subject, time(NULL), NULL);
        if (was < 0 || rcpt_unblock(rt, subject) != 0) {
            fprintf(stderr, "moatctl rcpt unblock: %s\n", moat_store_last_error(rt->store));
            return CTL_USAGE;
        }
        printf(was ? "%s unblocked, its counts forgotten\n"
                   : "%s was not blocked; its counts are forgotten\n", ctl_safe(argv[2]));
        return CTL_OK;
    }
    if (strcmp(argv[1], "list") == 0 && argc == 2)
        return list_blocks(env);
    if (strcmp(argv[1], "compile") == 0 && argc == 4) {
        long n = cdb_directory_compile(argv[2], argv[3], err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "moatctl rcpt compile: %s\n", err);
            return CTL_PROBLEM;
        }
        printf("%s: %ld addresses\n", argv[3], n);
        return CTL_OK;
    }
    if (strcmp(argv[1], "near-misses") == 0 && argc == 2)
        return near_misses(env);
    if (strcmp(argv[1], "flush-cache") == 0 && (argc == 2 || argc == 3))
        return flush_cache(env, argc == 3 ? argv[2] : NULL);
    return usage();
}
