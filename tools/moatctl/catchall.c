/*
 * catchall.c - moatctl catchall VERB:
 *   audit [--probes N]   which local domains accept any local part (exit 1 if any)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catchall/audit.h"
#include "catchall/probe.h"
#include <time.h>
#include "ctl.h"

static const char *exim_binary(void)
{
    const char *env = getenv("MOAT_EXIM");

    if (env && *env)
        return env;
    return access("/usr/sbin/exim4", X_OK) == 0 ? "/usr/sbin/exim4" : "/usr/sbin/exim";
}

static int audit(const ctl_env *env, int argc, char **argv)
{
    audit_report *r = malloc(sizeof *r);
    moat_runtime *rt = ctl_runtime(env);
    int probes = 3, found = 0, i;
    size_t d;

    for (i = 2; i < argc; i++)
        if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc)
            probes = (int)strtol(argv[++i], NULL, 10);
    if (r == NULL || probes < 1 || probes > 20) {
        fprintf(stderr, "usage: moatctl catchall audit [--probes 1..20]\n");
        free(r);
        return CTL_USAGE;
    }
    if (catchall_audit(rt, exim_binary(), env->exim_config, probes, r) != 0) {
        fprintf(stderr, "moatctl catchall audit: %s\n", r->error);
        free(r);
        return CTL_USAGE;
    }
    if (env->json)
        printf("[");
    for (d = 0; d < r->count; d++) {
        audit_domain *ad = &r->domains[d];
        int catchall = ad->exim_catchall || ad->directory_catchall;

        found |= catchall;
        if (env->json) {
            printf("%s{\"domain\":", d ? "," : "");
            ctl_json_string(stdout, ad->domain);
            printf(",\"catchall\":%s,\"router\":", catchall ? "true" : "false");
            ctl_json_string(stdout, ad->router);
            printf(",\"target\":");
            ctl_json_string(stdout, ad->target);
            printf(",\"directory\":%s,\"probes\":%d,\"accepted\":%d}",
                   ad->directory_catchall ? "true" : "false", ad->probes, ad->accepted);
        } else if (catchall) {
            printf("%s: CATCH-ALL: %d of %d random local parts accepted", ad->domain,
                   ad->accepted, ad->probes);
            if (ad->router[0])
                printf(" by router %s", ad->router);
            if (ad->target[0])
                printf(", redirected to %s", ad->target);
            if (ad->directory_catchall)
                printf(" (moat's rcpt directory accepts them too)");
            printf("\n");
        } else {
            printf("%s: clean (%d random local parts refused)\n", ad->domain, ad->probes);
        }
    }
    if (env->json)
        printf("]\n");
    free(r);
    return found ? CTL_PROBLEM : CTL_OK;
}

int ctl_catchall(const ctl_env *env, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "audit") == 0)
        return audit(env, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return ctl_catchall_probe(env, argc, argv);
    fprintf(stderr, "usage: moatctl catchall audit [--probes N]\n"
                    "       moatctl catchall probe DOMAIN\n");
    return CTL_USAGE;
}

/* ctl_catchall_probe - moatctl catchall probe DOMAIN [--fresh]: exit 1 for a catch-all */
int ctl_catchall_probe(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;
    probe_result r;
    const char *why = NULL;
    char key[300];
    int fresh = argc > 3 && strcmp(argv[3], "--fresh") == 0;

    if (argc < 3) {
        fprintf(stderr, "usage: moatctl catchall probe DOMAIN [--fresh]\n");
        return CTL_USAGE;
    }
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    if (fresh) {
        snprintf(key, sizeof key, "catchall:probe:%s", argv[2]);
        moat_store_del(rt->store, key);
    }
    if (catchall_probe(rt, argv[2], 60000, time(NULL), &r, &why) != 0) {
        fprintf(stderr, "moatctl catchall probe: %s\n", why);
        return CTL_USAGE;
    }
    if (env->json) {
        printf("{\"domain\":");
        ctl_json_string(stdout, argv[2]);
        printf(",\"verdict\":\"%s\",\"cached\":%s,\"host\":", probe_verdict_name(r.verdict),
               r.cached ? "true" : "false");
        ctl_json_string(stdout, r.host);
        printf(",\"detail\":");
        ctl_json_string(stdout, r.detail);
        printf("}\n");
    } else {
        printf("%s: %s%s (%s)\n", argv[2], probe_verdict_name(r.verdict),
               r.cached ? ", cached" : "", r.detail);
    }
    return r.verdict == PROBE_CATCHALL ? CTL_PROBLEM : CTL_OK;
}
