/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_queue_report.c - moatctl queue's reading of Exim's queue listing
 * (bounces, domains, frozen and held by sender, the oldest message, lines
 * that are none of these) and the DNSBL query names of IPv4 and IPv6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

/* moatctl's sources, which no library carries: build them in. */
#include "../../tools/moatctl/dnsbl.c"        /* NOLINT(bugprone-suspicious-include) */
#include "../../tools/moatctl/exim_queue.c"   /* NOLINT(bugprone-suspicious-include) */
#include "../../tools/moatctl/queue_report.c" /* NOLINT(bugprone-suspicious-include) */

static const char *const listing =
    " 25m  1.2K 1xVO7j-0002wx-0L <bob@example.test> *** frozen ***\n"
    "          alice@remote.test\n"
    "        D carol@remote.test\n"
    "\n"
    " 3d   2.5K 1tBWi3-00000000Bfx-1XoO <> *** frozen ***\n"
    "          forged@victim.test\n"
    "\n"
    "  5h   399 1tBWi4-0000000001G-0000 <>\n"
    "          forged2@Victim.TEST\n"
    "\n"
    "  7h   399 1xVO7k-0002wy-1a <bob@example.test>\n"
    "          x@third.test\n"
    "          y@fourth.test\n"
    "\n"
    "  1m   399 1xVO7l-0002wz-1b <alice@example.test>\n"
    "          z@fifth.test\n"
    "garbage line\n";

static void counts_of_a_listing(void **state)
{
    queue_report r;

    (void)state;
    assert_int_equal(queue_report_parse(listing, strlen(listing), 3600, &r), 0);
    assert_int_equal(r.messages, 5);
    assert_int_equal(r.bounces, 2);
    assert_int_equal(r.frozen, 2);
    assert_int_equal(r.held, 2);          /* 5h and 7h; 1m is not held yet */
    assert_int_equal(r.recipients, 6);   /* carol was delivered */
    assert_int_equal(r.domains, 5);      /* victim.test once, whatever its case */
    assert_int_equal(r.oldest_seconds, 3 * 86400);
    assert_string_equal(r.oldest_id, "1tBWi3-00000000Bfx-1XoO");
    assert_int_equal(r.frozen_senders, 2);
    assert_string_equal(r.frozen_by_sender[0].key, "<>");       /* ties by key */
    assert_string_equal(r.frozen_by_sender[1].key, "bob@example.test");
    assert_int_equal(r.held_senders, 2);
    assert_int_equal(r.bad_lines, 1);
}

static void top_senders_are_the_largest(void **state)
{
    char text[8192] = "";
    queue_report r;

    (void)state;
    /* 12 senders, sender k with k frozen messages: the top 10 are 12..3 */
    for (int k = 1; k <= 12; k++)
        for (int m = 0; m < k; m++)
            snprintf(text + strlen(text), sizeof text - strlen(text),
                     " 1m 1K 1xVO%02d-0002wx-%02d <s%d@x.test> *** frozen ***\n  r@y.test\n\n",
                     k, m, k);
    assert_int_equal(queue_report_parse(text, strlen(text), 3600, &r), 0);
    assert_int_equal(r.frozen, 78);
    assert_int_equal(r.frozen_senders, QUEUE_TOP_MAX);
    assert_string_equal(r.frozen_by_sender[0].key, "s12@x.test");
    assert_int_equal(r.frozen_by_sender[0].count, 12);
    assert_string_equal(r.frozen_by_sender[9].key, "s3@x.test");
}

static void ages(void **state)
{
    (void)state;
    assert_int_equal(exim_age_seconds("25m"), 1500);
    assert_int_equal(exim_age_seconds(" 3h"), 10800);
    assert_int_equal(exim_age_seconds("2d"), 172800);
    assert_int_equal(exim_age_seconds("45s"), 45);
    assert_int_equal(exim_age_seconds("1w"), 604800);
    assert_int_equal(exim_age_seconds("5x"), -1);
    assert_int_equal(exim_age_seconds("m"), -1);
    assert_int_equal(exim_age_seconds("5mm"), -1);
}

static void dnsbl_names(void **state)
{
    char name[256];

    (void)state;
    assert_int_equal(dnsbl_name("192.0.2.10", "bl.test", name, sizeof name), 0);
    assert_string_equal(name, "10.2.0.192.bl.test");
    assert_int_equal(dnsbl_name("2001:db8::1", "bl.test", name, sizeof name), 0);
    assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
    assert_int_equal(dnsbl_name("mail.example.test", "bl.test", name, sizeof name), -1);
    assert_int_equal(dnsbl_name("192.0.2.10", "bl.test", name, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_of_a_listing),
        cmocka_unit_test(top_senders_are_the_largest),
        cmocka_unit_test(ages),
        cmocka_unit_test(dnsbl_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
