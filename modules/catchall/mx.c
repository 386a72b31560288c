/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mx.c - MX and A lookups: queries built by res_nmkquery, sent over UDP
 * (TCP when the answer is truncated) on non-blocking sockets waited on
 * with poll() against a deadline, answers parsed with ns_initparse.
 */
#include "mx.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"

#define DNS_ANSWER_MAX 4096

int mx_resolver_init(mx_resolver *r, const char *address, int port, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->server.sin_family = AF_INET;
    r->retry_ms = 1000;
    if (address && *address) {
        if (inet_pton(AF_INET, address, &r->server.sin_addr) != 1 || port < 1 || port > 65535) {
            snprintf(err, errlen, "resolver %s port %d: not an IPv4 address and port", address,
                     port);
            return -1;
        }
        r->server.sin_port = htons((uint16_t)port);
        return 0;
    } else {
        struct __res_state st;
        int i, found = 0;

        memset(&st, 0, sizeof st);
        if (res_ninit(&st) != 0) {
            snprintf(err, errlen, "cannot read the system's resolver configuration");
            return -1;
        }
        for (i = 0; i < st.nscount && !found; i++)
            if (st.nsaddr_list[i].sin_family == AF_INET) {
                r->server = st.nsaddr_list[i];
                found = 1;
            }
        res_nclose(&st);
        if (!found) {
            snprintf(err, errlen, "the system's resolver has no IPv4 nameserver");
            return -1;
        }
    }
    return 0;
}

/* query_tcp - the same query over TCP (after a truncated UDP answer); length or -1 */
static int query_tcp(const mx_resolver *r, const unsigned char *q, int qlen, unsigned char *ans,
                     long deadline)
{
    unsigned char lenbuf[2] = {(unsigned char)(qlen >> 8), (unsigned char)qlen};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
    socklen_t elen = sizeof err;
    size_t got = 0, want = 2;
    struct iovec iov[2] = {{lenbuf, 2}, {(void *)q, (size_t)qlen}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&r->server, sizeof r->server) != 0 &&
        (errno != EINPROGRESS || deadline_wait(fd, POLLOUT, deadline) <= 0 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0))
        goto fail;
    /* a query of < 300 bytes fits any socket buffer: one send */
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != qlen + 2)
        goto fail;
    while (got < want) {
        unsigned char *dst = want == 2 ? lenbuf + got : ans + got;
        ssize_t n;
        if (deadline_wait(fd, POLLIN, deadline) <= 0)
            goto fail;
        n = recv(fd, dst, want - got, 0);
        if (n <= 0)
            goto fail;
        got += (size_t)n;
        if (want == 2 && got == 2) {
            want = ((size_t)lenbuf[0] << 8) | lenbuf[1];
            got = 0;
            if (want == 0 || want > DNS_ANSWER_MAX)
                goto fail;
        }
    }
    close(fd);
    return (int)want;
fail:
    close(fd);
    return -1;
}

/*
 * query - ask type for name; the answer's length, or -1 with err set. UDP,
 * resent every retry_ms; the answer must carry our id (the connected
 * socket takes datagrams from the server only).
 */
static int query(const mx_resolver *r, const char *name, int type, unsigned char *ans,
                 long deadline, char *err, size_t errlen)
{
    struct __res_state st;
    unsigned char q[512];
    int qlen, fd, n = -1;
    long next_send = 0;

    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0) {
        snprintf(err, errlen, "cannot set up libresolv");
        return -1;
    }
    st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    qlen = res_nmkquery(&st, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof q);
    res_nclose(&st);
    if (qlen < (int)NS_HFIXEDSZ) {
        snprintf(err, errlen, "cannot build a DNS query for %.100s", name);
        return -1;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&r->server, sizeof r->server) != 0) {
        snprintf(err, errlen, "cannot reach the resolver: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        long now = deadline_now_ms(), wait_until;
        if (now >= deadline)
            break;
        if (now >= next_send) {
            if (send(fd, q, (size_t)qlen, 0) != qlen && errno != EAGAIN)
                break;   /* e.g. ECONNREFUSED from an earlier try: nobody listens */
            next_send = now + r->retry_ms;
        }
        wait_until = next_send < deadline ? next_send : deadline;
        if (deadline_wait(fd, POLLIN, wait_until) <= 0)
            continue;
        n = (int)recv(fd, ans, DNS_ANSWER_MAX, 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            break;
        if (n >= (int)NS_HFIXEDSZ && ans[0] == q[0] && ans[1] == q[1] && (ans[2] & 0x80))
            break;   /* our answer */
        n = -1;
    }
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "no answer from the resolver %s:%d for %.100s",
                 inet_ntoa(r->server.sin_addr), ntohs(r->server.sin_port), name);
        return -1;
    }
    if (ans[2] & 0x02) {   /* TC: truncated, ask again over TCP */
        n = query_tcp(r, q, qlen, ans, deadline);
        if (n < (int)NS_HFIXEDSZ || ans[0] != q[0] || ans[1] != q[1]) {
            snprintf(err, errlen, "truncated answer for %.100s and no TCP answer", name);
            return -1;
        }
    }
    return n;
}

/* parse - open the answer in msg; its response code, or -1 when it does not parse */
static int parse(const unsigned char *ans, int len, ns_msg *msg)
{
    if (ns_initparse(ans, len, msg) != 0)
        return -1;
    return (int)ns_msg_getflag(*msg, ns_f_rcode);
}

/* first_a - the first A record for host in section sec of msg; 0 or -1 */
static int first_a(ns_msg *msg, ns_sect sec, const char *host, struct in_addr *out)
{
    ns_rr rr;
    int i;

    for (i = 0; i < ns_msg_count(*msg, sec); i++)
        if (ns_parserr(msg, sec, i, &rr) == 0 && ns_rr_type(rr) == ns_t_a &&
            ns_rr_rdlen(rr) == 4 && (host == NULL || strcasecmp(ns_rr_name(rr), host) == 0)) {
            memcpy(out, ns_rr_rdata(rr), 4);
            return 0;
        }
    return -1;
}

int mx_address(const mx_resolver *r, mx_target *t, long deadline, char *err, size_t errlen)
{
    unsigned char *ans;
    ns_msg msg;
    int len, rc = -1;

    if (t->resolved)
        return 0;
    if ((ans = malloc(DNS_ANSWER_MAX)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    len = query(r, t->host, ns_t_a, ans, deadline, err, errlen);
    if (len > 0) {
        /* CNAMEs come first in the answer: take any A record there */
        if (parse(ans, len, &msg) == ns_r_noerror && first_a(&msg, ns_s_an, NULL, &t->addr) == 0)
            t->resolved = rc = 1;
        else
            snprintf(err, errlen, "no IPv4 address for %.100s", t->host);
    }
    free(ans);
    return rc > 0 ? 0 : -1;
}

static int by_preference(const void *a, const void *b)
{
    return ((const mx_target *)a)->preference - ((const mx_target *)b)->preference;
}

int mx_resolve(const mx_resolver *r, const char *domain, long deadline, mx_target *out,
               size_t max, char *err, size_t errlen)
{
    unsigned char *ans = malloc(DNS_ANSWER_MAX);
    ns_msg msg;
    ns_rr rr;
    size_t n = 0;
    int len, rcode, k, null_mx = 0;

    if (ans == NULL || max == 0) {
        snprintf(err, errlen, "out of memory");
        free(ans);
        return -1;
    }
    len = query(r, domain, ns_t_mx, ans, deadline, err, errlen);
    if (len < 0 || (rcode = parse(ans, len, &msg)) < 0) {
        if (len >= 0)
            snprintf(err, errlen, "malformed DNS answer for %.100s", domain);
        free(ans);
        return -1;
    }
    if (rcode == ns_r_nxdomain) {
        snprintf(err, errlen, "no such domain");
        free(ans);
        return 0;
    }
    if (rcode != ns_r_noerror) {
        snprintf(err, errlen, "MX lookup for %.100s failed: rcode %d", domain, rcode);
        free(ans);
        return -1;
    }
    for (k = 0; k < ns_msg_count(msg, ns_s_an) && n < max; k++) {
        char host[NS_MAXDNAME];
        if (ns_parserr(&msg, ns_s_an, k, &rr) != 0 || ns_rr_type(rr) != ns_t_mx ||
            ns_rr_rdlen(rr) < 3)
            continue;
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host,
                               sizeof host) < 0)
            continue;
        if (host[0] == '\0' || strcmp(host, ".") == 0) {
            null_mx = 1;   /* RFC 7505: this domain accepts no mail */
            continue;
        }
        memset(&out[n], 0, sizeof out[n]);
        out[n].preference = ns_get16(ns_rr_rdata(rr));
        snprintf(out[n].host, sizeof out[n].host, "%s", host);
        out[n].resolved = first_a(&msg, ns_s_ar, host, &out[n].addr) == 0;
        n++;
    }
    free(ans);
    if (null_mx && n == 0) {
        snprintf(err, errlen, "null MX: the domain takes no mail");
        return 0;
    }
    if (n == 0) {
        /* no MX: the domain itself is the mail host (RFC 5321 5.1) */
        memset(&out[0], 0, sizeof out[0]);
        snprintf(out[0].host, sizeof out[0].host, "%s", domain);
        if (mx_address(r, &out[0], deadline, err, errlen) != 0)
            return 0;
        return 1;
    }
    qsort(out, n, sizeof *out, by_preference);
    return (int)n;
}
