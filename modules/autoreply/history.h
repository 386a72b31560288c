/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * history.h - what the autoreply module remembers, in the shared store.
 *
 * Keys (all under "autoreply:"; an over-long subject is replaced by
 * "#" and a 64-bit hash of it):
 *   never:<message-id>           inbound mail classified never-answer (reasons)
 *   ours:<message-id>            our own auto-replies and NDRs
 *   suspect:<address>            sent spam or forged mail: no NDR, no reply
 *   got:<local>|<remote>         remote's auto-reply reached our local (ping-pong)
 *   sent:<responder>|<dest>      responder answered dest (once per period)
 *   bounced:<address>            an automatic answer to it failed
 *   known:<address>              our users wrote to it (external = known)
 *   cap:a:<address>, cap:d:<domain>   counters of automatic mail per destination
 */
#ifndef MOAT_AUTOREPLY_HISTORY_H
#define MOAT_AUTOREPLY_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

typedef enum {
    HIST_NEVER = 0, HIST_OURS, HIST_SUSPECT, HIST_GOT, HIST_SENT, HIST_BOUNCED, HIST_KNOWN,
    HIST_KIND_COUNT
} hist_kind;

/* history_key - the store key of kind for subject a (and b for pairs); lower-cased */
void history_key(hist_kind kind, const char *a, const char *b, char *key, size_t cap);

/* history_mark - record kind for ttl_s seconds with a short note; 0, or -1 with *why */
int history_mark(moat_store *st, hist_kind kind, const char *a, const char *b,
                 const char *note, uint32_t ttl_s, time_t now, const char **why);

/*
 * history_mark_new - the same, only if not recorded already, in one atomic
 * step: 1 recorded now, 0 it was already (another process was first), -1
 * with *why
 */
int history_mark_new(moat_store *st, hist_kind kind, const char *a, const char *b,
                     const char *note, uint32_t ttl_s, time_t now, const char **why);

/* history_has - 1 if recorded and not expired, 0 if not, -1 on a store error */
int history_has(moat_store *st, hist_kind kind, const char *a, const char *b, time_t now,
                const char **why);

/*
 * history_count - add one automatic message to dest's counters (address
 * and domain) within window_s; totals afterwards. 0, or -1 with *why.
 */
int history_count(moat_store *st, const char *dest, uint32_t window_s, time_t now,
                  uint64_t *address_total, uint64_t *domain_total, const char **why);

/*
 * history_list - call fn for every record whose key names address (any
 * case): the key without "autoreply:", its note, its expiry (0 for
 * counters). 0, or -1 on a store error.
 */
typedef int (*history_fn)(const char *key, const char *note, time_t expires, void *arg);
int history_list(moat_store *st, const char *address, time_t now, history_fn fn, void *arg);

#endif
