/*
 * mx.c - MX and A lookups with libresolv's thread-free res_n* interface.
 */
#include "mx.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int init_resolver(res_state st, const char *resolver, int port, int timeout_s)
{
    memset(st, 0, sizeof *st);
    if (res_ninit(st) != 0)
        return -1;
    st->retrans = timeout_s > 0 ? timeout_s : 1;
    st->retry = 1;
    st->options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    if (resolver && *resolver) {
        struct in_addr a;
        if (inet_pton(AF_INET, resolver, &a) != 1)
            return -1;
        st->nscount = 1;
        st->nsaddr_list[0].sin_family = AF_INET;
        st->nsaddr_list[0].sin_addr = a;
        st->nsaddr_list[0].sin_port = htons((uint16_t)port);
    }
    return 0;
}

/* lookup_a - the first A record of host */
static int lookup_a(res_state st, const char *host, struct in_addr *out)
{
    unsigned char answer[2048];
    ns_msg msg;
    ns_rr rr;
    int len = res_nquery(st, host, ns_c_in, ns_t_a, answer, sizeof answer), i;

    if (len < 0 || ns_initparse(answer, len, &msg) != 0)
        return -1;
    for (i = 0; i < ns_msg_count(msg, ns_s_an); i++)
        if (ns_parserr(&msg, ns_s_an, i, &rr) == 0 && ns_rr_type(rr) == ns_t_a &&
            ns_rr_rdlen(rr) == 4) {
            memcpy(out, ns_rr_rdata(rr), 4);
            return 0;
        }
    return -1;
}

static int by_preference(const void *a, const void *b)
{
    return ((const mx_target *)a)->preference - ((const mx_target *)b)->preference;
}

int mx_resolve(const char *domain, const char *resolver, int port, int timeout_s,
               mx_target *out, size_t max, char *err, size_t errlen)
{
    struct __res_state st;
    unsigned char answer[4096];
    ns_msg msg;
    ns_rr rr;
    size_t n = 0, i;
    int len, k;

    if (init_resolver(&st, resolver, port, timeout_s) != 0) {
        snprintf(err, errlen, "cannot set up the resolver %s", resolver);
        return -1;
    }
    len = res_nquery(&st, domain, ns_c_in, ns_t_mx, answer, sizeof answer);
    if (len < 0) {
        int h = st.res_h_errno;
        if (h == HOST_NOT_FOUND || h == NO_DATA) {
            /* no MX: the domain itself (RFC 5321 5.1) */
            snprintf(out[0].host, sizeof out[0].host, "%s", domain);
            out[0].resolved = lookup_a(&st, domain, &out[0].addr) == 0;
            res_nclose(&st);
            return out[0].resolved ? 1 : 0;
        }
        snprintf(err, errlen, "MX lookup for %s failed: %s", domain, hstrerror(h));
        res_nclose(&st);
        return -1;
    }
    if (ns_initparse(answer, len, &msg) == 0) {
        for (k = 0; k < ns_msg_count(msg, ns_s_an) && n < max; k++) {
            char host[NS_MAXDNAME];
            if (ns_parserr(&msg, ns_s_an, k, &rr) != 0 || ns_rr_type(rr) != ns_t_mx ||
                ns_rr_rdlen(rr) < 3)
                continue;
            if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host,
                                   sizeof host) < 0)
                continue;
            out[n].preference = ns_get16(ns_rr_rdata(rr));
            snprintf(out[n].host, sizeof out[n].host, "%s", host);
            n++;
        }
    }
    qsort(out, n, sizeof *out, by_preference);
    for (i = 0; i < n; i++)
        out[i].resolved = lookup_a(&st, out[i].host, &out[i].addr) == 0;
    res_nclose(&st);
    return (int)n;
}
