/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.c - the remote catch-all probe: the SMTP dialogue with a domain's
 * MX on a non-blocking socket waited on with poll() against one deadline
 * (never alarm()), the reading of its answers, the cache in the store, the
 * server-wide rate limit and the per-connection time budget.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "deadline.h"
#include "log.h"
#include "mx.h"
#include "store_keys.h"

/* What this process spent on probes: Exim forks a process per connection. */
static long spent_ms;
static pid_t spent_pid;

const char *probe_verdict_name(probe_verdict v)
{
    return v == PROBE_CATCHALL ? "catchall" : v == PROBE_NOT_CATCHALL ? "not_catchall"
                                                                      : "inconclusive";
}

static cfg_t *probe_section(moat_runtime *rt)
{
    return cfg_getsec(moat_config_module(rt->config, "catchall"), "probe");
}

long probe_session_budget_left(moat_runtime *rt)
{
    long left;

    if (spent_pid != getpid()) {   /* a new connection process */
        spent_pid = getpid();
        spent_ms = 0;
    }
    left = moat_cfg_int(probe_section(rt), "session_budget") * 1000L - spent_ms;
    return left > 0 ? left : 0;
}

/* ---------------------------------------------------------------- reading replies */

/* policy_wording - whether a refusal's text speaks of policy, not of the address */
static int policy_wording(const char *text)
{
    static const char *const words[] = {"block", "black", "listed", "spam", "policy",
                                        "reputation", "rbl", "banned", "relay", "abuse",
                                        "rate limit", "too many", "greylist", "try again"};
    char lower[SMTP_REPLY_TEXT_MAX];
    size_t i;

    for (i = 0; text[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);
    lower[i] = '\0';
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(lower, words[i]))
            return 1;
    return 0;
}

/* refused_as_unknown - a permanent refusal of this address as a non-existent user */
static int refused_as_unknown(const smtp_reply *r)
{
    if (r->code != 550 && r->code != 551 && r->code != 553)
        return 0;
    if (r->enhanced[0] == 5 && r->enhanced[1] != 1 &&
        !(r->enhanced[1] == 0 && r->enhanced[2] == 0))
        return 0;   /* 5.7.x policy, 5.2.x mailbox, 5.4.x network, 5.3.x system ... */
    return !policy_wording(r->text);
}

probe_verdict probe_classify(const smtp_reply *replies, int n, int wanted, char *detail,
                             size_t cap)
{
    int i, accepted = 0, unknown = 0;

    for (i = 0; i < n; i++) {
        if (replies[i].code == 250 || replies[i].code == 251)
            accepted++;
        else if (refused_as_unknown(&replies[i]))
            unknown++;
        else {
            snprintf(detail, cap, "RCPT %d of %d answered %d %d.%d.%d %.80s", i + 1, wanted,
                     replies[i].code, replies[i].enhanced[0], replies[i].enhanced[1],
                     replies[i].enhanced[2], replies[i].text);
            return PROBE_INCONCLUSIVE;
        }
    }
    if (accepted && unknown) {
        snprintf(detail, cap, "mixed answers: %d accepted, %d refused", accepted, unknown);
        return PROBE_INCONCLUSIVE;
    }
    if (n < wanted || wanted <= 0) {
        snprintf(detail, cap, "the dialogue ended after %d of %d RCPTs", n, wanted);
        return PROBE_INCONCLUSIVE;
    }
    if (accepted == n) {
        snprintf(detail, cap, "%d of %d random local parts accepted", accepted, wanted);
        return PROBE_CATCHALL;
    }
    snprintf(detail, cap, "%d of %d random local parts refused: %d %d.%d.%d", unknown, wanted,
             replies[0].code, replies[0].enhanced[0], replies[0].enhanced[1],
             replies[0].enhanced[2]);
    return PROBE_NOT_CATCHALL;
}

/* ---------------------------------------------------------------- the SMTP dialogue */

typedef struct conn {
    int fd;
    long deadline;
    char buf[8192];
    size_t len;
} conn;

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
    if (errno != EINPROGRESS || deadline_wait(c->fd, POLLOUT, c->deadline) <= 0)
        return -1;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        return -1;
    return 0;
}

/* read_reply - the next complete reply; 0, or -1 on timeout, close or junk */
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
        if (c->len >= sizeof c->buf || deadline_wait(c->fd, POLLIN, c->deadline) <= 0)
            return -1;
        n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
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
        if (deadline_wait(c->fd, POLLOUT, c->deadline) <= 0)
            return -1;
    }
    return 0;
}

static int command(conn *c, const char *line, smtp_reply *r)
{
    memset(r, 0, sizeof *r);
    return send_line(c, line) == 0 ? read_reply(c, r) : -1;
}

/* random_local - a local part nobody has: "moat-probe-" and 16 hex digits */
static void random_local(char *out, size_t cap)
{
    unsigned char b[8] = {0};
    size_t i, n;

    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        long t = deadline_now_ms() ^ (long)getpid();
        for (i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(t >> (i * 5));
    }
    n = (size_t)snprintf(out, cap, "moat-probe-");
    for (i = 0; i < sizeof b && n + 2 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
}

typedef enum { TALK_DONE, TALK_NEXT_HOST } talk_outcome;

/*
 * dialogue - one SMTP session with one MX host. TALK_NEXT_HOST when the
 * host could not be talked to at all (unreachable, no greeting, refused
 * EHLO and HELO): another MX may do better; TALK_DONE with *v otherwise.
 */
static talk_outcome dialogue(cfg_t *probe, struct in_addr addr, const char *domain,
                             long deadline, probe_verdict *v, char *detail, size_t cap)
{
    conn c = {-1, deadline, "", 0};
    smtp_reply r, rcpts[PROBE_MAX_RCPTS];
    char line[600], local[40];
    const char *helo = moat_cfg_str(probe, "helo");
    int i, wanted = (int)moat_cfg_int(probe, "probes"), n = 0, failed = 0;
    talk_outcome outcome = TALK_NEXT_HOST;

    *v = PROBE_INCONCLUSIVE;
    if (wanted > PROBE_MAX_RCPTS)
        wanted = PROBE_MAX_RCPTS;
    if (helo == NULL || *helo == '\0')
        helo = "moat.invalid";
    if (dial(&c, addr, (int)moat_cfg_int(probe, "port")) != 0) {
        snprintf(detail, cap, "%s", deadline_now_ms() >= deadline ? "timeout connecting"
                                                                  : "cannot connect");
        goto done;
    }
    memset(&r, 0, sizeof r);
    if (read_reply(&c, &r) != 0 || r.code != 220) {
        snprintf(detail, cap, r.code ? "greeting %d" : "no greeting (timeout)", r.code);
        goto done;
    }
    snprintf(line, sizeof line, "EHLO %s\r\n", helo);
    if (command(&c, line, &r) != 0 || r.code != 250) {
        snprintf(line, sizeof line, "HELO %s\r\n", helo);
        if (r.code == 0 || command(&c, line, &r) != 0 || r.code != 250) {
            snprintf(detail, cap, "EHLO and HELO refused (%d)", r.code);
            goto done;
        }
    }
    outcome = TALK_DONE;
    if (command(&c, "MAIL FROM:<>\r\n", &r) != 0 || r.code != 250) {
        snprintf(detail, cap, r.code ? "MAIL FROM:<> answered %d" : "timeout after MAIL FROM",
                 r.code);
        goto done;
    }
    for (i = 0; i < wanted; i++) {
        random_local(local, sizeof local);
        snprintf(line, sizeof line, "RCPT TO:<%s@%s>\r\n", local, domain);
        if (command(&c, line, &rcpts[n]) != 0) {
            failed = 1;
            break;
        }
        n++;
        /* a 4xx, or an answer of another kind than the first, decides already */
        if (rcpts[n - 1].code / 100 == 4 || rcpts[n - 1].code / 100 != rcpts[0].code / 100)
            break;
    }
    *v = probe_classify(rcpts, n, wanted, detail, cap);
    if (failed && *v == PROBE_INCONCLUSIVE)
        snprintf(detail, cap, "%s after %d of %d RCPTs",
                 deadline_now_ms() >= deadline ? "timeout" : "connection lost", n, wanted);
done:
    if (c.fd >= 0) {
        /* say goodbye if it costs nothing: never wait for the answer */
        long now = deadline_now_ms();
        c.deadline = now + 50 < deadline ? now + 50 : now;
        (void)send_line(&c, "QUIT\r\n");
        close(c.fd);
    }
    return outcome;
}

/* ---------------------------------------------------------------- cache and limits */

int catchall_probe_cached(moat_runtime *rt, const char *domain_in, time_t now, probe_result *out,
                          time_t *expires, const char **why)
{
    char domain[ADDR_DOMAIN_MAX + 1], key[STORE_KEY_MAX], val[600], *host, *detail;

    memset(out, 0, sizeof *out);
    addr_lower(domain_in, domain, sizeof domain);
    catchall_key(key, sizeof key, CATCHALL_KEY_PROBE, domain);
    switch (moat_store_get_str(rt->store, key, val, sizeof val, expires, now)) {
    case STORE_OK:
        break;
    case STORE_ERROR:
        *why = moat_store_last_error(rt->store);
        return -1;
    default:
        return 0;
    }
    out->cached = 1;
    out->verdict = val[0] == '1' ? PROBE_CATCHALL : val[0] == '2' ? PROBE_NOT_CATCHALL
                                                                  : PROBE_INCONCLUSIVE;
    host = strchr(val, '\t');
    detail = host ? strchr(host + 1, '\t') : NULL;
    if (host && detail) {
        snprintf(out->host, sizeof out->host, "%.*s", (int)(detail - host - 1), host + 1);
        snprintf(out->detail, sizeof out->detail, "%s", detail + 1);
    }
    return 1;
}

int catchall_probe_forget(moat_runtime *rt, const char *domain_in)
{
    char domain[ADDR_DOMAIN_MAX + 1], key[STORE_KEY_MAX];

    addr_lower(domain_in, domain, sizeof domain);
    catchall_key(key, sizeof key, CATCHALL_KEY_PROBE, domain);
    if (moat_store_del(rt->store, key) == STORE_ERROR)
        return -1;
    catchall_key(key, sizeof key, CATCHALL_KEY_PROBING, domain);
    return moat_store_del(rt->store, key) == STORE_ERROR ? -1 : 0;
}

/* fresh_probe - resolve and talk to the MX hosts in order until one answers */
static void fresh_probe(cfg_t *probe, const char *domain, long deadline, probe_result *out)
{
    mx_resolver res;
    mx_target mx[MX_MAX];
    char err[256];
    int n, i;

    if (mx_resolver_init(&res, moat_cfg_str(probe, "resolver"),
                         (int)moat_cfg_int(probe, "resolver_port"), err, sizeof err) != 0) {
        snprintf(out->detail, sizeof out->detail, "%s", err);
        return;
    }
    n = mx_resolve(&res, domain, deadline, mx, MX_MAX, err, sizeof err);
    if (n <= 0) {
        snprintf(out->detail, sizeof out->detail, "%s", n < 0 ? err : *err ? err : "no MX");
        return;
    }
    for (i = 0; i < n && deadline_now_ms() < deadline; i++) {
        probe_verdict v;
        if (mx_address(&res, &mx[i], deadline, err, sizeof err) != 0) {
            snprintf(out->detail, sizeof out->detail, "%s", err);
            continue;
        }
        snprintf(out->host, sizeof out->host, "%s", mx[i].host);
        out->probed = 1;
        if (dialogue(probe, mx[i].addr, domain, deadline, &v, out->detail,
                     sizeof out->detail) == TALK_DONE) {
            out->verdict = v;
            return;
        }
    }
    if (deadline_now_ms() >= deadline && strstr(out->detail, "timeout") == NULL)
        snprintf(out->detail + strlen(out->detail), sizeof out->detail - strlen(out->detail),
                 "%s", " (time budget spent)");
}

int catchall_probe(moat_runtime *rt, const char *domain_in, long budget_ms, time_t now,
                   probe_result *out, const char **why)
{
    cfg_t *probe = probe_section(rt);
    char domain[ADDR_DOMAIN_MAX + 1], key[STORE_KEY_MAX], busy[STORE_KEY_MAX], val[600];
    uint64_t recent = 0;
    long start = deadline_now_ms(), timeout_ms = moat_cfg_int(probe, "timeout") * 1000L, ttl;
    int r, locked = 0;

    (void)probe_session_budget_left(rt);   /* notice a new connection process */
    r = catchall_probe_cached(rt, domain_in, now, out, NULL, why);
    if (r != 0)
        return r < 0 ? -1 : 0;
    addr_lower(domain_in, domain, sizeof domain);
    if (!addr_domain_valid(domain) || strchr(domain, '.') == NULL) {
        snprintf(out->detail, sizeof out->detail, "not a domain");
        return 0;
    }
    if (budget_ms <= 0) {
        snprintf(out->detail, sizeof out->detail, "no time left in this session's budget");
        return 0;
    }
    if (budget_ms > timeout_ms)
        budget_ms = timeout_ms;
    /* The lock: taken in one step (SET NX on Redis), so of processes that
     * miss the cache at once, one probes. */
    catchall_key(busy, sizeof busy, CATCHALL_KEY_PROBING, domain);
    if (moat_store_set_new(rt->store, busy, "1", 1, (uint32_t)(budget_ms / 1000 + 2), now,
                           &locked) != STORE_OK) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    if (!locked) {
        snprintf(out->detail, sizeof out->detail, "another process is probing this domain");
        return 0;
    }
    if (moat_store_counter_add(rt->store, catchall_key_prefix(CATCHALL_KEY_PROBES), 60, 1, now, &recent) != STORE_OK) {
        *why = moat_store_last_error(rt->store);
        (void)moat_store_del(rt->store, busy);
        return -1;
    }
    if (recent > (uint64_t)moat_cfg_int(probe, "rate_per_minute")) {
        snprintf(out->detail, sizeof out->detail, "rate limited (%d probes a minute)",
                 (int)moat_cfg_int(probe, "rate_per_minute"));
        (void)moat_store_del(rt->store, busy);
        return 0;   /* not cached: a later session may probe */
    }
    fresh_probe(probe, domain, start + budget_ms, out);
    out->ms = deadline_now_ms() - start;
    spent_ms += out->ms;
    (void)moat_store_del(rt->store, busy);
    ttl = moat_cfg_int(probe, out->verdict == PROBE_CATCHALL       ? "ttl_catchall"
                            : out->verdict == PROBE_NOT_CATCHALL ? "ttl_not_catchall"
                                                                 : "ttl_inconclusive");
    snprintf(val, sizeof val, "%d\t%s\t%s", (int)out->verdict, out->host, out->detail);
    catchall_key(key, sizeof key, CATCHALL_KEY_PROBE, domain);
    if (ttl > 0 && moat_store_set(rt->store, key, val, strlen(val), (uint32_t)ttl, now) !=
        STORE_OK) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    moat_log(MOAT_LOG_INFO,
             "moat catchall: action=probe reason=%s domain=%s verdict=%s host=%s detail=\"%s\" "
             "ms=%ld", probe_verdict_name(out->verdict), domain, probe_verdict_name(out->verdict),
             out->host[0] ? out->host : "-", out->detail, out->ms);
    return 0;
}
