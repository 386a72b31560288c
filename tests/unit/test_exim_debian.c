/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_exim_debian.c - what moatctl enable/disable writes into Debian's
 * exim4-config: the marked blocks in the unsplit template, the guard lines
 * around the site's wrapped authenticators, and the split configuration's
 * files in a scratch /etc/exim4; each written twice is the same as once,
 * and taking it out gives back the admin's text byte for byte.
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

/* moatctl's sources, which no library carries: build them in. */
#include "../../tools/moatctl/file_io.c"     /* NOLINT(bugprone-suspicious-include) */
#include "../../tools/moatctl/exim_debian.c" /* NOLINT(bugprone-suspicious-include) */
#include "../../tools/moatctl/exim_events.c" /* NOLINT(bugprone-suspicious-include) */

static const char *const template_text =
    "primary_hostname = x\n"
    "begin acl\n"
    "begin routers\n"
    "dnslookup:\n  driver = dnslookup\n"
    "begin transports\n"
    "remote_smtp:\n  driver = smtp\n"
    "begin authenticators\n"
    "plain_server:\n"
    "  driver = plaintext\n"
    "  public_name = PLAIN\n"
    "  .ifndef AUTH_SERVER_ALLOW_NOTLS_PASSWORDS\n"
    "  server_advertise_condition = ${if eq{$tls_in_cipher}{}{}{*}}\n"
    "  .endif\n"
    "\n"
    "# login_server:\n"
    "#   driver = plaintext\n";

static void template_blocks_go_after_begin_and_come_out_again(void **state)
{
    char *once, *twice, *back;

    (void)state;
    once = template_block(template_text, "routers", ".include_if_exists /x/routers.conf\n");
    assert_non_null(once);
    assert_non_null(strstr(once, "begin routers\n# BEGIN moat routers (moatctl enable/disable)\n"
                                 ".include_if_exists /x/routers.conf\n# END moat routers\n"
                                 "dnslookup:\n"));
    twice = template_block(once, "routers", ".include_if_exists /x/routers.conf\n");
    assert_string_equal(twice, once);
    back = template_block(twice, "routers", NULL);
    assert_string_equal(back, template_text);
    free(once);
    free(twice);
    free(back);
    /* no such section: refused rather than written anywhere */
    assert_null(template_block("primary_hostname = x\n", "routers", "x\n"));
}

static void last_routers_go_before_begin_transports(void **state)
{
    char *once, *both, *back;

    (void)state;
    once = template_place(template_text, "routers-last", "transports", 1, "LAST\n");
    assert_non_null(once);
    assert_non_null(strstr(once, "  driver = dnslookup\n# BEGIN moat routers-last (moatctl "
                                 "enable/disable)\nLAST\n# END moat routers-last\n"
                                 "begin transports\n"));
    /* the first routers' block is another one: both live side by side */
    both = template_block(once, "routers", "FIRST\n");
    assert_non_null(strstr(both, "begin routers\n# BEGIN moat routers (moatctl"));
    assert_non_null(strstr(both, "LAST\n# END moat routers-last\nbegin transports\n"));
    back = template_place(both, "routers-last", "transports", 1, NULL);
    free(once);
    once = template_block(back, "routers", NULL);
    assert_string_equal(once, template_text);
    free(once);
    free(both);
    free(back);
}

static void wrapped_authenticators_are_guarded_whole(void **state)
{
    char wrapped[1][128] = {"plain_server"};
    char *guarded, *again, *plain;

    (void)state;
    guarded = guard_all(template_text, "\nbegin authenticators\n", wrapped, 1);
    assert_non_null(guarded);
    /* the whole definition, its indented conditionals included, and not
     * the commented example after the blank line */
    assert_non_null(strstr(guarded, GUARD_BEGIN "plain_server:\n  driver = plaintext\n"));
    assert_non_null(strstr(guarded, "  .endif\n" GUARD_END "\n# login_server:\n"));
    again = guard_all(guarded, "\nbegin authenticators\n", wrapped, 1);
    assert_string_equal(again, guarded);
    plain = guard_all(again, "\nbegin authenticators\n", wrapped, 0);
    assert_string_equal(plain, template_text);
    free(guarded);
    free(again);
    free(plain);
}

/* Debian's remote_smtp, shortened: conditionals at the start of lines */
static const char *const debian_remote_smtp =
    "### transport/30_exim4-config_remote_smtp\n"
    "remote_smtp:\n"
    "  debug_print = \"T: remote_smtp for $local_part@$domain\"\n"
    "  driver = smtp\n"
    ".ifdef REMOTE_SMTP_HOSTS_AVOID_TLS\n"
    "  hosts_avoid_tls = REMOTE_SMTP_HOSTS_AVOID_TLS\n"
    ".endif\n"
    ".ifdef DKIM_DOMAIN\n"
    "dkim_domain = DKIM_DOMAIN\n"
    ".endif\n";

static void delivery_events_go_after_the_driver_and_come_out_again(void **state)
{
    const char *text = "begin transports\n"
                       "local:\n  driver = appendfile\n"
                       "remote_smtp:\n  debug_print = x\n  driver = smtp\n"
                       ".ifdef X\n  interface = X\n.endif\n"
                       "remote_smtp_smarthost:\n  driver = smtp\n"
                       "begin retry\n";
    char *once, *twice, *back, *again;
    int own = -1;

    (void)state;
    once = deb_events_text(text, "remote_smtp", 1, &own);
    assert_int_equal(own, 0);
    assert_non_null(strstr(once, "remote_smtp:\n  debug_print = x\n  driver = smtp\n"
                                 EVENT_BEGIN EVENT_BODY EVENT_END ".ifdef X\n"));
    /* one transport only: the other's definition is as it was */
    assert_non_null(strstr(once, "remote_smtp_smarthost:\n  driver = smtp\nbegin retry\n"));
    twice = deb_events_text(once, "remote_smtp", 1, &own);
    assert_string_equal(twice, once);
    again = deb_events_text(twice, "remote_smtp_smarthost", 1, &own);
    assert_non_null(strstr(again, "remote_smtp_smarthost:\n  driver = smtp\n" EVENT_BEGIN));
    back = deb_events_text(again, "remote_smtp", 0, &own);
    /* only remote_smtp's lines out: remote_smtp_smarthost's stay */
    assert_null(strstr(back, "driver = smtp\n" EVENT_BEGIN EVENT_BODY EVENT_END ".ifdef X"));
    assert_non_null(strstr(back, "remote_smtp_smarthost:\n  driver = smtp\n" EVENT_BEGIN));
    free(again);
    again = back;
    back = deb_events_text(again, "remote_smtp_smarthost", 0, &own);
    assert_string_equal(back, text);
    free(once);
    free(twice);
    free(back);
    free(again);

    /* a transport with an event_action of its own: left alone, and said */
    text = "remote_smtp:\n  driver = smtp\n  event_action = ${acl{mine}}\nnext:\n";
    once = deb_events_text(text, "remote_smtp", 1, &own);
    assert_int_equal(own, 1);
    assert_string_equal(once, text);
    free(once);
    /* a commented event_action is not one */
    text = "remote_smtp:\n  driver = smtp\n# event_action = x\n";
    once = deb_events_text(text, "remote_smtp", 1, &own);
    assert_int_equal(own, 0);
    assert_non_null(strstr(once, EVENT_BEGIN));
    free(once);
}

/* scratch_exim - a split /etc/exim4 in a temporary directory */
static void scratch_exim(char *dir, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(dir, len, "/tmp/test_exim_debian.XXXXXX");
    assert_non_null(mkdtemp(dir));
    const char *subs[] = {"conf.d", "conf.d/main", "conf.d/router", "conf.d/transport",
                          "conf.d/auth"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    snprintf(path, sizeof path, "%s/update-exim4.conf.conf", dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("dc_use_split_config='true'\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/conf.d/transport/30_exim4-config_remote_smtp", dir);
    assert_non_null(f = fopen(path, "w"));
    fputs(debian_remote_smtp, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/conf.d/auth/30_site", dir);
    assert_non_null(f = fopen(path, "w"));
    fputs(template_text + (strstr(template_text, "plain_server:") - template_text), f);
    fclose(f);
}

static char *read_rel(const char *dir, const char *rel)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return file_read(path);
}

static void split_files_written_and_taken_out(void **state)
{
    char dir[64], err[256], names[2][32] = {"rcpt", "authlock"};
    char wrapped[1][128] = {"plain_server"};
    char *site_before, *text;
    deb_exim d;
    deb_snapshot snap;

    (void)state;
    scratch_exim(dir, sizeof dir);
    assert_int_equal(deb_exim_init(&d, dir, "/usr/share/moat/exim", "/usr/lib/exim4/moat",
                                   "/etc/moat/moat.conf", err, sizeof err), 0);
    assert_true(d.split);
    site_before = read_rel(dir, "conf.d/auth/30_site");
    assert_int_equal(deb_snapshot_take(&d, &snap), 0);

    assert_int_equal(deb_write_enabled(&d, names, 2, "MOAT_AUTHLOCK_WRAPS = yes\n", wrapped, 1,
                                       err, sizeof err), 0);
    text = read_rel(dir, "conf.d/main/01_moat_macros");
    assert_non_null(strstr(text, "MOAT_ENABLE_RCPT = yes\nMOAT_ENABLE_AUTHLOCK = yes\n"
                                 ".include_if_exists /usr/share/moat/exim/debian/main.conf\n"));
    free(text);
    text = read_rel(dir, "conf.d/router/01_moat_routers");
    assert_non_null(strstr(text, ".include_if_exists /usr/share/moat/exim/debian/routers.conf\n"));
    free(text);
    text = read_rel(dir, "conf.d/router/zz_moat_routers_last");
    assert_non_null(strstr(text, ".include_if_exists /usr/share/moat/exim/debian/"
                                 "routers-last.conf\n"));
    free(text);
    text = read_rel(dir, "conf.d/transport/01_moat_transports");
    assert_non_null(strstr(text, ".include_if_exists /usr/share/moat/exim/debian/transports.conf"));
    free(text);
    text = read_rel(dir, "conf.d/auth/01_moat_authenticators");
    assert_string_equal(text, "MOAT_AUTHLOCK_WRAPS = yes\n");
    free(text);
    text = read_rel(dir, "conf.d/auth/30_site");
    assert_non_null(strstr(text, GUARD_BEGIN "plain_server:\n"));
    free(text);
    /* delivery events: Debian's file untouched, a .rul of moatctl's with them */
    text = read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp");
    assert_string_equal(text, debian_remote_smtp);
    free(text);
    text = read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp.rul");
    assert_non_null(text);
    assert_true(strncmp(text, RUL_MARK, strlen(RUL_MARK)) == 0);
    assert_non_null(strstr(text, "  driver = smtp\n" EVENT_BEGIN EVENT_BODY EVENT_END
                                 ".ifdef REMOTE_SMTP_HOSTS_AVOID_TLS\n"));
    free(text);
    /* no smarthost file here: no .rul for it */
    assert_null(read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp_smarthost.rul"));
    /* no include in a file moatctl writes names a macro path */
    text = read_rel(dir, "conf.d/main/01_moat_macros");
    assert_null(strstr(text, "include_if_exists MOAT_"));
    free(text);

    /* the last module out: every file gone, the site's text as it was */
    assert_int_equal(deb_write_enabled(&d, names, 0, NULL, NULL, 0, err, sizeof err), 0);
    assert_null(read_rel(dir, "conf.d/main/01_moat_macros"));
    assert_null(read_rel(dir, "conf.d/router/01_moat_routers"));
    assert_null(read_rel(dir, "conf.d/router/zz_moat_routers_last"));
    assert_null(read_rel(dir, "conf.d/auth/01_moat_authenticators"));
    assert_null(read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp.rul"));
    text = read_rel(dir, "conf.d/auth/30_site");
    assert_string_equal(text, site_before);
    free(text);

    /* and a snapshot puts back what was there before (here: nothing of moat's) */
    assert_int_equal(deb_write_enabled(&d, names, 1, NULL, NULL, 0, err, sizeof err), 0);
    assert_int_equal(deb_snapshot_restore(&snap), 0);
    assert_null(read_rel(dir, "conf.d/main/01_moat_macros"));
    assert_null(read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp.rul"));
    deb_snapshot_free(&snap);

    /* the admin's own .rul: moat's lines go into it and out of it, nothing else */
    {
        char path[512];
        FILE *f;
        const char *mine = "remote_smtp:\n  driver = smtp\n  interface = 192.0.2.9\n";
        snprintf(path, sizeof path, "%s/conf.d/transport/30_exim4-config_remote_smtp.rul", dir);
        assert_non_null(f = fopen(path, "w"));
        fputs(mine, f);
        fclose(f);
        assert_int_equal(deb_write_enabled(&d, names, 1, NULL, NULL, 0, err, sizeof err), 0);
        text = read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp.rul");
        assert_non_null(strstr(text, "remote_smtp:\n  driver = smtp\n" EVENT_BEGIN));
        assert_non_null(strstr(text, EVENT_END "  interface = 192.0.2.9\n"));
        free(text);
        assert_int_equal(deb_write_enabled(&d, names, 0, NULL, NULL, 0, err, sizeof err), 0);
        text = read_rel(dir, "conf.d/transport/30_exim4-config_remote_smtp.rul");
        assert_string_equal(text, mine);
        free(text);
    }
    free(site_before);

    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_blocks_go_after_begin_and_come_out_again),
        cmocka_unit_test(last_routers_go_before_begin_transports),
        cmocka_unit_test(wrapped_authenticators_are_guarded_whole),
        cmocka_unit_test(split_files_written_and_taken_out),
        cmocka_unit_test(delivery_events_go_after_the_driver_and_come_out_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
