/*
 * authlock.c - moatctl authlock VERB: list, show IP|USER, unlock IP|NET|ASN|USER.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "authlock/authlock.h"
#include "block.h"
#include "ctl.h"
#include "net.h"

static int usage(void)
{
    fprintf(stderr, "usage: moatctl authlock list\n"
                    "       moatctl authlock show IP|USER\n"
                    "       moatctl authlock unlock IP|NET|ASN|USER\n"
                    "       moatctl authlock held USER\n");
    return CTL_USAGE;
}

#define QUEUE_MAX ((size_t)1024 * 1024)

/* held - the queued messages moat froze for review: X-Moat-Held: USER */
static int held(const ctl_env *env, const char *user)
{
    static const char *const list_args[] = {"-bp", NULL};
    char *queue = malloc(QUEUE_MAX), *line, *save = NULL, headers[65536], want[300];
    int n = 0;

    if (queue == NULL)
        return CTL_USAGE;
    if (ctl_run_exim(env, list_args, queue, QUEUE_MAX) != 0) {
        fprintf(stderr, "moatctl authlock held: exim -bp failed: %.200s\n", queue);
        free(queue);
        return CTL_USAGE;
    }
    snprintf(want, sizeof want, "X-Moat-Held: %s\n", user);
    for (line = strtok_r(queue, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[32];
        const char *args[] = {"-Mvh", id, NULL};
        /* queue lines: " 25m  1.2K 1xVO7j-0002wx-0L <sender>" */
        if (sscanf(line, "%*s %*s %31s", id) != 1 || strlen(id) != 16 || id[6] != '-')
            continue;
        if (ctl_run_exim(env, args, headers, sizeof headers) != 0)
            continue;
        if (strcasestr(headers, want) == NULL)
            continue;
        printf("%s%s\n", id, strstr(line, "*** frozen ***") ? " frozen" : "");
        n++;
    }
    free(queue);
    if (n == 0 && !env->json)
        fprintf(stderr, "nothing held for %s\n", user);
    return n ? CTL_PROBLEM : CTL_OK;
}

typedef struct lister {
    moat_runtime *rt;
    const ctl_env *env;
    int n;
} lister;

static int print_block(const char *key, void *arg)
{
    lister *l = arg;
    long until = 0;
    const char *subject = key + strlen("authlock:block:");

    if (block_active(l->rt->store, "authlock", subject, time(NULL), &until) != 1)
        return 0;
    if (l->env->json) {
        printf("%s{\"locked\":", l->n ? "," : "");
        ctl_json_string(stdout, subject);
        printf(",\"until\":%ld}", until);
    } else {
        printf("%-50s until %s", subject, ctime(&(time_t){until}));
    }
    l->n++;
    return 0;
}

static int list(const ctl_env *env)
{
    lister l = {ctl_runtime(env), env, 0};

    if (l.rt == NULL)
        return CTL_USAGE;
    if (env->json)
        printf("[");
    if (moat_store_scan(l.rt->store, "authlock:block:", time(NULL), print_block, &l) != STORE_OK) {
        fprintf(stderr, "moatctl authlock list: %s\n", moat_store_last_error(l.rt->store));
        return CTL_USAGE;
    }
    if (env->json)
        printf("]\n");
    else if (l.n == 0)
        printf("nothing is locked\n");
    return l.n ? CTL_PROBLEM : CTL_OK;
}

static long counter(moat_runtime *rt, const char *fmt, const char *subject)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;
    cfg_t *sec = moat_config_module(rt->config, "authlock");

    snprintf(key, sizeof key, fmt, subject);
    if (moat_store_counter_get(rt->store, key, (uint32_t)cfg_getint(sec, "window"), time(NULL),
                               &n) != STORE_OK)
        return -1;
    return (long)n;
}

static int show(const ctl_env *env, const char *what)
{
    moat_runtime *rt = ctl_runtime(env);
    char subject[300], user[129];
    moat_ip ip;
    int locked = 0, r1, r2;
    long until = 0;

    if (rt == NULL)
        return CTL_USAGE;
    if (net_parse_ip(what, &ip) == 0) {
        snprintf(subject, sizeof subject, "ip:%s", what);
        r1 = block_active(rt->store, "authlock", subject, time(NULL), &until);
        if (r1 < 0)
            goto store_error;
        locked = r1;
        if (env->json)
            printf("{\"ip\":\"%s\",\"locked\":%s,\"failures\":%ld}\n", what,
                   locked ? "true" : "false", counter(rt, "authlock:ip:%s", what));
        else
            printf("%s: %s; %ld failures in the window\n", what, locked ? "locked" : "not locked",
                   counter(rt, "authlock:ip:%s", what));
        return locked ? CTL_PROBLEM : CTL_OK;
    }
    addr_lower(what, user, sizeof user);
    snprintf(subject, sizeof subject, "user:%s:unfamiliar", user);
    r1 = block_active(rt->store, "authlock", subject, time(NULL), &until);
    snprintf(subject, sizeof subject, "user:%s:familiar", user);
    r2 = block_active(rt->store, "authlock", subject, time(NULL), NULL);
    if (r1 < 0 || r2 < 0)
        goto store_error;
    locked = r1 || r2;
    if (env->json) {
        printf("{\"user\":");
        ctl_json_string(stdout, user);
        printf(",\"locked_unfamiliar\":%s,\"locked_familiar\":%s,\"failures_unfamiliar\":%ld,"
               "\"failures_familiar\":%ld}\n", r1 ? "true" : "false", r2 ? "true" : "false",
               counter(rt, "authlock:uf:%s", user), counter(rt, "authlock:ff:%s", user));
    } else {
        printf("%s: %s from unfamiliar locations, %s from familiar ones; failures in the window: "
               "%ld unfamiliar, %ld familiar\n", user, r1 ? "locked" : "not locked",
               r2 ? "locked" : "not locked", counter(rt, "authlock:uf:%s", user),
               counter(rt, "authlock:ff:%s", user));
    }
    return locked ? CTL_PROBLEM : CTL_OK;

store_error:
    fprintf(stderr, "moatctl authlock show: %s\n", moat_store_last_error(rt->store));
    return CTL_USAGE;
}

int ctl_authlock(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;

    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return list(env);
    if (argc == 3 && strcmp(argv[1], "show") == 0)
        return show(env, argv[2]);
    if (argc == 3 && strcmp(argv[1], "held") == 0)
        return held(env, argv[2]);
    if (argc == 3 && strcmp(argv[1], "unlock") == 0) {
        if ((rt = ctl_runtime(env)) == NULL)
            return CTL_USAGE;
        if (authlock_unlock(rt, argv[2]) != 0) {
            fprintf(stderr, "moatctl authlock unlock: %s\n", moat_store_last_error(rt->store));
            return CTL_USAGE;
        }
        printf("%s unlocked\n", argv[2]);
        return CTL_OK;
    }
    return usage();
}
