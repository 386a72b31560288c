/*
 * test_exim_queue.c - moatctl's reading of Exim's queue listing: the
 * message IDs of Exim 4.96 (bookworm) and of 4.97+ (trixie's 4.98).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

/* exim_queue.c belongs to moatctl, which no library carries: build it in. */
#include "../../tools/moatctl/exim_queue.c" /* NOLINT(bugprone-suspicious-include) */

static void ids_of_both_formats_are_valid(void **state)
{
    (void)state;
    assert_true(exim_msgid_valid("1xVO7j-0002wx-0L"));
    assert_true(exim_msgid_valid("1tBWi3-00000000Bfx-1XoO"));
    assert_false(exim_msgid_valid(""));
    assert_false(exim_msgid_valid("1xVO7j-0002wx-0"));
    assert_false(exim_msgid_valid("1xVO7j_0002wx-0L"));
    assert_false(exim_msgid_valid("1tBWi3-0000000Bfx-1XoOO"));
    assert_false(exim_msgid_valid("1tBWi3-00000000Bfx-1Xo!"));
    assert_false(exim_msgid_valid("<bob@example.test>"));
}

static void expect_line(const char *line, const char *want_id, int want_frozen)
{
    char id[EXIM_MSGID_MAX] = "";
    int frozen = -1;

    assert_int_equal(exim_queue_line(line, id, &frozen), 0);
    assert_string_equal(id, want_id);
    assert_int_equal(frozen, want_frozen);
}

static void message_lines_of_4_96(void **state)
{
    (void)state;
    expect_line(" 25m  1.2K 1xVO7j-0002wx-0L <bob@example.test>", "1xVO7j-0002wx-0L", 0);
    expect_line("  0m   412 1xVO7k-0002wy-1a <bob@example.test> *** frozen ***",
                "1xVO7k-0002wy-1a", 1);
}

static void message_lines_of_4_97_and_later(void **state)
{
    (void)state;
    expect_line(" 3h   2.5K 1tBWi3-00000000Bfx-1XoO <> *** frozen ***", "1tBWi3-00000000Bfx-1XoO",
                1);
    expect_line("  0m   399 1tBWi4-0000000001G-0000 <bob@example.test>",
                "1tBWi4-0000000001G-0000", 0);
}

static void other_lines_are_not_messages(void **state)
{
    char id[EXIM_MSGID_MAX];
    int frozen;

    (void)state;
    assert_int_equal(exim_queue_line("          alice@example.test", id, &frozen), -1);
    assert_int_equal(exim_queue_line("        D carol@example.test", id, &frozen), -1);
    assert_int_equal(exim_queue_line("", id, &frozen), -1);
    assert_int_equal(exim_queue_line(" 1m 1K 1xVO7j-0002wx-0L-extra-long-word <x>", id, &frozen),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_of_both_formats_are_valid),
        cmocka_unit_test(message_lines_of_4_96),
        cmocka_unit_test(message_lines_of_4_97_and_later),
        cmocka_unit_test(other_lines_are_not_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
