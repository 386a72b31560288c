/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim.c - the authlock module's dlfunc entry points.
 *
 *   acl_smtp_connect:  moat_authlock_connect {CONFIG}{$sender_host_address}
 *   acl_smtp_auth:     moat_authlock_auth    {CONFIG}{$sender_host_address}
 *                                            [{$received_port}{TLS yes|no}]
 *   server_condition:  moat_authlock_check   {CONFIG}{$sender_host_address}{USER}{PASSWORD}{REAL}
 *                      REAL is the site's own check, "yes" or "no";
 *                      action=accept means the login succeeds.
 *   acl_smtp_quit / acl_smtp_notquit:
 *                      moat_authlock_quit    {CONFIG}{$sender_host_address}{$authenticated_fail_id}
 *   acl_smtp_rcpt:     moat_authlock_submit  {CONFIG}{$authenticated_id}{RCPT}{$rcpt_count}
 *   main event_action, auth:fail (Exim 4.97+):
 *                      moat_authlock_authfail {CONFIG}{$sender_host_address}{$authenticated_fail_id}
 *   smtp transport event_action (msg:fail:delivery, msg:rcpt:defer):
 *                      moat_authlock_event   {CONFIG}{$event_name}{$authenticated_id}
 *                                            {$local_part@$domain}{$event_data}
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authlock/authlock.h"
#include "authlock/containment.h"
#include "authlock/rejects.h"
#include "exim_glue.h"

/*
 * The failed attempt that moat_authlock_check has counted already: Exim raises
 * auth:fail right after that server_condition fails, in the same connection
 * process, and moat_authlock_authfail must not count it a second time. Set
 * with the process's pid (a forked child starts without it), cleared by the
 * event that consumes it and before every AUTH command.
 */
static pid_t counted_by_check;

/* before - the connect and AUTH ACL entry points share everything but the moment */
static int before(uschar **yield, int argc, uschar *argv[], const char *entry, int at_connect)
{
    moat_call call;
    const char *why = NULL;
    int rc;

    if (!at_connect)
        counted_by_check = 0;
    if (moat_call_begin(&call, "authlock", entry, yield, argc, argv, 2, at_connect ? 2 : 4,
                        at_connect ? "CONFIG IP" : "CONFIG IP [PORT TLS]") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    verdict_init(&call.verdict, "accept");
    rc = at_connect || argc < 4
             ? 0
             : authlock_where(call.rt, moat_arg(&call, 1),
                              (int)strtol(moat_arg(&call, 2), NULL, 10),
                              strcmp(moat_arg(&call, 3), "yes") == 0, time(NULL),
                              &call.verdict, &why);
    if (rc == 0 && strstr(call.verdict.text, "action=accept") == call.verdict.text &&
        strstr(call.verdict.text, "reason=log_only") == NULL)
        rc = authlock_before(call.rt, moat_arg(&call, 1), at_connect, time(NULL),
                             &call.verdict, &why);
    if (rc != 0)
        moat_call_fault(&call, why ? why : "authlock: store error");
    return moat_call_end(&call, yield);
}

MOAT_EXPORT int moat_authlock_connect(uschar **yield, int argc, uschar *argv[])
{
    return before(yield, argc, argv, "moat_authlock_connect", 1);
}

MOAT_EXPORT int moat_authlock_auth(uschar **yield, int argc, uschar *argv[])
{
    return before(yield, argc, argv, "moat_authlock_auth", 0);
}

MOAT_EXPORT int moat_authlock_check(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;
    int real_ok;

    if (moat_call_begin(&call, "authlock", "moat_authlock_check", yield, argc, argv, 5, 5,
                        "CONFIG IP USER PASSWORD REAL_RESULT") != MOAT_CALL_RUN) {
        /* Disabled or broken moat: the site's own check decides, untouched. */
        if (call.status == MOAT_CALL_DONE) {
            int ok = strcmp(moat_arg(&call, 4), "yes") == 0;
            verdict_init(&call.verdict, ok ? "accept" : "deny");
            verdict_add(&call.verdict, "reason", "moat_passthrough");
        }
        return moat_call_end(&call, yield);
    }
    real_ok = strcmp(moat_arg(&call, 4), "yes") == 0;
    if (authlock_credentials(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), moat_arg(&call, 3),
                             real_ok, time(NULL), &call.verdict, &why) != 0) {
        /* Our own failure never locks anyone out nor lets anyone in: the real check decides. */
        moat_call_fault(&call, why ? why : "authlock: store error");
        verdict_init(&call.verdict, real_ok ? "accept" : "deny");
        verdict_add(&call.verdict, "reason", "moat_error");
    } else if (strstr(call.verdict.text, "action=accept") != call.verdict.text) {
        counted_by_check = getpid();
    }
    return moat_call_end(&call, yield);
}

/*
 * moat_authlock_authfail {CONFIG}{$sender_host_address}{$authenticated_fail_id}
 * (the main event_action on auth:fail, Exim 4.97+): a failed AUTH attempt of
 * any authenticator, unless moat_authlock_check has just counted it.
 */
MOAT_EXPORT int moat_authlock_authfail(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;
    int counted = counted_by_check != 0 && counted_by_check == getpid();

    counted_by_check = 0;
    if (moat_call_begin(&call, "authlock", "moat_authlock_authfail", yield, argc, argv, 3, 3,
                        "CONFIG IP AUTHENTICATED_FAIL_ID") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (counted) {
        verdict_init(&call.verdict, "accept");
        verdict_add(&call.verdict, "reason", "counted_by_check");
    } else if (authlock_attempt_failed(call.rt, moat_arg(&call, 1), moat_arg(&call, 2),
                                       time(NULL), &call.verdict, &why) != 0) {
        moat_call_fault(&call, why ? why : "authlock: store error");
    }
    return moat_call_end(&call, yield);
}

MOAT_EXPORT int moat_authlock_quit(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    if (moat_call_begin(&call, "authlock", "moat_authlock_quit", yield, argc, argv, 3, 3,
                        "CONFIG IP AUTHENTICATED_FAIL_ID") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (authlock_session_failed(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), time(NULL),
                                &call.verdict, &why) != 0)
        moat_call_fault(&call, why ? why : "authlock: store error");
    return moat_call_end(&call, yield);
}

/*
 * moat_authlock_submit {CONFIG}{$authenticated_id}{$local_part@$domain}{$rcpt_count}
 * (acl_smtp_rcpt, authenticated clients): outbound containment.
 */
MOAT_EXPORT int moat_authlock_submit(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    if (moat_call_begin_per_rcpt(&call, "authlock", "moat_authlock_submit", yield, argc, argv,
                                 4, 4, "CONFIG USER RCPT RCPT_COUNT") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (authlock_submit(call.rt, moat_arg(&call, 1), moat_arg(&call, 2),
                        strcmp(moat_arg(&call, 3), "1") == 0, time(NULL), &call.verdict,
                        &why) != 0)
        moat_call_fault(&call, why ? why : "authlock: store error");
    return moat_call_end(&call, yield);
}

/*
 * moat_authlock_event {CONFIG}{$event_name}{$authenticated_id}{$local_part@$domain}{$event_data}
 * (the smtp transport's event_action, in a delivery process): a recipient
 * of an authenticated user's mail refused by a remote server.
 */
MOAT_EXPORT int moat_authlock_event(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    if (moat_call_begin(&call, "authlock", "moat_authlock_event", yield, argc, argv, 5, 5,
                        "CONFIG EVENT USER RCPT EVENT_DATA") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (authlock_rejected(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), moat_arg(&call, 3),
                          moat_arg(&call, 4), time(NULL), &call.verdict, &why) != 0)
        moat_call_fault(&call, why ? why : "authlock: store error");
    return moat_call_end(&call, yield);
}
