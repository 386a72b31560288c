/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim.c - the catchall module's dlfunc entry point.
 *
 *   acl_smtp_rcpt: moat_catchall_rcpt {CONFIG}{$sender_host_address}{$sender_address}
 *                  {$local_part@$domain}{EXIM_VERIFY yes|no}{$authenticated_id}
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <string.h>
#include <time.h>

#include "catchall/catchall.h"
#include "catchall/probe.h"
#include "exim_glue.h"

MOAT_EXPORT int moat_catchall_rcpt(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    catchall_request req;
    const char *why = NULL;

    if (moat_call_begin_per_rcpt(&call, "catchall", "moat_catchall_rcpt", yield, argc, argv,
                                 5, 6, "CONFIG IP SENDER RCPT EXIM_VERIFY [AUTH_ID]")
        != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    req.client_ip = moat_arg(&call, 1);
    req.sender = moat_arg(&call, 2);
    req.recipient = moat_arg(&call, 3);
    req.exim_verify = moat_arg(&call, 4);
    req.auth_id = moat_arg(&call, 5);
    req.now = time(NULL);
    if (catchall_rcpt(call.rt, &req, &call.verdict, &why) != 0)
        moat_call_fault(&call, why ? why : "catchall: store error");
    return moat_call_end(&call, yield);
}

/*
 * moat_catchall_sender {CONFIG}{$sender_address}: is the sender's domain a
 * catch-all? "catchall=yes|no|unknown", from the cache or a probe bounded by
 * what is left of this session's budget (never more).
 */
MOAT_EXPORT int moat_catchall_sender(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    probe_result r;
    const char *why = NULL, *at;
    long budget;

    if (moat_call_begin(&call, "catchall", "moat_catchall_sender", yield, argc, argv, 2, 2,
                        "CONFIG SENDER") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    at = strrchr(moat_arg(&call, 1), '@');
    verdict_init(&call.verdict, "accept");
    if (at == NULL) {
        verdict_add(&call.verdict, "catchall", "unknown");
        return moat_call_end(&call, yield);
    }
    budget = probe_session_budget_left(call.rt);
    if (budget <= 0) {
        verdict_add(&call.verdict, "catchall", "unknown");
        verdict_add(&call.verdict, "reason", "session_budget_spent");
        return moat_call_end(&call, yield);
    }
    if (catchall_probe(call.rt, at + 1, budget, time(NULL), &r, &why) != 0) {
        moat_call_fault(&call, why ? why : "catchall: store error");
        return moat_call_end(&call, yield);
    }
    verdict_add(&call.verdict, "catchall", r.verdict == PROBE_CATCHALL       ? "yes"
                                           : r.verdict == PROBE_NOT_CATCHALL ? "no"
                                                                             : "unknown");
    verdict_add(&call.verdict, "detail", r.detail);
    return moat_call_end(&call, yield);
}
