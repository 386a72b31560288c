/*
 * audit.h - the local catch-all audit: which of our domains accept any
 * local part, through Exim's own routing (exim -bt, run by moatctl, never
 * from a dlfunc) and through moat's rcpt directory.
 */
#ifndef MOAT_CATCHALL_AUDIT_H
#define MOAT_CATCHALL_AUDIT_H

#include <stddef.h>

#include "runtime.h"

#define AUDIT_DOMAINS_MAX 64

typedef struct audit_domain {
    char domain[256];
    int exim_catchall;          /* a random local part routes */
    char router[64];            /* the router that took it */
    char target[320];           /* where it went ("" if delivered as is) */
    int directory_catchall;     /* moat's rcpt directory says a random address exists */
    int probes;
    int accepted;
} audit_domain;

typedef struct audit_report {
    audit_domain domains[AUDIT_DOMAINS_MAX];
    size_t count;
    char error[512];
} audit_report;

/*
 * catchall_audit - probe every local domain of the Exim configuration
 * (exim_config NULL: Exim's default) with probes random local parts; 0 or
 * -1 with report->error.
 */
int catchall_audit(moat_runtime *rt, const char *exim_binary, const char *exim_config,
                   int probes, audit_report *report);

#endif
