/*
 * test_authlock.c - authlock decisions on a real LMDB store (without geo):
 * lockout with familiar locations, identical passwords, success forgives,
 * spraying, unlock, log-only; and the keyed password hash.
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

#include "authlock/authlock.h"
#include "authlock/containment.h"
#include "authlock/pwhash.h"
#include "log.h"
#include "runtime.h"

static char dir[64];

static moat_runtime *runtime_with(const char *extra)
{
    char path[128], err[512];
    FILE *f;
    moat_runtime *rt;

    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "log { level = error }\nstore { path = \"%s/state-%d\" }\n"
               "authlock { ip_threshold = 50 user_threshold = 3 user_familiar_threshold = 6 "
               "spray_threshold = 3 tarpit_after = 2 tarpit_base = 1s tarpit_max = 4s %s }\n",
            dir, rand(), extra);
    fclose(f);
    moat_runtime_reset();
    rt = moat_runtime_get(path, err, sizeof err);
    if (rt == NULL)
        fail_msg("config: %s", err);
    return rt;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-authlock-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* login - the verdict's action and reason for one attempt */
static const char *login(moat_runtime *rt, const char *ip, const char *user, const char *pw,
                         int ok, time_t t, char *reason)
{
    static char action[16];
    moat_verdict v;
    const char *why = NULL;

    assert_int_equal(authlock_credentials(rt, ip, user, pw, ok, t, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    verdict_get(v.text, "reason", reason, 48);
    return action;
}

static void lockout_spares_the_familiar_network(void **state)
{
    moat_runtime *rt = runtime_with("");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    assert_string_equal(login(rt, "192.0.2.10", "Alice", "right", 1, t, reason), "accept");
    assert_string_equal(login(rt, "198.51.100.7", "alice", "a", 0, t, reason), "deny");
    assert_string_equal(login(rt, "198.51.100.7", "alice", "b", 0, t, reason), "deny");
    assert_string_equal(login(rt, "198.51.100.7", "alice", "c", 0, t, reason), "deny");
    assert_string_equal(reason, "user_locked");
    assert_string_equal(login(rt, "198.51.100.7", "alice", "right", 1, t, reason), "deny");
    assert_string_equal(reason, "user_locked");
    assert_string_equal(login(rt, "192.0.2.99", "alice", "right", 1, t, reason), "accept");
    assert_int_equal(authlock_unlock(rt, "alice"), 0);
    assert_string_equal(login(rt, "198.51.100.7", "alice", "right", 1, t, reason), "accept");
}

static void identical_passwords_count_once_and_success_forgives(void **state)
{
    moat_runtime *rt = runtime_with("");
    char reason[48];
    time_t t = 1800000000;
    int i;

    (void)state;
    for (i = 0; i < 10; i++)
        login(rt, "203.0.113.5", "bob", "same", 0, t, reason);
    assert_string_equal(reason, "bad_credentials_repeated");
    login(rt, "203.0.113.5", "bob", "other1", 0, t, reason);
    assert_string_equal(reason, "bad_credentials");
    /* two failures so far: a success from here clears them */
    assert_string_equal(login(rt, "203.0.113.5", "bob", "good", 1, t, reason), "accept");
    login(rt, "203.0.113.5", "bob", "other2", 0, t, reason);
    login(rt, "203.0.113.5", "bob", "other3", 0, t, reason);
    assert_string_equal(reason, "bad_credentials");
}

static void spraying_blocks_the_address(void **state)
{
    moat_runtime *rt = runtime_with("");
    char reason[48];
    moat_verdict v;
    const char *why;
    time_t t = 1800000000;

    (void)state;
    login(rt, "203.0.113.9", "u1", "x", 0, t, reason);
    login(rt, "203.0.113.9", "u2", "x", 0, t, reason);
    login(rt, "203.0.113.9", "u3", "x", 0, t, reason);
    assert_string_equal(reason, "spraying");
    assert_int_equal(authlock_before(rt, "203.0.113.9", 0, t, &v, &why), 0);
    verdict_get(v.text, "action", reason, 48);
    assert_string_equal(reason, "defer");
    assert_int_equal(authlock_unlock(rt, "203.0.113.9"), 0);
    assert_int_equal(authlock_before(rt, "203.0.113.9", 0, t, &v, &why), 0);
    verdict_get(v.text, "action", reason, 48);
    assert_string_equal(reason, "accept");
}

static void tarpit_grows_before_auth(void **state)
{
    moat_runtime *rt = runtime_with("spray_threshold = 100 user_threshold = 100");
    char reason[48], delay[16];
    moat_verdict v;
    const char *why;
    time_t t = 1800000000;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        char pw[8];
        snprintf(pw, sizeof pw, "p%d", i);
        login(rt, "203.0.113.20", "carol", pw, 0, t, reason);
    }
    assert_int_equal(authlock_before(rt, "203.0.113.20", 0, t, &v, &why), 0);
    assert_int_equal(verdict_get(v.text, "delay", delay, sizeof delay), 1);
    assert_string_equal(delay, "3s");   /* 4 failures, 2 free: 3 steps of 1s */
}

static void log_only_keeps_the_real_result(void **state)
{
    moat_runtime *rt = runtime_with("mode = log-only");
    char reason[48];
    time_t t = 1800000000;
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        char pw[8];
        snprintf(pw, sizeof pw, "w%d", i);
        login(rt, "198.51.100.40", "dave", pw, 0, t, reason);
    }
    assert_string_equal(login(rt, "198.51.100.40", "dave", "ok", 1, t, reason), "accept");
    assert_string_equal(reason, "log_only");
}

/* send - n new recipients for user at t; how many were accepted */
static int send_n(moat_runtime *rt, const char *user, int n, int offset, time_t t)
{
    int i, ok = 0;

    for (i = 0; i < n; i++) {
        char rcpt[64], action[16];
        moat_verdict v;
        const char *why;
        snprintf(rcpt, sizeof rcpt, "r%d@remote.test", offset + i);
        assert_int_equal(authlock_submit(rt, user, rcpt, 1, t, &v, &why), 0);
        verdict_get(v.text, "action", action, sizeof action);
        ok += strcmp(action, "accept") == 0;
    }
    return ok;
}

static void containment_learns_the_users_own_volume(void **state)
{
    moat_runtime *rt = runtime_with("send_floor = 10 send_multiplier = 2");
    time_t day1 = 1800000000 / 86400 * 86400 + 3600;
    char ukey[] = "erin";

    (void)state;
    assert_int_equal(send_n(rt, "erin", 8, 0, day1), 8);           /* under the floor */
    /* the next day the baseline is 8: the limit is 2 x 8 = 16, not the floor */
    assert_int_equal(send_n(rt, "erin", 20, 100, day1 + 86400), 16);
    assert_int_equal(authlock_sending_locked(rt, ukey, day1 + 86400), 1);
    assert_int_equal(authlock_release(rt, ukey), 0);
    assert_int_equal(send_n(rt, "erin", 1, 500, day1 + 86400), 1);
}

static void password_hash_is_keyed_and_stable(void **state)
{
    unsigned char a[32], b[32];
    char h1[PWHASH_HEX], h2[PWHASH_HEX], h3[PWHASH_HEX], path[128], err[128];
    struct stat sb;

    (void)state;
    snprintf(path, sizeof path, "%s/secret", dir);
    assert_int_equal(pwhash_secret(path, a, sizeof a, err, sizeof err), 0);
    assert_int_equal(pwhash_secret(path, b, sizeof b, err, sizeof err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    pwhash(a, sizeof a, "alice", "secret", h1);
    pwhash(a, sizeof a, "alice", "secret", h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), 16);
    pwhash(a, sizeof a, "alicesecret", "", h3);   /* the separator matters */
    assert_string_not_equal(h1, h3);
    b[0] ^= 1;
    pwhash(b, sizeof b, "alice", "secret", h3);
    assert_string_not_equal(h1, h3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lockout_spares_the_familiar_network),
        cmocka_unit_test(identical_passwords_count_once_and_success_forgives),
        cmocka_unit_test(spraying_blocks_the_address),
        cmocka_unit_test(tarpit_grows_before_auth),
        cmocka_unit_test(log_only_keeps_the_real_result),
        cmocka_unit_test(password_hash_is_keyed_and_stable),
        cmocka_unit_test(containment_learns_the_users_own_volume),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
