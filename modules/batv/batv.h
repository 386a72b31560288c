/*
 * batv.h - Bounce Address Tag Validation around Exim's own ${prvs} and
 * ${prvscheck}: which envelope senders to sign, with which key, and what
 * to do with a bounce to one of our users. Pure logic: no Exim symbol
 * (exim.c is the only caller that knows Exim). docs/batv.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MOAT_BATV_H
#define MOAT_BATV_H

#include "api.h"

#include <time.h>

#include "batv/keys.h"
#include "runtime.h"
#include "verdict.h"

#define BATV_COUNTER_WINDOW 86400u

/* What moat.conf says for one domain (the module's values unless its domain section says). */
typedef struct batv_policy {
    int sign;                  /* sign our users' envelope senders */
    int check;                 /* check bounces to our users */
    int log_only;              /* refuse nothing, log what would be refused */
    long grace;                /* seconds after signing began: unsigned bounces accepted */
    int autoreplies;           /* judge auto-replies to untagged addresses like bounces */
} batv_policy;

/* batv_autoreplies_ok - whether value is a setting of autoreplies ("judge", "off"; "" inherits) */
int batv_autoreplies_ok(const char *value, int may_inherit);

/* batv_keys_dir - the keys directory from moat.conf */
const char *batv_keys_dir(const moat_runtime *rt);

/* batv_domain_policy - 1 and *p when domain is a BATV domain, else 0 */
MOAT_API int batv_domain_policy(const moat_runtime *rt, const char *domain, batv_policy *p);

/* batv_domains - the BATV domains (domains, then domain sections' titles) into out; how many */
unsigned batv_domains(const moat_runtime *rt, const char **out, unsigned cap);

/* batv_exempt - whether recipient ("user@domain", or "@domain" when several) is exempt from signing */
int batv_exempt(const moat_runtime *rt, const char *recipient);

/*
 * batv_sign - whether to sign return_path for a message to recipient;
 * ours says it came from one of our users (authenticated, local, or a
 * signing host). 1 with *key (the current key, made on first use), 0
 * with *reason, -1 with *why on a fault.
 */
MOAT_API int batv_sign(moat_runtime *rt, const char *return_path, const char *recipient, int ours,
              time_t now, batv_key *key, const char **reason, const char **why);

/*
 * batv_secret - the secret ${prvscheck} needs for address (the tag's
 * user@domain) and key number keynum (text, from $prvscheck_keynum): NULL
 * when there is none (not a BATV domain, no key file, a retired key).
 */
MOAT_API int batv_secret(moat_runtime *rt, const char *address, const char *keynum, time_t now,
                char *out, size_t cap);

/*
 * batv_check - the verdict for a null-sender message from client_ip to
 * rcpt (as given), whose tag ${prvscheck} found "none", "valid" or
 * "invalid": accept, or deny 550 5.7.1, logged and counted. Without a
 * key file for the domain (nothing signed here yet) nothing is refused
 * (reason=no_key). 0, or -1 with *why on a fault (the caller answers
 * on_error).
 */
MOAT_API int batv_check(moat_runtime *rt, const char *client_ip, const char *rcpt, const char *tag,
               time_t now, moat_verdict *v, const char **why);

/*
 * batv_check_autoreply - the same judgement for an auto-reply with an
 * envelope sender (autoreply's classification: automatic, not a report)
 * from someone none of our users wrote to (known = 0), whose first
 * untagged or badly tagged recipient is rcpt: the answer to mail forged in
 * our user's name. Refused 550 5.7.1 (reason unsigned_autoreply, or
 * bad_tag) unless the domain says autoreplies = off, log-only, grace; an
 * auto-reply from a known correspondent, or to a valid tag, is accepted.
 */
MOAT_API int batv_check_autoreply(moat_runtime *rt, const char *client_ip, const char *rcpt,
                         const char *tag, int known, time_t now, moat_verdict *v,
                         const char **why);

#endif
