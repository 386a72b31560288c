/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mx.h - where a domain's mail goes: its MX hosts by preference (or the
 * domain itself, RFC 5321 5.1; none for a null MX, RFC 7505), and their
 * IPv4 addresses, asked of a configurable resolver. libresolv builds the
 * queries and parses the answers; moat sends them itself, so that every
 * wait is bounded by the caller's deadline in milliseconds (res_nquery
 * only knows whole seconds per try).
 */
#ifndef MOAT_CATCHALL_MX_H
#define MOAT_CATCHALL_MX_H

#include <netinet/in.h>
#include <stddef.h>

#define MX_MAX 8

typedef struct mx_target {
    char host[256];
    int preference;
    struct in_addr addr;
    int resolved;           /* addr is known (from the additional section or asked) */
} mx_target;

typedef struct mx_resolver {
    struct sockaddr_in server;
    int retry_ms;           /* resend a UDP query after this long without answer */
} mx_resolver;

/*
 * mx_resolver_init - the resolver at address:port, or the system's first
 * IPv4 nameserver (resolv.conf) when address is NULL or "". 0, or -1 with err.
 */
int mx_resolver_init(mx_resolver *r, const char *address, int port, char *err, size_t errlen);

/*
 * mx_resolve - the MX targets of domain, by preference, until deadline
 * (deadline_now_ms() scale). Returns how many (0: the domain takes no
 * mail: no such domain, a null MX, no address), -1 when the resolver
 * failed or did not answer in time (err set).
 */
int mx_resolve(const mx_resolver *r, const char *domain, long deadline, mx_target *out,
               size_t max, char *err, size_t errlen);

/* mx_address - fill t->addr from an A lookup unless known; 0, or -1 (err set) */
int mx_address(const mx_resolver *r, mx_target *t, long deadline, char *err, size_t errlen);

#endif
