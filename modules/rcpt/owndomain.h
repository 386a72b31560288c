/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * owndomain.h - mail from outside, unauthenticated, in the name of one of
 * our own domains (envelope sender or From:): the field report "the from
 * and to fields are the same". Per domain (moat.conf rcpt { own_domains }):
 * off, mark (a header), reject, or spf (accepted when the envelope sender
 * is ours and SPF passes, else refused); forwarders and lists exempt.
 */
#ifndef MOAT_RCPT_OWNDOMAIN_H
#define MOAT_RCPT_OWNDOMAIN_H

#include "runtime.h"
#include "verdict.h"

typedef struct own_request {
    const char *client_ip;      /* $sender_host_address */
    const char *sender;         /* $sender_address ("" for bounces) */
    int sender_local;           /* the sender's domain is one of Exim's local domains */
    const char *from;           /* the From: address (${address:$h_from:}) */
    int from_local;             /* its domain is one of Exim's local domains */
    const char *spf;            /* Exim's SPF result for the sender ("pass", ... or "") */
} own_request;

/*
 * rcpt_own_domain - the verdict for one message from outside (the caller
 * leaves out authenticated sessions and the site's own relay hosts):
 *   accept  not_own | own_domain_exempt | own_domain_spf_pass
 *   accept  spf_needed: the spf policy, and spf was "": ask again with Exim's result
 *   defer   451 4.7.1 spf_temperror
 *   accept  own_domain_marked, with mark="forged domain=D via=envelope|from"
 *   deny    550 5.7.1 own_domain_forged
 * and one log line for marked and refused mail. 0, or -1 with *why.
 */
MOAT_API int rcpt_own_domain(moat_runtime *rt, const own_request *req, moat_verdict *v,
                    const char **why);

#endif
