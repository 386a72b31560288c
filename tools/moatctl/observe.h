/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe.h - what moatctl metrics and report read out of the state store:
 * the decision tallies, the live blocks and locks, near misses, cached
 * probe verdicts, the store's use. Everything read is treated as hostile
 * (planted or damaged values are skipped, never trusted as text).
 */
#ifndef MOATCTL_OBSERVE_H
#define MOATCTL_OBSERVE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runtime.h"

typedef struct obs_tally {
    char module[49], action[49], reason[49];
    uint64_t count;
} obs_tally;

typedef struct obs_block {
    char module[16];      /* rcpt | authlock */
    char kind[8];         /* ip | net | asn | user */
    char subject[300];    /* the address, network, ASN or user */
    char scope[16];       /* a user's lock: logins from "familiar" or "unfamiliar"
                             places, or "sending" (outbound containment); else "" */
    long until;
} obs_block;

typedef struct obs_near {
    char address[300];
    char closest[300];
    long count;
} obs_near;

typedef struct obs_state {
    int store_up;
    char store_error[256];
    char backend[16];
    uint64_t used, limit;       /* moat_store_usage */
    obs_tally *tallies;
    size_t ntallies;
    obs_block *blocks;
    size_t nblocks;
    obs_near *near;
    size_t nnear;
    size_t probe_verdicts[3];   /* cached, by probe_verdict: inconclusive, catchall, not_catchall */
} obs_state;

/* obs_collect - read everything; 0, or -1 when the store failed (store_error says why) */
int obs_collect(moat_runtime *rt, time_t now, obs_state *o);
void obs_free(obs_state *o);

/*
 * obs_split_scope - authlock locks a user per scope ("alice:unfamiliar":
 * logins from places new to her; "alice:sending": her outbound mail): the
 * scope cut off user into scope
 */
void obs_split_scope(char *user, char *scope, size_t cap);

/* obs_probe_verdict_name - 0..2 (probe_verdict) as inconclusive, catchall, not_catchall */
const char *obs_probe_verdict_name(int i);

#endif
