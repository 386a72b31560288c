/*
 * mx.h - where a domain's mail goes: its MX hosts by preference (or the
 * domain itself, RFC 5321 5.1), resolved to IPv4 addresses through a
 * configurable resolver (libresolv), with a timeout.
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
    int resolved;
} mx_target;

/*
 * mx_resolve - the MX targets of domain; resolver "" = the system's, else an
 * IPv4 address with port. Returns how many were found (0: none), -1 on a
 * DNS failure (err set).
 */
int mx_resolve(const char *domain, const char *resolver, int port, int timeout_s,
               mx_target *out, size_t max, char *err, size_t errlen);

#endif
