/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * autoreply.h - no auto-reply or NDR to spam, robots or loops. Pure logic:
 * no Exim symbol (exim.c is the only caller that knows Exim).
 *
 * Inbound (autoreply.c): classify each message (classify.c) and remember
 * what the outbound gate needs (history.c). Outbound (gate.c): let an
 * auto-reply or NDR leave only when no rule says no, and record it.
 * Every entry returns a verdict (docs/autoreply.md lists its keys).
 */
#ifndef MOAT_AUTOREPLY_H
#define MOAT_AUTOREPLY_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "classify.h"
#include "headers.h"
#include "history.h"
#include "runtime.h"
#include "verdict.h"

#define AUTOREPLY_PERIOD_MIN 86400L
#define AUTOREPLY_PERIOD_MAX (60L * 86400)

enum { EXTERNAL_ALL = 0, EXTERNAL_KNOWN = 1, EXTERNAL_NONE = 2 };

typedef struct autoreply_config {
    uint32_t period;          /* once per (responder, destination); clamped to 1..60 days */
    uint32_t suspect_ttl, known_ttl, bounced_ttl, cap_window;
    uint64_t cap_address, cap_domain;
    int external;             /* EXTERNAL_* */
    cfg_t *sec;               /* for local_domains */
    classify_input rules;     /* spam_threshold, max_hops, spf_mask */
} autoreply_config;

/* autoreply_config_load - the autoreply section as the logic uses it */
void autoreply_config_load(const moat_runtime *rt, autoreply_config *cfg);

typedef struct autoreply_message {
    const char *headers;       /* the header block as received (a body after it is ignored) */
    size_t headers_len;
    const char *sender;        /* envelope sender, "" = null */
    const char *recipients;    /* envelope recipients, comma-separated */
    const char *spam_score;    /* "" when not scanned */
    const char *spf_result;    /* "" when not checked */
    int catchall_only;
    time_t now;
} autoreply_message;

/*
 * autoreply_inbound - classify a message arriving for our users, and
 * record it: verdict action=accept class=never|answerable [reasons=a,b]
 * [suspect=yes]. 0 (when the store fails the verdict is made all the
 * same - classifying needs no store - and the failure logged), or -1 with
 * *why when there is no verdict (memory).
 */
MOAT_API int autoreply_inbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                      const char **why);

/* autoreply_classify_text - the same verdict without touching the store but to read it */
int autoreply_classify_text(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                            const char **why);

/*
 * autoreply_outbound - a message leaving (submitted, relayed for a server
 * behind us, or generated here: Exim's autoreply transport, bounces). An
 * auto-reply or NDR that must not leave gets action=discard reason=...;
 * anything else action=accept kind=personal|notification|reply|report,
 * with the classification's class= and reasons= (the ACL stamps a never
 * message for local recipients and downstream responders).
 */
MOAT_API int autoreply_outbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                       const char **why);

/*
 * autoreply_delivery_failed - Exim's msg:fail:delivery event for one
 * recipient of a message we sent: when that message was an auto-reply,
 * no further automatic answer goes to the recipient for bounced_ttl.
 */
MOAT_API int autoreply_delivery_failed(moat_runtime *rt, const autoreply_message *m,
                              const char *recipient, moat_verdict *v, const char **why);

/*
 * autoreply_vacation_check - may user (the address a responder answers
 * for) answer this message from sender? 1 yes; 0 no, with *reason
 * (sender_unreplyable's kinds, not_addressed); the reason is logged. The
 * user's own address and the `addresses` of its `user` section in
 * moat.conf count as addressed (RFC 5230 4.5, Sieve's :addresses).
 * rt may be NULL (config unusable): then only the user's own address.
 */
MOAT_API int autoreply_vacation_check(moat_runtime *rt, const autoreply_message *m, const char *user,
                             const char **reason);

/* Shared by autoreply.c and gate.c. */

/* autoreply_refers_to - In-Reply-To/References name an id recorded as kind: 1, 0, -1 */
int autoreply_refers_to(moat_store *st, const header_block *hb, hist_kind kind, time_t now,
                        const char **why);

/*
 * autoreply_classify_append - classify and record as inbound does, adding
 * class=, reasons=, suspect=, report= to v (what leaves may reach local
 * users and downstream responders too). 0 or -1.
 */
int autoreply_classify_append(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                              const char **why);

/* autoreply_local_domain - whether address is in one of local_domains */
int autoreply_local_domain(const autoreply_config *cfg, const char *address);

/* autoreply_message_id - the message's own Message-ID, lower-cased, or "" */
void autoreply_message_id(const header_block *hb, char out[1000]);

/* autoreply_each_recipient - fn for each address of a comma list; stops on non-zero */
int autoreply_each_recipient(const char *list, int (*fn)(const char *addr, void *arg), void *arg);

/* autoreply_history - every record about address (moatctl autoreply history) */
int autoreply_history(moat_runtime *rt, const char *address, history_fn fn, void *arg);

#endif
