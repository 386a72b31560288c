/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_logline.c - reading moat's log lines back (common/logline.c) and
 * counting decisions from them (common/stats.c) into a real LMDB store.
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

#include "log.h"
#include "logline.h"
#include "stats.h"
#include "store.h"

static void a_mainlog_line_is_split_into_fields(void **state)
{
    const char *line = "2026-12-03 06:19:13 [123] 1abcde-000000-AB moat rcpt: action=deny "
                       "reason=unknown_user ip=192.0.2.7 sender=<a b@x.test> "
                       "rcpt=<\\x3cnobody\\x3e@example.test> detail=\"say \\\"hi\\\"\" count=3\n";
    moat_logline l;
    long at = logline_exim_prefix(line, strlen(line));

    (void)state;
    assert_true(at > 0);
    assert_int_equal(logline_parse(line + at, strlen(line) - (size_t)at, &l), 0);
    assert_string_equal(l.module, "rcpt");
    assert_int_equal(l.nfields, 7);
    assert_string_equal(logline_get(&l, "action"), "deny");
    assert_string_equal(logline_get(&l, "ip"), "192.0.2.7");
    assert_string_equal(logline_get(&l, "sender"), "a b@x.test");
    /* what moat escaped is read back as it was: the report escapes it once */
    assert_string_equal(logline_get(&l, "rcpt"), "<nobody>@example.test");
    assert_string_equal(logline_get(&l, "detail"), "say \"hi\"");
    assert_string_equal(logline_get(&l, "count"), "3");
    assert_null(logline_get(&l, "missing"));
}

static void other_lines_are_not_moat_lines(void **state)
{
    static const char *const lines[] = {
        "2026-12-03 06:19:13 1abcde-000000-AB <= a@b.test H=x [192.0.2.1] P=esmtp S=300",
        "2026-12-03 06:19:13 H=x [192.0.2.1] rejected RCPT <moat rcpt: action=deny>",
        /* a client's address, logged by Exim, that looks like a moat line */
        "2026-12-03 06:19:13 H=x [192.0.2.1] F=<\"a moat rcpt: action=block "
        "reason=harvest_ip ip=10.9.9.9 \"@x> rejected RCPT",
        "2026-12-03 06:19:13 [77] 1abcde-00000000000-ABCD H=x moat rcpt: action=deny",
        "xmoat rcpt: action=deny", "moat : action=deny", "moat rcpt:action=deny", "", "moat",
        " moat rcpt: action=deny",
    };
    moat_logline l;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        long at = logline_exim_prefix(lines[i], strlen(lines[i]));
        const char *p = at > 0 ? lines[i] + at : lines[i];
        assert_int_equal(logline_parse(p, strlen(p), &l), -1);
    }
    /* a moat line whose fields stop being key=value keeps what came before */
    assert_int_equal(logline_parse("moat rcpt: action=deny reason=x junk ip=1.2.3.4", 47, &l), 0);
    assert_int_equal(l.nfields, 2);
    assert_int_equal(logline_parse("moat rcpt: error: store down", 28, &l), 0);
    assert_int_equal(l.nfields, 0);
}

static void exim_prefixes_are_recognised(void **state)
{
    static const struct {
        const char *line;
        long at;
    } cases[] = {
        {"2026-12-03 06:19:13 moat rcpt: x", 20},
        {"2026-12-03 06:19:13.123456 +0100 moat rcpt: x", 33},
        {"2026-12-03 06:19:13 [4711] moat rcpt: x", 27},
        {"2026-12-03 06:19:13 1abcde-000000-AB moat rcpt: x", 37},
        {"2026-12-03 06:19:13 [1] 1abcde-00000000000-ABCD moat rcpt: x", 48},
        {"2026-12-03 06:19:13", -1},
        {"2026-12-03 6:19:13 moat rcpt: x", -1},
        {"moat rcpt: action=deny", -1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(logline_exim_prefix(cases[i].line, strlen(cases[i].line)), cases[i].at);
}

static void a_line_is_read_only_up_to_its_length(void **state)
{
    char line[3 * LOGLINE_TEXT_MAX];
    moat_logline l;

    (void)state;
    memset(line, 'a', sizeof line);
    memcpy(line, "moat rcpt: action=deny reason=", 30);
    assert_int_equal(logline_parse(line, sizeof line, &l), 0);   /* no NUL anywhere */
    assert_int_equal(l.nfields, 2);
    assert_int_equal(strlen(logline_get(&l, "reason")), LOGLINE_TEXT_MAX - 30);
}

static void labels_are_plain_words(void **state)
{
    char key[STORE_KEY_MAX];

    (void)state;
    assert_true(logline_word_ok("unknown_user"));
    assert_false(logline_word_ok(""));
    assert_false(logline_word_ok("Deny"));
    assert_false(logline_word_ok("a\"b"));
    assert_false(logline_word_ok("a:b"));
    assert_false(logline_word_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 49 */
    assert_int_equal(moat_stats_key(key, sizeof key, "rcpt", "deny", "unknown_user"), 0);
    assert_string_equal(key, "stats:rcpt:deny:unknown_user");
    assert_int_equal(moat_stats_key(key, sizeof key, "rcpt", "deny", NULL), -1);
}

/* temp_store - an LMDB store in a new directory made from the template dir */
static moat_store *temp_store(char *dir)
{
    moat_store_config cfg;

    assert_non_null(mkdtemp(dir));
    moat_store_config_defaults(&cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s", dir);
    cfg.map_size = 4UL * 1024 * 1024;
    return moat_store_new(&cfg);
}

/* drop_store - free st and remove its directory */
static void drop_store(moat_store *st, const char *dir)
{
    char cmd[64];

    moat_store_free(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void each_logged_decision_is_counted_once(void **state)
{
    char dir[] = "/tmp/moat-logline-XXXXXX";
    moat_store *st;
    uint64_t n = 0;

    (void)state;
    st = temp_store(dir);
    moat_stats_attach(st);
    moat_log_set_tap(moat_stats_note);
    moat_log_set_level(MOAT_LOG_ERROR);                /* counted whatever the level */
    moat_log(MOAT_LOG_DEBUG, "moat rcpt: action=accept reason=valid ip=192.0.2.1");
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=deny reason=unknown_user ip=192.0.2.1");
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=deny reason=unknown_user ip=192.0.2.2");
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=deny reason=Bad\"Label ip=192.0.2.2");
    moat_log(MOAT_LOG_INFO, "moat rcpt: ip=192.0.2.2 action=deny reason=late");
    moat_log(MOAT_LOG_ERROR, "moat rcpt: error: nothing to count");
    assert_int_equal(moat_store_tally_add(st, "stats:rcpt:accept:valid", 0, time(NULL), &n),
                     STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_tally_add(st, "stats:rcpt:deny:unknown_user", 0, time(NULL), &n),
                     STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_tally_add(st, "stats:rcpt:deny:late", 0, time(NULL), &n),
                     STORE_OK);
    assert_int_equal(n, 0);
    moat_log_set_tap(NULL);
    moat_stats_attach(NULL);
    moat_log_set_level(MOAT_LOG_INFO);
    drop_store(st, dir);
}

/* tally - the count under key in st */
static uint64_t tally(moat_store *st, const char *key)
{
    uint64_t n = 0;

    assert_int_equal(moat_store_tally_add(st, key, 0, time(NULL), &n), STORE_OK);
    return n;
}

/* What an Exim process does: a good recipient's count (no line) is held and
 * written with the others by a flush, by the hold limit, or when the store
 * changes; a logged decision is written at once. */
static void counts_without_a_line_are_held_until_flushed(void **state)
{
    char dir[] = "/tmp/moat-logline-XXXXXX";
    moat_store *st;

    (void)state;
    st = temp_store(dir);
    moat_stats_attach(st);
    moat_log_set_tap(moat_stats_note);
    moat_stats_hold(1);
    for (int i = 0; i < 3; i++)
        moat_stats_count("rcpt", "accept", "valid");
    moat_stats_count("catchall", "accept", "explicit");
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=deny reason=unknown_user ip=192.0.2.1");
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 0);
    assert_int_equal(tally(st, "stats:rcpt:deny:unknown_user"), 1);
    moat_stats_flush();
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 3);
    assert_int_equal(tally(st, "stats:catchall:accept:explicit"), 1);
    moat_stats_flush();                                  /* nothing held: nothing added */
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 3);
    /* a count still held can be taken back; none held: nothing taken */
    moat_stats_count("rcpt", "accept", "valid");
    moat_stats_uncount("rcpt", "accept", "valid");
    moat_stats_uncount("rcpt", "accept", "valid");
    moat_stats_uncount("rcpt", "accept", "never_counted");
    moat_stats_flush();
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 3);
    /* the limit writes them without a flush: the full table when one more comes */
    for (int i = 0; i < STATS_HOLD_MAX; i++)
        moat_stats_count("rcpt", "accept", "valid");
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 3);
    moat_stats_count("rcpt", "accept", "valid");
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 3 + STATS_HOLD_MAX);
    /* more kinds than the table holds: the held ones are written to make room */
    for (int i = 0; i < STATS_HOLD_KEYS + 1; i++) {
        char reason[16];
        snprintf(reason, sizeof reason, "r%d", i);
        moat_stats_count("rcpt", "accept", reason);
    }
    assert_int_equal(tally(st, "stats:rcpt:accept:r0"), 1);
    assert_int_equal(tally(st, "stats:rcpt:accept:r16"), 0);
    /* leaving the store (the runtime's reset) writes what is held */
    moat_stats_count("rcpt", "accept", "valid");
    moat_stats_attach(NULL);
    assert_int_equal(tally(st, "stats:rcpt:accept:r16"), 1);
    assert_int_equal(tally(st, "stats:rcpt:accept:valid"), 5 + STATS_HOLD_MAX);
    moat_stats_hold(0);
    moat_log_set_tap(NULL);
    drop_store(st, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_mainlog_line_is_split_into_fields),
        cmocka_unit_test(other_lines_are_not_moat_lines),
        cmocka_unit_test(exim_prefixes_are_recognised),
        cmocka_unit_test(a_line_is_read_only_up_to_its_length),
        cmocka_unit_test(labels_are_plain_words),
        cmocka_unit_test(each_logged_decision_is_counted_once),
        cmocka_unit_test(counts_without_a_line_are_held_until_flushed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
