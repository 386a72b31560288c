/*
 * probe.c - the SMTP dialogue of a catch-all probe, with poll()-based
 * deadlines (never alarm()), and its cache in the store under
 * "catchall:probe:<domain>".
 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "mx.h"
#include "smtp_reply.h"

static long spent_ms;   /* this process's probing so far: one SMTP session */

static long now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000L + tv.tv_usec / 1000;
}

const char *probe_verdict_name(probe_verdict v)
{
    return v == PROBE_CATCHALL ? "catchall" : v == PROBE_NOT_CATCHALL ? "not_catchall"
                                                                      : "inconclusive";
}

long probe_session_budget_left(moat_runtime *rt)
{
    cfg_t *probe = cfg_getsec(moat_config_module(rt->config, "catchall"), "probe");
    long left = cfg_getint(probe, "session_budget") * 1000L - spent_ms;

    return left > 0 ? left : 0;
}

typedef struct conn {
    int fd;
    long deadline;
    char buf[8192];
    size_t len;
} conn;

/* wait_fd - poll for events until the deadline; 1 ready, 0 timeout, -1 error */
static int wait_fd(conn *c, short events)
{
    struct pollfd p = {c->fd, events, 0};
    long left = c->deadline - now_ms();
    int r;

    if (left <= 0)
        return 0;
    do
        r = poll(&p, 1, (int)left);
    while (r < 0 && errno == EINTR);
    return r;
}

static int dial(conn *c, struct in_addr addr, int port)
{
    struct sockaddr_in sa;
    int err = 0;
    socklen_t len = sizeof err;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr = addr;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return 0;
    if (errno != EINPROGRESS || wait_fd(c, POLLOUT) <= 0)
        return -1;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        return -1;
    return 0;
}

/* read_reply - the next complete reply; 0, or -1 on timeout/close/junk */
static int read_reply(conn *c, smtp_reply *r)
{
    for (;;) {
        long used = smtp_reply_parse(c->buf, c->len, r);
        ssize_t n;

        if (used < 0)
            return -1;
        if (used > 0) {
            memmove(c->buf, c->buf + used, c->len - (size_t)used);
            c->len -= (size_t)used;
            return 0;
        }
        if (c->len >= sizeof c->buf - 1 || wait_fd(c, POLLIN) <= 0)
            return -1;
        n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (n <= 0 && !(n < 0 && errno == EAGAIN))
            return -1;
        if (n > 0)
            c->len += (size_t)n;
    }
}

static int send_line(conn *c, const char *line)
{
    size_t off = 0, len = strlen(line);

    while (off < len) {
        ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (wait_fd(c, POLLOUT) <= 0)
            return -1;
    }
    return 0;
}

static int command(conn *c, const char *line, smtp_reply *r)
{
    return send_line(c, line) == 0 ? read_reply(c, r) : -1;
}

/* random_local - a local part nobody has: "moat-probe-" and 12 hex digits */
static void random_local(char *out, size_t cap)
{
    unsigned char b[6] = {0};
    size_t i, n;

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(now_ms() >> (i * 3));
    n = (size_t)snprintf(out, cap, "moat-probe-");
    for (i = 0; i < sizeof b && n + 2 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
}

/* dialogue - one SMTP session with one MX host */
static probe_verdict dialogue(cfg_t *probe, struct in_addr addr, const char *domain,
                              long deadline, char *detail, size_t cap)
{
    conn c = {-1, deadline, "", 0};
    smtp_reply r;
    char line[600], local[40];
    const char *helo = cfg_getstr(probe, "helo");
    int i, probes = (int)cfg_getint(probe, "probes"), accepted = 0;
    probe_verdict v = PROBE_INCONCLUSIVE;

    if (dial(&c, addr, (int)cfg_getint(probe, "port")) != 0) {
        snprintf(detail, cap, "cannot connect");
        goto done;
    }
    if (read_reply(&c, &r) != 0 || r.code / 100 != 2) {
        snprintf(detail, cap, "no greeting");
        goto done;
    }
    snprintf(line, sizeof line, "EHLO %s\r\n", helo && *helo ? helo : "moat.invalid");
    if (command(&c, line, &r) != 0 || r.code != 250) {
        snprintf(detail, cap, "EHLO refused");
        goto done;
    }
    if (command(&c, "MAIL FROM:<>\r\n", &r) != 0 || r.code != 250) {
        snprintf(detail, cap, "MAIL FROM:<> answered %d", r.code);
        goto done;
    }
    for (i = 0; i < probes; i++) {
        random_local(local, sizeof local);
        snprintf(line, sizeof line, "RCPT TO:<%s@%s>\r\n", local, domain);
        if (command(&c, line, &r) != 0) {
            snprintf(detail, cap, "timeout or dropped after %d of %d probes", i, probes);
            goto done;
        }
        if (r.code == 250 || r.code == 251) {
            accepted++;
            continue;
        }
        if (r.code / 100 == 5 && r.enhanced[0] == 5 && r.enhanced[1] == 7) {
            snprintf(detail, cap, "policy rejection %d %d.%d.%d", r.code, r.enhanced[0],
                     r.enhanced[1], r.enhanced[2]);
            goto done;
        }
        if (r.code == 550 || r.code == 551 || r.code == 553) {
            snprintf(detail, cap, "%d %d.%d.%d for %s", r.code, r.enhanced[0], r.enhanced[1],
                     r.enhanced[2], local);
            v = PROBE_NOT_CATCHALL;
            goto done;
        }
        snprintf(detail, cap, "%d after %d accepted", r.code, accepted);
        goto done;
    }
    if (accepted == probes) {
        v = PROBE_CATCHALL;
        snprintf(detail, cap, "%d random local parts accepted", accepted);
    }
done:
    if (c.fd >= 0) {
        c.deadline = now_ms() + 200 < deadline ? now_ms() + 200 : deadline;
        (void)send_line(&c, "QUIT\r\n");
        close(c.fd);
    }
    return v;
}

int catchall_probe(moat_runtime *rt, const char *domain_in, long budget_ms, time_t now,
                   probe_result *out, const char **why)
{
    cfg_t *probe = cfg_getsec(moat_config_module(rt->config, "catchall"), "probe");
    char domain[ADDR_DOMAIN_MAX + 1], key[300], val[300], err[256];
    mx_target mx[MX_MAX];
    size_t len = 0;
    uint64_t recent = 0;
    long start = now_ms(), deadline;
    int n, i;
    long ttl;

    memset(out, 0, sizeof *out);
    addr_lower(domain_in, domain, sizeof domain);
    if (!addr_domain_valid(domain)) {
        snprintf(out->detail, sizeof out->detail, "not a domain");
        return 0;
    }
    snprintf(key, sizeof key, "catchall:probe:%s", domain);
    switch (moat_store_get(rt->store, key, val, sizeof val - 1, &len, NULL, now)) {
    case STORE_OK:
        val[len] = '\0';
        out->verdict = (probe_verdict)(val[0] - '0');
        out->cached = 1;
        snprintf(out->detail, sizeof out->detail, "%s", len > 2 ? val + 2 : "");
        return 0;
    case STORE_ERROR:
        *why = moat_store_last_error(rt->store);
        return -1;
    default:
        break;
    }
    if (moat_store_counter_add(rt->store, "catchall:probes", 60, 1, now, &recent) != STORE_OK) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    if (recent > (uint64_t)cfg_getint(probe, "rate_per_minute")) {
        snprintf(out->detail, sizeof out->detail, "rate limited");
        return 0;   /* not cached: the next session may probe */
    }
    if (budget_ms > cfg_getint(probe, "timeout") * 1000L)
        budget_ms = cfg_getint(probe, "timeout") * 1000L;
    deadline = start + budget_ms;
    n = mx_resolve(domain, cfg_getstr(probe, "resolver"), (int)cfg_getint(probe, "resolver_port"),
                   budget_ms / 1000 > 0 ? (int)(budget_ms / 1000) : 1, mx, MX_MAX, err, sizeof err);
    if (n <= 0) {
        snprintf(out->detail, sizeof out->detail, "%s", n < 0 ? err : "no MX");
    } else {
        for (i = 0; i < n && now_ms() < deadline; i++) {
            if (!mx[i].resolved)
                continue;
            snprintf(out->host, sizeof out->host, "%s", mx[i].host);
            out->verdict = dialogue(probe, mx[i].addr, domain, deadline, out->detail,
                                    sizeof out->detail);
            if (out->verdict != PROBE_INCONCLUSIVE || strcmp(out->detail, "cannot connect") != 0)
                break;   /* only an unreachable host sends us to the next MX */
        }
    }
    spent_ms += now_ms() - start;
    ttl = cfg_getint(probe, out->verdict == PROBE_CATCHALL       ? "ttl_catchall"
                            : out->verdict == PROBE_NOT_CATCHALL ? "ttl_not_catchall"
                                                                 : "ttl_inconclusive");
    snprintf(val, sizeof val, "%d %s", (int)out->verdict, out->detail);
    if (ttl > 0 && moat_store_set(rt->store, key, val, strlen(val), (uint32_t)ttl, now) != STORE_OK) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    moat_log(MOAT_LOG_INFO, "moat catchall: probe domain=%s verdict=%s host=%s detail=\"%s\" ms=%ld",
             domain, probe_verdict_name(out->verdict), out->host, out->detail, now_ms() - start);
    return 0;
}
