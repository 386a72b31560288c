/*
 * test_batv.c - the batv module's logic: key files (parse, format, made
 * once on first use with mode 0640, rotation keeping the previous key 8
 * days), which senders are signed, exempt recipients, and the verdict for
 * bounces (valid, forged, unsigned; grace, log-only, per-domain policy,
 * postmaster) on a real LMDB store, with the log line checked.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "batv/batv.h"
#include "batv/keys.h"
#include "batv/prvs.h"
#include "log.h"
#include "runtime.h"
#include "runtime_fixture.h"

static char dir[64];
static char conf_path[128];
static char keys_dir[128];
static char last_line[1024];

static void capture(moat_log_level level, const char *line)
{
    (void)level;
    snprintf(last_line, sizeof last_line, "%s", line);
}

/* runtime_with - batv for example.test, keys in <dir>/keys, extra inside the section */
static moat_runtime *runtime_with(const char *extra)
{
    char text[4096];

    snprintf(text, sizeof text,
             "log { level = info }\nstore { path = \"%s/state\" map_size = 16M }\n"
             "batv {\n domains = {\"example.test\"}\n keys = \"%s\"\n grace = 0\n"
             " exempt = {\"lists.test\", \"verify@callout.test\", \".partner.test\"}\n%s\n}\n",
             dir, keys_dir, extra);
    return fixture_runtime(conf_path, text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-batv-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(conf_path, sizeof conf_path, "%s/moat.conf", dir);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", dir);
    moat_log_set_sink(capture);
    last_line[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    moat_runtime_reset();
    moat_log_set_sink(NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void key_files_parse_and_format(void **state)
{
    const char *good = "# comment\nsince 100\nkey 3 200 00112233445566778899aabbccddeeff\n"
                       "key 2 50 ffeeddccbbaa99887766554433221100\n";
    const char *bad[] = {
        "", "since 5\n", "key x 1 00112233445566778899\n", "key 1 1 0011\n",
        "key 1 1 0011223344556677zz\n", "key 1 -4 00112233445566778899\n",
        "key 1 1 00112233445566778899\nkey 1 2 00112233445566778899\n",
        "key 1 1 00112233445566778899\nkey 2 1 00112233445566778899\nkey 3 1 0011223344556677\n",
        "bogus line\n", "since abc\nkey 1 1 00112233445566778899\n",
    };
    batv_keyring ring, again;
    char buf[2048];
    size_t len, i;

    (void)state;
    assert_int_equal(batv_keys_parse(good, strlen(good), &ring), 0);
    assert_int_equal(ring.since, 100);
    assert_int_equal(ring.current.num, 3);
    assert_int_equal(ring.current.created, 200);
    assert_string_equal(ring.previous.secret, "ffeeddccbbaa99887766554433221100");
    len = batv_keys_format(&ring, "example.test", buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(batv_keys_parse(buf, len, &again), 0);
    assert_memory_equal(&ring, &again, sizeof ring);
    assert_int_equal(batv_keys_format(&ring, "example.test", buf, 40), 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(batv_keys_parse(bad[i], strlen(bad[i]), &ring), -1);
    /* since defaults to the current key's creation */
    assert_int_equal(batv_keys_parse("key 1 77 00112233445566778899\n", 29, &ring), 0);
    assert_int_equal(ring.since, 77);
    assert_int_equal(ring.previous.num, -1);

    assert_true(batv_domain_ok("example.test"));
    assert_false(batv_domain_ok("../etc"));
    assert_false(batv_domain_ok("a/b"));
    assert_false(batv_domain_ok(""));
    assert_false(batv_domain_ok(".hidden"));
}

static void keys_made_once_and_rotated(void **state)
{
    batv_keyring ring, again, rotated;
    const char *why = NULL;
    char path[256];
    struct stat st;
    time_t now = 1800000000;

    (void)state;
    assert_int_equal(batv_keys_load(keys_dir, "example.test", 0, now, &ring, &why), 1);
    assert_int_equal(batv_keys_load(keys_dir, "example.test", 1, now, &ring, &why), 0);
    assert_int_equal(ring.current.num, 0);
    assert_int_equal(ring.since, now);
    assert_int_equal(strlen(ring.current.secret), 2 * BATV_SECRET_BYTES);
    snprintf(path, sizeof path, "%s/example.test.key", keys_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    /* a second first use finds the first one's key */
    assert_int_equal(batv_keys_load(keys_dir, "example.test", 1, now + 5, &again, &why), 0);
    assert_string_equal(again.current.secret, ring.current.secret);
    assert_int_equal(batv_keys_load(keys_dir, "../x", 1, now, &again, &why), -1);

    assert_int_equal(batv_keys_rotate(keys_dir, "example.test", now + 86400, &rotated, &why), 0);
    assert_int_equal(rotated.current.num, 1);
    assert_int_equal(rotated.previous.num, 0);
    assert_int_equal(rotated.since, now);
    assert_string_equal(rotated.previous.secret, ring.current.secret);
    assert_string_not_equal(rotated.current.secret, ring.current.secret);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    /* the previous key checks for 8 days after the rotation, then never */
    assert_string_equal(batv_keys_secret(&rotated, 0, now + 86400 * 2), ring.current.secret);
    assert_null(batv_keys_secret(&rotated, 0, now + 86400 + BATV_PREVIOUS_VALID));
    assert_string_equal(batv_keys_secret(&rotated, 1, now + 86400 * 30), rotated.current.secret);
    assert_null(batv_keys_secret(&rotated, 7, now));
    assert_null(batv_keys_secret(&rotated, 10, now));
    /* key numbers wrap after 9 */
    rotated.current.num = 9;
    {
        char buf[1024];
        FILE *f = fopen(path, "w");
        size_t len = batv_keys_format(&rotated, "example.test", buf, sizeof buf);
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, len, f), len);
        fclose(f);
    }
    assert_int_equal(batv_keys_rotate(keys_dir, "example.test", now + 2 * 86400, &again, &why), 0);
    assert_int_equal(again.current.num, 0);
    assert_int_equal(again.previous.num, 9);
}

static void who_is_signed(void **state)
{
    moat_runtime *rt = runtime_with("");
    const char *reason = NULL, *why = NULL;
    batv_key key;
    time_t now = time(NULL);

    (void)state;
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 1);
    assert_int_equal(key.num, 0);
    assert_string_equal(reason, "signed");
    assert_int_equal(batv_sign(rt, "alice@Example.TEST", "bob@remote.test", 1, now, &key,
                               &reason, &why), 1);
    assert_int_equal(batv_sign(rt, "", "bob@remote.test", 1, now, &key, &reason, &why), 0);
    assert_string_equal(reason, "null_sender");
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 0, now, &key,
                               &reason, &why), 0);
    assert_string_equal(reason, "not_our_user");
    assert_int_equal(batv_sign(rt, "carol@other.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 0);
    assert_string_equal(reason, "not_signed_domain");
    assert_int_equal(batv_sign(rt, "prvs=0123abcdef=alice@example.test", "bob@remote.test", 1,
                               now, &key, &reason, &why), 0);
    assert_string_equal(reason, "already_signed");
    assert_int_equal(batv_sign(rt, "alice@example.test", "news@lists.test", 1, now, &key,
                               &reason, &why), 0);
    assert_string_equal(reason, "exempt");
    assert_true(batv_exempt(rt, "verify@callout.test"));
    assert_false(batv_exempt(rt, "other@callout.test"));
    assert_true(batv_exempt(rt, "@callout.test"));       /* several recipients: be careful */
    assert_true(batv_exempt(rt, "x@mx.partner.test"));
    assert_false(batv_exempt(rt, "x@partner.test"));
    assert_true(batv_exempt(rt, "x@LISTS.test"));

    rt = runtime_with("domain \"example.test\" { sign = false }");
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 0);
    assert_string_equal(reason, "not_signed_domain");
}

static void the_secret_for_a_tag(void **state)
{
    moat_runtime *rt = runtime_with("");
    char secret[BATV_SECRET_MAX + 1];
    batv_key key;
    const char *reason, *why;
    time_t now = time(NULL);

    (void)state;
    /* no key file yet: nothing */
    assert_int_equal(batv_secret(rt, "alice@example.test", "0", now, secret, sizeof secret), -1);
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 1);
    assert_int_equal(batv_secret(rt, "alice@example.test", "0", now, secret, sizeof secret), 0);
    assert_string_equal(secret, key.secret);
    assert_int_equal(batv_secret(rt, "alice@EXAMPLE.test", "0", now, secret, sizeof secret), 0);
    assert_int_equal(batv_secret(rt, "alice@example.test", "1", now, secret, sizeof secret), -1);
    assert_int_equal(batv_secret(rt, "alice@example.test", "", now, secret, sizeof secret), -1);
    assert_int_equal(batv_secret(rt, "alice@example.test", "00", now, secret, sizeof secret), -1);
    assert_int_equal(batv_secret(rt, "alice@other.test", "0", now, secret, sizeof secret), -1);
    assert_int_equal(batv_secret(rt, "alice", "0", now, secret, sizeof secret), -1);
    assert_int_equal(batv_secret(rt, "alice@example.test", "0", now, secret, 8), -1);
}

/* moat's own tag check (rcpt's router): Exim's ${prvs} signature, its expiry rule */
static void tags_are_checked_as_exim_checks_them(void **state)
{
    moat_runtime *rt = runtime_with("");
    char sig[7], tagged[400], day[4];
    batv_key key;
    const char *reason, *why;
    time_t now = 1000 * 86400 + 500 * 86400 + 3600;   /* day 500 of a thousand */

    (void)state;
    /* HMAC-SHA1(secret, K DDD address), three bytes in hex (Python's hmac, the same) */
    assert_int_equal(batv_tag_sign("alice@example.test", "0123456789abcdef", '1', "123", sig), 0);
    assert_string_equal(sig, "9ed931");
    assert_int_equal(batv_tag_sign("Bob.Smith@Example.test", "k", '0', "999", sig), 0);
    assert_string_equal(sig, "7f0229");
    memset(tagged, 'x', 65);
    tagged[65] = '\0';
    assert_int_equal(batv_tag_sign("a@b.test", tagged, '0', "123", sig), -1);

    assert_string_equal(batv_tag_status(rt, "alice@example.test", now), "none");
    assert_string_equal(batv_tag_status(rt, "prvs=alice@example.test", now), "none");
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 1);
    /* signed today (expires in seven days), the last day, and the day after */
    for (int i = 0, d; i < 3; i++) {
        d = (int[]){7, 0, -1}[i];
        snprintf(day, sizeof day, "%03d", (int)((now / 86400 + d) % 1000));
        assert_int_equal(batv_tag_sign("alice@example.test", key.secret, '0', day, sig), 0);
        snprintf(tagged, sizeof tagged, "prvs=0%s%s=alice@example.test", day, sig);
        assert_string_equal(batv_tag_status(rt, tagged, now), d >= 0 ? "valid" : "invalid");
    }
    snprintf(day, sizeof day, "%03d", (int)((now / 86400 + 7) % 1000));
    assert_int_equal(batv_tag_sign("alice@example.test", key.secret, '0', day, sig), 0);
    /* the signature covers the address in lower case (moat signs it so), and
     * the key number: a tag written back in capitals is the same tag */
    snprintf(tagged, sizeof tagged, "prvs=0%s%s=Alice@Example.test", day, sig);
    assert_string_equal(batv_tag_status(rt, tagged, now), "valid");
    for (size_t i = 0; tagged[i]; i++)
        tagged[i] = (char)toupper((unsigned char)tagged[i]);
    assert_string_equal(batv_tag_status(rt, tagged, now), "valid");
    snprintf(tagged, sizeof tagged, "prvs=0%s%s=alicf@example.test", day, sig);
    assert_string_equal(batv_tag_status(rt, tagged, now), "invalid");
    snprintf(tagged, sizeof tagged, "prvs=1%s%s=alice@example.test", day, sig);
    assert_string_equal(batv_tag_status(rt, tagged, now), "invalid");
    snprintf(tagged, sizeof tagged, "prvs=0%s000000=alice@example.test", day);
    assert_string_equal(batv_tag_status(rt, tagged, now), "invalid");
    /* the three digits wrap: a tag of day 002 is good on day 996 */
    now = (time_t)(2000 + 996) * 86400;
    assert_int_equal(batv_tag_sign("alice@example.test", key.secret, '0', "002", sig), 0);
    snprintf(tagged, sizeof tagged, "prvs=0002%s=alice@example.test", sig);
    assert_string_equal(batv_tag_status(rt, tagged, now), "valid");
}

static void bounces_are_judged(void **state)
{
    moat_runtime *rt = runtime_with("");
    moat_verdict v;
    const char *why = NULL;
    char val[256];
    time_t now = time(NULL);

    batv_key key;
    const char *reason;

    (void)state;
    /* nothing signed yet: no key, nothing judged */
    assert_int_equal(batv_check(rt, "192.0.2.7", "alice@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "no_key");
    assert_int_equal(batv_check(rt, "192.0.2.7", "prvs=0123abcdef=a@example.test", "invalid", now,
                                &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "accept");
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), 1);
    assert_int_equal(batv_check(rt, "192.0.2.7", "prvs=0123abcdef=alice@example.test", "valid",
                                now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "valid_tag");
    assert_int_equal(batv_check(rt, "192.0.2.7", "alice@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "deny");
    assert_true(verdict_get(v.text, "xcode", val, sizeof val));
    assert_string_equal(val, "5.7.1");
    assert_string_equal(last_line,
                        "moat batv: action=deny reason=unsigned_bounce ip=192.0.2.7 "
                        "rcpt=<alice@example.test>");
    assert_int_equal(batv_check(rt, "192.0.2.7", "prvs=0123abcdef=bob@example.test", "invalid",
                                now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "bad_tag");
    /* auto-replies with an envelope sender: a stranger's to an untagged
     * address is refused, a known correspondent's or one to a valid tag is not */
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.7", "alice@example.test", "none", 0, now,
                                          &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "deny");
    assert_true(verdict_get(v.text, "text", val, sizeof val));
    assert_non_null(strstr(val, "Auto-reply"));
    assert_string_equal(last_line, "moat batv: action=deny reason=unsigned_autoreply "
                                   "ip=192.0.2.7 rcpt=<alice@example.test>");
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.7", "alice@example.test", "none", 1, now,
                                          &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "known_correspondent");
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.7", "prvs=0123abcdef=alice@example.test",
                                          "valid", 0, now, &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "accept");
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.7", "prvs=0123abcdef=alice@example.test",
                                          "invalid", 0, now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "bad_tag");
    /* client-chosen text is escaped in the log line */
    assert_int_equal(batv_check(rt, "192.0.2.7", "a>b\"c@example.test", "none", now, &v, &why), 0);
    assert_non_null(strstr(last_line, "rcpt=<a\\x3eb\\x22c@example.test>"));
    /* postmaster always; other domains are not ours to judge */
    assert_int_equal(batv_check(rt, "192.0.2.7", "Postmaster@example.test", "none", now, &v,
                                &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "accept");
    assert_int_equal(batv_check(rt, "192.0.2.7", "alice@other.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "not_checked");

    /* grace: signing began now, so unsigned bounces pass and are logged; bad tags do not */
    rt = runtime_with("grace = 2d");
    assert_int_equal(batv_check(rt, "192.0.2.8", "alice@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "grace");
    assert_string_equal(last_line, "moat batv: action=accept reason=grace ip=192.0.2.8 "
                                   "rcpt=<alice@example.test>");
    assert_int_equal(batv_check(rt, "192.0.2.8", "alice@example.test", "none", now + 3 * 86400,
                                &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "deny");
    assert_int_equal(batv_check(rt, "192.0.2.8", "prvs=0=alice@example.test", "invalid", now,
                                &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "deny");

    /* log-only (module-wide, or one domain's): warn, never deny */
    rt = runtime_with("mode = log-only");
    assert_int_equal(batv_check(rt, "192.0.2.9", "alice@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "warn");
    assert_non_null(strstr(last_line, " mode=log-only"));
    rt = runtime_with("domain \"example.test\" { log_only = true grace = 0 }");
    assert_int_equal(batv_check(rt, "192.0.2.9", "bob@example.test", "invalid", now, &v, &why),
                     0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "warn");
    /* autoreplies = off, module-wide or for one domain: auto-replies not judged */
    rt = runtime_with("autoreplies = off");
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.9", "bob@example.test", "none", 0, now,
                                          &v, &why), 0);
    assert_true(verdict_get(v.text, "reason", val, sizeof val));
    assert_string_equal(val, "not_checked");
    rt = runtime_with("domain \"example.test\" { autoreplies = off }");
    assert_int_equal(batv_check_autoreply(rt, "192.0.2.9", "bob@example.test", "none", 0, now,
                                          &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "accept");
    /* bounces are still judged there */
    assert_int_equal(batv_check(rt, "192.0.2.9", "bob@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "deny");
    rt = runtime_with("domain \"example.test\" { check = false }");
    assert_int_equal(batv_check(rt, "192.0.2.9", "bob@example.test", "none", now, &v, &why), 0);
    assert_true(verdict_get(v.text, "action", val, sizeof val));
    assert_string_equal(val, "accept");

    /* a broken key file is our fault, not the sender's */
    {
        char path[256];
        snprintf(path, sizeof path, "%s/example.test.key", keys_dir);
        fixture_write(path, "not a key file\n");
    }
    rt = runtime_with("");
    assert_int_equal(batv_check(rt, "192.0.2.9", "bob@example.test", "none", now, &v, &why), -1);
    assert_non_null(why);
    /* an unwritable keys directory: signing fails (the message leaves unsigned) */
    snprintf(keys_dir, sizeof keys_dir, "/proc/moat-no-such/keys");
    rt = runtime_with("");
    assert_int_equal(batv_sign(rt, "alice@example.test", "bob@remote.test", 1, now, &key,
                               &reason, &why), -1);
    assert_non_null(why);
}

static void config_is_checked(void **state)
{
    char err[MOAT_ERR_MAX];
    char text[512];
    const char *bad[] = {"keys = \"relative\"", "domains = {\"a/b\"}", "grace = 400d",
                         "domain \"../x\" { }", "exempt = {\"\"}", "autoreplies = maybe",
                         "domain \"example.test\" { autoreplies = refuse }"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "batv { %s }\n", bad[i]);
        fixture_write(conf_path, text);
        moat_runtime_reset();
        assert_null(moat_runtime_get(conf_path, err, sizeof err));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_files_parse_and_format),
        cmocka_unit_test_setup_teardown(keys_made_once_and_rotated, setup, teardown),
        cmocka_unit_test_setup_teardown(who_is_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(the_secret_for_a_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(tags_are_checked_as_exim_checks_them, setup, teardown),
        cmocka_unit_test_setup_teardown(bounces_are_judged, setup, teardown),
        cmocka_unit_test_setup_teardown(config_is_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
