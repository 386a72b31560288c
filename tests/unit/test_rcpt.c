/*
 * test_rcpt.c - the rcpt module's logic on a real LMDB store: directory
 * file handling, LDAP filter escaping, near-miss distance, and decisions
 * (unknown, blocks, escalation, domain-wide attack, exemptions, log-only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rcpt/addrlist.h"
#include "rcpt/ldap_filter.h"
#include "rcpt/nearmiss.h"
#include "rcpt/rcpt.h"
#include "runtime.h"

static char dir[64];
static char conf_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* runtime_with - a fresh runtime whose rcpt section holds extra */
static moat_runtime *runtime_with(const char *extra)
{
    char text[2048], err[512];
    moat_runtime *rt;

    snprintf(text, sizeof text,
             "store { path = \"%s/state\" map_size = 16M }\n"
             "rcpt { source = file file = \"%s/recipients\" ip_threshold = 3 "
             "net_threshold = 5 tarpit_base = 1s tarpit_max = 3s block_time = 1m "
             "block_max = 4m %s }\n", dir, dir, extra);
    write_file(conf_path, text);
    moat_runtime_reset();
    rt = moat_runtime_get(conf_path, err, sizeof err);
    if (rt == NULL)
        fail_msg("config: %s", err);
    return rt;
}

static int setup(void **state)
{
    char path[128];

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-rcpt-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(conf_path, sizeof conf_path, "%s/moat.conf", dir);
    snprintf(path, sizeof path, "%s/recipients", dir);
    write_file(path, "# valid\nalice@example.test\nBob@Example.TEST\n*@skip.test\n"
                     "not an address\n");
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

static void decide(moat_runtime *rt, const char *ip, const char *rcpt, const char *auth,
                   char *action, char *reason)
{
    rcpt_request req = {ip, "someone@remote.test", rcpt, auth, "", 0, 1800000000};
    moat_verdict v;
    const char *why = NULL;

    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "action", action, 16), 1);
    assert_int_equal(verdict_get(v.text, "reason", reason, 48), 1);
}

static void file_directory_answers(void **state)
{
    moat_runtime *rt = runtime_with("");

    (void)state;
    assert_int_equal(rcpt_directory_lookup(rt, "ALICE@example.test", "", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "bob@example.test", "", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "carol@example.test", "", 1), RCPT_DIR_NOTFOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "x@skip.test", "", 1), RCPT_DIR_SKIP);
    assert_int_equal(rcpt_directory_lookup(rt, "x@elsewhere.test", "", 1), RCPT_DIR_SKIP);
}

static void exim_source_uses_the_routing_verdict(void **state)
{
    moat_runtime *rt = runtime_with("source = exim");

    (void)state;
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "yes", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "no", 1), RCPT_DIR_NOTFOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "", 1), RCPT_DIR_SKIP);
}

static void unknown_then_blocked_then_escalated(void **state)
{
    moat_runtime *rt = runtime_with("");
    char action[16], reason[48];

    (void)state;
    decide(rt, "192.0.2.1", "x1@example.test", "", action, reason);
    assert_string_equal(action, "deny");
    assert_string_equal(reason, "unknown_user");
    decide(rt, "192.0.2.1", "x2@example.test", "", action, reason);
    decide(rt, "192.0.2.1", "x3@example.test", "", action, reason);
    assert_string_equal(action, "defer");
    assert_string_equal(reason, "harvest_block");
    /* blocked: a valid recipient gets the same answer */
    decide(rt, "192.0.2.1", "alice@example.test", "", action, reason);
    assert_string_equal(action, "defer");
    /* another network is unaffected; authenticated clients too */
    decide(rt, "198.51.100.1", "alice@example.test", "", action, reason);
    assert_string_equal(action, "accept");
    decide(rt, "192.0.2.1", "alice@example.test", "alice", action, reason);
    assert_string_equal(action, "accept");
    assert_string_equal(reason, "valid_exempt");
    assert_int_equal(rcpt_client_blocked(rt, "192.0.2.1", 1800000000), 1);
    assert_int_equal(rcpt_unblock(rt, "192.0.2.1"), 0);
    assert_int_equal(rcpt_client_blocked(rt, "192.0.2.1", 1800000000), 0);
}

static void repeat_offenders_get_longer_blocks(void **state)
{
    moat_runtime *rt = runtime_with("window = 10s");
    const char *why;
    char block[16];
    long t = 1800000000;
    int round, i;
    static const char *const expect[] = {"60s", "120s", "240s", "240s"};

    (void)state;
    for (round = 0; round < 4; round++) {
        moat_verdict v;
        for (i = 0; i < 3; i++) {
            char rcpt[32];
            rcpt_request req = {"192.0.2.50", "", rcpt, "", "", 0, t};
            snprintf(rcpt, sizeof rcpt, "r%d-%d@example.test", round, i);
            assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        }
        assert_int_equal(verdict_get(v.text, "block", block, sizeof block), 1);
        assert_string_equal(block, expect[round]);   /* doubles, capped at block_max */
        t += 300;   /* the block and the counting window have passed */
    }
}

static void network_counter_blocks_the_network(void **state)
{
    moat_runtime *rt = runtime_with("");
    char action[16], reason[48], ip[32];
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
        decide(rt, ip, "n@example.test", "", action, reason);
    }
    assert_string_equal(action, "defer");
    decide(rt, "203.0.113.99", "alice@example.test", "", action, reason);
    assert_string_equal(reason, "harvest_block");
}

static void log_only_answers_accept(void **state)
{
    moat_runtime *rt = runtime_with("mode = log-only");
    rcpt_request req = {"192.0.2.9", "", "nobody@example.test", "", "", 0, 1800000000};
    moat_verdict v;
    const char *why;
    char out[32];

    (void)state;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", out, sizeof out);
    assert_string_equal(out, "accept");
    verdict_get(v.text, "would", out, sizeof out);
    assert_string_equal(out, "deny");
}

static void store_failure_is_reported_not_answered(void **state)
{
    char text[512], err[512];
    moat_runtime *rt;
    rcpt_request req = {"192.0.2.9", "", "nobody@example.test", "", "", 0, 1800000000};
    moat_verdict v;
    const char *why = NULL;

    (void)state;
    snprintf(text, sizeof text, "store { path = \"/proc/moat-none\" }\n"
             "rcpt { source = file file = \"%s/recipients\" }\n", dir);
    write_file(conf_path, text);
    moat_runtime_reset();
    rt = moat_runtime_get(conf_path, err, sizeof err);
    assert_non_null(rt);
    assert_int_equal(rcpt_check(rt, &req, &v, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, "/proc/moat-none"));
}

static void ldap_escaping(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(ldap_build_filter("(mail=%s)", "a*b(c)\\d@x.test", out, sizeof out), 0);
    assert_string_equal(out, "(mail=a\\2ab\\28c\\29\\5cd@x.test)");
    assert_int_equal(ldap_build_filter("(|(uid=%u)(proxyAddresses=smtp:%s)(dc=%d)%%)",
                                       "bob@x.test", out, sizeof out), 0);
    assert_string_equal(out, "(|(uid=bob)(proxyAddresses=smtp:bob@x.test)(dc=x.test)%)");
    assert_int_equal(ldap_build_filter("(mail=%q)", "a@x", out, sizeof out), -1);
    assert_int_equal(ldap_build_filter("(mail=%s)", "aaaaaaaaaa@x", out, 8), -1);
    assert_int_equal(ldap_escape("a\0b", 3, out, sizeof out), 0);
    assert_string_equal(out, "a\\00b");
}

static void edit_distances(void **state)
{
    (void)state;
    assert_int_equal(edit_distance("alice", "alice", 2), 0);
    assert_int_equal(edit_distance("alcie", "alice", 2), 1);   /* swap */
    assert_int_equal(edit_distance("steven", "stephen", 2), 2);
    assert_int_equal(edit_distance("bob", "alice", 2), 3);
    assert_int_equal(edit_distance("", "ab", 2), 2);
}

static void addrlist_reloads_when_changed(void **state)
{
    addrlist l;
    char path[128], err[256];

    (void)state;
    memset(&l, 0, sizeof l);
    snprintf(path, sizeof path, "%s/list", dir);
    write_file(path, "one@example.test\n");
    assert_int_equal(addrlist_refresh(&l, path, 100, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "one@example.test") >= 0);
    write_file(path, "one@example.test\ntwo@example.test\n");
    assert_int_equal(addrlist_refresh(&l, path, 100, err, sizeof err), 0);   /* same second */
    assert_int_equal(addrlist_find(&l, "two@example.test"), -1);
    assert_int_equal(addrlist_refresh(&l, path, 101, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "two@example.test") >= 0);
    unlink(path);   /* a vanished file keeps serving the last list */
    assert_int_equal(addrlist_refresh(&l, path, 102, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "one@example.test") >= 0);
    addrlist_free(&l);
    assert_int_equal(addrlist_refresh(&l, path, 103, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_directory_answers),
        cmocka_unit_test(exim_source_uses_the_routing_verdict),
        cmocka_unit_test(unknown_then_blocked_then_escalated),
        cmocka_unit_test(repeat_offenders_get_longer_blocks),
        cmocka_unit_test(network_counter_blocks_the_network),
        cmocka_unit_test(log_only_answers_accept),
        cmocka_unit_test(store_failure_is_reported_not_answered),
        cmocka_unit_test(ldap_escaping),
        cmocka_unit_test(edit_distances),
        cmocka_unit_test(addrlist_reloads_when_changed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
