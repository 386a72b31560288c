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

#include "store.h"

#define STATS_PREFIX "stats:"

/* moat_stats_attach - count into st from now on (NULL: stop); set by the runtime */
void moat_stats_attach(moat_store *st);

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
 * moat_stats_key - "stats:MODULE:ACTION:REASON" into buf when the three are
 * labels (logline_word_ok); 0, or -1 when they are not
 */
int moat_stats_key(char *buf, size_t cap, const char *module, const char *action,
                   const char *reason);

#endif
