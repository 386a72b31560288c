/*
 * exim.c - the autoreply module's dlfunc entry points.
 *
 *   acl_smtp_data:  moat_autoreply_data {CONFIG}{in|out}{$sender_address}{$recipients}
 *                                       {$spam_score}{SPF_RESULT}{CATCHALL_ONLY yes|no}
 *   acl_not_smtp:   moat_autoreply_local {CONFIG}{$sender_address}{$recipients}
 *
 * "in" classifies a message arriving for our users; "out" gates a message
 * leaving (submitted by our users or relayed for a server behind us, and
 * every locally generated one: Exim's autoreply transport, bounces).
 * The header block comes from Exim's header_list.
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoreply/autoreply.h"
#include "exim_glue.h"

static int run(moat_call *call, uschar **yield, int outbound, int first)
{
    autoreply_message m;
    const char *why = NULL;
    size_t len = 0;
    char *headers = moat_exim_headers(&len);
    int rc;

    memset(&m, 0, sizeof m);
    m.headers = headers ? headers : "";
    m.headers_len = len;
    m.sender = moat_arg(call, first);
    m.recipients = moat_arg(call, first + 1);
    m.spam_score = moat_arg(call, first + 2);
    m.spf_result = moat_arg(call, first + 3);
    m.catchall_only = strcmp(moat_arg(call, first + 4), "yes") == 0;
    m.now = time(NULL);
    rc = outbound ? autoreply_outbound(call->rt, &m, &call->verdict, &why)
                  : autoreply_inbound(call->rt, &m, &call->verdict, &why);
    free(headers);
    if (rc != 0)
        moat_call_fault(call, why ? why : "autoreply: store error");
    return moat_call_end(call, yield);
}

MOAT_EXPORT int moat_autoreply_data(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_data", yield, argc, argv, 4, 7,
                        "CONFIG in|out SENDER RECIPIENTS [SPAM_SCORE] [SPF] [CATCHALL_ONLY]")
        != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    return run(&call, yield, strcmp(moat_arg(&call, 1), "out") == 0, 2);
}

MOAT_EXPORT int moat_autoreply_local(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "autoreply", "moat_autoreply_local", yield, argc, argv, 3, 3,
                        "CONFIG SENDER RECIPIENTS") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    return run(&call, yield, 1, 1);
}
