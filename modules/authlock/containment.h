/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * containment.h - outbound containment of authenticated users (issue 9):
 * the first sign of a guessed password is a queue full of spam sent as
 * that user. Per user, the distinct recipients of the last day are counted
 * against a limit learned from the user's own history; past half of it the
 * user's messages are held (frozen) for review, past the limit further mail
 * is deferred and the account is locked for AUTH until an admin unlocks it.
 * Recipients refused by remote servers (rejects.h) do the same on their own
 * limit.
 */
#ifndef MOAT_AUTHLOCK_CONTAINMENT_H
#define MOAT_AUTHLOCK_CONTAINMENT_H

#include "api.h"

#include <time.h>

#include "runtime.h"
#include "verdict.h"

/*
 * authlock_submit - one RCPT of an authenticated user (first: the message's
 * first recipient): action=accept (held=yes when the message must wait for
 * review) or action=defer when the user is over the limit. 0, -1 on a store
 * error.
 */
MOAT_API int authlock_submit(moat_runtime *rt, const char *user, const char *recipient, int first,
                    time_t now, moat_verdict *v, const char **why);

/* authlock_sending_locked - whether the user's account is locked for sending: 1/0/-1 */
int authlock_sending_locked(moat_runtime *rt, const char *ukey, time_t now);

/* authlock_lock_sending - lock the user for sending and AUTH for send_lock_time: 0/-1 */
int authlock_lock_sending(moat_runtime *rt, const char *ukey, time_t now);

/* authlock_release - lift the sending lock and forget the day's recipients of a user */
int authlock_release(moat_runtime *rt, const char *ukey);

#endif
