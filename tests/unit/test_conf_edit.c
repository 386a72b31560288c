/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_conf_edit.c - moatctl enable/disable's edit of moat.conf: only the
 * module's top-level "enabled" value changes; comments, strings, lists and
 * other sections stay byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

/* conf_edit.c belongs to moatctl, which no library carries: build it in. */
#include "../../tools/moatctl/conf_edit.c" /* NOLINT(bugprone-suspicious-include) */

static void expect_edit(const char *in, const char *module, int on, const char *want)
{
    char err[256] = "";
    char *out = conf_set_enabled(in, module, on, err, sizeof err);

    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void replaces_the_value_and_keeps_the_comment(void **state)
{
    (void)state;
    expect_edit("rcpt {\n    enabled = false   # off for now\n    source = exim\n}\n", "rcpt", 1,
                "rcpt {\n    enabled = true   # off for now\n    source = exim\n}\n");
}

static void adds_the_line_when_the_section_has_none(void **state)
{
    (void)state;
    expect_edit("rcpt { # the recipients\n    window = 1h\n}\n", "rcpt", 0,
                "rcpt { # the recipients\n    enabled = false\n    window = 1h\n}\n");
    expect_edit("rcpt { window = 1h }\n", "rcpt", 1, "rcpt { enabled = true window = 1h }\n");
}

static void appends_a_missing_section(void **state)
{
    (void)state;
    expect_edit("store {\n    path = \"/var/lib/moat\"\n}", "catchall", 1,
                "store {\n    path = \"/var/lib/moat\"\n}\n\ncatchall {\n    enabled = true\n}\n");
    expect_edit("", "rcpt", 0, "\nrcpt {\n    enabled = false\n}\n");
}

static void ignores_lookalikes(void **state)
{
    (void)state;
    /* a comment, a string, a nested section and another module say
     * "enabled" or "rcpt"; only rcpt's own top-level line changes */
    expect_edit("# rcpt { enabled = true }\n"
                "/* rcpt {\n enabled = true } */\n"
                "authlock {\n    enabled = true\n    text = \"rcpt { enabled = true }\"\n}\n"
                "rcpt {\n    ldap {\n        enabled = true\n    }\n"
                "    exempt_networks = {\"192.0.2.0/24\", \"198.51.100.0/24\"}\n"
                "    enabled = true // on\n}\n",
                "rcpt", 0,
                "# rcpt { enabled = true }\n"
                "/* rcpt {\n enabled = true } */\n"
                "authlock {\n    enabled = true\n    text = \"rcpt { enabled = true }\"\n}\n"
                "rcpt {\n    ldap {\n        enabled = true\n    }\n"
                "    exempt_networks = {\"192.0.2.0/24\", \"198.51.100.0/24\"}\n"
                "    enabled = false // on\n}\n");
}

static void expect_refusal(const char *in, const char *module, const char *want_err)
{
    char err[256] = "";
    char *out = conf_set_enabled(in, module, 1, err, sizeof err);
    int refused = out == NULL;

    free(out);
    assert_true(refused);
    assert_string_equal(err, want_err);
}

static void refuses_an_unbalanced_file(void **state)
{
    (void)state;
    expect_refusal("rcpt {\n    enabled = true\n", "authlock", "unbalanced '{'");
    expect_refusal("}\n", "rcpt", "unbalanced '}'");
    expect_refusal("rcpt { text = \"open\n}\n", "rcpt", "unterminated comment or string");
    expect_refusal("/* never closed\n", "rcpt", "unterminated comment or string");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replaces_the_value_and_keeps_the_comment),
        cmocka_unit_test(adds_the_line_when_the_section_has_none),
        cmocka_unit_test(appends_a_missing_section),
        cmocka_unit_test(ignores_lookalikes),
        cmocka_unit_test(refuses_an_unbalanced_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
