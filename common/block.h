/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block.h - escalating blocks in the state store, shared by the modules
 * that block clients (rcpt's harvest blocks, authlock's lockouts).
 *
 * A block of SUBJECT under PREFIX lives at "<prefix>:block:<subject>" for
 * its duration; "<prefix>:offense:<subject>" remembers how often SUBJECT was
 * blocked within the repeat window. Each new block lasts base x 2^offences,
 * capped at max; from the repeat_after-th offence on, repeat_block (the
 * repeat-offender stage).
 */
#ifndef MOAT_BLOCK_H
#define MOAT_BLOCK_H

#include <time.h>

#include "store.h"

typedef struct block_policy {
    long base;            /* seconds of the first block */
    long max;             /* cap of the doubling */
    long repeat_window;   /* how long offences are remembered */
    long repeat_after;    /* offences before the long block (0 = never) */
    long repeat_block;    /* seconds of the long block */
} block_policy;

/* block_active - 1 when subject is blocked (its end in *until), 0 if not, -1 on a store error */
int block_active(moat_store *st, const char *prefix, const char *subject, time_t now,
                 long *until);

/*
 * block_active_either - block_active for two subjects (an address and its
 * network; b may be "") in one read of the store: 1 when either is blocked
 * (its end in *until), 0 if neither, -1 on a store error
 */
int block_active_either(moat_store *st, const char *prefix, const char *a, const char *b,
                        time_t now, long *until);

/*
 * block_escalate - block subject for its next step: 1 when this call began
 * the block (*seconds its length), 0 when subject was blocked already
 * (nothing changes, *seconds = 0: concurrent failures that cross a
 * threshold together begin one block, not one escalation each), -1 on a
 * store error. Starting the block is one atomic step on both backends.
 */
int block_escalate(moat_store *st, const char *prefix, const char *subject,
                   const block_policy *policy, time_t now, long *seconds);

/* block_lift - end the block of subject and forget its offences; 0 or -1 */
int block_lift(moat_store *st, const char *prefix, const char *subject);

/*
 * block_scan_prefix - what every block key under prefix starts with
 * ("<prefix>:block:"), into buf; its length. A key found by scanning it
 * names its subject after those bytes.
 */
size_t block_scan_prefix(char *buf, size_t cap, const char *prefix);

#endif
