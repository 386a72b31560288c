/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rejects.h - recipients of an authenticated user's mail that remote
 * servers reject (issue 9): a hijacked account spraying made-up addresses
 * collects 5xx answers to RCPT from remote MX hosts, a real user a typo
 * now and then. Exim reports each failed or deferred recipient through the
 * smtp transport's event_action (msg:fail:delivery, msg:rcpt:defer); the
 * distinct rejected recipients of the day are counted per user and, past
 * send_reject_floor and send_reject_percent of the user's distinct
 * recipients, contain the user as the volume limit does.
 */
#ifndef MOAT_AUTHLOCK_REJECTS_H
#define MOAT_AUTHLOCK_REJECTS_H

#include "api.h"

#include <stdint.h>
#include <time.h>

#include "runtime.h"
#include "verdict.h"

/* What the rejections of a user's recipients say about the user. */
typedef enum {
    REJECTS_FINE,      /* below half the floor, or a small share of what was sent */
    REJECTS_WARNING,   /* past half the floor and the share: tell the admin */
    REJECTS_OVER       /* past the floor and the share: contain the user */
} rejects_state;

/*
 * authlock_remote_rejection - whether an Exim event reports a remote
 * server's refusal of the recipient at RCPT: msg:fail:delivery with a 5xx
 * (not a 5.7.x policy answer such as a blocklist or relaying denied: those
 * say nothing of the address), or msg:rcpt:defer with a 4xx whose enhanced
 * status is 4.1.x (a bad address, answered temporarily). data is Exim's
 * $event_data, "SMTP error from remote mail server after RCPT TO:<...>:
 * 550 5.1.1 ...". 1 or 0.
 */
int authlock_remote_rejection(const char *event, const char *data);

/*
 * authlock_rejects_judge - the state for rejected distinct recipients out
 * of sent distinct recipients (the day's), given floor (0: never) and
 * percent.
 */
rejects_state authlock_rejects_judge(uint64_t rejected, uint64_t sent, long floor, long percent);

/*
 * authlock_rejects_state - the user's rejected recipients of the day
 * (*rejected) and their state against sent; 0, -1 on a store error.
 */
int authlock_rejects_state(moat_runtime *rt, const char *ukey, uint64_t sent, time_t now,
                           uint64_t *rejected, rejects_state *state);

/*
 * authlock_rejected - one event of a delivery of the user's mail: counts
 * the recipient when a remote server refused it and contains the user past
 * the limit (the sending lock, one error line; log-only: the line alone).
 * v: action=accept with reason=not_counted|rejected|reject_limit|sending_locked
 * and rejected=N. 0, -1 on a store error.
 */
MOAT_API int authlock_rejected(moat_runtime *rt, const char *event, const char *user,
                      const char *recipient, const char *data, time_t now, moat_verdict *v,
                      const char **why);

/* authlock_rejects_forget - forget the day's rejected recipients of a user (unlock) */
int authlock_rejects_forget(moat_runtime *rt, const char *ukey);

#endif
