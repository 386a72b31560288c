/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harvest.c - harvest counters, domain-wide attack state, escalating blocks.
 */
#include "harvest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "block.h"
#include "config.h"
#include "net.h"
#include "store_keys.h"

/* network_of - the network key of ip ("" if ip is not an IP), kept until the next call */
static const char *network_of(cfg_t *sec, const char *ip)
{
    /* An Exim process serves one client: its network is worked out once. */
    static char last_ip[MOAT_IP_TEXT_MAX], last_net[MOAT_IP_TEXT_MAX];
    static int last_v4 = -1, last_v6 = -1;
    int v4 = (int)moat_cfg_int(sec, "v4_prefix"), v6 = (int)moat_cfg_int(sec, "v6_prefix");
    size_t n = strlen(ip);
    moat_ip parsed;

    if (v4 != last_v4 || v6 != last_v6 || strcmp(ip, last_ip) != 0) {
        if (n >= sizeof last_ip || net_parse_ip(ip, &parsed) != 0)
            last_net[0] = '\0';
        else
            net_network(&parsed, v4, v6, last_net, sizeof last_net);
        if (n >= sizeof last_ip)
            n = 0;
        memcpy(last_ip, ip, n);
        last_ip[n] = '\0';
        last_v4 = v4;
        last_v6 = v6;
    }
    return last_net;
}

void harvest_network(cfg_t *sec, const char *ip, char *out, size_t cap)
{
    snprintf(out, cap, "%s", network_of(sec, ip));
}

int harvest_blocked(moat_store *st, cfg_t *sec, const char *ip, time_t now, long *until)
{
    /* the client and its network in one read: asked for every RCPT */
    return block_active_either(st, "rcpt", ip, network_of(sec, ip), now, until);
}

/*
 * block - the next escalation step for subject (an ip or a network): 0,
 * with *seconds the new block's length (0 when a concurrent session began
 * it already), or -1 on a store error
 */
static int block(moat_store *st, cfg_t *sec, const char *subject, time_t now, long *seconds)
{
    block_policy policy = {moat_cfg_int(sec, "block_time"), moat_cfg_int(sec, "block_max"),
                           moat_cfg_int(sec, "repeat_window"), 0, 0};

    return block_escalate(st, "rcpt", subject, &policy, now, seconds) < 0 ? -1 : 0;
}

/*
 * The domain-wide state is a count of distinct local parts, which LMDB
 * counts member by member; once a domain is found under attack a flag
 * says so for one slot of the window, and until it expires members are
 * still added but not counted again.
 */
static void attack_flag_key(char *buf, size_t cap, const char *domain)
{
    rcpt_key(buf, cap, RCPT_KEY_ATTACK, domain);
}

/*
 * attack_flagged - 1 if the flag is up for a threshold at least this
 * config's (it holds the threshold it was raised at), 0 if not, -1 on a
 * store error
 */
static int attack_flagged(moat_store *st, cfg_t *sec, const char *domain, time_t now)
{
    char key[300], val[24];
    store_status s;

    attack_flag_key(key, sizeof key, domain);
    s = moat_store_get_str(st, key, val, sizeof val, NULL, now);
    if (s != STORE_OK)
        return s == STORE_ERROR ? -1 : 0;
    return strtol(val, NULL, 10) >= moat_cfg_int(sec, "domain_attack_threshold");
}

static int raise_attack_flag(moat_store *st, cfg_t *sec, const char *domain, time_t now)
{
    char key[300], val[24];
    long ttl = moat_cfg_int(sec, "domain_attack_window") / MOAT_WINDOW_SLOTS;

    attack_flag_key(key, sizeof key, domain);
    snprintf(val, sizeof val, "%ld", moat_cfg_int(sec, "domain_attack_threshold"));
    return moat_store_set(st, key, val, strlen(val), (uint32_t)(ttl < 1 ? 1 : ttl), now) ==
                   STORE_OK ? 0 : -1;
}

int harvest_under_attack(moat_store *st, cfg_t *sec, const char *domain, time_t now)
{
    char key[300];
    uint64_t n = 0;
    int r;

    if ((r = attack_flagged(st, sec, domain, now)) != 0)
        return r;
    rcpt_key(key, sizeof key, RCPT_KEY_DOM, domain);
    if (moat_store_distinct_add_max(st, key, NULL,
                                    (uint32_t)moat_cfg_int(sec, "domain_attack_window"), now,
                                    (uint64_t)moat_cfg_int(sec, "domain_attack_threshold"),
                                    &n) != STORE_OK)
        return -1;
    return n >= (uint64_t)moat_cfg_int(sec, "domain_attack_threshold");
}

long harvest_ip_count(moat_store *st, cfg_t *sec, const char *ip, time_t now)
{
    char key[128];
    uint64_t n = 0;

    rcpt_key(key, sizeof key, RCPT_KEY_IP, ip);
    if (moat_store_counter_get(st, key, (uint32_t)moat_cfg_int(sec, "window"), now, &n) != STORE_OK)
        return -1;
    return (long)n;
}

/* threshold - a configured threshold, tightened while the domain is under attack */
static uint64_t threshold(cfg_t *sec, const char *name, int under_attack)
{
    long t = moat_cfg_int(sec, name);

    if (under_attack)
        t /= moat_cfg_int(sec, "domain_attack_divisor");
    return (uint64_t)(t < 1 ? 1 : t);
}

/* note_counts - harvest_note's store work, inside one batch */
static int note_counts(moat_store *st, cfg_t *sec, const char *ip, const char *sender,
                       const char *domain, const char *local_part, time_t now,
                       harvest_state *hs)
{
    uint32_t window = (uint32_t)moat_cfg_int(sec, "window");
    char key[400], net[MOAT_IP_TEXT_MAX], lp[ADDR_LOCAL_MAX * 2 + 3];
    const char *at = sender ? strrchr(sender, '@') : NULL;
    uint64_t attack_at = (uint64_t)moat_cfg_int(sec, "domain_attack_threshold");
    int flagged;

    memset(hs, 0, sizeof *hs);
    addr_lower(local_part, lp, sizeof lp);
    if ((flagged = attack_flagged(st, sec, domain, now)) < 0)
        return -1;
    rcpt_key(key, sizeof key, RCPT_KEY_DOM, domain);
    if (moat_store_distinct_add_max(st, key, lp,
                                    (uint32_t)moat_cfg_int(sec, "domain_attack_window"), now,
                                    flagged ? 1 : attack_at, &hs->domain_distinct) != STORE_OK)
        return -1;
    if (flagged)
        hs->domain_distinct = attack_at;   /* at least */
    hs->under_attack = hs->domain_distinct >= attack_at;
    if (hs->under_attack && !flagged && raise_attack_flag(st, sec, domain, now) != 0)
        return -1;

    /* A bounce (null sender) to an unknown address is often backscatter of
     * spam that forged our domain, relayed by MTAs that are not harvesting;
     * but the null sender is also what a harvester uses to pass for one.
     * So bounces have their own counter per client and their own
     * threshold, and touch none of the ordinary counters (unless
     * count_bounces says they are ordinary mail). A legitimate MTA that is
     * blocked by it only waits: a block answers 451. */
    if ((sender == NULL || *sender == '\0') && !moat_cfg_bool(sec, "count_bounces")) {
        hs->uncounted = 1;
        if (ip == NULL || *ip == '\0')
            return 0;
        rcpt_key(key, sizeof key, RCPT_KEY_BIP, ip);
        if (moat_store_counter_add(st, key, window, 1, now, &hs->bounce_count) != STORE_OK)
            return -1;
        if (hs->bounce_count < threshold(sec, "bounce_threshold", hs->under_attack))
            return 0;
        hs->tripped = "bounce";
        hs->blocked = 1;
        return block(st, sec, ip, now, &hs->block_seconds);
    }
    if (ip && *ip) {
        rcpt_key(key, sizeof key, RCPT_KEY_IP, ip);
        if (moat_store_counter_add(st, key, window, 1, now, &hs->ip_count) != STORE_OK)
            return -1;
        harvest_network(sec, ip, net, sizeof net);
        if (net[0]) {
            rcpt_key(key, sizeof key, RCPT_KEY_NET, net);
            if (moat_store_counter_add(st, key, window, 1, now, &hs->net_count) != STORE_OK)
                return -1;
        }
    } else {
        net[0] = '\0';
    }
    if (at && at[1]) {
        char dom[ADDR_DOMAIN_MAX + 1];
        addr_lower(at + 1, dom, sizeof dom);
        rcpt_key(key, sizeof key, RCPT_KEY_SDOM, dom);
        if (moat_store_counter_add(st, key, window, 1, now, &hs->sdom_count) != STORE_OK)
            return -1;
    }
    if (ip == NULL || *ip == '\0')
        return 0;   /* nothing to block: a local submission */
    if (net[0] && hs->net_count >= threshold(sec, "net_threshold", hs->under_attack)) {
        hs->tripped = "net";
        hs->blocked = 1;
        return block(st, sec, net, now, &hs->block_seconds);
    }
    if (hs->ip_count >= threshold(sec, "ip_threshold", hs->under_attack)) {
        hs->tripped = "ip";
        hs->blocked = 1;
        return block(st, sec, ip, now, &hs->block_seconds);
    }
    /* Anyone can forge a sender domain: its count never blocks a client
     * (the partner's own MTA would be blocked for an attacker's doing);
     * it holds that domain's mail with unknown recipients for a while. */
    if (hs->sdom_count >= threshold(sec, "sender_domain_threshold", hs->under_attack)) {
        hs->tripped = "sender_domain";
        hs->held = 1;
    }
    return 0;
}

/* The counters and the block of one unknown recipient are one write: one
 * LMDB transaction instead of four or five. */
int harvest_note(moat_store *st, cfg_t *sec, const char *ip, const char *sender,
                 const char *domain, const char *local_part, time_t now, harvest_state *hs)
{
    int rc;

    (void)moat_store_batch_begin(st);   /* without it each call writes alone */
    rc = note_counts(st, sec, ip, sender, domain, local_part, now, hs);
    if (moat_store_batch_end(st) != STORE_OK)
        rc = -1;
    return rc;
}

int harvest_tarpit_begins(moat_store *st, cfg_t *sec, const char *ip, long own, time_t now)
{
    char key[128];
    uint64_t n = 0;
    long span = moat_cfg_int(sec, "tarpit_max");

    if (ip == NULL || *ip == '\0')
        return 1;
    rcpt_key(key, sizeof key, RCPT_KEY_TARPIT, ip);
    if (moat_store_counter_add(st, key, (uint32_t)(span < 1 ? 1 : span), 1, now, &n) != STORE_OK)
        return -1;
    return n <= (uint64_t)(moat_cfg_int(sec, "tarpit_concurrency") + (own > 0 ? own : 0));
}

int harvest_unblock(moat_store *st, cfg_t *sec, const char *ip_or_net)
{
    char key[400], net[MOAT_IP_TEXT_MAX];

    if (block_lift(st, "rcpt", ip_or_net) != 0)
        return -1;
    rcpt_key(key, sizeof key, RCPT_KEY_IP, ip_or_net);
    if (moat_store_del(st, key) == STORE_ERROR)
        return -1;
    rcpt_key(key, sizeof key, RCPT_KEY_BIP, ip_or_net);
    if (moat_store_del(st, key) == STORE_ERROR)
        return -1;
    rcpt_key(key, sizeof key, RCPT_KEY_NET, ip_or_net);
    if (moat_store_del(st, key) == STORE_ERROR)
        return -1;
    harvest_network(sec, ip_or_net, net, sizeof net);
    if (net[0] != '\0') {
        rcpt_key(key, sizeof key, RCPT_KEY_NET, net);
        if (moat_store_del(st, key) == STORE_ERROR)
            return -1;
    }
    return 0;
}
