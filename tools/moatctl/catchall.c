/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catchall.c - moatctl catchall VERB:
 *   audit [--probes N] [DOMAIN...]   which local domains accept any local part (exit 1 if any)
 *   probe DOMAIN [--fresh]           is a remote domain a catch-all? (exit 1 if it is)
 *   list                             the cached probe verdicts
 *   forget DOMAIN                    drop a cached verdict
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catchall/audit.h"
#include "catchall/probe.h"
#include "catchall/store_keys.h"
#include "ctl.h"

static int usage(void)
{
    fprintf(stderr, "usage: moatctl catchall audit [--probes 1..20] [DOMAIN...]\n"
                    "       moatctl catchall probe DOMAIN [--fresh]\n"
                    "       moatctl catchall list\n"
                    "       moatctl catchall forget DOMAIN\n");
    return CTL_USAGE;
}

/* run_exim - audit_run_fn over moatctl's Exim runner (honours --exim-config) */
static int run_exim(void *ctx, const char *const *args, char *out, size_t cap)
{
    return ctl_run_exim((const ctl_env *)ctx, args, out, cap);
}

static void print_audit_json(const audit_report *r)
{
    size_t d;

    printf("{\"catchall\":");
    for (d = 0; d < r->count && !audit_domain_is_catchall(&r->domains[d]); d++)
        ;
    printf("%s,\"domains\":[", d < r->count ? "true" : "false");
    for (d = 0; d < r->count; d++) {
        const audit_domain *ad = &r->domains[d];
        printf("%s{\"domain\":", d ? "," : "");
        ctl_json_string(stdout, ad->domain);
        printf(",\"catchall\":%s,\"probes\":%d,\"accepted\":%d,\"deferred\":%d,"
               "\"directory_accepted\":%d,\"relayed\":%s,\"router\":",
               audit_domain_is_catchall(ad) ? "true" : "false", ad->probes, ad->accepted,
               ad->deferred, ad->directory_accepted, ad->relayed ? "true" : "false");
        ctl_json_string(stdout, ad->router);
        printf(",\"final_router\":");
        ctl_json_string(stdout, ad->final_router);
        printf(",\"target\":");
        ctl_json_string(stdout, ad->target);
        printf("}");
    }
    printf("],\"skipped\":[");
    for (d = 0; d < r->skipped_count; d++) {
        printf("%s", d ? "," : "");
        ctl_json_string(stdout, r->skipped[d]);
    }
    printf("]}\n");
}

static void print_audit_text(const audit_report *r)
{
    size_t d;

    for (d = 0; d < r->count; d++) {
        const audit_domain *ad = &r->domains[d];
        if (audit_domain_is_catchall(ad)) {
            printf("%s: CATCH-ALL: %d of %d random local parts accepted", ad->domain,
                   ad->accepted, ad->probes);
            if (ad->router[0])
                printf(" by router %s", ad->router);
            if (ad->target[0])
                printf(", redirected to %s", ad->target);
            if (ad->final_router[0] && strcmp(ad->final_router, ad->router) != 0)
                printf(" (delivered by router %s)", ad->final_router);
            if (ad->relayed)
                printf(", relayed to another host unchecked");
            if (ad->directory_accepted)
                printf("%s moat's rcpt directory accepts %d of %d", ad->accepted ? ";" : ":",
                       ad->directory_accepted, ad->probes);
            printf("\n");
        } else if (ad->deferred) {
            printf("%s: undecided: Exim deferred %d of %d random local parts\n", ad->domain,
                   ad->deferred, ad->probes);
        } else {
            printf("%s: clean (%d random local parts refused)\n", ad->domain, ad->probes);
        }
    }
    for (d = 0; d < r->skipped_count; d++)
        printf("skipped: %s\n", r->skipped[d]);
    if (r->count == 0)
        printf("no local domain to audit\n");
}

static int audit(const ctl_env *env, int argc, char **argv)
{
    const char **domains = calloc((size_t)argc + 1, sizeof *domains);
    audit_report *r = malloc(sizeof *r);
    moat_runtime *rt;
    int probes = 3, nd = 0, found = 0, i;
    size_t d;

    for (i = 2; i < argc && domains; i++) {
        if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc)
            probes = (int)strtol(argv[++i], NULL, 10);
        else if (argv[i][0] == '-')
            probes = 0;   /* unknown option: usage */
        else
            domains[nd++] = argv[i];
    }
    if (r == NULL || domains == NULL || probes < 1 || probes > 20) {
        free(r);
        free(domains);
        return usage();
    }
    if (ctl_become_store_owner(env->config_path, r->error, sizeof r->error) != 0) {
        fprintf(stderr, "moatctl catchall audit: %s\n", r->error);
        free(r);
        free(domains);
        return CTL_USAGE;
    }
    /* the rcpt directory is consulted when moat.conf loads; the audit runs without it */
    rt = moat_runtime_get(env->config_path, r->error, sizeof r->error);
    if (catchall_audit(rt, run_exim, (void *)env, nd ? domains : NULL, probes, r) != 0) {
        fprintf(stderr, "moatctl catchall audit: %s\n", r->error);
        free(r);
        free(domains);
        return CTL_USAGE;
    }
    for (d = 0; d < r->count; d++)
        found |= audit_domain_is_catchall(&r->domains[d]);
    if (env->json)
        print_audit_json(r);
    else
        print_audit_text(r);
    free(r);
    free(domains);
    return found ? CTL_PROBLEM : CTL_OK;
}

static void print_result(const ctl_env *env, const char *domain, const probe_result *r,
                         time_t expires)
{
    if (env->json) {
        printf("{\"domain\":");
        ctl_json_string(stdout, domain);
        printf(",\"verdict\":\"%s\",\"cached\":%s,\"host\":", probe_verdict_name(r->verdict),
               r->cached ? "true" : "false");
        ctl_json_string(stdout, r->host);
        printf(",\"detail\":");
        ctl_json_string(stdout, r->detail);
        if (expires)
            printf(",\"expires\":%lld", (long long)expires);
        if (!r->cached)
            printf(",\"ms\":%ld", r->ms);
        printf("}\n");
    } else {
        printf("%s: %s%s (%s)%s%s\n", ctl_safe(domain), probe_verdict_name(r->verdict),
               r->cached ? ", cached" : "", ctl_safe(r->detail), r->host[0] ? " host " : "",
               ctl_safe(r->host));
    }
}

/* probe - moatctl catchall probe DOMAIN [--fresh]: exit 1 for a catch-all */
static int probe(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;
    probe_result r;
    const char *why = "store error";
    int fresh = argc > 3 && strcmp(argv[3], "--fresh") == 0;

    if (argc < 3 || argc > 4 || (argc == 4 && !fresh))
        return usage();
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    if (fresh && catchall_probe_forget(rt, argv[2]) != 0) {
        fprintf(stderr, "moatctl catchall probe: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    /* an admin waits for the whole probe { timeout }, not a session's budget */
    if (catchall_probe(rt, argv[2], 24L * 3600 * 1000, time(NULL), &r, &why) != 0) {
        fprintf(stderr, "moatctl catchall probe: %s\n", why);
        return CTL_USAGE;
    }
    print_result(env, argv[2], &r, 0);
    return r.verdict == PROBE_CATCHALL ? CTL_PROBLEM : CTL_OK;
}

typedef struct list_ctx {
    const ctl_env *env;
    moat_runtime *rt;
    int n;
} list_ctx;

static int list_one(const char *key, void *arg)
{
    list_ctx *lc = arg;
    const char *domain = key + strlen(catchall_key_prefix(CATCHALL_KEY_PROBE));
    probe_result r;
    time_t expires = 0;
    const char *why;

    if (catchall_probe_cached(lc->rt, domain, time(NULL), &r, &expires, &why) == 1) {
        if (!lc->env->json) {
            char when[32] = "?";
            struct tm tm;
            if (gmtime_r(&expires, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("%s: %s (%s), cached until %s\n", ctl_safe(domain),
                   probe_verdict_name(r.verdict), ctl_safe(r.detail), when);
        }
        else {
            printf("%s", lc->n ? "," : "");
            fflush(stdout);
            print_result(lc->env, domain, &r, expires);
        }
        lc->n++;
    }
    return 0;
}

static int list(const ctl_env *env)
{
    list_ctx lc = {env, ctl_runtime(env), 0};

    if (lc.rt == NULL)
        return CTL_USAGE;
    if (env->json)
        printf("[");
    if (moat_store_scan(lc.rt->store, catchall_key_prefix(CATCHALL_KEY_PROBE), time(NULL), list_one, &lc) ==
        STORE_ERROR) {
        fprintf(stderr, "moatctl catchall list: %s\n", moat_store_last_error(lc.rt->store));
        return CTL_USAGE;
    }
    if (env->json)
        printf("]\n");
    else if (lc.n == 0)
        printf("no domain's verdict is cached\n");
    return CTL_OK;
}

int ctl_catchall(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;

    if (argc >= 2 && strcmp(argv[1], "audit") == 0)
        return audit(env, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return probe(env, argc, argv);
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return list(env);
    if (argc == 3 && strcmp(argv[1], "forget") == 0) {
        if ((rt = ctl_runtime(env)) == NULL)
            return CTL_USAGE;
        if (catchall_probe_forget(rt, argv[2]) != 0) {
            fprintf(stderr, "moatctl catchall forget: %s\n", moat_store_last_error(rt->store));
            return CTL_USAGE;
        }
        printf("%s: forgotten\n", argv[2]);
        return CTL_OK;
    }
    return usage();
}

/* ctl_catchall_probe - moatctl catchall probe DOMAIN (kept for ctl.h's callers) */
int ctl_catchall_probe(const ctl_env *env, int argc, char **argv)
{
    return probe(env, argc, argv);
}
