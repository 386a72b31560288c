/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ladder.h - the escalation ladder of authlock:
 *   1. the tarpit: from the tarpit_after-th failure of a client each AUTH
 *      waits, tarpit_base doubling per further failure up to tarpit_max
 *      (Dovecot's auth penalty: 2, 4, 8, 15 s);
 *   2. a temporary block of the IP, network or ASN, block_time doubling on
 *      each repeat within repeat_window up to block_max (fail2ban's
 *      bantime.increment);
 *   3. from the repeat_after-th block on: the repeat-offender block,
 *      repeat_block (fail2ban's recidive jail).
 * Users are locked per location class: user_lock_time, doubling on repeat.
 * The blocks themselves live in the store (common/block.h).
 */
#ifndef MOAT_AUTHLOCK_LADDER_H
#define MOAT_AUTHLOCK_LADDER_H

#include <confuse.h>
#include <stdint.h>

#include "block.h"

/* ladder_tarpit - seconds an AUTH waits after failures of its client (0 = none) */
long ladder_tarpit(cfg_t *sec, uint64_t failures);

/* ladder_client_policy - the block policy of IPs, networks and ASNs */
block_policy ladder_client_policy(cfg_t *sec);

/* ladder_user_policy - the lock policy of a user in one location class */
block_policy ladder_user_policy(cfg_t *sec);

#endif
