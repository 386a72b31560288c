/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_audit_rules.c - moatctl audit's judgements over Exim's -bP output:
 * Debian's RCPT ACL order flagged at its relay accept, and not once moat's
 * rcpt statements (or a verify) come first; AUTH on port 25 by host list,
 * by port and by TLS; auto-responders inside and outside moat's gate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

/* moatctl's sources, which no library carries: build them in. */
#include "../../tools/moatctl/audit_rules.c" /* NOLINT(bugprone-suspicious-include) */

/* Debian's acl_check_rcpt as exim -bP config prints it (shortened) */
static const char *const debian_acl =
    "primary_hostname = mx.example.test\n"
    "hostlist relay_from_hosts = : 127.0.0.1 : ::::1\n"
    "begin acl\n"
    "  acl_check_rcpt:\n"
    "    accept\n"
    "    hosts = :\n"
    "    control = dkim_disable_verify\n"
    "    deny\n"
    "    domains = +local_domains\n"
    "    local_parts = ^[.] : ^.*[@%!/|`#&?]\n"
    "    accept\n"
    "    local_parts = postmaster\n"
    "    domains = +local_domains : +relay_to_domains\n"
    "    deny condition = ${if > {$rcpt_count}{10}}\n"
    "    accept\n"
    "    hosts = +relay_from_hosts\n"
    "    control = submission/sender_retain\n"
    "    require\n"
    "    verify = recipient\n"
    "    accept\n"
    "begin routers\n"
    "dnslookup:\n";

static audit_findings *fresh(void)
{
    static audit_findings f;

    memset(&f, 0, sizeof f);
    return &f;
}

static void debian_order_is_flagged_at_its_statement(void **state)
{
    audit_findings *f = fresh();

    (void)state;
    assert_int_equal(audit_check_rcpt_acl(debian_acl, "acl_check_rcpt", ": 127.0.0.1 : ::::1", f),
                     AUDIT_RCPT_RISK);
    assert_int_equal(f->count, 1);
    assert_string_equal(f->item[0].check, "relay_unverified");
    assert_string_equal(f->item[0].where,
                        "ACL acl_check_rcpt, statement 5: accept hosts = +relay_from_hosts");
    /* no relay host at all: nothing to accept */
    f = fresh();
    audit_check_rcpt_acl(debian_acl, "acl_check_rcpt", "", f);
    assert_int_equal(f->count, 0);
}

static void moat_first_or_a_verify_first_is_safe(void **state)
{
    char text[4096];
    audit_findings *f = fresh();

    (void)state;
    /* moat's ACL runs its statements, then requires Debian's */
    snprintf(text, sizeof text, "%s%s",
             "begin acl\n"
             "acl_moat_rcpt:\n"
             "  warn domains = +local_domains\n"
             "  set acl_m_moat_rcpt = ${dlfunc{/x/rcpt.so}{moat_rcpt_check}{/c}}\n"
             "  require acl = acl_check_rcpt\n"
             "  accept\n", strstr(debian_acl, "  acl_check_rcpt:"));
    assert_int_equal(audit_check_rcpt_acl(text, "acl_moat_rcpt", "127.0.0.1", f),
                     AUDIT_RCPT_MOAT);
    assert_int_equal(f->count, 0);
    /* the same with the entry point the shipped snippet calls now */
    f = fresh();
    snprintf(text, sizeof text, "%s%s",
             "begin acl\n"
             "acl_moat_rcpt:\n"
             "  warn domains = +local_domains\n"
             "  set acl_m_moat_rcpt = ${dlfunc{/x/rcpt.so}{moat_rcpt_recipient}{/c}}\n"
             "  require acl = acl_check_rcpt\n"
             "  accept\n", strstr(debian_acl, "  acl_check_rcpt:"));
    assert_int_equal(audit_check_rcpt_acl(text, "acl_moat_rcpt", "127.0.0.1", f),
                     AUDIT_RCPT_MOAT);
    assert_int_equal(f->count, 0);
    /* the same wrapper without moat's statement: found through the require */
    f = fresh();
    snprintf(text, sizeof text, "%s%s",
             "begin acl\nacl_wrap:\n  require acl = acl_check_rcpt\n  accept\n",
             strstr(debian_acl, "  acl_check_rcpt:"));
    audit_check_rcpt_acl(text, "acl_wrap", "127.0.0.1", f);
    assert_int_equal(f->count, 1);
    assert_non_null(strstr(f->item[0].where, "(run from acl_wrap)"));
    /* a relay accept for other domains only is what it is for */
    f = fresh();
    audit_check_rcpt_acl("begin acl\nr:\n  accept hosts = +relay_from_hosts\n"
                         "  domains = !+local_domains\n  require verify = recipient\n",
                         "r", "127.0.0.1", f);
    assert_int_equal(f->count, 0);
    /* deny !verify before it */
    f = fresh();
    audit_check_rcpt_acl("begin acl\nr:\n  deny domains = +local_domains\n"
                         "  !verify = recipient\n  accept hosts = +relay_from_hosts\n",
                         "r", "127.0.0.1", f);
    assert_int_equal(f->count, 0);
    /* a negated host item is not the relay list */
    f = fresh();
    audit_check_rcpt_acl("begin acl\nr:\n  accept hosts = !+relay_from_hosts\n", "r",
                         "127.0.0.1", f);
    assert_int_equal(f->count, 0);
}

static const char *const authenticators =
    "plain_server authenticator:\n"
    "driver = plaintext\n"
    "public_name = PLAIN\n"
    "server_advertise_condition = \n"
    "server_condition = ${if eq{$auth3}{x}}\n"
    "\n"
    "login_server authenticator:\n"
    "driver = plaintext\n"
    "public_name = LOGIN\n"
    "server_advertise_condition = ${if eq{$tls_in_cipher}{}{}{*}}\n"
    "server_condition = ${if eq{$auth2}{x}}\n"
    "\n"
    "client authenticator:\n"
    "driver = plaintext\n"
    "public_name = PLAIN\n"
    "server_condition = \n";

static void auth_on_port_25_by_list_port_and_tls(void **state)
{
    audit_findings *f = fresh();

    (void)state;
    audit_check_auth("*", "smtp : 587", authenticators, 0, f);
    assert_int_equal(f->count, 1);
    assert_non_null(strstr(f->item[0].where, "plain_server (PLAIN), login_server (LOGIN)"));
    assert_null(strstr(f->item[0].where, "client"));
    assert_non_null(strstr(f->item[0].fix, "moatctl enable authlock"));
    /* not on port 25 */
    f = fresh();
    audit_check_auth("*", "587 : 465", authenticators, 0, f);
    assert_int_equal(f->count, 0);
    /* only to some networks, or by port */
    f = fresh();
    audit_check_auth("192.0.2.0/24 : 127.0.0.1", "25", authenticators, 0, f);
    assert_int_equal(f->count, 0);
    f = fresh();
    audit_check_auth("${if eq{$received_port}{587}{*}{}}", "25 : 587", authenticators, 0, f);
    assert_int_equal(f->count, 0);
    /* TLS only everywhere: still port 25, said so */
    f = fresh();
    audit_check_auth("${if eq{$tls_in_cipher}{}{}{*}}", "", authenticators, 1, f);
    assert_int_equal(f->count, 1);
    assert_non_null(strstr(f->item[0].problem, "after STARTTLS"));
    assert_non_null(strstr(f->item[0].fix, "authlock already"));
    /* unset: nothing offered */
    f = fresh();
    audit_check_auth("", "25", authenticators, 0, f);
    assert_int_equal(f->count + f->note_count, 0);
}

static void autoreply_transports_inside_and_outside_the_gate(void **state)
{
    static const char *const transports =
        "address_reply transport:\n"
        "driver = autoreply\n"
        "\n"
        "vac transport:\n"
        "driver = pipe\n"
        "command = /usr/bin/vacation -a x $local_part\n"
        "\n"
        "moat_vacation_reply transport:\n"
        "driver = pipe\n"
        "command = /usr/sbin/moatctl autoreply reply\n"
        "\n"
        "procmail_pipe transport:\n"
        "driver = pipe\n"
        "command = /usr/bin/procmail\n";
    static const char *const gate_acl =
        "begin acl\nacl_moat_not_smtp:\n  warn set acl_m_x = ${dlfunc{/x/autoreply.so}"
        "{moat_autoreply_local}{/c}}\n  accept\n";
    audit_findings *f = fresh();

    (void)state;
    audit_check_autoreply(transports, "dnslookup\nlocal_user\n", "", "", f);
    assert_int_equal(f->count, 2);
    assert_string_equal(f->item[0].where, "transport address_reply (driver = autoreply)");
    assert_non_null(strstr(f->item[1].where, "transport vac (driver = pipe, command = "
                                             "/usr/bin/vacation"));
    f = fresh();
    audit_check_autoreply(transports, "moat_autoreply_gate\ndnslookup\n", gate_acl,
                          "acl_moat_not_smtp", f);
    assert_int_equal(f->count, 0);
    /* the gate's ACL without its router first: the gate's refusals are delivered */
    f = fresh();
    audit_check_autoreply(transports, "dnslookup\nmoat_autoreply_gate\n", gate_acl,
                          "acl_moat_not_smtp", f);
    assert_int_equal(f->count, 2);
    assert_non_null(strstr(f->item[0].problem, "not the first router"));
}

static void errors_copy_and_bp_values(void **state)
{
    char v[64];
    audit_findings *f = fresh();

    (void)state;
    audit_check_errors_copy("", f);
    assert_int_equal(f->count, 0);
    audit_check_errors_copy("*@* admin@example.test", f);
    assert_int_equal(f->count, 1);
    assert_string_equal(f->item[0].where, "option errors_copy (main section)");
    audit_bp_value("errors_copy = \n", v, sizeof v);
    assert_string_equal(v, "");
    audit_bp_value("acl_smtp_rcpt = acl_check_rcpt\n", v, sizeof v);
    assert_string_equal(v, "acl_check_rcpt");
    audit_bp_value("nothing here\nx = y\n", v, sizeof v);
    assert_string_equal(v, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(debian_order_is_flagged_at_its_statement),
        cmocka_unit_test(moat_first_or_a_verify_first_is_safe),
        cmocka_unit_test(auth_on_port_25_by_list_port_and_tls),
        cmocka_unit_test(autoreply_transports_inside_and_outside_the_gate),
        cmocka_unit_test(errors_copy_and_bp_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
