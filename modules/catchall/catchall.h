/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catchall.h - catch-all detection and policy. Pure logic: no Exim symbol.
 *
 * At RCPT time: a recipient that Exim routes but that is not an explicit
 * address of its domain was accepted only by a catch-all; the domain's
 * policy decides (accept, mark, reject from suspicious clients, reject
 * while the domain is under harvest attack), and such recipients count
 * toward the rcpt module's harvest counters.
 */
#ifndef MOAT_CATCHALL_H
#define MOAT_CATCHALL_H

#include "api.h"

#include <time.h>

#include "runtime.h"
#include "verdict.h"

typedef struct catchall_request {
    const char *client_ip;
    const char *sender;
    const char *recipient;
    const char *exim_verify;   /* "yes" when Exim routes the recipient */
    const char *auth_id;
    time_t now;
} catchall_request;

/*
 * catchall_rcpt - the RCPT-time decision into v: 0, or -1 with *why when
 * moat itself failed (store error, unreadable explicit file); the caller
 * then answers per the module's on_error.
 */
MOAT_API int catchall_rcpt(moat_runtime *rt, const catchall_request *req, moat_verdict *v,
                  const char **why);

#endif
