/*
 * probe.h - is a remote domain a catch-all? Ask its MX: MAIL FROM:<> and
 * RCPT TO two or more random local parts. Answers catchall, not_catchall or
 * inconclusive (4xx, 452, timeouts, policy rejections: never "not"), cached
 * per domain, rate-limited, and bounded by a time budget per SMTP session.
 */
#ifndef MOAT_CATCHALL_PROBE_H
#define MOAT_CATCHALL_PROBE_H

#include <time.h>

#include "runtime.h"

typedef enum { PROBE_INCONCLUSIVE = 0, PROBE_CATCHALL = 1, PROBE_NOT_CATCHALL = 2 } probe_verdict;

typedef struct probe_result {
    probe_verdict verdict;
    int cached;
    char detail[256];   /* why, in a few words: "550 5.1.1 on moat-probe-...", "timeout" */
    char host[256];
} probe_result;

const char *probe_verdict_name(probe_verdict v);

/*
 * catchall_probe - the verdict for domain, from the cache or a fresh probe
 * limited to budget_ms (a fresh probe is also refused by the global rate
 * limit). 0, or -1 on a store failure (why).
 */
int catchall_probe(moat_runtime *rt, const char *domain, long budget_ms, time_t now,
                   probe_result *out, const char **why);

/* probe_session_budget_left - what this process (one SMTP session) may still spend, in ms */
long probe_session_budget_left(moat_runtime *rt);

#endif
