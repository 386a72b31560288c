/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim.c - the rcpt module's dlfunc entry points.
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_recipient}{MOAT_CONFIG}
 *      {$local_part@$domain}{$authenticated_id}{EXIM_VERIFY}{SESSION_INVALID}}
 *
 * judges one recipient; the client's address and the envelope sender are
 * read from Exim ($sender_host_address, $sender_address), not passed: each
 * argument costs Exim 4.96 some thousands of instructions per RCPT.
 * moat_rcpt_check, the entry of earlier releases' snippet, takes them as
 * arguments (kept for an Exim still running that configuration):
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_check}{MOAT_CONFIG}
 *      {$sender_host_address}{$sender_address}{$local_part@$domain}
 *      {$authenticated_id}{EXIM_VERIFY}{SESSION_INVALID}}
 *
 * EXIM_VERIFY is "yes"/"no"/"defer" from verify = recipient (source = exim), or "";
 * SESSION_INVALID the unknown recipients refused so far in this SMTP session ("" = 0).
 * moat_rcpt_recipient_prvs and moat_rcpt_check_prvs, the same with batv
 * on: a BATV-tagged recipient prvs=TAG=user@domain is judged as
 * user@domain (what ${prvscheck} takes apart; the tag is batv's to check).
 * Separate entry points, not one more argument: Exim 4.96 reads past its
 * argument array when given the most arguments it takes (eight).
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_connect}{MOAT_CONFIG}{$sender_host_address}}
 *
 * refuses a blocked client at connect (block_at_connect = true).
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_fetched}{MOAT_CONFIG}{$sender_ident}}
 *
 * "yes" when the caller of a non-SMTP submission injects fetched mail
 * (acl_not_smtp), else "no";
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_fetched_target}{MOAT_CONFIG}
 *      {$local_part@$domain}{$sender_address}}
 *
 * where the last router sends fetched mail for a recipient nobody routes:
 * the quarantine address or :blackhole: (also when moat cannot say).
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_session_end}{MOAT_CONFIG}}
 *
 * at QUIT and in the notquit ACL: writes the decision counts this SMTP
 * session's good recipients left held (common/stats.h); yields "".
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_own_domain}{MOAT_CONFIG}
 *      {$sender_host_address}{$sender_address}{SENDER_LOCAL}{FROM}{FROM_LOCAL}{SPF}}
 *
 * mail from outside in the name of our own domains (DATA ACL): SENDER_LOCAL
 * and FROM_LOCAL are yes/no (the domain is one of Exim's local domains),
 * FROM the From: address, SPF Exim's SPF result for the sender ("" unknown).
 * The entry point of earlier releases' snippet, kept for an Exim still
 * running it.
 *
 *   ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_own_domain_data}{MOAT_CONFIG}
 *      {MOAT_RCPT_DOMAINS}{FROM}{SPF}}
 *
 * the same check as the shipped snippet makes it: the client and the
 * envelope sender read from Exim's globals, and the two "is the domain
 * ours" tests made here with Exim's own domain-list match against DOMAINS
 * (each argument and ${if} costs Exim 4.96 thousands of instructions per
 * message). Yields "" when the ACL has nothing more to do (accepted, not
 * marked, no SPF result needed), else the verdict.
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exim_glue.h"
#include "rcpt/owndomain.h"
#include "rcpt/rcpt.h"

/* exim_text - a string global of Exim's as a C string ("" when unset) */
static const char *exim_text(const uschar *s)
{
    return s ? (const char *)s : "";
}

/*
 * judge - the recipient entries: moat_rcpt_recipient(_prvs) (from_exim:
 * the client and the sender read from Exim) and moat_rcpt_check(_prvs)
 * (passed as the first two arguments); untag_prvs set for the _prvs ones
 */
static int judge(uschar **yield, int argc, uschar *argv[], const char *entry, int untag_prvs,
                 int from_exim)
{
    moat_call call;
    rcpt_request req;
    const char *why = NULL;
    int r = from_exim ? 1 : 3;   /* where RCPT is among the arguments */

    if (moat_call_begin_per_rcpt(&call, "rcpt", entry, yield, argc, argv, r + 1, r + 4,
                                 from_exim ? "CONFIG RCPT [AUTH_ID] [EXIM_VERIFY] "
                                             "[SESSION_INVALID]"
                                           : "CONFIG IP SENDER RCPT [AUTH_ID] [EXIM_VERIFY] "
                                             "[SESSION_INVALID]")
        != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    req.client_ip = from_exim ? exim_text(sender_host_address) : moat_arg(&call, 1);
    req.sender = from_exim ? exim_text(sender_address) : moat_arg(&call, 2);
    req.recipient = moat_arg(&call, r);
    req.auth_id = moat_arg(&call, r + 1);
    req.exim_verify = moat_arg(&call, r + 2);
    req.session_invalid = strtol(moat_arg(&call, r + 3), NULL, 10);
    req.untag_prvs = untag_prvs;
    req.now = time(NULL);
    if (rcpt_check(call.rt, &req, &call.verdict, &why) != 0)
        moat_call_fault(&call, why ? why : "rcpt: internal error");
    return moat_call_end(&call, yield);
}

MOAT_EXPORT int moat_rcpt_check(uschar **yield, int argc, uschar *argv[])
{
    return judge(yield, argc, argv, "moat_rcpt_check", 0, 0);
}

MOAT_EXPORT int moat_rcpt_check_prvs(uschar **yield, int argc, uschar *argv[])
{
    return judge(yield, argc, argv, "moat_rcpt_check_prvs", 1, 0);
}

MOAT_EXPORT int moat_rcpt_recipient(uschar **yield, int argc, uschar *argv[])
{
    return judge(yield, argc, argv, "moat_rcpt_recipient", 0, 1);
}

MOAT_EXPORT int moat_rcpt_recipient_prvs(uschar **yield, int argc, uschar *argv[])
{
    return judge(yield, argc, argv, "moat_rcpt_recipient_prvs", 1, 1);
}

MOAT_EXPORT int moat_rcpt_connect(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    /* At connect only a known block is refused. A disabled module or moat's
     * own fault answers accept here: refusing whole connections would stop
     * mail rcpt does not even judge; RCPT applies on_error recipient by
     * recipient. The fault is still logged (once per process). */
    if (moat_call_begin(&call, "rcpt", "moat_rcpt_connect", yield, argc, argv, 2, 2,
                        "CONFIG IP") != MOAT_CALL_RUN) {
        if (call.status == MOAT_CALL_DONE) {
            verdict_init(&call.verdict, "accept");
            verdict_add(&call.verdict, "reason", "not_judged");
        }
        return moat_call_end(&call, yield);
    }
    if (rcpt_connect(call.rt, moat_arg(&call, 1), time(NULL), &call.verdict, &why) != 0) {
        moat_call_fault(&call, why ? why : "rcpt: internal error");
        verdict_init(&call.verdict, "accept");
        verdict_add(&call.verdict, "reason", "moat_error");
    }
    return moat_call_end(&call, yield);
}

MOAT_EXPORT int moat_rcpt_fetched(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "rcpt", "moat_rcpt_fetched", yield, argc, argv, 2, 2,
                        "CONFIG USER") != MOAT_CALL_RUN)
        return moat_call_text(&call, yield, "no");
    return moat_call_text(&call, yield, rcpt_fetched_user(call.rt, moat_arg(&call, 1)) ? "yes"
                                                                                       : "no");
}

MOAT_EXPORT int moat_rcpt_fetched_target(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    char target[512];

    /* a disabled module or a broken moat.conf: still never a bounce */
    if (moat_call_begin(&call, "rcpt", "moat_rcpt_fetched_target", yield, argc, argv, 3, 3,
                        "CONFIG RCPT SENDER") != MOAT_CALL_RUN)
        return moat_call_text(&call, yield, ":blackhole:");
    rcpt_fetched_target(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), target, sizeof target);
    return moat_call_text(&call, yield, target);
}

/* own_domain - the own-domain verdict for req into call (log-only: a refusal is only noted) */
static void own_domain(moat_call *call, const own_request *req)
{
    const char *why = NULL;

    if (rcpt_own_domain(call->rt, req, &call->verdict, &why) != 0)
        moat_call_fault(call, why ? why : "rcpt: internal error");
    else if (call->log_only && strncmp(call->verdict.text, "action=deny", 11) == 0) {
        verdict_init(&call->verdict, "accept");
        verdict_add(&call->verdict, "reason", "log_only");
        verdict_add(&call->verdict, "would", "deny");
    }
}

MOAT_EXPORT int moat_rcpt_own_domain(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    own_request req;

    if (moat_call_begin(&call, "rcpt", "moat_rcpt_own_domain", yield, argc, argv, 7, 7,
                        "CONFIG IP SENDER SENDER_LOCAL FROM FROM_LOCAL SPF") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    req.client_ip = moat_arg(&call, 1);
    req.sender = moat_arg(&call, 2);
    req.sender_local = strcmp(moat_arg(&call, 3), "yes") == 0;
    req.from = moat_arg(&call, 4);
    req.from_local = strcmp(moat_arg(&call, 5), "yes") == 0;
    req.spf = moat_arg(&call, 6);
    own_domain(&call, &req);
    return moat_call_end(&call, yield);
}

/* local_domain - whether address's domain is in Exim's domain list (OK),
 * not (FAIL), or the list could not be searched (DEFER) */
static int local_domain(const char *address, const char *list)
{
    const char *at = strrchr(address, '@');

    if (at == NULL || at[1] == '\0')
        return FAIL;
    return lss_match_domain(US(at + 1), US list);
}

/* nothing_to_do - an own-domain verdict the ACL need not look at again */
static int nothing_to_do(const char *verdict)
{
    char action[16], reason[32], mark[8];

    return verdict_get(verdict, "action", action, sizeof action) &&
           strcmp(action, "accept") == 0 &&
           !(verdict_get(verdict, "reason", reason, sizeof reason) &&
             strcmp(reason, "spf_needed") == 0) &&
           !verdict_get(verdict, "mark", mark, sizeof mark);
}

MOAT_EXPORT int moat_rcpt_own_domain_data(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    own_request req;
    int sender_local, from_local;

    if (moat_call_begin(&call, "rcpt", "moat_rcpt_own_domain_data", yield, argc, argv, 4, 4,
                        "CONFIG DOMAINS FROM SPF") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    req.client_ip = exim_text(sender_host_address);
    req.sender = exim_text(sender_address);
    req.from = moat_arg(&call, 2);
    req.spf = moat_arg(&call, 3);
    sender_local = local_domain(req.sender, moat_arg(&call, 1));
    from_local = local_domain(req.from, moat_arg(&call, 1));
    if (sender_local == DEFER || from_local == DEFER) {
        moat_call_fault(&call, "rcpt: the list of our domains could not be searched");
        return moat_call_end(&call, yield);
    }
    req.sender_local = sender_local == OK;
    req.from_local = from_local == OK;
    own_domain(&call, &req);
    if (nothing_to_do(call.verdict.text))
        return moat_call_text(&call, yield, "");
    return moat_call_end(&call, yield);
}

MOAT_EXPORT int moat_rcpt_session_end(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    /* moat_call_begin itself writes what is held */
    moat_call_begin(&call, "rcpt", "moat_rcpt_session_end", yield, argc, argv, 1, 1, "CONFIG");
    return moat_call_text(&call, yield, "");
}
