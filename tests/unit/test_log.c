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

static void only_printable_utf8_passes(void **state)
{
    char out[128];

    (void)state;
    /* C1 controls (CSI, raw and UTF-8 encoded), invalid and overlong bytes,
     * U+2028: what a terminal or a JSON reader would trip on */
    assert_string_equal(moat_log_field("a\x9b" "2Jb", out, sizeof out), "a\\x9b2Jb");
    assert_string_equal(moat_log_field("c\xc2\x9b" "31m", out, sizeof out), "c\\xc2\\x9b31m");
    assert_string_equal(moat_log_field("latin\xe9", out, sizeof out), "latin\\xe9");
    assert_string_equal(moat_log_field("\xc0\xaf\xed\xa0\x80", out, sizeof out),
                        "\\xc0\\xaf\\xed\\xa0\\x80");
    assert_string_equal(moat_log_field("x\xe2\x80\xa8y", out, sizeof out), "x\\xe2\\x80\\xa8y");
    assert_string_equal(moat_log_field("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\xa0", out, sizeof out),
                        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\xa0");
    assert_int_equal(moat_utf8_printable_len("\xe2\x82"), 0);      /* cut short */
    assert_int_equal(moat_utf8_printable_len("\xf4\x90\x80\x80"), 0);  /* past U+10FFFF */
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
        cmocka_unit_test(only_printable_utf8_passes),
        cmocka_unit_test(it_is_cut_to_fit_never_mid_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
