/*
 * test_catchall.c - SMTP reply parsing (multi-line, enhanced codes, junk)
 * and the RCPT-time policy on a real LMDB store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchall/catchall.h"
#include "catchall/smtp_reply.h"
#include "runtime.h"

static void parses_single_and_multi_line_replies(void **state)
{
    smtp_reply r;
    const char *multi = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\nrest";

    (void)state;
    assert_int_equal(smtp_reply_parse("550 5.1.1 No such user\r\n", 24, &r), 24);
    assert_int_equal(r.code, 550);
    assert_int_equal(r.enhanced[0], 5);
    assert_int_equal(r.enhanced[1], 1);
    assert_int_equal(r.enhanced[2], 1);
    assert_int_equal(smtp_reply_parse(multi, strlen(multi), &r), (long)strlen(multi) - 4);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.text, "SIZE 100");
    assert_int_equal(smtp_reply_parse("452 4.5.3 Too many\n", 19, &r), 19);
    assert_int_equal(r.enhanced[1], 5);
}

static void needs_more_or_refuses_junk(void **state)
{
    smtp_reply r;

    (void)state;
    assert_int_equal(smtp_reply_parse("250-first\r\n250 sec", 18, &r), 0);
    assert_int_equal(smtp_reply_parse("", 0, &r), 0);
    assert_int_equal(smtp_reply_parse("HTTP/1.1 200 OK\r\n", 17, &r), -1);
    assert_int_equal(smtp_reply_parse("250-a\r\n550 b\r\n", 14, &r), -1);   /* codes differ */
    assert_int_equal(smtp_reply_parse("999 x\r\n", 7, &r), -1);
    /* an enhanced code of the wrong class is ignored, not trusted */
    assert_int_equal(smtp_reply_parse("550 2.1.5 odd\r\n", 15, &r), 15);
    assert_int_equal(r.enhanced[0], 0);
}

static void policy_decisions(void **state)
{
    char dir[] = "/tmp/moat-catchall-XXXXXX", path[128], err[512], action[16], reason[48];
    FILE *f;
    moat_runtime *rt;
    moat_verdict v;
    const char *why;
    catchall_request req = {"192.0.2.1", "x@remote.test", "", "yes", "", 1800000000};
    static const char *const cases[][3] = {
        {"alice@example.test", "accept", "explicit"},
        {"alice+list@example.test", "accept", "explicit"},
        {"sales-eu@example.test", "accept", "explicit"},
        {"random@example.test", "warn", "catchall_only"},
        {"random@other.test", "accept", "not_catchall_domain"},
    };
    size_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/explicit", dir);
    f = fopen(path, "w");
    fputs("alice@example.test\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" }\n"
               "catchall { domain \"example.test\" { policy = mark explicit = \"%s/explicit\" "
               "allow = {\"sales-*\"} } }\n", dir, dir);
    fclose(f);
    moat_runtime_reset();
    rt = moat_runtime_get(path, err, sizeof err);
    assert_non_null(rt);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        req.recipient = cases[i][0];
        assert_int_equal(catchall_rcpt(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        verdict_get(v.text, "reason", reason, sizeof reason);
        if (strcmp(action, cases[i][1]) != 0 || strcmp(reason, cases[i][2]) != 0)
            fail_msg("%s: %s", cases[i][0], v.text);
    }
    req.recipient = "unrouted@example.test";
    req.exim_verify = "no";
    assert_int_equal(catchall_rcpt(rt, &req, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "not_routed");
    moat_runtime_reset();
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_single_and_multi_line_replies),
        cmocka_unit_test(needs_more_or_refuses_junk),
        cmocka_unit_test(policy_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
