/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_addr.c - RFC 5321 envelope addresses: limits, syntax, case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "addr.h"

static void splits_and_lowercases_domain(void **state)
{
    moat_addr a;
    const char *why;
    char key[ADDR_TEXT_MAX + 1];

    (void)state;
    assert_int_equal(addr_parse("<Alice.Smith@Example.TEST>", &a, &why), 0);
    assert_string_equal(a.local, "Alice.Smith");
    assert_string_equal(a.domain, "example.test");
    addr_key(&a, key, sizeof key);
    assert_string_equal(key, "alice.smith@example.test");
}

static void quoted_local_parts_and_literals(void **state)
{
    moat_addr a;
    const char *why;

    (void)state;
    assert_int_equal(addr_parse("\"john doe\"@example.test", &a, &why), 0);
    assert_string_equal(a.local, "\"john doe\"");
    assert_int_equal(addr_parse("\"a@b\"@example.test", &a, &why), 0);
    assert_string_equal(a.domain, "example.test");
    assert_int_equal(addr_parse("user@[192.0.2.1]", &a, &why), 0);
    assert_int_equal(addr_parse("user@[IPv6:2001:db8::1]", &a, &why), 0);
    assert_int_equal(addr_parse("user+tag@example.test", &a, &why), 0);
}

static void reports_why(void **state)
{
    moat_addr a;
    const char *why;
    char longlocal[80];

    (void)state;
    assert_int_equal(addr_parse("no-at-sign", &a, &why), -1);
    assert_string_equal(why, "missing @");
    assert_int_equal(addr_parse("@example.test", &a, &why), -1);
    assert_string_equal(why, "empty local part");
    assert_int_equal(addr_parse("user@", &a, &why), -1);
    assert_string_equal(why, "empty domain");
    assert_int_equal(addr_parse("a..b@example.test", &a, &why), -1);
    assert_string_equal(why, "malformed local part");
    assert_int_equal(addr_parse("user@-bad.example", &a, &why), -1);
    assert_string_equal(why, "malformed domain");
    assert_int_equal(addr_parse("user@exa mple.test", &a, &why), -1);
    assert_int_equal(addr_parse("<user@example.test", &a, &why), -1);
    assert_string_equal(why, "unbalanced angle brackets");
    assert_int_equal(addr_parse("", &a, &why), -1);
    assert_int_equal(addr_parse("<>", &a, &why), -1);
    assert_string_equal(why, "empty address");
    memset(longlocal, 'x', 65);
    strcpy(longlocal + 65, "@example.test");
    assert_int_equal(addr_parse(longlocal, &a, &why), -1);
    assert_string_equal(why, "local part longer than 64 octets");
    assert_int_equal(addr_parse("user@[300.1.1.1]", &a, &why), -1);
}

static void domain_label_limits(void **state)
{
    char label[80];

    (void)state;
    memset(label, 'a', 63);
    strcpy(label + 63, ".test");
    assert_true(addr_domain_valid(label));
    memset(label, 'a', 64);
    strcpy(label + 64, ".test");
    assert_false(addr_domain_valid(label));
    assert_false(addr_domain_valid("a.-b.test"));
    assert_false(addr_domain_valid("a-.test"));
    assert_true(addr_domain_valid("xn--bcher-kva.test"));
}

static void strips_batv_tags_like_prvscheck(void **state)
{
    char out[ADDR_TEXT_MAX + 1];
    (void)state;

    assert_int_equal(addr_strip_prvs("prvs=1234abcDEF=bob@example.test", out, sizeof out), 1);
    assert_string_equal(out, "bob@example.test");
    assert_int_equal(addr_strip_prvs("PRVS=0000000000=a@b@example.test", out, sizeof out), 1);
    assert_string_equal(out, "a@b@example.test");
    /* not the form ${prvscheck} takes apart: left as it is */
    assert_int_equal(addr_strip_prvs("bob@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=123abcdef0=bob@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdeg=bob@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef-bob@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef=@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef=bob@", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef=bob", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef=b\nob@example.test", out, sizeof out), 0);
    assert_int_equal(addr_strip_prvs("prvs=1234abcdef=bob@example.test", out, 16), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_and_lowercases_domain),
        cmocka_unit_test(quoted_local_parts_and_literals),
        cmocka_unit_test(reports_why),
        cmocka_unit_test(domain_label_limits),
        cmocka_unit_test(strips_batv_tags_like_prvscheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
