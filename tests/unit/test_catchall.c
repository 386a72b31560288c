/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_catchall.c - the catchall module's logic: SMTP reply parsing
 * (multi-line, enhanced codes, junk), how probe answers are read, the
 * RCPT-time policy on a real LMDB store with the rcpt module's real
 * counters, the audit's reading of Exim's output, and a probe whose
 * resolver never answers staying within its budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catchall/audit.h"
#include "catchall/catchall.h"
#include "catchall/deadline.h"
#include "catchall/probe.h"
#include "catchall/smtp_reply.h"
#include "runtime.h"
#include "runtime_fixture.h"

static char dir[64];
static char conf_path[128];

/* runtime_with - a fresh runtime: rcpt reads <dir>/recipients, catchall_section verbatim */
static moat_runtime *runtime_with(const char *rcpt_extra, const char *catchall_section)
{
    char text[16384];
    int n = snprintf(text, sizeof text,
                     "log { level = error }\nstore { path = \"%s/state\" map_size = 16M }\n"
                     "rcpt { source = file file = \"%s/recipients\" %s }\n%s\n", dir, dir,
                     rcpt_extra, catchall_section);

    assert_in_range(n, 0, (int)sizeof text - 1);   /* never a cut configuration */
    return fixture_runtime(conf_path, text);
}

static int setup(void **state)
{
    char path[128];

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-catchall-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(conf_path, sizeof conf_path, "%s/moat.conf", dir);
    snprintf(path, sizeof path, "%s/recipients", dir);
    /* the rcpt directory knows other.test's people; example.test is the catch-all domain */
    fixture_write(path, "dave@other.test\n");
    snprintf(path, sizeof path, "%s/explicit", dir);
    fixture_write(path, "postmaster@example.test\nalice@example.test\nbob@example.test\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- replies */

static void parses_single_and_multi_line_replies(void **state)
{
    smtp_reply r;
    const char *multi = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\nrest";
    const char *policy = "550-5.7.1 Service unavailable; client host\r\n"
                         "550 5.7.1 blocked using zen.example\r\n";

    (void)state;
    assert_int_equal(smtp_reply_parse("550 5.1.1 No such user\r\n", 24, &r), 24);
    assert_int_equal(r.code, 550);
    assert_int_equal(r.enhanced[0], 5);
    assert_int_equal(r.enhanced[1], 1);
    assert_int_equal(r.enhanced[2], 1);
    assert_string_equal(r.text, "No such user");
    assert_int_equal(smtp_reply_parse(multi, strlen(multi), &r), (long)strlen(multi) - 4);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.text, "mx.example PIPELINING SIZE 100");
    assert_int_equal(smtp_reply_parse(policy, strlen(policy), &r), (long)strlen(policy));
    assert_int_equal(r.enhanced[1], 7);
    assert_non_null(strstr(r.text, "blocked using"));
    assert_int_equal(smtp_reply_parse("452 4.5.3 Too many\n", 19, &r), 19);   /* bare LF */
    assert_int_equal(r.enhanced[1], 5);
    assert_int_equal(smtp_reply_parse("250\r\n", 5, &r), 5);
    assert_int_equal(r.code, 250);
    assert_int_equal(smtp_reply_parse("550 Unrouteable address\r\n", 25, &r), 25);
    assert_int_equal(r.enhanced[0], 0);
    assert_string_equal(r.text, "Unrouteable address");
}

static void needs_more_or_refuses_junk(void **state)
{
    smtp_reply r;
    char *long_line = malloc(SMTP_REPLY_LINE_MAX + 10);

    (void)state;
    assert_non_null(long_line);
    assert_int_equal(smtp_reply_parse("250-first\r\n250 sec", 18, &r), 0);
    assert_int_equal(smtp_reply_parse("", 0, &r), 0);
    assert_int_equal(smtp_reply_parse("HTTP/1.1 200 OK\r\n", 17, &r), -1);
    assert_int_equal(smtp_reply_parse("250-a\r\n550 b\r\n", 14, &r), -1);   /* codes differ */
    assert_int_equal(smtp_reply_parse("999 x\r\n", 7, &r), -1);
    assert_int_equal(smtp_reply_parse("25\r\n", 4, &r), -1);
    assert_int_equal(smtp_reply_parse("250x\r\n", 6, &r), -1);
    /* an enhanced code of the wrong class is ignored, not trusted */
    assert_int_equal(smtp_reply_parse("550 2.1.5 odd\r\n", 15, &r), 15);
    assert_int_equal(r.enhanced[0], 0);
    /* a line that never ends is not SMTP; a short one may still come */
    memcpy(long_line, "250 ", 4);
    memset(long_line + 4, 'x', SMTP_REPLY_LINE_MAX + 6);
    assert_int_equal(smtp_reply_parse(long_line, SMTP_REPLY_LINE_MAX + 10, &r), -1);
    assert_int_equal(smtp_reply_parse(long_line, 100, &r), 0);
    free(long_line);
}

/* ---------------------------------------------------------------- reading probe answers */

static smtp_reply reply(const char *text)
{
    smtp_reply r;

    if (smtp_reply_parse(text, strlen(text), &r) <= 0)
        fail_msg("test reply does not parse: %s", text);
    return r;
}

static void probe_answers_are_read_conservatively(void **state)
{
    static const struct {
        const char *first, *second;
        int n;
        probe_verdict expect;
    } cases[] = {
        {"250 2.1.5 OK\r\n", "250 2.1.5 OK\r\n", 2, PROBE_CATCHALL},
        {"550 5.1.1 No such user\r\n", "550 5.1.1 No such user\r\n", 2, PROBE_NOT_CATCHALL},
        {"550 Unrouteable address\r\n", "550 Unrouteable address\r\n", 2, PROBE_NOT_CATCHALL},
        {"553 5.1.0 bad mailbox\r\n", "553 5.1.0 bad mailbox\r\n", 2, PROBE_NOT_CATCHALL},
        /* 452 after the first RCPT: a limit, not an answer about the address */
        {"250 2.1.5 OK\r\n", "452 4.5.3 Too many recipients\r\n", 2, PROBE_INCONCLUSIVE},
        {"451 4.7.1 Greylisted\r\n", NULL, 1, PROBE_INCONCLUSIVE},
        {"550 5.7.1 Client host rejected\r\n", NULL, 1, PROBE_INCONCLUSIVE},
        {"550 Your IP is blacklisted\r\n", "550 Your IP is blacklisted\r\n", 2,
         PROBE_INCONCLUSIVE},
        {"550 5.1.1 blocked by policy\r\n", "550 5.1.1 blocked by policy\r\n", 2,
         PROBE_INCONCLUSIVE},
        {"550 5.2.1 Mailbox disabled\r\n", NULL, 1, PROBE_INCONCLUSIVE},
        {"554 5.0.0 Transaction failed\r\n", NULL, 1, PROBE_INCONCLUSIVE},
        {"250 OK\r\n", "550 5.1.1 No such user\r\n", 2, PROBE_INCONCLUSIVE},   /* mixed */
        {"250 OK\r\n", NULL, 1, PROBE_INCONCLUSIVE},   /* the dialogue ended early */
        {"550 5.1.1 No such user\r\n", NULL, 1, PROBE_INCONCLUSIVE},
    };
    char detail[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smtp_reply r[2];
        probe_verdict v;
        r[0] = reply(cases[i].first);
        if (cases[i].second)
            r[1] = reply(cases[i].second);
        v = probe_classify(r, cases[i].n, 2, detail, sizeof detail);
        if (v != cases[i].expect)
            fail_msg("case %zu (%s): %s, expected %s (%s)", i, cases[i].first,
                     probe_verdict_name(v), probe_verdict_name(cases[i].expect), detail);
    }
    assert_int_equal(probe_classify(NULL, 0, 2, detail, sizeof detail), PROBE_INCONCLUSIVE);
}

/* ---------------------------------------------------------------- RCPT-time policy */

typedef struct expect {
    const char *recipient;
    const char *action;
    const char *reason;
} expect;

static void check(moat_runtime *rt, catchall_request *req, const expect *e)
{
    char action[16] = "", reason[48] = "";
    const char *why = NULL;
    moat_verdict v;

    req->recipient = e->recipient;
    if (catchall_rcpt(rt, req, &v, &why) != 0)
        fail_msg("%s: moat failed: %s", e->recipient, why ? why : "?");
    verdict_get(v.text, "action", action, sizeof action);
    verdict_get(v.text, "reason", reason, sizeof reason);
    if (strcmp(action, e->action) != 0 || strcmp(reason, e->reason) != 0)
        fail_msg("%s: got %s, expected action=%s reason=%s", e->recipient, v.text, e->action,
                 e->reason);
}

static void explicit_recipients_and_mark(void **state)
{
    char section[512];
    catchall_request req = {"192.0.2.1", "x@remote.test", "", "yes", "", 1800000000};
    static const expect cases[] = {
        {"alice@example.test", "accept", "explicit"},
        {"Alice@Example.TEST", "accept", "explicit"},
        {"alice+list@example.test", "accept", "explicit"},   /* plus-addressing */
        {"sales-eu@example.test", "accept", "explicit"},     /* allow pattern */
        {"jobs@example.test", "accept", "explicit"},         /* allow address */
        {"random@example.test", "warn", "catchall_only"},
        {"+x@example.test", "warn", "catchall_only"},
        {"random@other.test", "accept", "not_catchall_domain"},
    };
    moat_runtime *rt;
    moat_verdict v;
    const char *why;
    char mark[8];
    size_t i;

    (void)state;
    snprintf(section, sizeof section,
             "catchall { domain \"example.test\" { policy = mark explicit = \"%s/explicit\" "
             "allow = {\"sales-*\", \"jobs@example.test\"} } }", dir);
    rt = runtime_with("", section);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(rt, &req, &cases[i]);
    req.recipient = "random@example.test";
    assert_int_equal(catchall_rcpt(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "mark", mark, sizeof mark), 1);
    assert_string_equal(mark, "yes");
    /* what Exim itself refuses is not ours to judge */
    req.exim_verify = "no";
    check(rt, &req, &(expect){"unrouted@example.test", "accept", "not_routed"});
}

static void a_domain_title_in_capitals_is_the_domain(void **state)
{
    char section[256];
    catchall_request req = {"192.0.2.9", "x@remote.test", "", "yes", "", 1800000000};
    moat_runtime *rt;

    (void)state;
    /* Exim lower-cases $domain; the admin wrote the title as she writes it */
    snprintf(section, sizeof section,
             "catchall { domain \"Example.Test\" { policy = mark explicit = \"%s/explicit\" } }",
             dir);
    rt = runtime_with("", section);
    check(rt, &req, &(expect){"alice@example.test", "accept", "explicit"});
    check(rt, &req, &(expect){"random@example.test", "warn", "catchall_only"});
}

static void the_rcpt_directory_makes_recipients_explicit(void **state)
{
    catchall_request req = {"192.0.2.2", "x@remote.test", "", "yes", "", 1800000000};
    moat_runtime *rt;

    (void)state;
    /* other.test is a catch-all domain whose people are in the rcpt directory */
    rt = runtime_with("", "catchall { domain \"other.test\" { policy = accept } }");
    check(rt, &req, &(expect){"dave@other.test", "accept", "explicit"});
    check(rt, &req, &(expect){"dave+news@other.test", "accept", "explicit"});
    /* policy accept: accepted, not marked */
    check(rt, &req, &(expect){"eve@other.test", "accept", "catchall_only"});
}

static void reject_suspicious_judges_before_counting(void **state)
{
    char section[256];
    catchall_request req = {"192.0.2.3", "x@remote.test", "", "yes", "", 1800000000};
    moat_runtime *rt;

    (void)state;
    snprintf(section, sizeof section,
             "catchall { domain \"example.test\" { policy = reject-suspicious "
             "explicit = \"%s/explicit\" } }", dir);
    rt = runtime_with("ip_threshold = 100", section);
    /* a fresh client's first catch-all-only recipient is only marked... */
    check(rt, &req, &(expect){"first@example.test", "warn", "catchall_only"});
    /* ...but it was counted, so the client is now suspicious */
    check(rt, &req, &(expect){"second@example.test", "deny", "catchall_suspicious"});
    check(rt, &req, &(expect){"alice@example.test", "accept", "explicit"});
    /* a null sender to an address nobody has */
    req.client_ip = "192.0.2.4";
    req.sender = "";
    check(rt, &req, &(expect){"first@example.test", "deny", "catchall_suspicious"});
    /* an authenticated user is neither refused nor counted */
    req.client_ip = "192.0.2.5";
    req.sender = "me@example.test";
    req.auth_id = "alice";
    check(rt, &req, &(expect){"one@example.test", "warn", "catchall_only"});
    check(rt, &req, &(expect){"two@example.test", "warn", "catchall_only"});
    req.auth_id = "";
    check(rt, &req, &(expect){"three@example.test", "warn", "catchall_only"});
}

static void reject_under_attack_follows_the_domain_state(void **state)
{
    char section[256], name[64];
    catchall_request req = {"", "x@remote.test", "", "yes", "", 1800000000};
    moat_runtime *rt;
    int i, denied = 0, first_denied = -1;

    (void)state;
    snprintf(section, sizeof section,
             "catchall { domain \"example.test\" { policy = reject-under-attack "
             "explicit = \"%s/explicit\" } }", dir);
    rt = runtime_with("ip_threshold = 1000 net_threshold = 1000 sender_domain_threshold = 1000 "
                      "domain_attack_threshold = 5", section);
    for (i = 0; i < 12; i++) {
        char ip[32], action[16];
        moat_verdict v;
        const char *why;
        snprintf(ip, sizeof ip, "198.51.%d.9", i);   /* a new network every time */
        snprintf(name, sizeof name, "word%d@example.test", i);
        req.client_ip = ip;
        req.recipient = name;
        assert_int_equal(catchall_rcpt(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        if (strcmp(action, "deny") == 0 && first_denied < 0)
            first_denied = i;
        denied += strcmp(action, "deny") == 0;
    }
    /* the catch-all-only recipients themselves trip the domain-wide state */
    assert_in_range(first_denied, 4, 6);
    assert_int_equal(denied, 12 - first_denied);
    check(rt, &req, &(expect){"bob+news@example.test", "accept", "explicit"});
}

static void log_only_never_refuses(void **state)
{
    char section[256], would[16];
    catchall_request req = {"192.0.2.9", "", "nobody@example.test", "yes", "", 1800000000};
    moat_runtime *rt;
    moat_verdict v;
    const char *why;

    (void)state;
    snprintf(section, sizeof section,
             "catchall { mode = log-only domain \"example.test\" { policy = reject-suspicious "
             "explicit = \"%s/explicit\" } }", dir);
    rt = runtime_with("", section);
    assert_int_equal(catchall_rcpt(rt, &req, &v, &why), 0);
    assert_non_null(strstr(v.text, "action=warn"));
    assert_int_equal(verdict_get(v.text, "would", would, sizeof would), 1);
    assert_string_equal(would, "deny");
}

/* an explicit file moat cannot read: its fault (on_error), nobody refused or counted */
static void an_unreadable_explicit_file_is_moats_fault(void **state)
{
    char section[512], path[128];
    catchall_request req = {"192.0.2.6", "", "", "yes", "", 1800000000};
    moat_runtime *rt;
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    snprintf(section, sizeof section,
             "catchall { domain \"example.test\" { policy = reject-suspicious "
             "explicit = \"%s/missing\" allow = {\"sales-*\"} } }", dir);
    rt = runtime_with("ip_threshold = 100", section);
    for (i = 0; i < 3; i++) {
        req.recipient = i == 1 ? "alice+x@example.test" : "alice@example.test";
        why = NULL;
        assert_int_equal(catchall_rcpt(rt, &req, &v, &why), -1);
        assert_non_null(why);
        assert_non_null(strstr(why, "/missing: No such file or directory"));
    }
    /* what an allow pattern or the rcpt directory names is still explicit */
    check(rt, &req, &(expect){"sales-eu@example.test", "accept", "explicit"});
    /* the file is back: this client had nothing counted, so it is not suspicious */
    snprintf(path, sizeof path, "%s/missing", dir);
    fixture_write(path, "alice@example.test\n");
    req.sender = "x@remote.test";
    check(rt, &req, &(expect){"alice@example.test", "accept", "explicit"});
    check(rt, &req, &(expect){"random@example.test", "warn", "catchall_only"});
}

/* many domain sections: each one's explicit file counts, however many there are */
static void every_domain_section_has_its_explicit_file(void **state)
{
    enum { NDOMAINS = 40 };
    char *section = malloc(NDOMAINS * 200 + 64), path[128], text[128], name[64];
    catchall_request req = {"192.0.2.7", "", "", "yes", "", 1800000000};
    size_t off;
    moat_runtime *rt;
    int i;

    (void)state;
    assert_non_null(section);
    off = (size_t)sprintf(section, "catchall {");
    for (i = 0; i < NDOMAINS; i++) {
        snprintf(path, sizeof path, "%s/explicit%d", dir, i);
        snprintf(text, sizeof text, "alice@d%02d.test\n", i);
        fixture_write(path, text);
        off += (size_t)sprintf(section + off,
                               " domain \"d%02d.test\" { policy = reject-suspicious "
                               "explicit = \"%s\" }", i, path);
    }
    sprintf(section + off, " }");
    rt = runtime_with("ip_threshold = 1000", section);
    free(section);
    for (i = 0; i < NDOMAINS; i++) {
        snprintf(name, sizeof name, "alice@d%02d.test", i);
        check(rt, &req, &(expect){name, "accept", "explicit"});
        /* the file was read: who is not in it is catch-all only */
        snprintf(name, sizeof name, "nobody@d%02d.test", i);
        check(rt, &req, &(expect){name, "deny", "catchall_suspicious"});
    }
}

/* ---------------------------------------------------------------- audit */

static void audit_reads_exims_answers(void **state)
{
    /* the shape of `exim -d+route -bt` for a catch-all redirect, trimmed */
    const char *out =
        "--------> catchall_router router <--------\n"
        "calling catchall_router router\n"
        "catchall_router router generated postmaster@example.test\n"
        "routed by catchall_router router\n"
        "--------> localuser router <--------\n"
        "routed by localuser router\n"
        "postmaster@example.test\n"
        "    <-- moat-audit-00@example.test\n"
        "  router = localuser, transport = maildir\n";
    const char *plain = "x@relay.test\n  router = smarthost, transport = remote_smtp\n"
                        "  host 192.0.2.25 [192.0.2.25] port=25\n";
    char path[128], list[512];
    audit_domain d;
    audit_report *r = calloc(1, sizeof *r);

    (void)state;
    assert_non_null(r);
    memset(&d, 0, sizeof d);
    audit_parse_bt(out, &d);
    assert_string_equal(d.router, "catchall_router");
    assert_string_equal(d.final_router, "localuser");
    assert_string_equal(d.target, "postmaster@example.test");
    assert_int_equal(d.relayed, 0);
    memset(&d, 0, sizeof d);
    audit_parse_bt(plain, &d);   /* no debug lines: the router of -bt's summary */
    assert_string_equal(d.router, "smarthost");
    assert_int_equal(d.relayed, 1);

    snprintf(path, sizeof path, "%s/domains", dir);
    fixture_write(path, "# hosted\nhosted.test: yes\n*.wild: x\nsecond.test\n");
    snprintf(list, sizeof list,
             "domainlist local_domains = @ : localhost : example.test : *.pattern.test : "
             "lsearch;%s : example.test", path);
    audit_local_domains(list, "mx.example.test", r);
    assert_int_equal(r->count, 5);
    assert_string_equal(r->domains[0].domain, "mx.example.test");
    assert_string_equal(r->domains[1].domain, "localhost");
    assert_string_equal(r->domains[2].domain, "example.test");
    assert_string_equal(r->domains[3].domain, "hosted.test");
    assert_string_equal(r->domains[4].domain, "second.test");
    assert_int_equal(r->skipped_count, 1);
    assert_non_null(strstr(r->skipped[0], "*.pattern.test"));

    /* a dsearch directory's names; files that cannot be read are named */
    memset(r, 0, sizeof *r);
    snprintf(path, sizeof path, "%s/dsearch", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(list, sizeof list, "%s/dsearch/dir.test", dir);
    fixture_write(list, "");
    snprintf(list, sizeof list,
             "local_domains = dsearch;%s : lsearch;%s/missing : dsearch;%s/missing : @",
             path, dir, dir);
    audit_local_domains(list, "", r);
    assert_int_equal(r->count, 1);
    assert_string_equal(r->domains[0].domain, "dir.test");
    assert_int_equal(r->skipped_count, 2);
    assert_non_null(strstr(r->skipped[0], "cannot read the file"));
    assert_non_null(strstr(r->skipped[1], "cannot read the directory"));
    snprintf(list, sizeof list, "%s/dsearch/dir.test", dir);
    unlink(list);
    rmdir(path);
    free(r);
}

/* ---------------------------------------------------------------- the budget */

static void a_silent_resolver_costs_no_more_than_the_budget(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    char section[256];
    probe_result r;
    const char *why = NULL;
    moat_runtime *rt;
    long t0, took;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    (void)state;
    /* a resolver that takes queries and never answers */
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(section, sizeof section,
             "catchall { probe { resolver = \"127.0.0.1\" resolver_port = %d timeout = 30s "
             "session_budget = 1s ttl_inconclusive = 0 } }", ntohs(sa.sin_port));
    rt = runtime_with("", section);
    t0 = deadline_now_ms();
    assert_int_equal(catchall_probe(rt, "silent.test", 300, time(NULL), &r, &why), 0);
    took = deadline_now_ms() - t0;
    close(fd);
    assert_int_equal(r.verdict, PROBE_INCONCLUSIVE);
    assert_non_null(strstr(r.detail, "no answer"));
    assert_in_range(took, 280, 400);
    /* what is left of the session's 1 s budget went down by what the probe cost */
    assert_in_range(probe_session_budget_left(rt), 1000 - took - 5, 1000 - took + 5);
    /* no budget: an answer at once, no network */
    t0 = deadline_now_ms();
    assert_int_equal(catchall_probe(rt, "silent.test", 0, time(NULL), &r, &why), 0);
    assert_true(deadline_now_ms() - t0 < 20);
    assert_int_equal(r.verdict, PROBE_INCONCLUSIVE);
}

static void cached_verdicts_and_forgetting(void **state)
{
    probe_result r;
    const char *why = NULL;
    moat_runtime *rt;
    time_t now = time(NULL), expires = 0;
    const char *value = "1\tmx.remote.test\t2 of 2 random local parts accepted";

    (void)state;
    rt = runtime_with("", "catchall { }");
    assert_int_equal(moat_store_set(rt->store, "catchall:probe:remote.test", value,
                                    strlen(value), 3600, now), STORE_OK);
    assert_int_equal(catchall_probe(rt, "Remote.Test", 1000, now, &r, &why), 0);
    assert_int_equal(r.verdict, PROBE_CATCHALL);
    assert_int_equal(r.cached, 1);
    assert_string_equal(r.host, "mx.remote.test");
    assert_int_equal(catchall_probe_cached(rt, "remote.test", now, &r, &expires, &why), 1);
    assert_int_equal((long)expires, (long)now + 3600);
    assert_int_equal(catchall_probe_forget(rt, "remote.test"), 0);
    assert_int_equal(catchall_probe_cached(rt, "remote.test", now, &r, &expires, &why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_single_and_multi_line_replies),
        cmocka_unit_test(needs_more_or_refuses_junk),
        cmocka_unit_test(probe_answers_are_read_conservatively),
        cmocka_unit_test_setup_teardown(explicit_recipients_and_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(a_domain_title_in_capitals_is_the_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(the_rcpt_directory_makes_recipients_explicit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reject_suspicious_judges_before_counting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reject_under_attack_follows_the_domain_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(log_only_never_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_explicit_file_is_moats_fault, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(every_domain_section_has_its_explicit_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(audit_reads_exims_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_silent_resolver_costs_no_more_than_the_budget, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cached_verdicts_and_forgetting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
