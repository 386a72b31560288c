/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue_report.h - what Exim's queue listing (exim -bp / -bpr) says about
 * the incidents nobody watches: bounces piling up, mail to many distinct
 * domains, frozen messages and messages held for long, by sender, and the
 * oldest message. Pure: the listing in, the counts out. Every sender and
 * recipient in the listing came from the wire: bounded, never trusted.
 */
#ifndef MOATCTL_QUEUE_REPORT_H
#define MOATCTL_QUEUE_REPORT_H

#include <stddef.h>

#include "exim_queue.h"

#define QUEUE_TOP_MAX 10
#define QUEUE_KEY_MAX 256

typedef struct queue_top {
    char key[QUEUE_KEY_MAX];    /* a sender ("<>" for bounces) */
    long count;
} queue_top;

typedef struct queue_report {
    long messages;
    long bounces;               /* null sender */
    long frozen;
    long held;                  /* not frozen, waiting longer than held_after */
    long recipients;            /* not yet delivered */
    long domains;               /* distinct destination domains of those */
    long oldest_seconds;
    char oldest_id[EXIM_MSGID_MAX];
    queue_top frozen_by_sender[QUEUE_TOP_MAX];
    size_t frozen_senders;
    queue_top held_by_sender[QUEUE_TOP_MAX];
    size_t held_senders;
    long bad_lines;             /* lines that are neither a message nor a recipient */
} queue_report;

/*
 * exim_age_seconds - an age as -bp prints it ("25m", " 3h", "2d", "45s",
 * "1w"), in seconds; -1 when it is not one
 */
long exim_age_seconds(const char *text);

/*
 * queue_report_parse - read a -bp listing of len bytes (not NUL-terminated
 * necessarily) into r; held_after: seconds after which a message that is
 * not frozen counts as held. 0, or -1 out of memory.
 */
int queue_report_parse(const char *listing, size_t len, long held_after, queue_report *r);

#endif
