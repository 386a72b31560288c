/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.c - moatctl queue: the state of Exim's queue that the incidents
 * leave behind (bounces to many domains, frozen messages from one user,
 * messages held for days), from exim -bpr, with exit 1 past the limits;
 * and with --dnsbl, the server's own sending addresses against DNS
 * blocklists through a resolver the admin names. For cron.
 *
 *   moatctl queue [--max-bounces N] [--max-domains N] [--max-frozen N]
 *                 [--max-per-sender N] [--max-age DUR] [--held-after DUR]
 *                 [--dnsbl [--address IP]... [--zone ZONE]... [--resolver IP[:PORT]]]
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "dnsbl.h"
#include "queue_report.h"

#define LISTING_MAX ((size_t)64 * 1024 * 1024)
#define LIST_MAX 16

static const char *const default_zones[] = {"zen.spamhaus.org", "bl.spamcop.net",
                                            "psbl.surriel.com"};

typedef struct queue_opts {
    long max_bounces, max_domains, max_frozen, max_per_sender, max_age, held_after;
    int dnsbl;
    const char *address[LIST_MAX];
    int naddress;
    const char *zone[LIST_MAX];
    int nzone;
    const char *resolver;
    char found[LIST_MAX][INET6_ADDRSTRLEN];   /* the host's own public addresses */
} queue_opts;

static int usage(void)
{
    fprintf(stderr,
            "usage: moatctl queue [--max-bounces N] [--max-domains N] [--max-frozen N]\n"
            "                     [--max-per-sender N] [--max-age DURATION] [--held-after DURATION]\n"
            "                     [--dnsbl [--address IP]... [--zone ZONE]... "
            "[--resolver IP[:PORT]]]\n");
    return CTL_USAGE;
}

/* number - a count option's value; -1 when it is not one */
static long number(const char *text)
{
    char *end;
    long n = strtol(text, &end, 10);

    return *text && *end == '\0' && n >= 0 ? n : -1;
}

static int parse_opts(int argc, char **argv, queue_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_bounces = 100;
    o->max_domains = 100;
    o->max_frozen = 20;
    o->max_per_sender = 20;
    o->max_age = 3L * 86400;
    o->held_after = 4L * 3600;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *count = strcmp(opt, "--max-bounces") == 0      ? &o->max_bounces
                      : strcmp(opt, "--max-domains") == 0    ? &o->max_domains
                      : strcmp(opt, "--max-frozen") == 0     ? &o->max_frozen
                      : strcmp(opt, "--max-per-sender") == 0 ? &o->max_per_sender
                                                             : NULL;
        long *duration = strcmp(opt, "--max-age") == 0      ? &o->max_age
                         : strcmp(opt, "--held-after") == 0 ? &o->held_after
                                                            : NULL;
        if (strcmp(opt, "--dnsbl") == 0) {
            o->dnsbl = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        if (count != NULL) {
            if ((*count = number(v)) < 0)
                return -1;
        } else if (duration != NULL) {
            if (moat_parse_duration(v, duration) != 0)
                return -1;
        } else if (strcmp(opt, "--address") == 0 && o->naddress < LIST_MAX) {
            o->address[o->naddress++] = v;
        } else if (strcmp(opt, "--zone") == 0 && o->nzone < LIST_MAX) {
            o->zone[o->nzone++] = v;
        } else if (strcmp(opt, "--resolver") == 0) {
            o->resolver = v;
        } else {
            return -1;
        }
        i++;
    }
    return 0;
}

/* public_v4 - an IPv4 address the internet sees (not private, loopback, link-local, CGNAT) */
static int public_v4(const struct in_addr *a)
{
    unsigned long ip = ntohl(a->s_addr);

    return !((ip >> 24) == 10 || (ip >> 24) == 127 || (ip >> 20) == 0xAC1 ||
             (ip >> 16) == 0xC0A8 || (ip >> 16) == 0xA9FE || (ip >> 22) == 0x191 ||
             (ip >> 24) == 0);
}

/* public_v6 - a global unicast IPv6 address (2000::/3) */
static int public_v6(const struct in6_addr *a)
{
    return (a->s6_addr[0] & 0xe0) == 0x20;
}

/* own_addresses - the host's public addresses, when none was named */
static void own_addresses(queue_opts *o)
{
    struct ifaddrs *ifs, *i;

    if (getifaddrs(&ifs) != 0)
        return;
    for (i = ifs; i != NULL && o->naddress < LIST_MAX; i = i->ifa_next) {
        const void *a = NULL;
        if (i->ifa_addr == NULL)
            continue;
        if (i->ifa_addr->sa_family == AF_INET &&
            public_v4(&((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr))
            a = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
        else if (i->ifa_addr->sa_family == AF_INET6 &&
                 public_v6(&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr))
            a = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
        if (a && inet_ntop(i->ifa_addr->sa_family, a, o->found[o->naddress],
                           sizeof o->found[0]) != NULL) {
            o->address[o->naddress] = o->found[o->naddress];
            o->naddress++;
        }
    }
    freeifaddrs(ifs);
}

/* age_text - seconds as "3d4h", "25m" */
static const char *age_text(long s, char *out, size_t len)
{
    if (s >= 86400)
        snprintf(out, len, "%ldd%ldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(out, len, "%ldh%ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, len, "%ldm", s / 60);
    return out;
}

/* print_sender - "frozen: 3 from <bob@example.test>", bounces as <> */
static void print_sender(const char *what, const queue_top *t)
{
    if (strcmp(t->key, "<>") == 0)
        printf("%s: %ld from <> (bounces)\n", what, t->count);
    else
        printf("%s: %ld from <%s>\n", what, t->count, ctl_safe(t->key));
}

static void print_top_json(const char *name, const queue_top *t, size_t n)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"sender\":", i ? "," : "");
        ctl_json_string(stdout, t[i].key);
        printf(",\"count\":%ld}", t[i].count);
    }
    printf("]");
}

/* limit - one limit: over it, a line (or a JSON name) and 1 */
static int limit(const ctl_env *env, const char *name, long value, long max, const char *what,
                 int *first)
{
    if (value <= max)
        return 0;
    if (env->json)
        printf("%s\"%s\"", (*first)++ ? "," : "", name);
    else
        printf("OVER %s: %ld (limit %ld) %s\n", name, value, max, what);
    return 1;
}

int ctl_queue(const ctl_env *env, int argc, char **argv)
{
    const char *args[] = {"-bpr", NULL};
    char *listing, age[32];
    queue_report r;
    queue_opts o;
    long per_sender = 0;
    int over = 0, first = 0, listed = 0, rc;

    if (parse_opts(argc, argv, &o) != 0)
        return usage();
    if ((listing = malloc(LISTING_MAX)) == NULL)
        return CTL_USAGE;
    rc = ctl_run_exim(env, args, listing, LISTING_MAX);
    if (rc != 0) {
        fprintf(stderr, "moatctl queue: exim -bpr: %.*s\n", (int)strcspn(listing, "\n"),
                rc < 0 ? "could not run Exim" : listing);
        free(listing);
        return CTL_USAGE;
    }
    if (queue_report_parse(listing, strlen(listing), o.held_after, &r) != 0) {
        fprintf(stderr, "moatctl queue: out of memory\n");
        free(listing);
        return CTL_USAGE;
    }
    if (strlen(listing) + 1 >= LISTING_MAX)
        fprintf(stderr, "moatctl queue: the listing was cut at %zu bytes\n", LISTING_MAX);
    free(listing);
    for (size_t i = 0; i < r.frozen_senders || i < r.held_senders; i++) {
        if (i < r.frozen_senders && r.frozen_by_sender[i].count > per_sender)
            per_sender = r.frozen_by_sender[i].count;
        if (i < r.held_senders && r.held_by_sender[i].count > per_sender)
            per_sender = r.held_by_sender[i].count;
    }

    if (env->json) {
        printf("{\"messages\":%ld,\"bounces\":%ld,\"frozen\":%ld,\"held\":%ld,"
               "\"recipients\":%ld,\"domains\":%ld,\"oldest_seconds\":%ld,\"oldest_id\":",
               r.messages, r.bounces, r.frozen, r.held, r.recipients, r.domains,
               r.oldest_seconds);
        ctl_json_string(stdout, r.oldest_id);
        print_top_json("frozen_by_sender", r.frozen_by_sender, r.frozen_senders);
        print_top_json("held_by_sender", r.held_by_sender, r.held_senders);
        printf(",\"over\":[");
    } else {
        printf("queue: %ld messages, %ld bounces, %ld frozen, %ld held over %s; %ld recipients "
               "to %ld domains; oldest %s (%s)\n",
               r.messages, r.bounces, r.frozen, r.held, age_text(o.held_after, age, sizeof age),
               r.recipients, r.domains, r.messages ? age_text(r.oldest_seconds, age, sizeof age)
                                                   : "-",
               r.messages ? r.oldest_id : "empty");
        for (size_t i = 0; i < r.frozen_senders; i++)
            print_sender("frozen", &r.frozen_by_sender[i]);
        for (size_t i = 0; i < r.held_senders; i++)
            print_sender("held", &r.held_by_sender[i]);
    }
    over |= limit(env, "bounces", r.bounces, o.max_bounces,
                  "bounces in the queue: backscatter of spam with forged senders?", &first);
    over |= limit(env, "domains", r.domains, o.max_domains,
                  "destination domains: a spam run through a guessed password or a script?",
                  &first);
    over |= limit(env, "frozen", r.frozen, o.max_frozen,
                  "frozen messages (exim -bp; exim -Mvl ID)", &first);
    over |= limit(env, "per_sender", per_sender, o.max_per_sender,
                  "frozen or held messages from one sender (listed above)", &first);
    over |= limit(env, "age", r.oldest_seconds, o.max_age, "seconds: the oldest message",
                  &first);
    if (env->json)
        printf("]");

    if (o.dnsbl) {
        if (o.naddress == 0)
            own_addresses(&o);
        if (o.nzone == 0)
            for (size_t z = 0; z < sizeof default_zones / sizeof default_zones[0]; z++)
                o.zone[o.nzone++] = default_zones[z];
        if (env->json)
            printf(",\"dnsbl\":[");
        else if (o.naddress == 0)
            printf("dnsbl: no public address on this host; name the sending addresses with "
                   "--address\n");
        first = 0;
        for (int a = 0; a < o.naddress; a++)
            for (int z = 0; z < o.nzone; z++) {
                char answer[64], text[512];
                int v = dnsbl_check(o.address[a], o.zone[z], o.resolver, answer, sizeof answer,
                                    text, sizeof text);
                listed |= v == DNSBL_LISTED;
                if (env->json) {
                    printf("%s{\"address\":", first++ ? "," : "");
                    ctl_json_string(stdout, o.address[a]);
                    printf(",\"zone\":");
                    ctl_json_string(stdout, o.zone[z]);
                    printf(",\"listed\":%s,\"answer\":",
                           v == DNSBL_LISTED ? "true" : v == DNSBL_ERROR ? "null" : "false");
                    ctl_json_string(stdout, answer);
                    printf(",\"text\":");
                    ctl_json_string(stdout, text);
                    printf("}");
                } else if (v == DNSBL_LISTED) {
                    printf("LISTED %s on %s (%s)%s%s\n", o.address[a], o.zone[z], answer,
                           text[0] ? ": " : "", ctl_safe(text));
                } else if (v == DNSBL_ERROR) {
                    printf("dnsbl: %s on %s: %s\n", o.address[a], o.zone[z], ctl_safe(text));
                } else {
                    printf("dnsbl: %s not on %s\n", o.address[a], o.zone[z]);
                }
            }
        if (env->json)
            printf("]");
    }
    if (env->json)
        printf("}\n");
    return over || listed ? CTL_PROBLEM : CTL_OK;
}
