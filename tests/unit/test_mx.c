/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mx.c - catchall's MX and A lookups (modules/catchall/mx.c) against
 * a scripted DNS server on 127.0.0.1 (a child process answering UDP and
 * TCP): MX hosts in preference order with addresses from the additional
 * section, NXDOMAIN, a null MX (RFC 7505), a domain with no MX (its own
 * address, RFC 5321 5.1), a truncated UDP answer asked again over TCP,
 * SERVFAIL, a malformed answer, A lookups, and the system resolver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catchall/deadline.h"
#include "catchall/mx.h"

static pid_t server_pid;
static int server_port;

/* put_name - a domain name in DNS wire format at p; bytes written */
static size_t put_name(unsigned char *p, const char *name)
{
    size_t n = 0;

    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (unsigned char)len;
        memcpy(p + n, name, len);
        n += len;
        name += len + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

/* put_rr - a record owned by the question's name (pointer 0xC00C) or by owner */
static size_t put_rr(unsigned char *p, const char *owner, int type, const unsigned char *rdata,
                     size_t rdlen)
{
    size_t n = 0;

    if (owner == NULL) {
        p[n++] = 0xC0;
        p[n++] = 0x0C;
    } else {
        n += put_name(p, owner);
    }
    p[n++] = 0;
    p[n++] = (unsigned char)type;
    p[n++] = 0;
    p[n++] = 1;                        /* class IN */
    memset(p + n, 0, 3);
    p[n + 3] = 60;                     /* TTL 60 */
    n += 4;
    p[n++] = (unsigned char)(rdlen >> 8);
    p[n++] = (unsigned char)rdlen;
    memcpy(p + n, rdata, rdlen);
    return n + rdlen;
}

static size_t put_mx(unsigned char *p, const char *owner, int pref, const char *host)
{
    unsigned char rd[300];
    size_t n = 2;

    rd[0] = (unsigned char)(pref >> 8);
    rd[1] = (unsigned char)pref;
    n += put_name(rd + 2, host);
    return put_rr(p, owner, 15, rd, n);
}

static size_t put_a(unsigned char *p, const char *owner, const char *ip)
{
    unsigned char rd[4];

    inet_pton(AF_INET, ip, rd);
    return put_rr(p, owner, 1, rd, 4);
}

/*
 * answer - the scripted answer to query q (qlen bytes) into out; tcp says
 * how it came. Returns the answer's length (0: no answer at all).
 */
static size_t answer(const unsigned char *q, size_t qlen, int tcp, unsigned char *out)
{
    char name[256] = "";
    size_t i = 12, n, k = 0;
    int type, an = 0, ar = 0, rcode = 0, tc = 0;

    while (i < qlen && q[i] != 0 && k + q[i] + 1 < sizeof name) {   /* the question's name */
        if (k)
            name[k++] = '.';
        memcpy(name + k, q + i + 1, q[i]);
        k += q[i];
        i += (size_t)q[i] + 1;
    }
    name[k] = '\0';
    type = q[i + 2];
    n = i + 5;                       /* header and question, as asked */
    memcpy(out, q, n);
    if (strcasecmp(name, "pref.test") == 0 && type == 15) {
        n += put_mx(out + n, NULL, 30, "mx3.pref.test");
        n += put_mx(out + n, NULL, 10, "mx1.pref.test");
        n += put_mx(out + n, NULL, 20, "mx2.pref.test");
        an = 3;
        n += put_a(out + n, "mx1.pref.test", "192.0.2.1");
        ar = 1;
    } else if (strcasecmp(name, "nx.test") == 0) {
        rcode = 3;
    } else if (strcasecmp(name, "fail.test") == 0) {
        rcode = 2;
    } else if (strcasecmp(name, "null.test") == 0 && type == 15) {
        n += put_mx(out + n, NULL, 0, "");
        an = 1;
    } else if (strcasecmp(name, "implicit.test") == 0 && type == 1) {
        n += put_a(out + n, NULL, "192.0.2.7");
        an = 1;
    } else if (strcasecmp(name, "big.test") == 0 && type == 15) {
        if (!tcp) {
            tc = 1;                  /* too big for UDP: ask again over TCP */
        } else {
            n += put_mx(out + n, NULL, 5, "b.big.test");
            n += put_mx(out + n, NULL, 1, "a.big.test");
            an = 2;
        }
    } else if ((strcasecmp(name, "tcpfail.test") == 0 || strcasecmp(name, "tcpzero.test") == 0) &&
               type == 15) {
        if (tcp)
            return strcasecmp(name, "tcpzero.test") == 0 ? 1 : 0;   /* 1: a zero length */
        tc = 1;
    } else if (strcasecmp(name, "bad.test") == 0) {
        an = 2;                      /* says two records, has none: malformed */
    } else if (strcasecmp(name, "host.test") == 0 && type == 1) {
        n += put_a(out + n, NULL, "192.0.2.9");
        an = 1;
    } else if (strcasecmp(name, "silent.test") == 0) {
        return 0;
    }
    out[2] = (unsigned char)(0x84 | (tc ? 0x02 : 0) | (q[2] & 0x01));   /* QR AA (TC) RD */
    out[3] = (unsigned char)(0x80 | rcode);                               /* RA, rcode */
    out[6] = 0;
    out[7] = (unsigned char)an;
    out[8] = out[9] = 0;
    out[10] = 0;
    out[11] = (unsigned char)ar;
    return n;
}

/* serve - the child: answer on UDP and TCP until killed */
static void serve(int udp, int tcp)
{
    struct pollfd p[2] = {{udp, POLLIN, 0}, {tcp, POLLIN, 0}};
    unsigned char q[512], out[4096];

    for (;;) {
        if (poll(p, 2, -1) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            ssize_t got = recvfrom(udp, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
            size_t n = got >= 17 ? answer(q, (size_t)got, 0, out) : 0;
            if (n)
                sendto(udp, out, n, 0, (struct sockaddr *)&from, flen);
        }
        if (p[1].revents & POLLIN) {
            int c = accept(tcp, NULL, NULL);
            unsigned char len[2];
            if (c < 0)
                continue;
            if (recv(c, len, 2, MSG_WAITALL) == 2) {
                size_t qlen = ((size_t)len[0] << 8) | len[1];
                if (qlen <= sizeof q && recv(c, q, qlen, MSG_WAITALL) == (ssize_t)qlen) {
                    size_t n = answer(q, qlen, 1, out + 2);
                    if (n == 1)
                        n = 0;               /* a length of zero, said */
                    else if (n == 0)
                        goto hang_up;        /* nothing at all */
                    out[0] = (unsigned char)(n >> 8);
                    out[1] = (unsigned char)n;
                    send(c, out, n + 2, MSG_NOSIGNAL);
                }
            }
        hang_up:
            close(c);
        }
    }
}

static int setup(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int udp, tcp = -1, one = 1, tries;

    (void)state;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (tries = 0; tries < 20 && tcp < 0; tries++) {   /* one port free for both */
        udp = socket(AF_INET, SOCK_DGRAM, 0);
        a.sin_port = 0;
        if (bind(udp, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(udp, (struct sockaddr *)&a, &alen) != 0)
            return -1;
        tcp = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(tcp, (struct sockaddr *)&a, sizeof a) != 0 || listen(tcp, 8) != 0) {
            close(tcp);
            close(udp);
            tcp = -1;
        }
    }
    if (tcp < 0)
        return -1;
    server_port = ntohs(a.sin_port);
    if ((server_pid = fork()) == 0) {
        serve(udp, tcp);
        _exit(0);
    }
    close(udp);
    close(tcp);
    return server_pid > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    return 0;
}

static mx_resolver resolver(void)
{
    mx_resolver r;
    char err[256];

    assert_int_equal(mx_resolver_init(&r, "127.0.0.1", server_port, err, sizeof err), 0);
    r.retry_ms = 200;
    return r;
}

static long soon(void)
{
    return deadline_now_ms() + 10000;
}

static void mx_hosts_come_in_preference_order(void **state)
{
    mx_resolver r = resolver();
    mx_target t[MX_MAX];
    char err[256] = "";
    struct in_addr a;

    (void)state;
    assert_int_equal(mx_resolve(&r, "pref.test", soon(), t, MX_MAX, err, sizeof err), 3);
    assert_string_equal(t[0].host, "mx1.pref.test");
    assert_int_equal(t[0].preference, 10);
    assert_true(t[0].resolved);                  /* from the additional section */
    inet_pton(AF_INET, "192.0.2.1", &a);
    assert_int_equal(t[0].addr.s_addr, a.s_addr);
    assert_string_equal(t[1].host, "mx2.pref.test");
    assert_false(t[1].resolved);
    assert_string_equal(t[2].host, "mx3.pref.test");
    /* at most max targets */
    assert_int_equal(mx_resolve(&r, "pref.test", soon(), t, 1, err, sizeof err), 1);
}

static void no_such_domain_and_null_mx_take_no_mail(void **state)
{
    mx_resolver r = resolver();
    mx_target t[MX_MAX];
    char err[256] = "";

    (void)state;
    assert_int_equal(mx_resolve(&r, "nx.test", soon(), t, MX_MAX, err, sizeof err), 0);
    assert_string_equal(err, "no such domain");
    assert_int_equal(mx_resolve(&r, "null.test", soon(), t, MX_MAX, err, sizeof err), 0);
    assert_non_null(strstr(err, "null MX"));
}

static void a_domain_without_mx_is_its_own_mail_host(void **state)
{
    mx_resolver r = resolver();
    mx_target t[MX_MAX];
    char err[256] = "";
    struct in_addr a;

    (void)state;
    assert_int_equal(mx_resolve(&r, "implicit.test", soon(), t, MX_MAX, err, sizeof err), 1);
    assert_string_equal(t[0].host, "implicit.test");
    assert_true(t[0].resolved);
    inet_pton(AF_INET, "192.0.2.7", &a);
    assert_int_equal(t[0].addr.s_addr, a.s_addr);
    /* no MX and no address: no mail host at all */
    assert_int_equal(mx_resolve(&r, "pref-none.test", soon(), t, MX_MAX, err, sizeof err), 0);
    assert_non_null(strstr(err, "no IPv4 address"));
}

static void a_truncated_answer_is_asked_again_over_tcp(void **state)
{
    mx_resolver r = resolver();
    mx_target t[MX_MAX];
    char err[256] = "";

    (void)state;
    assert_int_equal(mx_resolve(&r, "big.test", soon(), t, MX_MAX, err, sizeof err), 2);
    assert_string_equal(t[0].host, "a.big.test");
    assert_string_equal(t[1].host, "b.big.test");
}

static void failures_are_errors_not_answers(void **state)
{
    mx_resolver r = resolver();
    mx_target t[MX_MAX];
    char err[256] = "";

    (void)state;
    assert_int_equal(mx_resolve(&r, "fail.test", soon(), t, MX_MAX, err, sizeof err), -1);
    assert_non_null(strstr(err, "rcode 2"));
    assert_int_equal(mx_resolve(&r, "bad.test", soon(), t, MX_MAX, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed"));
    /* a resolver that stays silent: -1 at the deadline, not later */
    assert_int_equal(mx_resolve(&r, "silent.test", deadline_now_ms() + 300, t, MX_MAX, err,
                                sizeof err), -1);
    assert_non_null(strstr(err, "no answer from the resolver"));
    assert_int_equal(mx_resolve(&r, "pref.test", soon(), t, 0, err, sizeof err), -1);
}

static void a_truncated_answer_without_tcp_is_an_error(void **state)
{
    mx_resolver r = resolver(), nobody;
    mx_target t[MX_MAX];
    char err[256] = "";
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;

    (void)state;
    assert_int_equal(mx_resolve(&r, "tcpfail.test", soon(), t, MX_MAX, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated answer for tcpfail.test and no TCP answer"));
    assert_int_equal(mx_resolve(&r, "tcpzero.test", soon(), t, MX_MAX, err, sizeof err), -1);
    assert_non_null(strstr(err, "no TCP answer"));
    /* a port nobody listens on: refused, an error long before the deadline */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    assert_int_equal(mx_resolver_init(&nobody, "127.0.0.1", ntohs(a.sin_port), err, sizeof err),
                     0);
    nobody.retry_ms = 50;
    assert_int_equal(mx_resolve(&nobody, "pref.test", soon(), t, MX_MAX, err, sizeof err), -1);
    assert_non_null(strstr(err, "no answer from the resolver"));
}

static void addresses_are_asked_when_not_known(void **state)
{
    mx_resolver r = resolver();
    mx_target t;
    char err[256] = "";
    struct in_addr a;

    (void)state;
    memset(&t, 0, sizeof t);
    snprintf(t.host, sizeof t.host, "host.test");
    assert_int_equal(mx_address(&r, &t, soon(), err, sizeof err), 0);
    inet_pton(AF_INET, "192.0.2.9", &a);
    assert_int_equal(t.addr.s_addr, a.s_addr);
    assert_int_equal(mx_address(&r, &t, soon(), err, sizeof err), 0);   /* known: no query */
    memset(&t, 0, sizeof t);
    snprintf(t.host, sizeof t.host, "nx.test");
    assert_int_equal(mx_address(&r, &t, soon(), err, sizeof err), -1);
    assert_non_null(strstr(err, "no IPv4 address for nx.test"));
}

static void resolver_settings(void **state)
{
    mx_resolver r;
    char err[256] = "";

    (void)state;
    assert_int_equal(mx_resolver_init(&r, "not-an-address", 53, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an IPv4 address"));
    assert_int_equal(mx_resolver_init(&r, "127.0.0.1", 0, err, sizeof err), -1);
    /* none given: the system's first IPv4 nameserver (resolv.conf; libresolv
     * falls back to 127.0.0.1 when the file names none) */
    err[0] = '\0';
    if (mx_resolver_init(&r, "", 0, err, sizeof err) == 0) {
        assert_int_equal(r.server.sin_family, AF_INET);
        assert_int_not_equal(r.server.sin_port, 0);
    } else {
        assert_non_null(strstr(err, "resolver"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mx_hosts_come_in_preference_order),
        cmocka_unit_test(no_such_domain_and_null_mx_take_no_mail),
        cmocka_unit_test(a_domain_without_mx_is_its_own_mail_host),
        cmocka_unit_test(a_truncated_answer_is_asked_again_over_tcp),
        cmocka_unit_test(failures_are_errors_not_answers),
        cmocka_unit_test(a_truncated_answer_without_tcp_is_an_error),
        cmocka_unit_test(addresses_are_asked_when_not_known),
        cmocka_unit_test(resolver_settings),
    };

    return cmocka_run_group_tests_name("catchall/mx", tests, setup, teardown);
}
