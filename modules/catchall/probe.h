/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.h - is a remote domain a catch-all? Ask its MX: MAIL FROM:<> and
 * RCPT TO two or more random local parts. Answers catchall, not_catchall or
 * inconclusive (4xx, 452, timeouts, policy rejections: never "not"), cached
 * per domain with a TTL per verdict, rate-limited server-wide, and bounded
 * by a time budget per SMTP session.
 *
 * Store keys: catchall:probe:<domain> (the cached verdict, value
 * "<verdict digit>\t<host>\t<detail>"), catchall:probing:<domain> (a probe
 * is under way: other sessions do not start a second one),
 * catchall:probes (the server-wide rate counter).
 */
#ifndef MOAT_CATCHALL_PROBE_H
#define MOAT_CATCHALL_PROBE_H

#include "api.h"

#include <stddef.h>
#include <time.h>

#include "runtime.h"
#include "smtp_reply.h"

typedef enum { PROBE_INCONCLUSIVE = 0, PROBE_CATCHALL = 1, PROBE_NOT_CATCHALL = 2 } probe_verdict;

#define PROBE_MAX_RCPTS 5

typedef struct probe_result {
    probe_verdict verdict;
    int cached;         /* the verdict came from the store */
    int probed;         /* an SMTP dialogue took place now */
    long ms;            /* what this call cost */
    char detail[256];   /* why, in a few words: "550 5.1.1 for moat-probe-...", "timeout" */
    char host[256];     /* the MX host that answered */
} probe_result;

const char *probe_verdict_name(probe_verdict v);

/*
 * probe_classify - the verdict from the replies to n RCPTs of random local
 * parts, when wanted were meant to be sent (n < wanted: the dialogue ended
 * early). Every one accepted: catchall; every one refused as an unknown
 * user (550/551/553, 5.1.x or no enhanced code, no policy wording):
 * not_catchall; anything else, inconclusive. detail says why.
 */
probe_verdict probe_classify(const smtp_reply *replies, int n, int wanted, char *detail,
                             size_t cap);

/*
 * catchall_probe - the verdict for domain, from the cache or a fresh probe
 * limited to budget_ms (and to probe { timeout }). A fresh probe is refused
 * by the server-wide rate limit or while another process probes the same
 * domain (inconclusive, not cached). 0, or -1 on a store failure (why).
 */
MOAT_API int catchall_probe(moat_runtime *rt, const char *domain, long budget_ms, time_t now,
                   probe_result *out, const char **why);

/* catchall_probe_cached - only the cache: 1 found (out filled), 0 not, -1 store failure */
int catchall_probe_cached(moat_runtime *rt, const char *domain, time_t now, probe_result *out,
                          time_t *expires, const char **why);

/* catchall_probe_forget - drop domain's cached verdict; 0, or -1 on a store failure */
int catchall_probe_forget(moat_runtime *rt, const char *domain);

/*
 * probe_session_budget_left - what this process (one SMTP connection: Exim
 * forks one per connection) may still spend on probes, in ms.
 */
MOAT_API long probe_session_budget_left(moat_runtime *rt);

#endif
