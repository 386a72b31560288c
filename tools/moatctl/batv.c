/*
 * batv.c - moatctl batv VERB:
 *   status              each BATV domain: its keys, policy, the last 24 hours
 *   rotate [DOMAIN...]  a new key (the previous one stays valid 8 days)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Key files are written as the Exim user's (run as root, the new file is
 * given to the owner of the keys directory), mode 0640.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batv/batv.h"
#include "batv/store_keys.h"
#include "ctl.h"

#define MAX_DOMAINS 256

static int usage(void)
{
    fprintf(stderr, "usage: moatctl batv status\n"
                    "       moatctl batv rotate [DOMAIN...]\n");
    return CTL_USAGE;
}

/* counter - the last 24 hours of domain's counter of what (0 when unreadable) */
static unsigned long long counter(moat_runtime *rt, batv_count what, const char *domain,
                                  time_t now)
{
    char key[STORE_KEY_MAX];
    uint64_t n = 0;

    batv_key_count(key, sizeof key, what, domain);
    if (moat_store_counter_get(rt->store, key, BATV_COUNTER_WINDOW, now, &n) != STORE_OK)
        return 0;
    return (unsigned long long)n;
}

/* status_one - one domain, for people or as a JSON object; 1 when its key file is broken */
static int status_one(const ctl_env *env, moat_runtime *rt, const char *dom, time_t now,
                      int first)
{
    batv_policy p;
    batv_keyring ring;
    const char *why = NULL;
    int r = batv_keys_load(batv_keys_dir(rt), dom, 0, now, &ring, &why);
    int in_grace;
    size_t i;

    batv_domain_policy(rt, dom, &p);
    in_grace = r == 0 && p.grace > 0 && now - ring.since < p.grace;
    if (env->json) {
        printf("%s{\"domain\":", first ? "" : ",");
        ctl_json_string(stdout, dom);
        printf(",\"sign\":%s,\"check\":%s,\"log_only\":%s,\"grace\":%ld,\"keys\":\"%s\"",
               p.sign ? "true" : "false", p.check ? "true" : "false",
               p.log_only ? "true" : "false", p.grace,
               r == 0 ? "ok" : r == 1 ? "none" : "broken");
        if (r == 0) {
            printf(",\"since\":%lld,\"in_grace\":%s,\"key\":%d,\"key_created\":%lld",
                   (long long)ring.since, in_grace ? "true" : "false", ring.current.num,
                   (long long)ring.current.created);
            if (ring.previous.num >= 0)
                printf(",\"previous_key\":%d,\"previous_valid\":%s", ring.previous.num,
                       batv_keys_secret(&ring, ring.previous.num, now) ? "true" : "false");
        }
        for (i = 0; i < BATV_COUNT_KINDS; i++)
            printf(",\"%s_24h\":%llu", batv_count_name((batv_count)i),
                   counter(rt, (batv_count)i, dom, now));
        printf("}");
        return r < 0;
    }
    printf("%s: sign %s, check %s%s, grace %ld%s\n", dom, p.sign ? "on" : "off",
           p.check ? "on" : "off", p.log_only ? " (log-only)" : "",
           p.grace % 86400 ? p.grace : p.grace / 86400, p.grace % 86400 ? "s" : "d");
    if (r == 1)
        printf("  no key yet (made on first use)\n");
    else if (r < 0)
        printf("  key file: %s\n", why ? why : "unreadable");
    else {
        char when[32];
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime_r(&ring.current.created, &tm));
        printf("  key %d since %s UTC", ring.current.num, when);
        if (ring.previous.num >= 0)
            printf(", previous key %d %s", ring.previous.num,
                   batv_keys_secret(&ring, ring.previous.num, now) ? "still valid" : "retired");
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime_r(&ring.since, &tm));
        printf("\n  signing since %s UTC%s\n", when,
               in_grace ? " (in grace: unsigned bounces accepted)" : "");
    }
    printf("  last 24h:");
    for (i = 0; i < BATV_COUNT_KINDS; i++)
        printf(" %s %llu", batv_count_name((batv_count)i), counter(rt, (batv_count)i, dom, now));
    printf("\n");
    return r < 0;
}

static int status(const ctl_env *env, moat_runtime *rt)
{
    const char *doms[MAX_DOMAINS];
    unsigned n = batv_domains(rt, doms, MAX_DOMAINS), i;
    time_t now = time(NULL);
    int bad = 0;

    if (env->json)
    {
        printf("{\"enabled\":%s,\"keys\":",
               moat_config_enabled(rt->config, "batv") ? "true" : "false");
        ctl_json_string(stdout, batv_keys_dir(rt));
        printf(",\"domains\":[");
    }
    else
        printf("batv: %s, keys in %s\n",
               moat_config_enabled(rt->config, "batv") ? "enabled" : "disabled",
               batv_keys_dir(rt));
    for (i = 0; i < n; i++)
        bad |= status_one(env, rt, doms[i], now, i == 0);
    if (env->json)
        printf("]}\n");
    else if (n == 0)
        printf("no BATV domains (batv { domains = {...} } in moat.conf)\n");
    return bad ? CTL_PROBLEM : CTL_OK;
}

static int rotate(const ctl_env *env, moat_runtime *rt, int argc, char **argv)
{
    const char *doms[MAX_DOMAINS];
    unsigned n = batv_domains(rt, doms, MAX_DOMAINS), i;
    time_t now = time(NULL);
    batv_policy p;
    int bad = 0, k;

    if (argc > 2) {
        n = 0;
        for (k = 2; k < argc && n < MAX_DOMAINS; k++) {
            if (!batv_domain_policy(rt, argv[k], &p)) {
                fprintf(stderr, "moatctl batv rotate: %s is not a BATV domain in moat.conf\n",
                        argv[k]);
                return CTL_USAGE;
            }
            doms[n++] = argv[k];
        }
    }
    if (env->json)
        printf("{\"rotated\":[");
    for (i = 0; i < n; i++) {
        batv_keyring ring, old;
        const char *why = NULL;
        int had = batv_keys_load(batv_keys_dir(rt), doms[i], 0, now, &old, &why);

        /* No key yet: the first one is made, not rotated away at once. */
        if (had == 1 ? batv_keys_load(batv_keys_dir(rt), doms[i], 1, now, &ring, &why) != 0
                     : batv_keys_rotate(batv_keys_dir(rt), doms[i], now, &ring, &why) != 0) {
            fprintf(stderr, "moatctl batv rotate: %s: %s\n", doms[i], why ? why : "error");
            bad = 1;
            continue;
        }
        if (env->json) {
            printf("%s{\"domain\":", i ? "," : "");
            ctl_json_string(stdout, doms[i]);
            printf(",\"key\":%d,\"previous_key\":%d}", ring.current.num, ring.previous.num);
        } else {
            if (ring.previous.num < 0)
                printf("%s: key %d (the first)\n", doms[i], ring.current.num);
            else
                printf("%s: key %d (previous key %d valid for 8 more days)\n", doms[i],
                       ring.current.num, ring.previous.num);
            if (had == 0 && old.previous.num >= 0 &&
                now - old.current.created < BATV_PREVIOUS_VALID)
                printf("  note: key %d was still valid and is now retired: its tags "
                       "(less than 8 days old) no longer check\n", old.previous.num);
            printf("  copy %s/%s.key to the domain's other MX hosts\n", batv_keys_dir(rt),
                   doms[i]);
        }
    }
    if (env->json)
        printf("]}\n");
    return bad ? CTL_PROBLEM : CTL_OK;
}

int ctl_batv(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;

    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "status") != 0 && strcmp(argv[1], "rotate") != 0)
        return usage();
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    return strcmp(argv[1], "status") == 0 ? status(env, rt) : rotate(env, rt, argc, argv);
}
