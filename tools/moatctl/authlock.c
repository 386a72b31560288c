/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authlock.c - moatctl authlock VERB: list, show IP|NET|USER, unlock IP|NET|ASN|USER,
 * held USER.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "authlock/authlock.h"
#include "authlock/containment.h"
#include "authlock/location.h"
#include "authlock/store_keys.h"
#include "block.h"
#include "ctl.h"
#include "exim_queue.h"
#include "net.h"

static int usage(void)
{
    fprintf(stderr, "usage: moatctl authlock list\n"
                    "       moatctl authlock show IP|NET|USER\n"
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
        char id[EXIM_MSGID_MAX];
        int frozen;
        const char *args[] = {"-Mvh", id, NULL};
        if (exim_queue_line(line, id, &frozen) != 0)
            continue;
        if (ctl_run_exim(env, args, headers, sizeof headers) != 0)
            continue;
        if (strcasestr(headers, want) == NULL)
            continue;
        printf("%s%s\n", id, frozen ? " frozen" : "");
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
    size_t prefix_len;     /* of the block keys' prefix */
} lister;

static int print_block(const char *key, void *arg)
{
    lister *l = arg;
    long until = 0;
    const char *subject = key + l->prefix_len;

    if (block_active(l->rt->store, "authlock", subject, time(NULL), &until) != 1)
        return 0;
    if (l->env->json) {
        printf("%s{\"locked\":", l->n ? "," : "");
        ctl_json_string(stdout, subject);
        printf(",\"until\":%ld}", until);
    } else {
        printf("%-50s until %s", ctl_safe(subject), ctime(&(time_t){until}));
    }
    l->n++;
    return 0;
}

static int list(const ctl_env *env)
{
    lister l = {ctl_runtime(env), env, 0, 0};
    char prefix[64];

    l.prefix_len = block_scan_prefix(prefix, sizeof prefix, "authlock");
    if (l.rt == NULL)
        return CTL_USAGE;
    if (env->json)
        printf("[");
    if (moat_store_scan(l.rt->store, prefix, time(NULL), print_block, &l) != STORE_OK) {
        fprintf(stderr, "moatctl authlock list: %s\n", moat_store_last_error(l.rt->store));
        return CTL_USAGE;
    }
    if (env->json)
        printf("]\n");
    else if (l.n == 0)
        printf("nothing is locked\n");
    return l.n ? CTL_PROBLEM : CTL_OK;
}

/* counter - the failures in the window of the counter of kind for subject; -1 on a store error */
static long counter(moat_runtime *rt, authlock_key_kind kind, const char *subject)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;
    cfg_t *sec = moat_config_module(rt->config, "authlock");

    authlock_key(key, sizeof key, kind, subject);
    if (moat_store_counter_get(rt->store, key, (uint32_t)cfg_getint(sec, "window"), time(NULL),
                               &n) != STORE_OK)
        return -1;
    return (long)n;
}

/* members_in - how many distinct members the set of kind for subject holds in window_s; -1 on error */
static long members_in(moat_runtime *rt, authlock_key_kind kind, const char *subject,
                       uint32_t window_s)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    authlock_key(key, sizeof key, kind, subject);
    if (moat_store_distinct_add(rt->store, key, NULL, window_s, time(NULL), &n) != STORE_OK)
        return -1;
    return (long)n;
}

/* members - the same in authlock's failure window */
static long members(moat_runtime *rt, authlock_key_kind kind, const char *subject)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");

    return members_in(rt, kind, subject, (uint32_t)cfg_getint(sec, "window"));
}

/* day_messages - the user's messages of the last 24 hours; -1 on error */
static long day_messages(moat_runtime *rt, const char *user)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    authlock_key(key, sizeof key, AUTHLOCK_KEY_MESSAGES, user);
    if (moat_store_counter_get(rt->store, key, 86400, time(NULL), &n) != STORE_OK)
        return -1;
    return (long)n;
}

/*
 * report - what show prints: "name value" facts for people, one JSON
 * object for machines. A fact whose subject is locked makes the exit 1.
 */
typedef struct report {
    const ctl_env *env;
    int n, locked, failed;
} report;

static void fact_str(report *r, const char *name, const char *value)
{
    if (r->env->json) {
        printf("%s\"%s\":", r->n ? "," : "{", name);
        ctl_json_string(stdout, value);
    } else {
        printf("%-22s %s\n", name, ctl_safe(value));
    }
    r->n++;
}

static void fact_num(report *r, const char *name, long value)
{
    char text[32];

    if (value < 0)
        r->failed = 1;
    if (r->env->json) {
        printf("%s\"%s\":%ld", r->n ? "," : "{", name, value);
        r->n++;
        return;
    }
    snprintf(text, sizeof text, "%ld", value);
    fact_str(r, name, text);
}

/* fact_lock - whether subject is blocked, and until when */
static void fact_lock(report *r, moat_runtime *rt, const char *name, const char *subject)
{
    long until = 0;
    int b = block_active(rt->store, "authlock", subject, time(NULL), &until);
    char text[64];

    if (b < 0) {
        r->failed = 1;
        return;
    }
    r->locked |= b;
    if (r->env->json) {
        printf("%s\"%s\":%s", r->n ? "," : "{", name, b ? "true" : "false");
        r->n++;
        if (b)
            printf(",\"%s_until\":%ld", name, until);
        return;
    }
    if (b) {
        struct tm tm;
        time_t t = (time_t)until;
        strftime(text, sizeof text, "locked until %Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    } else {
        snprintf(text, sizeof text, "not locked");
    }
    fact_str(r, name, text);
}

typedef struct fam_lister {
    report *r;
    size_t prefix_len;
    char list[1024];
} fam_lister;

/* add_familiar - collect one familiar location ("net:192.0.2.0/24", "asn:AS64500") */
static int add_familiar(const char *key, void *arg)
{
    fam_lister *f = arg;
    size_t used = strlen(f->list);

    snprintf(f->list + used, sizeof f->list - used, "%s%s", used ? " " : "", key + f->prefix_len);
    return 0;
}

static void show_ip(report *r, moat_runtime *rt, const char *text)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    authlock_location loc;
    char subject[STORE_KEY_MAX];

    authlock_locate(rt->config, sec, text, time(NULL), &loc);
    fact_str(r, "ip", text);
    snprintf(subject, sizeof subject, "ip:%s", text);
    fact_lock(r, rt, "locked", subject);
    fact_num(r, "failures", counter(rt, AUTHLOCK_KEY_IP, text));
    fact_num(r, "users_tried", members(rt, AUTHLOCK_KEY_SPRAY, text));
    if (loc.net[0]) {
        fact_str(r, "network", loc.net);
        snprintf(subject, sizeof subject, "net:%s", loc.net);
        fact_lock(r, rt, "network_locked", subject);
        fact_num(r, "network_failures", counter(rt, AUTHLOCK_KEY_NET, loc.net));
    }
    if (loc.geo.country[0])
        fact_str(r, "country", loc.geo.country);
    if (loc.asn[0]) {
        fact_str(r, "asn", loc.asn);
        snprintf(subject, sizeof subject, "asn:%s", loc.asn);
        fact_lock(r, rt, "asn_locked", subject);
        fact_num(r, "asn_failures", counter(rt, AUTHLOCK_KEY_ASN, loc.asn));
    }
}

static void show_net(report *r, moat_runtime *rt, const moat_cidr *cidr)
{
    char net[MOAT_IP_TEXT_MAX], subject[STORE_KEY_MAX];

    net_network(&cidr->ip, cidr->prefix, cidr->prefix, net, sizeof net);
    fact_str(r, "network", net);
    snprintf(subject, sizeof subject, "net:%s", net);
    fact_lock(r, rt, "locked", subject);
    fact_num(r, "failures", counter(rt, AUTHLOCK_KEY_NET, net));
}

static void show_user(report *r, moat_runtime *rt, const char *what)
{
    char user[AUTHLOCK_USER_MAX], subject[STORE_KEY_MAX], prefix[STORE_KEY_MAX];
    fam_lister f = {r, 0, ""};
    int sending;

    addr_lower(what, user, sizeof user);
    fact_str(r, "user", user);
    snprintf(subject, sizeof subject, "user:%s:unfamiliar", user);
    fact_lock(r, rt, "locked_unfamiliar", subject);
    snprintf(subject, sizeof subject, "user:%s:familiar", user);
    fact_lock(r, rt, "locked_familiar", subject);
    if ((sending = authlock_sending_locked(rt, user, time(NULL))) < 0)
        r->failed = 1;
    r->locked |= sending > 0;
    fact_str(r, "sending", sending > 0 ? "locked" : "not locked");
    fact_num(r, "failures_unfamiliar", counter(rt, AUTHLOCK_KEY_UNFAMILIAR, user));
    fact_num(r, "failures_familiar", counter(rt, AUTHLOCK_KEY_FAMILIAR, user));
    fact_num(r, "failing_ips", members(rt, AUTHLOCK_KEY_USER_IPS, user));
    fact_num(r, "failing_asns", members(rt, AUTHLOCK_KEY_USER_ASNS, user));
    /* outbound containment: the last 24 hours */
    fact_num(r, "sent_messages", day_messages(rt, user));
    fact_num(r, "sent_recipients", members_in(rt, AUTHLOCK_KEY_OUT, user, 86400));
    fact_num(r, "rejected_recipients", members_in(rt, AUTHLOCK_KEY_REJECTED, user, 86400));
    f.prefix_len = authlock_key_familiar(prefix, sizeof prefix, user, NULL, NULL);
    if (moat_store_scan(rt->store, prefix, time(NULL), add_familiar, &f) != STORE_OK)
        r->failed = 1;
    fact_str(r, "familiar", f.list[0] ? f.list : "-");
}

/* show - everything moat knows about an IP, a network or a user; exit 1 when locked */
static int show(const ctl_env *env, const char *what)
{
    moat_runtime *rt = ctl_runtime(env);
    report r = {env, 0, 0, 0};
    moat_cidr cidr;
    moat_ip ip;

    if (rt == NULL)
        return CTL_USAGE;
    if (strncmp(what, "user:", 5) == 0) {
        show_user(&r, rt, what + 5);          /* a user whatever the name looks like */
    } else if (net_parse_ip(what, &ip) == 0) {
        char text[MOAT_IP_TEXT_MAX];
        net_format_ip(&ip, text, sizeof text);
        show_ip(&r, rt, text);
    } else if (net_parse_cidr(what, &cidr) == 0) {
        show_net(&r, rt, &cidr);
    } else {
        show_user(&r, rt, what);
    }
    if (env->json)
        printf("}\n");
    if (r.failed) {
        fprintf(stderr, "moatctl authlock show: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    return r.locked ? CTL_PROBLEM : CTL_OK;
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
        int was = authlock_unlock(rt, argv[2]);
        if (was < 0) {
            fprintf(stderr, "moatctl authlock unlock: %s\n", moat_store_last_error(rt->store));
            return CTL_USAGE;
        }
        printf(was ? "%s unlocked; its counts are forgotten\n"
                   : "%s was not locked; its counts are forgotten\n", ctl_safe(argv[2]));
        return CTL_OK;
    }
    return usage();
}
