/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harvest.h - counting invalid recipients per client, network, sender
 * domain and target domain, and the escalating blocks they lead to.
 *
 * Store keys: rcpt:ip:<ip>, rcpt:net:<net>, rcpt:sdom:<domain>, rcpt:bip:<ip>
 * (unknown recipients of null-sender mail), rcpt:tp:<ip> (tarpits begun
 * lately) (sliding counters), rcpt:dom:<domain> (distinct unknown local parts),
 * rcpt:block:<ip|net> (a block, value "<level> <until>"), and
 * rcpt:offense:<ip|net> (how often it was blocked lately).
 */
#ifndef MOAT_RCPT_HARVEST_H
#define MOAT_RCPT_HARVEST_H

#include <confuse.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

typedef struct harvest_state {
    uint64_t ip_count;        /* invalid recipients from this client in the window */
    uint64_t net_count;
    uint64_t sdom_count;
    uint64_t domain_distinct; /* distinct unknown local parts at the target domain */
    int under_attack;         /* the target domain is being harvested */
    int blocked;              /* this note crossed a threshold: the client is now blocked */
    int uncounted;            /* a bounce: in its own counter, not ip/net/sender domain */
    uint64_t bounce_count;    /* unknown recipients of null-sender mail from this client */
    int held;                 /* the sender domain is over its threshold: no block, a 451 */
    const char *tripped;      /* "ip", "net", "bounce" (blocks); "sender_domain" (held) */
    long block_seconds;
} harvest_state;

/* harvest_network - the client's network key ("198.51.100.0/24"); "" if ip is not an IP */
void harvest_network(cfg_t *sec, const char *ip, char *out, size_t cap);

/* harvest_blocked - 1 if ip or its network is blocked now, 0 if not, -1 on a store error */
int harvest_blocked(moat_store *st, cfg_t *sec, const char *ip, time_t now, long *until);

/* harvest_note - count one invalid recipient; may block; 0 or -1 on a store error */
int harvest_note(moat_store *st, cfg_t *sec, const char *ip, const char *sender,
                 const char *domain, const char *local_part, time_t now, harvest_state *hs);

/* harvest_under_attack - whether the domain is under attack; -1 on a store error */
int harvest_under_attack(moat_store *st, cfg_t *sec, const char *domain, time_t now);

/* harvest_ip_count - invalid recipients from ip in the window; -1 on a store error */
long harvest_ip_count(moat_store *st, cfg_t *sec, const char *ip, time_t now);

/*
 * harvest_tarpit_begins - count one tarpit begun for ip; 1 while no more
 * than tarpit_concurrency tarpits of other sessions began within
 * tarpit_max (the session's own earlier ones, `own` of them, came one
 * after the other and are allowed for), so the delay may go ahead; 0 when
 * it may not (the client holds enough connection slots in the tarpit
 * already); -1 on a store error
 */
int harvest_tarpit_begins(moat_store *st, cfg_t *sec, const char *ip, long own, time_t now);

/*
 * harvest_unblock - lift a block (and forget the offense level) of an ip or
 * network, and forget its invalid-recipient counts (null-sender ones
 * too; for an ip, its network's as well): the next typo must not block it
 * again at once.
 */
int harvest_unblock(moat_store *st, cfg_t *sec, const char *ip_or_net);

#endif
