/*
 * exim.c - the batv module's dlfunc entry points (conf/exim/batv/).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   remote smtp transport, return_path (MOAT_BATV_RETURN_PATH):
 *     moat_batv_sign {CONFIG}{$return_path}{$local_part@$domain}{OURS yes|no}{key|secret}
 *       the key number or the secret for ${prvs}, "" = do not sign
 *   ${prvscheck}'s secret (acl_smtp_rcpt):
 *     moat_batv_secret {CONFIG}{$prvscheck_address}{$prvscheck_keynum}
 *       the secret, or a fresh random one that matches nothing
 *   acl_smtp_rcpt, null sender:
 *     moat_batv_check {CONFIG}{$sender_host_address}{$local_part@$domain}{none|valid|invalid}
 *       a verdict: accept, warn (log-only) or deny 550 5.7.1
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "batv/batv.h"
#include "exim_glue.h"
#include "log.h"

MOAT_EXPORT int moat_batv_sign(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    batv_key key;
    const char *reason = NULL, *why = NULL, *what;
    char num[4];
    int r;

    if (moat_call_begin(&call, "batv", "moat_batv_sign", yield, argc, argv, 5, 5,
                        "CONFIG RETURN_PATH RECIPIENT OURS key|secret") == MOAT_CALL_MISUSE)
        return moat_call_end(&call, yield);
    if (call.rt == NULL)                 /* disabled or unusable config: leave it unsigned */
        return moat_call_text(&call, yield, "");
    what = moat_arg(&call, 4);
    r = batv_sign(call.rt, moat_arg(&call, 1), moat_arg(&call, 2),
                  strcmp(moat_arg(&call, 3), "yes") == 0, time(NULL), &key, &reason, &why);
    if (r < 0)
        moat_log_once("batv:sign", MOAT_LOG_ERROR, "moat batv: not signing: %s",
                      why ? why : "error");
    if (r != 1)
        return moat_call_text(&call, yield, "");
    if (strcmp(what, "secret") == 0)
        return moat_call_text(&call, yield, key.secret);
    snprintf(num, sizeof num, "%d", key.num);
    return moat_call_text(&call, yield, num);
}

MOAT_EXPORT int moat_batv_secret(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    char secret[BATV_SECRET_MAX + 1];
    unsigned char b[BATV_SECRET_BYTES];
    size_t i;

    if (moat_call_begin(&call, "batv", "moat_batv_secret", yield, argc, argv, 3, 3,
                        "CONFIG ADDRESS KEYNUM") == MOAT_CALL_MISUSE)
        return moat_call_end(&call, yield);
    if (call.rt != NULL &&
        batv_secret(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), time(NULL), secret,
                    sizeof secret) == 0)
        return moat_call_text(&call, yield, secret);
    /* No key: a random secret, so that no tag checks (never a fixed one:
     * anyone could compute tags for it). Without random bytes the expansion
     * fails, which Exim answers 451: our fault, never a 5xx. */
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        *yield = (uschar *)string_copy((const uschar *)"moat batv: no random bytes");
        return FAIL;
    }
    for (i = 0; i < sizeof b; i++)
        snprintf(secret + 2 * i, 3, "%02x", b[i]);
    return moat_call_text(&call, yield, secret);
}

MOAT_EXPORT int moat_batv_check(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    if (moat_call_begin_per_rcpt(&call, "batv", "moat_batv_check", yield, argc, argv, 4, 4,
                                 "CONFIG IP RCPT none|valid|invalid") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (batv_check(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), moat_arg(&call, 3),
                   time(NULL), &call.verdict, &why) != 0)
        moat_call_fault(&call, why ? why : "batv: error");
    return moat_call_end(&call, yield);
}

/*
 * moat_batv_autoreply {CONFIG}{IP}{RCPT}{none|valid|invalid}{yes|no}
 * (acl_smtp_data, after autoreply's classification): an auto-reply with an
 * envelope sender to rcpt, the message's first recipient without a valid
 * tag; yes when one of our users wrote to its sender.
 */
MOAT_EXPORT int moat_batv_autoreply(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;
    const char *why = NULL;

    if (moat_call_begin(&call, "batv", "moat_batv_autoreply", yield, argc, argv, 5, 5,
                        "CONFIG IP RCPT none|valid|invalid KNOWN") != MOAT_CALL_RUN)
        return moat_call_end(&call, yield);
    if (batv_check_autoreply(call.rt, moat_arg(&call, 1), moat_arg(&call, 2), moat_arg(&call, 3),
                             strcmp(moat_arg(&call, 4), "yes") == 0, time(NULL), &call.verdict,
                             &why) != 0)
        moat_call_fault(&call, why ? why : "batv: error");
    return moat_call_end(&call, yield);
}
