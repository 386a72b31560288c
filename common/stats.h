/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.h - decision counters for the metrics: every line moat logs of the
 * form "moat MODULE: action=A reason=R ..." (docs/logging.md) adds one to
 * the tally "stats:MODULE:A:R" in the state store, so what is counted is
 * exactly what is logged, in one place, whatever module decided. moatctl
 * metrics reads them back (moat_decisions_total).
 */
#ifndef MOAT_STATS_H
#define MOAT_STATS_H

#include "api.h"
#include "store.h"

#define STATS_PREFIX "stats:"

/*
 * moat_stats_attach - count into st from now on (NULL: stop), after writing
 * what is held; set by the runtime
 */
void moat_stats_attach(moat_store *st);

/*
 * moat_stats_hold - with on set, the counts of moat_stats_count (decisions
 * without a line: a good recipient's) are held in the process and written
 * together: by moat_stats_flush, when STATS_HOLD_MAX are held, or when a
 * decision does not fit the STATS_HOLD_KEYS kinds held. Exim's processes
 * hold (the glue): a good recipient then costs no store write of its own,
 * and an SMTP session's are written by the next call that is not made per
 * RCPT (DATA, QUIT, notquit). Logged decisions are written at once, held
 * or not. Off (moatctl, the tests): each count is written at once.
 */
#define STATS_HOLD_MAX 64
#define STATS_HOLD_KEYS 16
MOAT_API void moat_stats_hold(int on);

/* moat_stats_flush - write the counts held (a tally write per kind); none held: nothing done */
MOAT_API void moat_stats_flush(void);

/*
 * moat_stats_note - count the decision line records (the log tap). Never
 * logs; leaves the store's last error as it was. After a failed write it
 * counts nothing for STATS_PAUSE seconds, so a store that is down costs a
 * process one timeout per pause, not one per decision.
 */
#define STATS_PAUSE 60
void moat_stats_note(const char *line);

/*
 * moat_stats_count - count one decision of module without its line: what
 * moat_stats_note does with the line "moat MODULE: action=ACTION
 * reason=REASON", for a decision whose line is below the log level (the
 * caller asked moat_log_wanted) and so never formatted
 */
void moat_stats_count(const char *module, const char *action, const char *reason);

/*
 * moat_stats_uncount - take back one count of moat_stats_count that is
 * still held (a provisional decision the same RCPT then replaced: rcpt's
 * first router counts a recipient valid that no router of Exim's takes).
 * Nothing when none is held.
 */
MOAT_API void moat_stats_uncount(const char *module, const char *action, const char *reason);

/*
 * moat_stats_key - "stats:MODULE:ACTION:REASON" into buf when the three are
 * labels (logline_word_ok); 0, or -1 when they are not
 */
int moat_stats_key(char *buf, size_t cap, const char *module, const char *action,
                   const char *reason);

#endif
