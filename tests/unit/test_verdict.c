/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_verdict.c - the verdict line: quoting, reading back, truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "verdict.h"

static void bare_values_stay_bare(void **state)
{
    moat_verdict v;

    (void)state;
    verdict_init(&v, "deny");
    verdict_add(&v, "code", "550");
    verdict_add(&v, "xcode", "5.1.1");
    verdict_add(&v, "rcpt", "alice@example.test");
    assert_string_equal(v.text, "action=deny code=550 xcode=5.1.1 rcpt=alice@example.test");
}

static void spaces_quotes_and_backslashes_are_quoted(void **state)
{
    moat_verdict v;
    char out[256];

    (void)state;
    verdict_init(&v, "deny");
    verdict_add(&v, "text", "No such user \"x\\y\"");
    assert_string_equal(v.text, "action=deny text=\"No such user \\\"x\\\\y\\\"\"");
    assert_int_equal(verdict_get(v.text, "text", out, sizeof out), 1);
    assert_string_equal(out, "No such user \"x\\y\"");
}

static void control_characters_never_break_the_line(void **state)
{
    moat_verdict v;
    char out[64];

    (void)state;
    verdict_init(&v, "accept");
    verdict_add(&v, "text", "a\r\nb\tc");
    assert_null(strchr(v.text, '\n'));
    assert_null(strchr(v.text, '\r'));
    assert_int_equal(verdict_get(v.text, "text", out, sizeof out), 1);
    assert_string_equal(out, "a  b c");
}

static void empty_value_is_quoted_and_null_is_skipped(void **state)
{
    moat_verdict v;
    char out[16];

    (void)state;
    verdict_init(&v, "accept");
    verdict_add(&v, "sender", "");
    verdict_add(&v, "absent", NULL);
    assert_string_equal(v.text, "action=accept sender=\"\"");
    assert_int_equal(verdict_get(v.text, "sender", out, sizeof out), 1);
    assert_string_equal(out, "");
    assert_int_equal(verdict_get(v.text, "absent", out, sizeof out), 0);
}

static void get_does_not_match_key_prefixes(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(verdict_get("action=deny codex=1 code=550", "code", out, sizeof out), 1);
    assert_string_equal(out, "550");
    assert_int_equal(verdict_get("action=deny", "act", out, sizeof out), 0);
}

static void numbers_and_formats(void **state)
{
    moat_verdict v;

    (void)state;
    verdict_init(&v, "defer");
    verdict_add_int(&v, "count", -42);
    verdict_addf(&v, "delay", "%ds", 4);
    assert_string_equal(v.text, "action=defer count=-42 delay=4s");
}

static void overflow_cuts_at_a_whole_pair(void **state)
{
    moat_verdict v;
    char big[MOAT_VERDICT_MAX];
    char out[64];

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    verdict_init(&v, "deny");
    verdict_add(&v, "code", "550");
    verdict_add(&v, "text", big);
    verdict_add(&v, "after", "1");
    assert_true(v.truncated);
    assert_string_equal(v.text, "action=deny code=550");
    assert_int_equal(verdict_get(v.text, "action", out, sizeof out), 1);
    assert_string_equal(out, "deny");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bare_values_stay_bare),
        cmocka_unit_test(spaces_quotes_and_backslashes_are_quoted),
        cmocka_unit_test(control_characters_never_break_the_line),
        cmocka_unit_test(empty_value_is_quoted_and_null_is_skipped),
        cmocka_unit_test(get_does_not_match_key_prefixes),
        cmocka_unit_test(numbers_and_formats),
        cmocka_unit_test(overflow_cuts_at_a_whole_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
