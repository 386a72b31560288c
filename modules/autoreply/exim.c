/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim.c - the autoreply module's dlfunc entry points (conf/exim/autoreply/).
 *
 *   acl_smtp_data:  moat_autoreply_message {CONFIG}{OUTBOUND_HOSTS}{$authenticated_id}
 *                                          {$spam_score}{SPF_RESULT}{CATCHALL_ONLY}
 *                   moat_autoreply_data {CONFIG}{in|out}{$sender_address}{$recipients}
 *                                       [{$spam_score}{SPF_RESULT}{CATCHALL_ONLY yes|no}]
 *   acl_not_smtp:   moat_autoreply_local {CONFIG}{$sender_address}{$recipients}
 *   event_action:   moat_autoreply_event {CONFIG}{$event_name}{$sender_address}
 *                                        {$local_part@$domain}
 *   vacation router: moat_autoreply_vacation {CONFIG}{USER ADDRESS}{$sender_address}
 *                                        yes or no (and the reason logged)
 *
 * "in" classifies a message arriving for our users; "out" gates a message
 * leaving (submitted by our users or relayed for a server behind us);
 * moat_autoreply_message is what the shipped DATA snippet calls: the
 * sender and the recipients read from Exim, the direction found here
 * ("out" for an authenticated session or a client in OUTBOUND_HOSTS,
 * matched as Exim's match_ip does), so that Exim expands five plain
 * arguments instead of an ${if} and a list per message; moat_autoreply_data,
 * the entry of earlier releases' snippet, is kept for an Exim still running
 * that. acl_not_smtp gates everything generated here (Exim's autoreply
 * transport, bounces, local programs). The event records a failed
 * delivery of one of our auto-replies. Headers come from Exim's
 * header_list through the glue; the body is never read.
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoreply/autoreply.h"
#include "exim_glue.h"

typedef enum { RUN_INBOUND, RUN_OUTBOUND, RUN_EVENT } run_kind;

/* decide - run the module on m (its headers taken from Exim here) and give Exim the verdict */
static int decide(moat_call *call, uschar **yield, run_kind kind, autoreply_message *m,
                  const char *failed_rcpt)
{
    const char *why = NULL;
    size_t len = 0;
    char *headers = moat_exim_headers(&len);
    int rc;

    m->headers = headers ? headers : "";
    m->headers_len = headers ? len : 0;
    m->now = time(NULL);
    switch (kind) {
    case RUN_EVENT:
        rc = autoreply_delivery_failed(call->rt, m, failed_rcpt, &call->verdict, &why);
        break;
    case RUN_OUTBOUND:
        rc = autoreply_outbound(call->rt, m, &call->verdict, &why);
        break;
    case RUN_INBOUND:
    default:
        rc = autoreply_inbound(call->rt, m, &call->verdict, &why);
        break;
    }
    free(headers);
    if (rc != 0)
        moat_call_fault(call, why ? why : "autoreply: store error");
    return moat_call_end(call, yield);
}

/* run - the message from the call's arguments (from index first) */
static int run(moat_call *call, uschar **yield, run_kind kind, int first)
{
    autoreply_message m;

    memset(&m, 0, sizeof m);
    m.sender = moat_arg(call, first);
    if (kind == RUN_EVENT)
        return decide(call, yield, kind, &m, moat_arg(call, first + 1));
    m.recipients = moat_arg(call, first + 1);
    if (kind == RUN_INBOUND) {
        m.spam_score = moat_arg(call, first + 2);
        m.spf_result = moat_arg(call, first + 3);
        m.catchall_only = strcmp(moat_arg(call, first + 4), "yes") == 0;
    }
    return decide(call, yield, kind, &m, NULL);
}

MOAT_EXPORT int moat_autoreply_data(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *direction;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_data", yield, argc, argv, 4, 7,
                        "CONFIG in|out SENDER RECIPIENTS [SPAM_SCORE] [SPF] [CATCHALL_ONLY]")
        != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    direction = moat_arg(&call, 1);
    if (strcmp(direction, "in") != 0 && strcmp(direction, "out") != 0) {
        moat_call_fault(&call, "moat_autoreply_data: the direction must be in or out");
        return moat_call_end(&call, yield);
    }
    return run(&call, yield, strcmp(direction, "out") == 0 ? RUN_OUTBOUND : RUN_INBOUND, 2);
}

MOAT_EXPORT int moat_autoreply_message(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    autoreply_message m;
    char *recipients;
    int outbound, rc;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_message", yield, argc, argv, 6, 6,
                        "CONFIG OUTBOUND_HOSTS AUTH_ID SPAM_SCORE SPF CATCHALL_ONLY")
        != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    outbound = moat_arg(&call, 2)[0] != '\0' ? 1 : moat_exim_client_in(moat_arg(&call, 1));
    if (outbound < 0) {
        moat_call_fault(&call, "autoreply: the outbound host list could not be searched");
        return moat_call_end(&call, yield);
    }
    if ((recipients = moat_exim_recipients()) == NULL) {
        moat_call_fault(&call, "autoreply: out of memory");
        return moat_call_end(&call, yield);
    }
    memset(&m, 0, sizeof m);
    m.sender = sender_address ? (const char *)sender_address : "";
    m.recipients = recipients;
    m.spam_score = moat_arg(&call, 3);
    m.spf_result = moat_arg(&call, 4);
    m.catchall_only = strcmp(moat_arg(&call, 5), "yes") == 0;
    rc = decide(&call, yield, outbound ? RUN_OUTBOUND : RUN_INBOUND, &m, NULL);
    free(recipients);
    return rc;
}

MOAT_EXPORT int moat_autoreply_local(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_local", yield, argc, argv, 3, 3,
                        "CONFIG SENDER RECIPIENTS") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    return run(&call, yield, RUN_OUTBOUND, 1);
}

MOAT_EXPORT int moat_autoreply_event(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_event", yield, argc, argv, 4, 4,
                        "CONFIG EVENT SENDER RECIPIENT") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (strcmp(moat_arg(&call, 1), "msg:fail:delivery") != 0) {
        verdict_init(&call.verdict, "accept");
        return moat_call_end(&call, yield);
    }
    return run(&call, yield, RUN_EVENT, 2);
}

/* message_headers - m with the message's headers (free *headers after) */
static void message_headers(autoreply_message *m, char **headers)
{
    size_t len = 0;

    memset(m, 0, sizeof *m);
    *headers = moat_exim_headers(&len);
    m->headers = *headers ? *headers : "";
    m->headers_len = *headers ? len : 0;
    m->now = time(NULL);
}

MOAT_EXPORT int moat_autoreply_vacation(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    autoreply_message m;
    const char *reason;
    char *headers;
    int ok;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_vacation", yield, argc, argv, 3, 3,
                        "CONFIG USER SENDER") == MOAT_CALL_MISUSE)
        return moat_call_end(&call, yield);
    message_headers(&m, &headers);
    m.sender = moat_arg(&call, 2);
    /* Disabled or unusable config (call.rt NULL): the user's own address only. */
    ok = autoreply_vacation_check(call.rt, &m, moat_arg(&call, 1), &reason);
    free(headers);
    return moat_call_text(&call, yield, ok ? "yes" : "no");
}

