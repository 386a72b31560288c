/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_log.c - log fields for values a client chose: nothing they send can
 * end a field early, start a line, or reach a terminal as an escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "log.h"

static void printable_text_stays(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(moat_log_field("alice@example.test", out, sizeof out),
                        "alice@example.test");
    assert_string_equal(moat_log_field("a b=c", out, sizeof out), "a b=c");
    /* a bare value: no blank or = that could start a forged field */
    assert_string_equal(moat_log_word("x asn=AS1", out, sizeof out), "x\\x20asn\\x3dAS1");
    assert_string_equal(moat_log_word("alice", out, sizeof out), "alice");
    assert_string_equal(moat_log_field("J\xc3\xbcrgen", out, sizeof out), "J\xc3\xbcrgen");
    assert_string_equal(moat_log_field(NULL, out, sizeof out), "");
}

static void what_could_end_a_field_or_a_line_is_escaped(void **state)
{
    char out[128];

    (void)state;
    assert_string_equal(moat_log_field("x> rcpt=<y", out, sizeof out), "x\\x3e rcpt=\\x3cy");
    assert_string_equal(moat_log_field("\"q\"\\", out, sizeof out), "\\x22q\\x22\\x5c");
    assert_string_equal(moat_log_field("a\nb\rc\x1b[2K\x7f", out, sizeof out),
                        "a\\x0ab\\x0dc\\x1b[2K\\x7f");
}

static void it_is_cut_to_fit_never_mid_escape(void **state)
{
    char out[8];

    (void)state;
    assert_string_equal(moat_log_field("abcdefghij", out, sizeof out), "abcdefg");
    assert_string_equal(moat_log_field("abcd\x01", out, sizeof out), "abcd");
    assert_string_equal(moat_log_field("ab\x01\x02", out, sizeof out), "ab\\x01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_text_stays),
        cmocka_unit_test(what_could_end_a_field_or_a_line_is_escaped),
        cmocka_unit_test(it_is_cut_to_fit_never_mid_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
