/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_planted.c - every reader of a stored value against values nobody
 * should have written: far too long, with NUL bytes, not numbers. A store
 * shared through Redis can hold anything another host (or an intruder on
 * it) put there. Run under ASan+UBSan by make asan-unit: an overflow here
 * is a crash there. On LMDB and, when redis-server can start, on Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authlock/containment.h"
#include "autoreply/history.h"
#include "block.h"
#include "catchall/probe.h"
#include "rcpt/rcpt.h"
#include "redis_fixture.h"
#include "runtime.h"
#include "runtime_fixture.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-planted-XXXXXX");
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

/* plant_all - the same hostile value under every key the readers below read */
static void plant_all(moat_runtime *rt, const char *value, size_t len, time_t now)
{
    moat_store *st = rt->store;

    /* the blocks the last round began go; the planted offence counts replace theirs */
    assert_int_equal(block_lift(st, "authlock", "ip:192.0.2.66"), 0);
    assert_int_equal(block_lift(st, "rcpt", "192.0.2.67"), 0);
    assert_int_equal(authlock_release(rt, "mallory"), 0);   /* a planted baseline may lock */
    static const char *const keys[] = {
        "authlock:base:mallory",
        "authlock:offense:ip:192.0.2.66",
        "rcpt:offense:192.0.2.67",
        "rcpt:attack:example.test",
        "catchall:probe:planted.test",
        "autoreply:suspect:planted@remote.test",
        "moatctl:status",
    };
    size_t i;

    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(moat_store_set(st, keys[i], value, len, 3600, now), STORE_OK);
}

static int count_record(const char *key, const char *note, time_t expires, void *arg)
{
    (void)key;
    (void)expires;
    assert_true(strlen(note) < 640);
    (*(int *)arg)++;
    return 0;
}

/* read_all - every reader: they finish, and take nothing planted for real data */
static void read_all(moat_runtime *rt, time_t now)
{
    block_policy policy = {600, 86400, 7 * 86400, 5, 7 * 86400};
    moat_verdict v;
    probe_result pr;
    const char *why = NULL;
    time_t expires = 0;
    long secs = 0;
    int n = 0;

    assert_int_equal(authlock_submit(rt, "mallory", "x@remote.test", 1, now, &v, &why), 0);
    assert_true(block_escalate(rt->store, "authlock", "ip:192.0.2.66", &policy, now, &secs) >= 0);
    assert_true(secs >= 600 && secs <= 7 * 86400);    /* within the policy, whatever was planted */
    assert_true(block_escalate(rt->store, "rcpt", "192.0.2.67", &policy, now, &secs) >= 0);
    assert_true(rcpt_domain_under_attack(rt, "example.test", now) >= 0);
    assert_true(catchall_probe_cached(rt, "planted.test", now, &pr, &expires, &why) >= 0);
    assert_int_equal(history_list(rt->store, "planted@remote.test", now, count_record, &n), 0);
}

static moat_runtime *runtime_on(const char *store)
{
    char path[128], text[1024];

    snprintf(path, sizeof path, "%s/moat-%d.conf", dir, rand());
    snprintf(text, sizeof text,
             "log { level = error }\n%s\n"
             "rcpt { source = file file = \"%s/none\" }\n"
             "catchall { domain \"planted.test\" { policy = mark } }\n",
             store, dir);
    return fixture_runtime(path, text);
}

static void run_on(moat_runtime *rt)
{
    static char huge[70000];
    time_t now = 1800000000;

    static const size_t lengths[] = {25, 33, 65, 97, 100, 129, 161, 257, 300, 513, 700, 1025,
                                     4097, 65536};
    size_t i;

    /* just longer than one reader's room or another's, up to as long as a value may be */
    memset(huge, '9', sizeof huge);
    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        plant_all(rt, huge, lengths[i], now);
        read_all(rt, now);
    }
    plant_all(rt, "12\0" "345", 6, now);        /* a NUL inside */
    read_all(rt, now + 1);
    plant_all(rt, "-999999999999999999999 x", 24, now);
    read_all(rt, now + 2);
    plant_all(rt, "", 0, now);
    read_all(rt, now + 3);
}

static void planted_values_on_lmdb(void **state)
{
    char store[256];

    (void)state;
    snprintf(store, sizeof store, "store { path = \"%s/state\" map_size = 64M }", dir);
    run_on(runtime_on(store));
}

static void planted_values_on_redis(void **state)
{
    redis_fixture rf;
    char store[256];

    (void)state;
    memset(&rf, 0, sizeof rf);
    assert_int_equal(redis_fixture_start(&rf), 0);
    snprintf(store, sizeof store,
             "store { backend = redis redis { host = \"127.0.0.1\" port = %d } }", rf.port);
    run_on(runtime_on(store));
    redis_fixture_stop(&rf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(planted_values_on_lmdb),
        cmocka_unit_test(planted_values_on_redis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
