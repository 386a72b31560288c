/* SPDX-License-Identifier: GPL-2.0-or-later */
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
#include <sys/stat.h>
#include <unistd.h>

#include "rcpt/addrlist.h"
#include "rcpt/directory_cdb.h"
#include "rcpt/harvest.h"
#include "rcpt/ldap_filter.h"
#include "rcpt/nearmiss.h"
#include "rcpt/owndomain.h"
#include "rcpt/rcpt.h"
#include "log.h"
#include "runtime.h"
#include "runtime_fixture.h"

static char dir[64];
static char conf_path[128];

/* runtime_with - a fresh runtime whose rcpt section holds extra */
static moat_runtime *runtime_with(const char *extra)
{
    char text[2048];

    snprintf(text, sizeof text,
             "store { path = \"%s/state\" map_size = 16M }\n"
             "rcpt { source = file file = \"%s/recipients\" ip_threshold = 3 "
             "net_threshold = 5 tarpit_base = 1s tarpit_max = 3s block_time = 1m "
             "block_max = 4m %s }\n", dir, dir, extra);
    return fixture_runtime(conf_path, text);
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
    fixture_write(path, "# valid\nalice@example.test\nBob@Example.TEST\n*@skip.test\n"
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
    rcpt_request req = {ip, "someone@remote.test", rcpt, auth, "", 0, 1800000000, 0};
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

static int lines_written;
static void count_line(moat_log_level level, const char *line)
{
    (void)level;
    (void)line;
    lines_written++;
}

/* valid_count - the metrics' count of good recipients (stats:rcpt:accept:valid) */
static uint64_t valid_count(moat_runtime *rt)
{
    uint64_t n = 0;

    assert_int_equal(moat_store_tally_add(rt->store, "stats:rcpt:accept:valid", 0, 1800000000, &n),
                     STORE_OK);
    return n;
}

/*
 * A good recipient's line is a debug line, formatted only when it is
 * written (it runs on every RCPT); the metrics count it either way.
 */
static void a_good_recipient_is_counted_with_or_without_its_line(void **state)
{
    moat_runtime *rt = runtime_with("");
    char action[16], reason[48];
    uint64_t before;

    (void)state;
    moat_log_set_sink(count_line);
    before = valid_count(rt);
    lines_written = 0;
    moat_log_set_level(MOAT_LOG_INFO);
    decide(rt, "192.0.2.9", "alice@example.test", "", action, reason);
    assert_string_equal(reason, "valid");
    assert_int_equal(lines_written, 0);
    assert_int_equal(valid_count(rt), before + 1);
    moat_log_set_level(MOAT_LOG_DEBUG);
    decide(rt, "192.0.2.9", "alice@example.test", "", action, reason);
    assert_int_equal(lines_written, 1);
    assert_int_equal(valid_count(rt), before + 2);
    moat_log_set_level(MOAT_LOG_INFO);
    moat_log_set_sink(NULL);
}

/* With batv on (UNTAG = prvs) a tagged recipient is judged as the user it tags. */
static void a_batv_tag_is_taken_off_only_when_asked(void **state)
{
    moat_runtime *rt = runtime_with("");
    rcpt_request req = {"192.0.2.77", "", "prvs=1234abcdef=alice@example.test", "", "", 0,
                        1800000000, 1};
    moat_verdict v;
    const char *why = NULL;
    char reason[48];

    (void)state;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "reason", reason, sizeof reason), 1);
    assert_string_equal(reason, "valid");
    req.untag_prvs = 0;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "reason", reason, sizeof reason), 1);
    assert_string_equal(reason, "unknown_user");
}

/* listed=yes (the catchall snippet's cue) only when moat's own directory found it */
static void only_moats_own_directory_lists_a_recipient(void **state)
{
    rcpt_request req = {"192.0.2.78", "", "alice@example.test", "", "yes", 0, 1800000000, 0};
    moat_runtime *rt = runtime_with("");
    moat_verdict v;
    const char *why = NULL;
    char listed[8];

    (void)state;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "listed", listed, sizeof listed), 1);
    assert_string_equal(listed, "yes");
    moat_runtime_reset();
    rt = runtime_with("source = exim");
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "reason", listed, sizeof listed), 1);
    assert_string_equal(listed, "valid");
    assert_int_equal(verdict_get(v.text, "listed", listed, sizeof listed), 0);
}

static void exim_source_uses_the_routing_verdict(void **state)
{
    moat_runtime *rt = runtime_with("source = exim");

    (void)state;
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "yes", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "no", 1), RCPT_DIR_NOTFOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "", 1), RCPT_DIR_SKIP);
    assert_int_equal(rcpt_directory_lookup(rt, "a@example.test", "defer", 1), RCPT_DIR_TEMPFAIL);
    {   /* Exim could not route: 451, never 550, never counted */
        rcpt_request req = {"192.0.2.180", "", "a@example.test", "", "defer", 0, 1800000000, 0};
        moat_verdict v;
        const char *why = NULL;
        char action[16], code[8];
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        verdict_get(v.text, "code", code, sizeof code);
        assert_string_equal(action, "defer");
        assert_string_equal(code, "451");
        assert_int_equal(rcpt_client_suspicious(rt, "192.0.2.180", 1800000000), 0);
    }
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
    /* the counts went with the block: one more typo does not block again */
    decide(rt, "192.0.2.1", "x4@example.test", "", action, reason);
    assert_string_equal(action, "deny");
    assert_string_equal(reason, "unknown_user");
    decide(rt, "192.0.2.1", "alice@example.test", "", action, reason);
    assert_string_equal(action, "accept");
}

static void repeat_offenders_get_longer_blocks(void **state)
{
    moat_runtime *rt = runtime_with("window = 1m");
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
            rcpt_request req = {"192.0.2.50", "x@repeat.test", rcpt, "", "", 0, t, 0};
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
    rcpt_request req = {"192.0.2.9", "", "nobody@example.test", "", "", 0, 1800000000, 0};
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

/* text_of - the verdict text rcpt_check answers for rcpt from ip */
static void text_of(moat_runtime *rt, const char *ip, const char *sender, const char *rcpt,
                    char *out, size_t cap)
{
    rcpt_request req = {ip, sender, rcpt, "", "", 0, 1800000000, 0};
    moat_verdict v;
    const char *why = NULL;

    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    snprintf(out, cap, "%s", v.text);
}

static void verdict_texts_keep_their_keys_and_order(void **state)
{
    moat_runtime *rt = runtime_with("");
    char text[512];

    (void)state;
    /* what ACLs of earlier releases (and moatctl, and people) read */
    text_of(rt, "100.64.7.60", "a@texts.test", "alice@example.test", text, sizeof text);
    assert_string_equal(text, "action=accept reason=valid listed=yes");
    text_of(rt, "100.64.7.60", "a@texts.test", "who@skip.test", text, sizeof text);
    assert_string_equal(text, "action=accept reason=not_covered");
    text_of(rt, "100.64.7.60", "a@texts.test", "x1@example.test", text, sizeof text);
    assert_string_equal(text, "action=deny code=550 xcode=5.1.1 reason=unknown_user "
                              "text=\"No such user here\" delay=1s count=1");
    text_of(rt, "100.64.8.61", "", "x1@example.test", text, sizeof text);
    assert_string_equal(text, "action=deny code=550 xcode=5.1.1 reason=unknown_user "
                              "text=\"No such user here\" delay=1s bounce_count=1");
    text_of(rt, "100.64.7.60", "a@texts.test", "x2@example.test", text, sizeof text);
    text_of(rt, "100.64.7.60", "a@texts.test", "x3@example.test", text, sizeof text);
    assert_string_equal(text, "action=defer code=451 xcode=4.7.1 reason=harvest_block "
                              "text=\"Too many invalid recipients from your address, try "
                              "again later\" tripped=ip block=60s");
    rt = runtime_with("mode = log-only");
    text_of(rt, "100.64.9.62", "a@texts.test", "x1@example.test", text, sizeof text);
    assert_string_equal(text, "action=accept reason=log_only would=deny");
    rt = runtime_with("fetched { hosts = {\"127.0.0.1\"} }");
    text_of(rt, "127.0.0.1", "a@remote.test", "x1@example.test", text, sizeof text);
    assert_string_equal(text, "action=accept reason=fetched_unknown fetched=yes");
}

static void store_failure_is_reported_not_answered(void **state)
{
    char text[512];
    moat_runtime *rt;
    rcpt_request req = {"192.0.2.9", "", "nobody@example.test", "", "", 0, 1800000000, 0};
    moat_verdict v;
    const char *why = NULL;

    (void)state;
    snprintf(text, sizeof text, "store { path = \"/proc/moat-none\" }\n"
             "rcpt { source = file file = \"%s/recipients\" }\n", dir);
    rt = fixture_runtime(conf_path, text);
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
    assert_int_equal(edit_distance("ab", "", 2), 2);   /* found by fuzz_rcpt_nearmiss */
    assert_int_equal(edit_distance("abcdef", "badcfe", 2), 3);   /* three swaps */
    assert_int_equal(edit_distance("abcdefgh", "abcdefgh", 0), 0);
    assert_int_equal(edit_distance("abcdefgh", "abcdefgx", 0), 1);
    assert_int_equal(edit_distance("xbcdefgh", "abcdefgh", 1), 1);   /* first row of the band */
    assert_int_equal(edit_distance("abcd", "abcdxy", 2), 2);
}

/* next_random - a fixed sequence, so a failure can be replayed */
static unsigned long next_random(unsigned long *seed)
{
    *seed = *seed * 6364136223846793005UL + 1442695040888963407UL;
    return *seed >> 33;
}

/* random_address - a short local part over a small alphabet (so that many
 * are near one another) at one of two domains */
static void random_address(unsigned long *seed, char *out, size_t outlen)
{
    static const char alphabet[] = "abcde.";
    char local[16];
    size_t n = 1 + next_random(seed) % 7, i;

    for (i = 0; i < n; i++)
        local[i] = alphabet[next_random(seed) % (sizeof alphabet - 1)];
    local[n] = '\0';
    snprintf(out, outlen, "%s@%s.test", local, next_random(seed) % 2 ? "one" : "two");
}

/* closest_by_full_scan - what the search must find: every entry's distance */
static const char *closest_by_full_scan(const addrlist *l, const char *address, int distance)
{
    const char *at = strrchr(address, '@'), *best = NULL;
    char local[80], elocal[80];
    int best_d = distance + 1;
    size_t i;

    snprintf(local, sizeof local, "%.*s", (int)(at - address), address);
    for (i = 0; i < l->count; i++) {
        const char *eat = strrchr(l->entries[i], '@');
        int d;

        if (strcmp(eat, at) != 0)
            continue;
        snprintf(elocal, sizeof elocal, "%.*s", (int)(eat - l->entries[i]), l->entries[i]);
        d = edit_distance(local, elocal, distance);
        if (d < best_d) {
            best_d = d;
            best = l->entries[i];
        }
    }
    return best;
}

static void near_miss_search_finds_what_a_full_scan_finds(void **state)
{
    addrlist l;
    char text[40000], address[64], err[256];
    unsigned long seed = 8;
    size_t used = 0;
    int i, found = 0, missed = 0;
    FILE *f;

    (void)state;
    for (i = 0; i < 1500; i++) {
        random_address(&seed, address, sizeof address);
        used += (size_t)snprintf(text + used, sizeof text - used, "%s\n", address);
    }
    f = fmemopen(text, used, "r");
    assert_non_null(f);
    memset(&l, 0, sizeof l);
    assert_int_equal(addrlist_load_stream(&l, f, "random", err, sizeof err), 0);
    fclose(f);
    assert_true(l.count > 500);
    for (i = 0; i < 3000; i++) {
        int distance = 1 + i % 3;
        const char *got, *want;

        random_address(&seed, address, sizeof address);
        if (addrlist_find(&l, address) >= 0)
            continue;   /* the search is for unknown addresses */
        got = nearmiss_closest(&l, address, distance);
        want = closest_by_full_scan(&l, address, distance);
        if (want == NULL)
            assert_null(got);
        else
            assert_string_equal(got ? got : "(none)", want);
        if (want)
            found++;
        else
            missed++;
    }
    assert_true(found > 100 && missed > 100);   /* both answers were tried */
    addrlist_free(&l);
}

static void near_miss_shapes_never_hide_a_close_address(void **state)
{
    nearmiss_shape alice = nearmiss_shape_of("alice", 5);

    (void)state;
    assert_true(nearmiss_shapes_allow(alice, nearmiss_shape_of("alcie", 5), 0));   /* a swap */
    assert_true(nearmiss_shapes_allow(alice, nearmiss_shape_of("alyce", 5), 1));
    assert_false(nearmiss_shapes_allow(alice, nearmiss_shape_of("alyce", 5), 0));
    assert_true(nearmiss_shapes_allow(alice, nearmiss_shape_of("malice", 6), 1));
    assert_false(nearmiss_shapes_allow(alice, nearmiss_shape_of("bob", 3), 2));   /* length */
    assert_false(nearmiss_shapes_allow(alice, nearmiss_shape_of("xyzce", 5), 2));   /* letters */
    assert_false(nearmiss_shapes_allow(alice, alice, -1));
}

static void near_miss_index_follows_reloads(void **state)
{
    addrlist one, two;
    char path1[128], path2[128], err[256];

    (void)state;
    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    snprintf(path1, sizeof path1, "%s/near1", dir);
    snprintf(path2, sizeof path2, "%s/near2", dir);
    fixture_write(path1, "alice@example.test\nbob@example.test\nzed@example.test\n");
    fixture_write(path2, "carol@example.test\n");
    assert_int_equal(addrlist_refresh(&one, path1, 100, err, sizeof err), 0);
    assert_int_equal(addrlist_refresh(&two, path2, 100, err, sizeof err), 0);
    assert_string_equal(nearmiss_closest(&one, "alcie@example.test", 2), "alice@example.test");
    assert_null(nearmiss_closest(&one, "alcie@example.org", 2));   /* another domain */
    assert_string_equal(nearmiss_closest(&two, "carlo@example.test", 2), "carol@example.test");
    assert_null(nearmiss_closest(&two, "alcie@example.test", 2));
    /* bob comes first and is 2 edits away, zed only 1 */
    assert_string_equal(nearmiss_closest(&one, "zod@example.test", 2), "zed@example.test");
    /* the first list replaced by a shorter one: its index too */
    fixture_write(path1, "dave@example.test\n");
    assert_int_equal(addrlist_refresh(&one, path1, 101, err, sizeof err), 0);
    assert_null(nearmiss_closest(&one, "alcie@example.test", 2));
    assert_string_equal(nearmiss_closest(&one, "dvae@example.test", 2), "dave@example.test");
    addrlist_free(&one);
    assert_null(nearmiss_closest(&one, "dvae@example.test", 2));   /* nothing loaded */
    addrlist_free(&two);
}

static void addrlist_reloads_when_changed(void **state)
{
    addrlist l;
    char path[128], err[256];

    (void)state;
    memset(&l, 0, sizeof l);
    snprintf(path, sizeof path, "%s/list", dir);
    fixture_write(path, "one@example.test\n");
    assert_int_equal(addrlist_refresh(&l, path, 100, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "one@example.test") >= 0);
    fixture_write(path, "one@example.test\ntwo@example.test\n");
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

static void addrlist_reads_odd_files(void **state)
{
    addrlist l;
    char path[128], err[256] = "", text[4096];

    (void)state;
    memset(&l, 0, sizeof l);
    snprintf(path, sizeof path, "%s/odd", dir);
    /* blanks around an address, and a line longer than any address */
    snprintf(text, sizeof text, " one@example.test \t\n%02000d@example.test\ntwo@example.test\n",
             0);
    fixture_write(path, text);
    assert_int_equal(addrlist_refresh(&l, path, 200, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "one@example.test") >= 0);
    assert_true(addrlist_find(&l, "two@example.test") >= 0);
    assert_int_equal(l.bad_lines, 1);
    /* the file turns into something unreadable: the last list is kept */
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(addrlist_refresh(&l, path, 201, err, sizeof err), 0);
    assert_true(addrlist_find(&l, "one@example.test") >= 0);
    addrlist_free(&l);
    memset(&l, 0, sizeof l);
    assert_int_equal(addrlist_refresh(&l, path, 202, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
    rmdir(path);
}

static void connect_refuses_blocked_clients_only_when_asked(void **state)
{
    moat_runtime *rt;
    moat_verdict v;
    const char *why = NULL;
    char action[16], reason[48], code[8];

    (void)state;
    rt = runtime_with("");
    for (int i = 0; i < 3; i++) {
        char rcpt[32];
        snprintf(rcpt, sizeof rcpt, "c%d@example.test", i);
        decide(rt, "192.0.2.77", rcpt, "", action, reason);
    }
    assert_string_equal(reason, "harvest_block");
    /* Off by default: blocked clients are refused recipient by recipient. */
    assert_int_equal(rcpt_connect(rt, "192.0.2.77", 1800000000, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "accept");

    rt = runtime_with("block_at_connect = true exempt_networks = {\"192.0.2.78/32\"}");
    assert_int_equal(rcpt_connect(rt, "192.0.2.77", 1800000000, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    verdict_get(v.text, "code", code, sizeof code);
    assert_string_equal(action, "defer");
    assert_string_equal(code, "421");
    /* its /24 is not blocked, only the client; exempt and local clients pass */
    assert_int_equal(rcpt_connect(rt, "192.0.2.99", 1800000000, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "accept");
    assert_int_equal(rcpt_connect(rt, "", 1800000000, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "accept");
    /* once the block has run out, the client is welcome again */
    assert_int_equal(rcpt_connect(rt, "192.0.2.77", 1800000000 + 61, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "accept");
}

static void ipv6_clients_are_counted_per_64(void **state)
{
    moat_runtime *rt = runtime_with("");
    char action[16], reason[48], net[64], ip[64];
    int i;

    (void)state;
    harvest_network(moat_config_module(rt->config, "rcpt"), "2001:db8:1:2:aa::1", net,
                    sizeof net);
    assert_string_equal(net, "2001:db8:1:2::/64");
    for (i = 0; i < 5; i++) {   /* five addresses of one /64, one unknown each */
        snprintf(ip, sizeof ip, "2001:db8:1:2::%x", i + 1);
        decide(rt, ip, "v6@example.test", "", action, reason);
    }
    assert_string_equal(reason, "harvest_block");
    decide(rt, "2001:db8:1:2:ffff::1", "alice@example.test", "", action, reason);
    assert_string_equal(reason, "harvest_block");
    decide(rt, "2001:db8:1:3::1", "alice@example.test", "", action, reason);
    assert_string_equal(action, "accept");
}

static void dead_and_exempt_recipients_are_not_counted(void **state)
{
    moat_runtime *rt = runtime_with("dead_recipients = {\"former@example.test\"} "
                                    "exempt_senders = {\"@monitor.test\"}");
    rcpt_request req = {"192.0.2.120", "probe@monitor.test", "", "", "", 0, 1800000000, 0};
    moat_verdict v;
    const char *why;
    char action[16], reason[48];
    int i;

    (void)state;
    for (i = 0; i < 10; i++)
        decide(rt, "192.0.2.121", "former@example.test", "", action, reason);
    assert_string_equal(action, "deny");
    assert_string_equal(reason, "dead_recipient");
    for (i = 0; i < 10; i++) {
        req.recipient = "ghost@example.test";
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    }
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "deny");   /* still refused: never blocked */
    assert_int_equal(rcpt_client_suspicious(rt, "192.0.2.121", 1800000000), 0);
    assert_int_equal(rcpt_client_suspicious(rt, "192.0.2.120", 1800000000), 0);
}

static void tarpit_grows_and_is_capped(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 100 net_threshold = 100");
    static const char *const expect[] = {"1s", "2s", "3s", "3s", "3s"};
    char delay[16], rcpt[32];
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        rcpt_request req = {"192.0.2.140", "t@tarpit.test", rcpt, "", "", i, 1800000000, 0};
        snprintf(rcpt, sizeof rcpt, "t%d@example.test", i);
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        assert_int_equal(verdict_get(v.text, "delay", delay, sizeof delay), 1);
        assert_string_equal(delay, expect[i]);
    }
}

static void session_cap_drops(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 100 net_threshold = 100 "
                                    "session_max_invalid = 3");
    rcpt_request req = {"192.0.2.150", "", "s@example.test", "", "", 2, 1800000000, 0};
    moat_verdict v;
    const char *why;
    char action[16];

    (void)state;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "drop");
    req.session_invalid = 1;
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "deny");
}

static void domain_under_attack_tightens_thresholds(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 4 net_threshold = 1000 "
                                    "domain_attack_threshold = 10 v4_prefix = 32 "
                                    "sender_domain_threshold = 1000");
    char action[16], reason[48], rcpt[32], ip[32];
    int i;

    (void)state;
    for (i = 0; i < 10; i++) {   /* ten clients, one unknown local part each */
        snprintf(ip, sizeof ip, "198.18.%d.1", i);
        snprintf(rcpt, sizeof rcpt, "spread%d@attacked.test", i);
        decide(rt, ip, rcpt, "", action, reason);
        assert_string_equal(reason, "not_covered");   /* attacked.test: no file entry */
    }
    /* not covered, so nothing was counted */
    assert_int_equal(rcpt_domain_under_attack(rt, "attacked.test", 1800000000), 0);
    for (i = 0; i < 10; i++) {
        snprintf(ip, sizeof ip, "198.18.%d.2", i);
        snprintf(rcpt, sizeof rcpt, "spread%d@example.test", i);
        decide(rt, ip, rcpt, "", action, reason);
        assert_string_equal(action, "deny");
    }
    assert_int_equal(rcpt_domain_under_attack(rt, "EXAMPLE.test", 1800000000), 1);
    /* a fresh client is now blocked at half its threshold (2 instead of 4) */
    decide(rt, "198.18.100.1", "late1@example.test", "", action, reason);
    assert_string_equal(action, "deny");
    decide(rt, "198.18.100.1", "late2@example.test", "", action, reason);
    assert_string_equal(reason, "harvest_block");
}

static void cdb_directory_compiled_from_text(void **state)
{
    char src[128], dst[128], err[256];
    moat_runtime *rt;

    (void)state;
    snprintf(src, sizeof src, "%s/recipients", dir);
    snprintf(dst, sizeof dst, "%s/recipients.cdb", dir);
    assert_int_equal(cdb_directory_compile(src, dst, err, sizeof err), 2);
    rt = runtime_with("source = cdb cdb = \"/tmp/moat-none/recipients.cdb\"");
    /* An unreadable directory is moat's own failure: on_error answers. */
    {
        rcpt_request req = {"192.0.2.160", "", "alice@example.test", "", "", 0, 1800000000, 0};
        moat_verdict v;
        const char *why = NULL;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), -1);
        assert_non_null(why);
    }
    {
        char extra[256];
        snprintf(extra, sizeof extra, "source = cdb cdb = \"%s\"", dst);
        rt = runtime_with(extra);
    }
    assert_int_equal(rcpt_directory_lookup(rt, "Alice@Example.test", "", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "carol@example.test", "", 1), RCPT_DIR_NOTFOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "x@skip.test", "", 1), RCPT_DIR_SKIP);
    assert_int_equal(rcpt_directory_lookup(rt, "x@elsewhere.test", "", 1), RCPT_DIR_SKIP);
    assert_int_equal(cdb_directory_compile("/tmp/moat-none/src", dst, err, sizeof err), -1);
    assert_non_null(strstr(err, "/tmp/moat-none/src"));
    assert_int_equal(cdb_directory_compile(src, "/tmp/moat-none/x.cdb", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot write /tmp/moat-none/x.cdb"));

    /* the database the lookups read, replaced, vanished, not a database */
    assert_int_equal(cdb_directory_lookup(dst, "alice@example.test", "example.test", 10, err,
                                          sizeof err), RCPT_DIR_FOUND);
    assert_int_equal(cdb_directory_compile(src, dst, err, sizeof err), 2);   /* a new file */
    assert_int_equal(cdb_directory_lookup(dst, "alice@example.test", "example.test", 11, err,
                                          sizeof err), RCPT_DIR_FOUND);
    unlink(dst);                  /* gone: the open database keeps answering */
    assert_int_equal(cdb_directory_lookup(dst, "alice@example.test", "example.test", 12, err,
                                          sizeof err), RCPT_DIR_FOUND);
    fixture_write(dst, "not a constant database");
    assert_int_equal(cdb_directory_lookup(dst, "alice@example.test", "example.test", 13, err,
                                          sizeof err), RCPT_DIR_TEMPFAIL);
    assert_non_null(strstr(err, "is not a CDB file"));
    unlink(dst);
}

static void aliases_count_as_valid(void **state)
{
    char path[128], extra[256];
    moat_runtime *rt;

    (void)state;
    snprintf(path, sizeof path, "%s/aliases", dir);
    fixture_write(path, "alicia@example.test: alice@example.test\n");
    snprintf(extra, sizeof extra, "aliases = \"%s\"", path);
    rt = runtime_with(extra);
    assert_int_equal(rcpt_directory_lookup(rt, "alicia@example.test", "", 1), RCPT_DIR_FOUND);
    assert_int_equal(rcpt_directory_lookup(rt, "alicja@example.test", "", 1), RCPT_DIR_NOTFOUND);
}

static void near_misses_recorded_for_typos_not_for_guessers(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 100 net_threshold = 100 "
                                    "sender_domain_threshold = 1000");
    char action[16], reason[48], val[128];
    size_t len = 0;

    (void)state;
    decide(rt, "192.0.2.170", "alcie@example.test", "", action, reason);
    assert_string_equal(reason, "unknown_user");   /* nothing revealed to the client */
    assert_int_equal(moat_store_get(rt->store, "rcpt:near:alcie@example.test", val,
                                    sizeof val - 1, &len, NULL, 1800000000), STORE_OK);
    val[len] = '\0';
    assert_string_equal(val, "1 alice@example.test");
    /* a client on its fourth unknown recipient is guessing: no search */
    decide(rt, "192.0.2.171", "zz1@example.test", "", action, reason);
    decide(rt, "192.0.2.171", "zz2@example.test", "", action, reason);
    decide(rt, "192.0.2.171", "zz3@example.test", "", action, reason);
    decide(rt, "192.0.2.171", "bbo@example.test", "", action, reason);
    assert_int_equal(moat_store_get(rt->store, "rcpt:near:bbo@example.test", val,
                                    sizeof val - 1, &len, NULL, 1800000000), STORE_NOTFOUND);
    decide(rt, "192.0.2.172", "bbo@example.test", "", action, reason);
    assert_int_equal(moat_store_get(rt->store, "rcpt:near:bbo@example.test", val,
                                    sizeof val - 1, &len, NULL, 1800000000), STORE_OK);
}

static void the_domain_attack_state_holds_for_its_threshold_only(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 1000 net_threshold = 1000 "
                                    "sender_domain_threshold = 1000 "
                                    "domain_attack_threshold = 5 domain_attack_window = 80s");
    rcpt_request req = {"192.0.2.200", "someone@remote.test", "", "", "", 0, 1900000000, 0};
    char rcpt[32];
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    assert_int_equal(rcpt_domain_under_attack(rt, "example.test", req.now), 0);
    for (i = 0; i < 5; i++) {
        snprintf(rcpt, sizeof rcpt, "guess%d@example.test", i);
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    }
    assert_int_equal(rcpt_domain_under_attack(rt, "example.test", req.now), 1);
    /* the same store under a higher threshold: 5 guesses are not 10 */
    rt = runtime_with("domain_attack_threshold = 10 domain_attack_window = 80s");
    assert_int_equal(rcpt_domain_under_attack(rt, "example.test", req.now), 0);
    /* back to 5: still under attack while the guesses are in the window... */
    rt = runtime_with("domain_attack_threshold = 5 domain_attack_window = 80s");
    assert_int_equal(rcpt_domain_under_attack(rt, "example.test", req.now + 30), 1);
    /* ...and no longer once they have left it, flag or not */
    assert_int_equal(rcpt_domain_under_attack(rt, "example.test", req.now + 200), 0);
}

static void bounces_have_their_own_count_and_threshold(void **state)
{
    moat_runtime *rt = runtime_with("bounce_threshold = 3 ip_threshold = 2");
    rcpt_request req = {"10.16.1.190", "", "", "", "", 0, 1800000000, 0};
    char rcpt[32], action[16], count[8];
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    /* null-sender unknown recipients: their own counter, their own threshold */
    for (i = 0; i < 3; i++) {
        snprintf(rcpt, sizeof rcpt, "bounce%d@example.test", i);
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        if (i < 2) {
            assert_string_equal(action, "deny");
            assert_int_equal(verdict_get(v.text, "bounce_count", count, sizeof count), 1);
            assert_int_equal(atoi(count), i + 1);
            assert_int_equal(verdict_get(v.text, "count", count, sizeof count), 0);
        }
    }
    assert_string_equal(action, "defer");              /* the third: blocked */
    assert_int_equal(rcpt_client_blocked(rt, "10.16.1.190", req.now), 1);
    /* they did not touch the ordinary counter: another client's one unknown
     * recipient with a sender (ip_threshold 2) is not blocked by them */
    req.client_ip = "10.16.2.191";
    req.sender = "someone@typo.test";
    req.recipient = "typo@example.test";
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "deny");
    /* with count_bounces, they count like any other */
    rt = runtime_with("count_bounces = true ip_threshold = 3 bounce_threshold = 100");
    req.client_ip = "10.16.3.192";
    req.sender = "";
    for (i = 0; i < 3; i++) {
        snprintf(rcpt, sizeof rcpt, "bounce-c%d@example.test", i);
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    }
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "defer");
}

static void a_forged_sender_domain_holds_its_mail_and_blocks_no_client(void **state)
{
    moat_runtime *rt = runtime_with("sender_domain_threshold = 4 ip_threshold = 10");
    rcpt_request req = {"", "x@partner.test", "", "", "", 0, 1800000000, 0};
    char ip[32], rcpt[32], action[16], reason[32];
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    /* four attacker addresses, one unknown recipient each, forging partner.test */
    for (i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.17.%d.10", 10 + i);
        snprintf(rcpt, sizeof rcpt, "guess%d@example.test", i);
        req.client_ip = ip;
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    }
    verdict_get(v.text, "action", action, sizeof action);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(action, "defer");
    assert_string_equal(reason, "sender_domain_hold");
    /* the partner's own MTA: its typo is held (451), and it is not blocked */
    req.client_ip = "10.18.0.25";
    req.recipient = "typo@example.test";
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "sender_domain_hold");
    for (i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.17.%d.10", 10 + i);
        assert_int_equal(rcpt_client_blocked(rt, ip, req.now), 0);
    }
    assert_int_equal(rcpt_client_blocked(rt, "10.18.0.25", req.now), 0);
}

static void tarpits_at_once_are_bounded_per_client(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 1000 net_threshold = 1000 "
                                    "tarpit_concurrency = 3");
    rcpt_request req = {"10.19.0.200", "h@harvest.test", "", "", "", 0, 1800000000, 0};
    char rcpt[32], action[16], reason[32];
    moat_verdict v;
    const char *why;
    int i;

    (void)state;
    /* new sessions (no unknown recipient of their own yet), all at once */
    for (i = 0; i < 6; i++) {
        snprintf(rcpt, sizeof rcpt, "p%d@example.test", i);
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        verdict_get(v.text, "reason", reason, sizeof reason);
        assert_string_equal(action, i < 3 ? "deny" : "drop");
        assert_string_equal(reason, i < 3 ? "unknown_user" : "tarpit_full");
    }
    /* one session's own tarpits come one after another: not held against it */
    req.client_ip = "10.19.1.201";
    for (i = 0; i < 8; i++) {
        snprintf(rcpt, sizeof rcpt, "s%d@example.test", i);
        req.recipient = rcpt;
        req.session_invalid = i;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        assert_string_equal(action, "deny");
    }
    /* once the tarpits have ended, new sessions are delayed again */
    req.client_ip = "10.19.0.200";
    req.session_invalid = 0;
    req.now += 60;
    req.recipient = "later@example.test";
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "deny");
}

static void unparsable_recipients_are_unknown_recipients(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 3");
    static const char *const odd[] = {"\"no body\"@example.test", "\"a,b\"@example.test",
                                      "\"\"@example.test",
                                      "a1234567890123456789012345678901234567890123456789"
                                      "01234567890123456789@example.test"};
    rcpt_request req = {"10.20.0.210", "s@unparsable.test", "", "", "", 0, 1800000000, 0};
    char action[16], reason[32], count[8];
    moat_verdict v;
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        req.recipient = odd[i];
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        verdict_get(v.text, "reason", reason, sizeof reason);
        assert_string_equal(action, "deny");
        assert_string_equal(reason, "unknown_user");
        assert_int_equal(verdict_get(v.text, "count", count, sizeof count), 1);
        assert_int_equal(atoi(count), (int)i + 1);
    }
    req.recipient = odd[2];
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "defer");              /* the third: blocked */
    /* Exim's own verification may know one (source = exim) */
    rt = runtime_with("source = exim");
    req.client_ip = "10.20.1.211";
    req.recipient = odd[3];
    req.exim_verify = "yes";
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "accept");
}

/* own - the own-domain verdict's action and reason for one message */
static void own(moat_runtime *rt, const char *ip, const char *sender, int sender_local,
                const char *from, int from_local, const char *spf, const char *want_action,
                const char *want_reason)
{
    own_request req = {ip, sender, sender_local, from, from_local, spf};
    moat_verdict v;
    char action[16], reason[48];
    const char *why = NULL;

    assert_int_equal(rcpt_own_domain(rt, &req, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "action", action, sizeof action), 1);
    assert_int_equal(verdict_get(v.text, "reason", reason, sizeof reason), 1);
    assert_string_equal(action, want_action);
    assert_string_equal(reason, want_reason);
}

static void own_domains_per_domain_policy_and_exemptions(void **state)
{
    moat_runtime *rt;
    moat_verdict v;
    char mark[96];
    const char *why;

    (void)state;
    rt = runtime_with("own_domains { policy = mark domain \"example.test\" { policy = reject } "
                      "domain \"spf.test\" { policy = spf } exempt_hosts = {\"198.51.100.0/24\"} "
                      "exempt_senders = {\"@lists.remote.test\"} }");
    assert_non_null(rt);
    /* the field report: From: is ours, the envelope someone else's */
    own(rt, "192.0.2.7", "x@remote.test", 0, "boss@example.test", 1, "", "deny",
        "own_domain_forged");
    own(rt, "192.0.2.7", "boss@Example.TEST", 1, "", 0, "", "deny", "own_domain_forged");
    /* a forwarder, a list */
    own(rt, "198.51.100.9", "boss@example.test", 1, "", 0, "", "accept", "own_domain_exempt");
    own(rt, "192.0.2.7", "list-bounces@lists.remote.test", 0, "boss@example.test", 1, "",
        "accept", "own_domain_exempt");
    /* other local domains: the default policy, mark */
    assert_int_equal(rcpt_own_domain(rt, &(own_request){"192.0.2.7", "x@remote.test", 0,
                                                         "a@other.test", 1, ""}, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "mark", mark, sizeof mark), 1);
    assert_string_equal(mark, "forged domain=other.test via=from");
    /* not ours at all */
    own(rt, "192.0.2.7", "x@remote.test", 0, "y@remote.test", 0, "", "accept", "not_own");
    /* spf: asked for, then pass accepted, fail refused, temperror deferred */
    own(rt, "192.0.2.7", "a@spf.test", 0, "", 0, "", "accept", "spf_needed");
    own(rt, "192.0.2.7", "a@spf.test", 0, "", 0, "pass", "accept", "own_domain_spf_pass");
    own(rt, "192.0.2.7", "a@spf.test", 0, "", 0, "softfail", "deny", "own_domain_forged");
    own(rt, "192.0.2.7", "a@spf.test", 0, "", 0, "temperror", "defer", "spf_temperror");
    /* spf speaks for the envelope only: our From: under a foreign envelope is refused */
    own(rt, "192.0.2.7", "x@remote.test", 0, "a@spf.test", 0, "pass", "deny",
        "own_domain_forged");
}

static void fetched_mail_is_never_refused_nor_counted(void **state)
{
    moat_runtime *rt;
    char action[16], reason[48], fetched[8], target[128];
    rcpt_request req = {"127.0.0.1", "spam@forged.test", "", "", "no", 0, 1800000000, 0};
    moat_verdict v;
    const char *why = NULL;

    (void)state;
    rt = runtime_with("fetched { hosts = {\"127.0.0.1\"} users = {\"fetchmail\"} }");
    assert_non_null(rt);
    for (int i = 0; i < 20; i++) {      /* far past ip_threshold = 3 */
        char rcpt[64];
        snprintf(rcpt, sizeof rcpt, "made-up-%d@example.test", i);
        req.recipient = rcpt;
        assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        verdict_get(v.text, "reason", reason, sizeof reason);
        assert_string_equal(action, "accept");
        assert_string_equal(reason, "fetched_unknown");
        assert_int_equal(verdict_get(v.text, "fetched", fetched, sizeof fetched), 1);
    }
    req.recipient = "alice@example.test";
    assert_int_equal(rcpt_check(rt, &req, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "valid");
    /* not a fetcher: refused as ever */
    decide(rt, "192.0.2.50", "made-up@example.test", "", action, reason);
    assert_string_equal(action, "deny");
    assert_int_equal(rcpt_fetched_user(rt, "fetchmail"), 1);
    assert_int_equal(rcpt_fetched_user(rt, "alice"), 0);
    assert_int_equal(rcpt_fetched_user(rt, ""), 0);
    rcpt_fetched_target(rt, "made-up@example.test", "spam@forged.test", target, sizeof target);
    assert_string_equal(target, ":blackhole:");
    rt = runtime_with("fetched { hosts = {\"127.0.0.1\"} unknown = quarantine "
                      "quarantine = \"q@example.test\" }");
    assert_non_null(rt);
    rcpt_fetched_target(rt, "made-up@example.test", "spam@forged.test", target, sizeof target);
    assert_string_equal(target, "q@example.test");
    /* the quarantine itself unknown: dropped, never a loop */
    rcpt_fetched_target(rt, "Q@example.test", "spam@forged.test", target, sizeof target);
    assert_string_equal(target, ":blackhole:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_directory_answers),
        cmocka_unit_test(a_good_recipient_is_counted_with_or_without_its_line),
        cmocka_unit_test(exim_source_uses_the_routing_verdict),
        cmocka_unit_test(a_batv_tag_is_taken_off_only_when_asked),
        cmocka_unit_test(only_moats_own_directory_lists_a_recipient),
        cmocka_unit_test(unknown_then_blocked_then_escalated),
        cmocka_unit_test(repeat_offenders_get_longer_blocks),
        cmocka_unit_test(network_counter_blocks_the_network),
        cmocka_unit_test(log_only_answers_accept),
        cmocka_unit_test(verdict_texts_keep_their_keys_and_order),
        cmocka_unit_test(store_failure_is_reported_not_answered),
        cmocka_unit_test(ldap_escaping),
        cmocka_unit_test(edit_distances),
        cmocka_unit_test(near_miss_search_finds_what_a_full_scan_finds),
        cmocka_unit_test(near_miss_shapes_never_hide_a_close_address),
        cmocka_unit_test(near_miss_index_follows_reloads),
        cmocka_unit_test(addrlist_reloads_when_changed),
        cmocka_unit_test(addrlist_reads_odd_files),
        cmocka_unit_test(connect_refuses_blocked_clients_only_when_asked),
        cmocka_unit_test(ipv6_clients_are_counted_per_64),
        cmocka_unit_test(dead_and_exempt_recipients_are_not_counted),
        cmocka_unit_test(tarpit_grows_and_is_capped),
        cmocka_unit_test(session_cap_drops),
        cmocka_unit_test(domain_under_attack_tightens_thresholds),
        cmocka_unit_test(cdb_directory_compiled_from_text),
        cmocka_unit_test(aliases_count_as_valid),
        cmocka_unit_test(near_misses_recorded_for_typos_not_for_guessers),
        cmocka_unit_test(bounces_have_their_own_count_and_threshold),
        cmocka_unit_test(a_forged_sender_domain_holds_its_mail_and_blocks_no_client),
        cmocka_unit_test(tarpits_at_once_are_bounded_per_client),
        cmocka_unit_test(unparsable_recipients_are_unknown_recipients),
        cmocka_unit_test(the_domain_attack_state_holds_for_its_threshold_only),
        cmocka_unit_test(own_domains_per_domain_policy_and_exemptions),
        cmocka_unit_test(fetched_mail_is_never_refused_nor_counted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
