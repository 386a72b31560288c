/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authlock.h - SMTP-AUTH lockout that stops the guesser, not the user.
 * Pure logic: no Exim symbol.
 *
 * Three moments: before credentials (connect and AUTH ACLs: blocked
 * clients, denied countries, the tarpit), the verdict on credentials (the
 * authenticator's server_condition wrapper: during a lockout even the right
 * password fails), and after the session (quit ACLs, for authenticators
 * whose failures the wrapper cannot see) or, on Exim 4.97+, at each failed
 * attempt (the auth:fail event).
 */
#ifndef MOAT_AUTHLOCK_H
#define MOAT_AUTHLOCK_H

#include "api.h"

#include <time.h>

#include "runtime.h"
#include "verdict.h"

/* authlock_before - connect (at_connect = 1) or AUTH ACL: refuse blocked clients, tarpit */
MOAT_API int authlock_before(moat_runtime *rt, const char *ip, int at_connect, time_t now,
                    moat_verdict *v, const char **why);

/*
 * authlock_where - whether AUTH belongs on this listening port for this
 * client (auth_ports, internal_networks, auth_require_tls): 0 with v left
 * alone when it does; otherwise v refuses it, the attempt is counted as a
 * failure, and 0 is returned. -1 on a store error.
 */
MOAT_API int authlock_where(moat_runtime *rt, const char *ip, int port, int tls, time_t now,
                   moat_verdict *v, const char **why);

/*
 * authlock_credentials - the server_condition wrapper: real_ok is the site's
 * own password check. action=accept means the login succeeds.
 */
MOAT_API int authlock_credentials(moat_runtime *rt, const char *ip, const char *user,
                         const char *password, int real_ok, time_t now, moat_verdict *v,
                         const char **why);

/*
 * authlock_session_failed - a failure seen only at QUIT: user is
 * $authenticated_fail_id (" (set_id=NAME)" as Exim 4.96 gives it, or NAME).
 */
MOAT_API int authlock_session_failed(moat_runtime *rt, const char *ip, const char *user, time_t now,
                            moat_verdict *v, const char **why);

/*
 * authlock_attempt_failed - one failed AUTH attempt as Exim 4.97+'s auth:fail
 * event reports it, for any authenticator: counted for the client, and for
 * the user when $authenticated_fail_id names one (as authlock_session_failed).
 */
MOAT_API int authlock_attempt_failed(moat_runtime *rt, const char *ip, const char *user, time_t now,
                            moat_verdict *v, const char **why);

/*
 * authlock_unlock - lift locks of an IP, network ("a.b.c.0/24"), ASN
 * ("AS64500") or user, and forget its counts: 1 when a lock was in force,
 * 0 when none was, -1 on a store error
 */
int authlock_unlock(moat_runtime *rt, const char *what);

#endif
