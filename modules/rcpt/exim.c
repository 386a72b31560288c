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

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "batv/batv.h"
#include "batv/prvs.h"
#include "catchall/catchall.h"
#include "exim_glue.h"
#include "stats.h"
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

/*
 * The decision taken while Exim routes the recipient for the site's own
 * verify = recipient (rcpt/routers.conf, rcpt/routers-last.conf): Exim
 * routes each recipient once, and a good one costs one ${dlfunc} inside
 * that routing instead of the ACL statements around it.
 *
 *   first router (verify_only):
 *     condition = ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_route[_prvs][_catchall]}
 *                   {MOAT_RCPT_ADDRESS}{$parent_local_part}}
 *   last router (verify_only; only recipients no router took reach it):
 *     condition = ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_route_last[_prvs]}
 *                   {MOAT_RCPT_ADDRESS}{$parent_local_part@$parent_domain}}
 *   both:  data = ${dlfunc{MOAT_LIBDIR/rcpt.so}{moat_rcpt_route_data}}
 *
 * No configuration is named: the one the MAIL ACL named (moat_rcpt_mail)
 * is used (moat_call_begin_in_session). An earlier release's routers pass
 * it first ({MOAT_CONFIG}{RCPT}{PARENT}), which is still understood.
 *
 * The condition yields "" (the router declines: routing goes on) for a
 * recipient moat lets pass, "yes" for one it refuses; the data call then
 * gives ":fail: 550 5.1.1 text" or ":defer: 451 4.7.1 text" after the
 * tarpit delay (":blackhole:" for fetched mail nobody routes: the verify
 * passes, and the delivery drops or quarantines it). With source = exim
 * the first router takes Exim's routing as "yes" (only a block, a dead or
 * an exempt recipient is decided there); the last router's "no" replaces
 * that provisional count. _catchall: the catchall module's RCPT decision
 * is taken in the same call (catchall's ACL statements are not included
 * then). The client and the sender are read from Exim; an authenticated
 * session's recipients are not judged (the site's ACL may take them
 * unverified, and a refusal of moat's would not be what happened), nor
 * anything but SMTP input (exim -bv). One Exim process is one SMTP
 * session: what a refusal leaves for later (the session's unknown
 * recipients, a drop, the catch-all mark) is kept here, and read by
 *
 *   moat_rcpt_drop                "yes" when the session must be closed (at MAIL,
 *                                  and at RCPT behind $rcpt_fail_count)
 *   moat_rcpt_mail {CONFIG}       at MAIL: "yes" when the client injects fetched
 *                                  mail, else ""; begins a message
 *   moat_rcpt_catchall_only       at DATA: "yes" when a recipient was accepted only
 *                                  by a catch-all
 *   moat_rcpt_batv_noted {rcpt|tag}  at DATA: batv's first recipient without a valid
 *                                  tag, and that tag ("" none, "invalid")
 *
 * _prvs (batv on): batv's RCPT decision is taken in the first router's
 * call too (route_batv), and batv's RCPT statements are not included.
 */
static struct {
    char data[320];        /* what moat_rcpt_route_data answers for the refusal just made */
    long delay;            /* its tarpit delay, seconds */
    const char *accepted;  /* the reason counted by the first router for this recipient */
    long invalid;          /* unknown recipients refused so far in this SMTP session */
    int drop;              /* the session is to be closed at its next command */
    int catchall_only;     /* this message has a recipient only a catch-all takes */
    int batv_noted;        /* batv: this message's first recipient without a valid tag found */
    char batv_rcpt[ADDR_TEXT_MAX + 1];   /* ... that recipient, */
    char batv_tag[8];      /* ... and its tag: "" (none) or "invalid" */
} route;

/* action_is - whether verdict text (which begins "action=...") has that action */
static int action_is(const char *text, const char *action)
{
    size_t n = strlen(action);

    return strncmp(text, "action=", 7) == 0 && strncmp(text + 7, action, n) == 0 &&
           (text[7 + n] == ' ' || text[7 + n] == '\0');
}

/* route_blackhole - fetched mail no router takes: the verify passes, the delivery drops it */
static const char *route_blackhole(void)
{
    snprintf(route.data, sizeof route.data, ":blackhole:");
    route.delay = 0;
    return "yes";
}

/* route_refusal - keep v's refusal for moat_rcpt_route_data; "yes", or "" to let it pass */
static const char *route_refusal(const moat_verdict *v, int last)
{
    char action[16] = "", code[8] = "", xcode[16] = "", text[200] = "", delay[24] = "",
         fetched[8] = "";
    int defer;

    if (v->len == 0)   /* nothing refused */
        return "";
    if (!action_is(v->text, "deny") && !action_is(v->text, "drop") &&
        !action_is(v->text, "defer")) {
        if (last && action_is(v->text, "accept") &&
            verdict_get(v->text, "fetched", fetched, sizeof fetched))
            return route_blackhole();
        return "";
    }
    verdict_get(v->text, "action", action, sizeof action);
    defer = strcmp(action, "defer") == 0;
    verdict_get(v->text, "code", code, sizeof code);
    verdict_get(v->text, "xcode", xcode, sizeof xcode);
    verdict_get(v->text, "text", text, sizeof text);
    snprintf(route.data, sizeof route.data, "%s %s %s %s", defer ? ":defer:" : ":fail:",
             *code ? code : defer ? "451" : "550", *xcode ? xcode : defer ? "4.3.0" : "5.1.1",
             *text ? text : defer ? "Try again later" : "No such user here");
    route.delay = verdict_get(v->text, "delay", delay, sizeof delay) ? strtol(delay, NULL, 10)
                                                                     : 0;
    if (strcmp(action, "deny") == 0)
        route.invalid++;
    if (strcmp(action, "drop") == 0)
        route.drop = 1;
    return "yes";
}

/* route_catchall - the catchall module's decision for an accepted recipient, into v */
static void route_catchall(moat_runtime *rt, const rcpt_request *req, moat_verdict *v)
{
    catchall_request creq;
    moat_verdict cv;
    const char *why = NULL;
    char mark[8];

    if (!moat_config_enabled(rt->config, "catchall"))
        return;
    creq.client_ip = req->client_ip;
    creq.sender = req->sender;
    creq.recipient = req->recipient;
    creq.exim_verify = "yes";   /* judged before Exim routes it: the catch-all takes it */
    creq.auth_id = req->auth_id;
    creq.now = req->now;
    if (catchall_rcpt(rt, &creq, &cv, &why) != 0)
        moat_fault_verdict(&cv, moat_config_on_error(rt->config, "catchall"), "catchall",
                           why ? why : "catchall: store error");
    if (verdict_get(cv.text, "mark", mark, sizeof mark) && strcmp(mark, "yes") == 0)
        route.catchall_only = 1;
    if (action_is(cv.text, "deny") || action_is(cv.text, "defer"))
        *v = cv;
}

/*
 * route_batv - batv's RCPT decision for a recipient moat accepted (rcpt's
 * _prvs entries: batv is on): a bounce's recipient must carry our valid
 * tag (the refusal into v); for mail with a sender, the message's first
 * recipient without a valid tag (postmaster aside) is noted for DATA
 * (moat_rcpt_batv_noted), where an auto-reply to it is judged
 */
static void route_batv(moat_runtime *rt, const rcpt_request *req, moat_verdict *v)
{
    const char *why = NULL, *tag, *at = strrchr(req->recipient, '@');
    char untagged[ADDR_TEXT_MAX + 1];
    moat_verdict bv;
    batv_policy p;

    if (!moat_config_enabled(rt->config, "batv"))
        return;
    if (req->sender[0] == '\0') {
        if (batv_check(rt, req->client_ip, req->recipient,
                       batv_tag_status(rt, req->recipient, req->now), req->now, &bv, &why) != 0)
            moat_fault_verdict(&bv, moat_config_on_error(rt->config, "batv"), "batv",
                               why ? why : "batv: the key file cannot be read");
        if (action_is(bv.text, "deny") || action_is(bv.text, "defer"))
            *v = bv;
        return;
    }
    if (route.batv_noted || at == NULL || !batv_domain_policy(rt, at + 1, &p) || !p.check)
        return;
    if (addr_strip_prvs(req->recipient, untagged, sizeof untagged) != 1 &&
        strncasecmp(req->recipient, "postmaster@", 11) == 0)
        return;
    tag = batv_tag_status(rt, req->recipient, req->now);
    if (strcmp(tag, "valid") == 0)
        return;
    snprintf(route.batv_rcpt, sizeof route.batv_rcpt, "%s", req->recipient);
    snprintf(route.batv_tag, sizeof route.batv_tag, "%s", strcmp(tag, "none") == 0 ? "" : tag);
    route.batv_noted = 1;
}

/*
 * generated - whether the recipient is an address a router generated from
 * another, which moat does not judge: the client's recipient was (for the
 * first router PARENT is the parent's local part, "" for none). For the
 * last router PARENT is the parent's address ("@" for none), and the
 * untagged form of a BATV tag is judged there: an alias's target nobody
 * routes is not a guess of the client's, an untagged guess is.
 */
static int generated(const char *rcpt, const char *parent, int last)
{
    char untagged[ADDR_TEXT_MAX + 1];

    if (!last)
        return parent[0] != '\0';   /* the first router: any generated address */
    if (parent[0] == '\0' || strcmp(parent, "@") == 0)
        return 0;
    return addr_strip_prvs(parent, untagged, sizeof untagged) != 1 ||
           strcasecmp(untagged, rcpt) != 0;
}

/*
 * route_judge - the routers' condition: first (before Exim's routers) or
 * last (after them). The arguments are RCPT [PARENT]; an earlier release's
 * routers pass CONFIG RCPT PARENT (an Exim not yet reloaded after an
 * upgrade), told apart by their number.
 */
static int route_judge(uschar **yield, int argc, uschar *argv[], const char *entry,
                       int untag_prvs, int with_catchall, int last)
{
    const int named = argc == 3, usable = argc >= 1 && argc <= 3;
    moat_call call;
    rcpt_request req;
    rcpt_outcome o;
    const char *why = NULL;
    const char *rcpt = usable && argv[named] ? (const char *)argv[named] : "";
    const char *parent = usable && argc > named + 1 && argv[named + 1]
                             ? (const char *)argv[named + 1] : "";

    /* An authenticated user's recipients are the site's ACL's to judge (it
     * may take them unverified): moat neither counts nor refuses them. Nor
     * an address the admin tests with exim -bv: only SMTP input is judged. */
    if (usable &&
        (sender_host_authenticated != NULL || !smtp_input || generated(rcpt, parent, last))) {
        *yield = string_copy(US "");
        return OK;
    }
    if ((named ? moat_call_begin_per_rcpt(&call, "rcpt", entry, yield, argc, argv, 3, 3,
                                          "CONFIG RCPT PARENT")
               : moat_call_begin_in_session(&call, "rcpt", entry, yield, argc, argv, 1, 2,
                                            last ? "RCPT [PARENT]" : "RCPT [PARENT_LOCAL_PART]"))
        == MOAT_CALL_MISUSE)
        return moat_call_end(&call, yield);
    if (call.status != MOAT_CALL_RUN)   /* disabled, or moat.conf broken: its verdict */
        return moat_call_text(&call, yield, route_refusal(&call.verdict, last));
    req.client_ip = exim_text(sender_host_address);
    req.sender = exim_text(sender_address);
    req.recipient = rcpt;
    req.auth_id = "";
    req.exim_verify = last ? "no" : "yes";
    req.session_invalid = route.invalid;
    req.untag_prvs = untag_prvs;
    req.now = time(NULL);
    if (last && route.accepted)
        moat_stats_uncount("rcpt", "accept", route.accepted);
    route.accepted = NULL;
    if (rcpt_judge(call.rt, &req, &o, &why) != 0) {
        moat_call_fault(&call, why ? why : "rcpt: internal error");
        return moat_call_text(&call, yield, route_refusal(&call.verdict, last));
    }
    if (o.action != RCPT_ACCEPT) {
        rcpt_outcome_text(&o, &call.verdict);
        return moat_call_text(&call, yield, route_refusal(&call.verdict, last));
    }
    if (last)   /* fetched mail no router takes: passes, dropped or quarantined at delivery */
        return moat_call_text(&call, yield, o.fetched ? route_blackhole() : "");
    /* what the metrics counted: moat_rcpt_route_last takes it back */
    route.accepted = o.would_reason == NULL ? o.reason : o.would == RCPT_ACCEPT ? o.would_reason
                                                                                : NULL;
    /* call.verdict stays empty unless catchall or batv refuses */
    if (with_catchall && !o.listed && !o.fetched)
        route_catchall(call.rt, &req, &call.verdict);
    if (untag_prvs && call.verdict.len == 0)
        route_batv(call.rt, &req, &call.verdict);
    return moat_call_text(&call, yield, route_refusal(&call.verdict, last));
}

MOAT_EXPORT int moat_rcpt_route(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route", 0, 0, 0);
}

MOAT_EXPORT int moat_rcpt_route_prvs(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route_prvs", 1, 0, 0);
}

MOAT_EXPORT int moat_rcpt_route_catchall(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route_catchall", 0, 1, 0);
}

MOAT_EXPORT int moat_rcpt_route_prvs_catchall(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route_prvs_catchall", 1, 1, 0);
}

MOAT_EXPORT int moat_rcpt_route_last(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route_last", 0, 0, 1);
}

MOAT_EXPORT int moat_rcpt_route_last_prvs(uschar **yield, int argc, uschar *argv[])
{
    return route_judge(yield, argc, argv, "moat_rcpt_route_last_prvs", 1, 0, 1);
}

/*
 * client_socket - the descriptor of the SMTP client's connection (the one
 * whose peer port is the client's), or -1 (local SMTP, or not found)
 */
static int client_socket(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int port;

    if (sender_host_address == NULL || sender_host_port <= 0)
        return -1;
    for (int fd = 0; fd < 64; fd++) {
        memset(&ss, 0, sizeof ss);
        len = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
            continue;
        port = ss.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
             : ss.ss_family == AF_INET6   ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : -1;
        if (port == sender_host_port)
            return fd;
    }
    return -1;
}

/* tarpit - wait seconds before answering, ending early when the client hangs up */
static void tarpit(long seconds)
{
    struct timespec end, now;
    struct pollfd p = {.fd = client_socket(), .events = POLLRDHUP};
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += seconds;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
        if (ms <= 0)
            return;
        /* no socket: poll() on no descriptor is a plain sleep */
        if (poll(&p, p.fd >= 0 ? 1 : 0, (int)ms) > 0 &&
            (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
            return;
    }
}

/* misused - an entry that takes no argument given some: Exim's ERROR, naming it */
static int misused(uschar **yield, int argc, const char *entry)
{
    if (argc == 0)
        return 0;
    *yield = string_sprintf("moat rcpt: %s takes 0 to 0 arguments (none), got %d", entry, argc);
    return 1;
}

MOAT_EXPORT int moat_rcpt_route_data(uschar **yield, int argc, uschar *argv[])
{
    (void)argv;
    if (misused(yield, argc, "moat_rcpt_route_data"))
        return ERROR;
    if (route.delay > 0)
        tarpit(route.delay);
    route.delay = 0;
    /* moat's own text (no byte of the peer's): untainted, as router data must be */
    *yield = string_copy(US(route.data[0] ? route.data : ":defer: 451 4.3.0 Try again later"));
    return OK;
}

MOAT_EXPORT int moat_rcpt_drop(uschar **yield, int argc, uschar *argv[])
{
    (void)argv;
    if (misused(yield, argc, "moat_rcpt_drop"))
        return ERROR;
    *yield = string_copy(US(route.drop ? "yes" : ""));
    return OK;
}

MOAT_EXPORT int moat_rcpt_mail(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    route.catchall_only = 0;   /* a message begins */
    route.batv_noted = 0;
    route.batv_rcpt[0] = route.batv_tag[0] = '\0';
    if (moat_call_begin(&call, "rcpt", "moat_rcpt_mail", yield, argc, argv, 1, 1, "CONFIG")
        != MOAT_CALL_RUN)
        return moat_call_text(&call, yield, "");
    return moat_call_text(&call, yield,
                          rcpt_fetched_client(call.rt, exim_text(sender_host_address)) ? "yes"
                                                                                       : "");
}

/* moat_rcpt_batv_noted {rcpt|tag} - at DATA: batv's note of this message (route_batv) */
MOAT_EXPORT int moat_rcpt_batv_noted(uschar **yield, int argc, uschar *argv[])
{
    if (argc != 1 || (strcmp((const char *)argv[0], "rcpt") != 0 &&
                      strcmp((const char *)argv[0], "tag") != 0)) {
        *yield = string_sprintf("moat rcpt: moat_rcpt_batv_noted takes 1 to 1 arguments "
                                "(rcpt|tag), got %d", argc);
        return ERROR;
    }
    /* the recipient is the peer's text: tainted */
    *yield = string_copy_taint(US(strcmp((const char *)argv[0], "rcpt") == 0 ? route.batv_rcpt
                                                                              : route.batv_tag),
                               GET_TAINTED);
    return OK;
}

MOAT_EXPORT int moat_rcpt_catchall_only(uschar **yield, int argc, uschar *argv[])
{
    (void)argv;
    if (misused(yield, argc, "moat_rcpt_catchall_only"))
        return ERROR;
    *yield = string_copy(US(route.catchall_only ? "yes" : ""));
    return OK;
}
