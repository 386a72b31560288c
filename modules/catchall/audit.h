/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h - the local catch-all audit: which of our domains accept any
 * local part, through Exim's own routing (exim -bt, run by moatctl, never
 * from a dlfunc: the caller passes the runner) and through moat's rcpt
 * directory. The parsing of Exim's output is pure and unit-tested.
 */
#ifndef MOAT_CATCHALL_AUDIT_H
#define MOAT_CATCHALL_AUDIT_H

#include <stddef.h>

#include "runtime.h"

#define AUDIT_DOMAINS_MAX 256
#define AUDIT_SKIPPED_MAX 16

typedef struct audit_domain {
    char domain[256];
    int probes;
    int accepted;               /* random local parts Exim routed */
    int deferred;               /* Exim could not decide (a lookup deferred) */
    int directory_accepted;     /* random addresses moat's rcpt directory says exist */
    char router[64];            /* the router that took the random address */
    char final_router[64];      /* the router that delivers it in the end */
    char target[320];           /* where it was redirected ("" if delivered as is) */
    int relayed;                /* handed to another host, which Exim does not ask */
} audit_domain;

typedef struct audit_report {
    audit_domain domains[AUDIT_DOMAINS_MAX];
    size_t count;
    char skipped[AUDIT_SKIPPED_MAX][128];   /* local_domains items not probed, and why */
    size_t skipped_count;
    char error[512];
} audit_report;

/* audit_run_fn - run Exim with args (after -C); its output in out, exit status or -1 */
typedef int (*audit_run_fn)(void *ctx, const char *const *args, char *out, size_t cap);

/* audit_domain_is_catchall - whether the domain accepted a random local part anywhere */
int audit_domain_is_catchall(const audit_domain *d);

/*
 * catchall_audit - probe each domain of domains (NULL: every domain of
 * Exim's local_domains) with probes random local parts. rt may be NULL
 * (no rcpt directory). 0, or -1 with report->error.
 */
int catchall_audit(moat_runtime *rt, audit_run_fn run, void *ctx, const char *const *domains,
                   int probes, audit_report *report);

/*
 * audit_parse_bt - read the output of `exim -d+route -bt ADDRESS` (or of a
 * plain -bt, where the debug lines are missing) into d's router,
 * final_router, target and relayed.
 */
void audit_parse_bt(const char *output, audit_domain *d);

/*
 * audit_local_domains - add the items of a local_domains list as Exim -bP
 * prints it ("domainlist local_domains = a : @ : lsearch;/file") to r:
 * "@" is host; lsearch;FILE and dsearch;DIR are read; patterns and other
 * lookups are noted in r->skipped.
 */
void audit_local_domains(const char *list, const char *host, audit_report *r);

#endif
