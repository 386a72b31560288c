/*
 * autoreply.h - no auto-reply or NDR to spam, robots or loops. Pure logic:
 * no Exim symbol.
 *
 * Inbound: classify each message (classify.c), remember what the outbound
 * gate needs (never-answer Message-IDs, suspect senders, auto-replies
 * received per pair, bounces of our replies). Outbound: let an auto-reply
 * or NDR leave only when none of the rules says no; record our replies.
 */
#ifndef MOAT_AUTOREPLY_H
#define MOAT_AUTOREPLY_H

#include <stddef.h>
#include <time.h>

#include "classify.h"
#include "runtime.h"
#include "verdict.h"

typedef struct autoreply_message {
    const char *headers;       /* the header block as received */
    size_t headers_len;
    const char *sender;        /* envelope sender, "" = null */
    const char *recipients;    /* envelope recipients, comma-separated */
    const char *spam_score;
    const char *spf_result;
    int catchall_only;
    time_t now;
} autoreply_message;

/* autoreply_inbound - classify and record; the verdict carries class= and reasons= */
int autoreply_inbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                      const char **why);

/*
 * autoreply_outbound - a message leaving (locally generated, or relayed for
 * a server behind us): an auto-reply or NDR gets action=discard when it must
 * not be sent; anything else is accepted (personal mail records its
 * destinations as known correspondents).
 */
int autoreply_outbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                       const char **why);

/* autoreply_classify_text - the classification alone (moatctl, tests): no store */
void autoreply_classify_text(moat_runtime *rt, const autoreply_message *m, moat_verdict *v);

/* autoreply_history - call fn for every record about address (moatctl) */
typedef int (*autoreply_history_fn)(const char *what, const char *detail, time_t expires,
                                    void *arg);
int autoreply_history(moat_runtime *rt, const char *address, autoreply_history_fn fn, void *arg);

#endif
