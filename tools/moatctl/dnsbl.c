/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dnsbl.c - DNS blocklist lookups of our own addresses through libresolv:
 * res_ninit, the admin's nameserver (and port) put in place of resolv.conf's,
 * res_nquery, answers read with ns_initparse.
 */
#include "dnsbl.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 4096

int dnsbl_name(const char *address, const char *zone, char *out, size_t outlen)
{
    unsigned char a[16];
    size_t len = 0;
    int n;

    if (inet_pton(AF_INET, address, a) == 1) {
        n = snprintf(out, outlen, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
        return n > 0 && (size_t)n < outlen ? 0 : -1;
    }
    if (inet_pton(AF_INET6, address, a) != 1)
        return -1;
    for (int i = 15; i >= 0; i--) {
        n = snprintf(out + len, outlen > len ? outlen - len : 0, "%x.%x.", a[i] & 0xf, a[i] >> 4);
        if (n < 0 || (size_t)n >= (outlen > len ? outlen - len : 0))
            return -1;
        len += (size_t)n;
    }
    n = snprintf(out + len, outlen - len, "%s", zone);
    return n >= 0 && (size_t)n < outlen - len ? 0 : -1;
}

/* set_resolver - resolver ("IP" or "IP:PORT") as st's only nameserver; 0 or -1 */
static int set_resolver(struct __res_state *st, const char *resolver)
{
    char ip[64];
    const char *colon = strrchr(resolver, ':');
    long port = 53;
    struct in_addr addr;

    if (colon != NULL) {
        char *end;
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535)
            return -1;
        snprintf(ip, sizeof ip, "%.*s", (int)(colon - resolver), resolver);
    } else {
        snprintf(ip, sizeof ip, "%s", resolver);
    }
    if (inet_pton(AF_INET, ip, &addr) != 1)
        return -1;
    st->nscount = 1;
    memset(&st->nsaddr_list[0], 0, sizeof st->nsaddr_list[0]);
    st->nsaddr_list[0].sin_family = AF_INET;
    st->nsaddr_list[0].sin_addr = addr;
    st->nsaddr_list[0].sin_port = htons((unsigned short)port);
    return 0;
}

/* first_record - the first record of type in the answer section: A as text, TXT's first string */
static int first_record(const unsigned char *ans, int len, int type, char *out, size_t outlen)
{
    ns_msg msg;
    ns_rr rr;

    if (ns_initparse(ans, len, &msg) != 0)
        return -1;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || (int)ns_rr_type(rr) != type)
            continue;
        if (type == ns_t_a && ns_rr_rdlen(rr) == 4) {
            inet_ntop(AF_INET, ns_rr_rdata(rr), out, (socklen_t)outlen);
            return 0;
        }
        if (type == ns_t_txt && ns_rr_rdlen(rr) >= 1) {
            const unsigned char *d = ns_rr_rdata(rr);
            size_t n = d[0] < ns_rr_rdlen(rr) ? d[0] : (size_t)ns_rr_rdlen(rr) - 1;
            size_t k;
            for (k = 0; k < n && k + 1 < outlen; k++)
                out[k] = d[1 + k] < 0x20 || d[1 + k] > 0x7e ? '?' : (char)d[1 + k];
            out[k] = '\0';
            return 0;
        }
    }
    return -1;
}

int dnsbl_check(const char *address, const char *zone, const char *resolver, char *answer,
                size_t answerlen, char *text, size_t textlen)
{
    struct __res_state st;
    unsigned char *ans;
    char name[NS_MAXDNAME];
    int len, rc = DNSBL_ERROR;

    answer[0] = text[0] = '\0';
    if (dnsbl_name(address, zone, name, sizeof name) != 0) {
        snprintf(text, textlen, "%s is not an IP address", address);
        return DNSBL_ERROR;
    }
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0) {
        snprintf(text, textlen, "cannot set up libresolv");
        return DNSBL_ERROR;
    }
    st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    st.retrans = 2;
    st.retry = 2;
    if (resolver != NULL && *resolver && set_resolver(&st, resolver) != 0) {
        res_nclose(&st);
        snprintf(text, textlen, "resolver %s: not IPv4 address[:port]", resolver);
        return DNSBL_ERROR;
    }
    if ((ans = malloc(ANSWER_MAX)) == NULL) {
        res_nclose(&st);
        snprintf(text, textlen, "out of memory");
        return DNSBL_ERROR;
    }
    len = res_nquery(&st, name, ns_c_in, ns_t_a, ans, ANSWER_MAX);
    if (len < 0) {
        if (st.res_h_errno == HOST_NOT_FOUND || st.res_h_errno == NO_DATA)
            rc = DNSBL_NOT_LISTED;
        else
            snprintf(text, textlen, "no answer for %s (%s)", name, hstrerror(st.res_h_errno));
    } else if (first_record(ans, len, ns_t_a, answer, answerlen) != 0) {
        rc = DNSBL_NOT_LISTED;
    } else if (strncmp(answer, "127.255.255.", 12) == 0) {
        snprintf(text, textlen, "%s refused the query (answer %s): ask through a resolver of "
                                "your own (--resolver)", zone, answer);
    } else if (strncmp(answer, "127.", 4) != 0) {
        snprintf(text, textlen, "%s answered %s, not a blocklist answer (a resolver that "
                                "rewrites NXDOMAIN?)", zone, answer);
    } else {
        rc = DNSBL_LISTED;
        len = res_nquery(&st, name, ns_c_in, ns_t_txt, ans, ANSWER_MAX);
        if (len > 0)
            first_record(ans, len, ns_t_txt, text, textlen);
    }
    free(ans);
    res_nclose(&st);
    return rc;
}
