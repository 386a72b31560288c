/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authlock.c - authlock decisions on a real LMDB store: lockout with
 * familiar locations, identical passwords, success forgives, spraying,
 * the escalation ladder, unlock, log-only, the quit-time path, and - with
 * a GeoIP file the test writes - country/ASN rules, per-ASN thresholds and
 * guessing spread over many networks; outbound containment by volume and
 * by recipients refused by remote servers; and the keyed password hash.
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
#include <sys/wait.h>
#include <unistd.h>

#include "authlock/authlock.h"
#include "authlock/containment.h"
#include "authlock/ladder.h"
#include "authlock/pwhash.h"
#include "authlock/rejects.h"
#include "block.h"
#include "geo_fixture.h"
#include "redis_fixture.h"
#include "log.h"
#include "runtime.h"
#include "runtime_fixture.h"

static char dir[64];

static moat_runtime *runtime_with(const char *extra)
{
    char path[128], text[2048];

    snprintf(path, sizeof path, "%s/moat.conf", dir);
    snprintf(text, sizeof text,
             "log { level = error }\nstore { path = \"%s/state-%d\" map_size = 16M }\n"
             "authlock { ip_threshold = 50 user_threshold = 3 user_familiar_threshold = 6 "
             "spray_threshold = 3 tarpit_after = 2 tarpit_base = 1s tarpit_max = 4s %s }\n",
             dir, rand(), extra);
    return fixture_runtime(path, text);
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
    assert_string_equal(reason, "user_locked_password_ok");
    assert_string_equal(login(rt, "192.0.2.99", "alice", "right", 1, t, reason), "accept");
    assert_int_equal(authlock_unlock(rt, "alice"), 1);
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
    assert_int_equal(authlock_unlock(rt, "203.0.113.9"), 1);
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
    assert_string_equal(delay, "4s");   /* from the 2nd failure: 1s, 2s, 4s (the cap) */
}

/* before_auth - the action (and reason) before AUTH for ip at t */
static const char *before_auth(moat_runtime *rt, const char *ip, time_t t, char *reason)
{
    static char action[16];
    moat_verdict v;
    const char *why = NULL;

    assert_int_equal(authlock_before(rt, ip, 0, t, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    reason[0] = '\0';
    verdict_get(v.text, "reason", reason, 48);
    return action;
}

static void tarpit_doubles_up_to_its_cap(void **state)
{
    moat_runtime *rt = runtime_with("spray_threshold = 100 user_threshold = 100 "
                                    "tarpit_after = 3 tarpit_base = 2s tarpit_max = 15s");
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    static const long expected[] = {0, 0, 0, 2, 4, 8, 15, 15};
    unsigned i;

    (void)state;
    for (i = 0; i < sizeof expected / sizeof expected[0]; i++)
        assert_int_equal(ladder_tarpit(sec, i), expected[i]);
}

/* block_length - how long subject's current block lasts from t, or 0 */
static long block_length(moat_runtime *rt, const char *subject, time_t t)
{
    long until = 0;

    return block_active(rt->store, "authlock", subject, t, &until) == 1 ? until - t : 0;
}

static void blocks_grow_on_each_repeat_then_the_long_block(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 2 spray_threshold = 100 user_threshold = 100 "
                                    "block_time = 10s block_max = 40s repeat_after = 4 "
                                    "repeat_block = 1000s window = 1h");
    static const long expected[] = {10, 20, 40, 1000};
    char reason[48], pw[16];
    time_t t = 1800000000;
    int round, n = 0;

    (void)state;
    for (round = 0; round < 4; round++) {
        /* the counter is still over the threshold: one more failure blocks again */
        do {
            snprintf(pw, sizeof pw, "g%d", n++);
            login(rt, "203.0.113.50", "frank", pw, 0, t, reason);
        } while (strcmp(reason, "ip_blocked") != 0);
        assert_int_equal(block_length(rt, "ip:203.0.113.50", t), expected[round]);
        assert_string_equal(before_auth(rt, "203.0.113.50", t + 1, reason), "defer");
        assert_string_equal(reason, "ip_blocked");
        t += expected[round] + 1;
        assert_string_equal(before_auth(rt, "203.0.113.50", t, reason), "accept");
    }
}

static void network_threshold_blocks_the_whole_network(void **state)
{
    moat_runtime *rt = runtime_with("net_threshold = 3 spray_threshold = 100 user_threshold = 100");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    login(rt, "198.51.100.1", "gina", "a", 0, t, reason);
    login(rt, "198.51.100.2", "gina", "b", 0, t, reason);
    login(rt, "198.51.100.3", "gina", "c", 0, t, reason);
    assert_string_equal(reason, "net_blocked");
    assert_string_equal(before_auth(rt, "198.51.100.200", t, reason), "defer");
    assert_string_equal(reason, "net_blocked");
    assert_string_equal(before_auth(rt, "198.51.101.1", t, reason), "accept");
    /* unlock takes any address of the network and starts it afresh */
    assert_int_equal(authlock_unlock(rt, "198.51.100.77/24"), 1);
    assert_string_equal(before_auth(rt, "198.51.100.200", t, reason), "accept");
    login(rt, "198.51.100.4", "gina", "d", 0, t, reason);
    assert_string_equal(reason, "bad_credentials");
    /* an ASN, in either case, with nothing locked: fine */
    assert_int_equal(authlock_unlock(rt, "AS64500"), 0);
    assert_int_equal(authlock_unlock(rt, "as64501"), 0);
}

static void unlock_starts_an_address_afresh(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 3 spray_threshold = 100 user_threshold = 100");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    login(rt, "203.0.113.60", "hank", "a", 0, t, reason);
    login(rt, "203.0.113.60", "hank", "b", 0, t, reason);
    login(rt, "203.0.113.60", "hank", "c", 0, t, reason);
    assert_string_equal(reason, "ip_blocked");
    assert_int_equal(authlock_unlock(rt, "203.0.113.60"), 1);
    login(rt, "203.0.113.60", "hank", "d", 0, t, reason);
    assert_string_equal(reason, "bad_credentials");
}

static void failures_seen_only_at_quit_count_too(void **state)
{
    moat_runtime *rt = runtime_with("");
    moat_verdict v;
    const char *why = NULL;
    char reason[48];
    time_t t = 1800000000;
    int i;

    (void)state;
    /* Exim 4.96's $authenticated_fail_id is " (set_id=NAME)"; a bare name works too */
    assert_int_equal(authlock_session_failed(rt, "203.0.113.70", " (set_id=Ivan)", t, &v, &why), 0);
    for (i = 0; i < 2; i++)
        assert_int_equal(authlock_session_failed(rt, "203.0.113.70", "Ivan", t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "user_locked");
    assert_string_equal(login(rt, "203.0.113.70", "ivan", "right", 1, t, reason), "deny");
    /* no user name (AUTH never got that far): nothing to count */
    assert_int_equal(authlock_session_failed(rt, "203.0.113.71", "", t, &v, &why), 0);
    reason[0] = '\0';
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_not_equal(reason, "failure_recorded");
}

static void failed_attempts_from_the_auth_fail_event_count(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 3 spray_threshold = 100 user_threshold = 2");
    moat_verdict v;
    const char *why = NULL;
    char reason[48] = "";
    time_t t = 1800000000;

    (void)state;
    /* no user name (the exchange failed before one was known): the client still counts */
    assert_int_equal(authlock_attempt_failed(rt, "203.0.113.80", "", t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "failure_recorded");
    assert_int_equal(authlock_attempt_failed(rt, "203.0.113.80", NULL, t, &v, &why), 0);
    assert_int_equal(authlock_attempt_failed(rt, "203.0.113.80", "", t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "ip_blocked");
    /* a user name: counted for the user too, as at QUIT */
    assert_int_equal(authlock_attempt_failed(rt, "203.0.113.81", "Judy", t, &v, &why), 0);
    assert_int_equal(authlock_attempt_failed(rt, "203.0.113.82", "judy", t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "user_locked");
    assert_string_equal(login(rt, "203.0.113.83", "judy", "right", 1, t, reason), "deny");
}

/* geo_runtime - a runtime whose GeoIP file maps the test networks */
static moat_runtime *geo_runtime(const char *extra)
{
    static const char *const specs[] = {
        "192.0.2.0/24=DE:64500",      /* home */
        "198.51.100.0/24=CN:64501",   /* attacker */
        "203.0.113.0/24=RU:64502",    /* denied country */
        "100.64.0.0/16=US:64503",     /* a big hosting ASN */
        "100.65.0.0/16=BR:64504", "100.66.0.0/16=IN:64505", "100.67.0.0/16=VN:64506",
        NULL};
    char db[96], conf[1024];

    snprintf(db, sizeof db, "%s/geo-%d.mmdb", dir, rand());
    assert_int_equal(geo_fixture_write(db, specs), 0);
    snprintf(conf, sizeof conf, "%s } geoip { country_db = \"%s\" asn_db = \"%s\"", extra, db, db);
    return runtime_with(conf);
}

static void country_and_asn_rules_global_and_per_domain(void **state)
{
    moat_runtime *rt = geo_runtime("deny_countries = {\"RU\"} deny_asns = {\"AS64503\"} "
                                   "domain \"example.com\" { allow_countries = {\"DE\"} } "
                                   "domain \"example.org\" { deny_asns = {\"AS64501\"} }");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    assert_string_equal(before_auth(rt, "203.0.113.5", t, reason), "defer");
    assert_string_equal(reason, "country_denied");
    assert_string_equal(before_auth(rt, "100.64.1.1", t, reason), "defer");
    assert_string_equal(reason, "asn_denied");
    assert_string_equal(before_auth(rt, "198.51.100.5", t, reason), "accept");
    /* per user domain, at the credentials: the right password does not help */
    assert_string_equal(login(rt, "198.51.100.5", "Boss@Example.com", "right", 1, t, reason),
                        "deny");
    assert_string_equal(reason, "country_not_allowed");
    assert_string_equal(login(rt, "192.0.2.5", "boss@example.com", "right", 1, t, reason),
                        "accept");
    assert_string_equal(login(rt, "198.51.100.5", "web@example.org", "right", 1, t, reason),
                        "deny");
    assert_string_equal(reason, "asn_denied");
    assert_string_equal(login(rt, "198.51.100.5", "bob", "right", 1, t, reason), "accept");
    /* addresses the file does not know are never refused by it */
    assert_string_equal(before_auth(rt, "10.1.2.3", t, reason), "accept");
}

static void per_asn_threshold_blocks_the_asn(void **state)
{
    moat_runtime *rt = geo_runtime("spray_threshold = 100 user_threshold = 100 "
                                   "asn \"AS64503\" { threshold = 3 }");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    login(rt, "100.64.1.1", "jo", "a", 0, t, reason);
    login(rt, "100.64.2.1", "jo", "b", 0, t, reason);
    login(rt, "100.64.3.1", "jo", "c", 0, t, reason);
    assert_string_equal(reason, "asn_blocked");
    assert_string_equal(before_auth(rt, "100.64.200.9", t, reason), "defer");
    assert_string_equal(reason, "asn_blocked");
    /* the default asn_threshold (100) holds elsewhere */
    login(rt, "100.65.1.1", "jo", "a", 0, t, reason);
    login(rt, "100.65.2.1", "jo", "b", 0, t, reason);
    login(rt, "100.65.3.1", "jo", "c", 0, t, reason);
    assert_string_equal(reason, "bad_credentials");
}

static void a_guess_spread_over_many_networks_locks_only_unfamiliar_places(void **state)
{
    moat_runtime *rt = geo_runtime("user_threshold = 100 distributed_asns = 3");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    assert_string_equal(login(rt, "192.0.2.10", "kim", "right", 1, t, reason), "accept");
    login(rt, "100.65.0.1", "kim", "a", 0, t, reason);
    login(rt, "100.66.0.1", "kim", "b", 0, t, reason);
    login(rt, "100.67.0.1", "kim", "c", 0, t, reason);
    assert_string_equal(reason, "distributed");
    assert_string_equal(login(rt, "198.51.100.9", "kim", "right", 1, t, reason), "deny");
    assert_string_equal(reason, "user_locked_password_ok");
    assert_string_equal(login(rt, "192.0.2.99", "kim", "right", 1, t, reason), "accept");
}

static void familiar_asn_stops_vouching_under_a_distributed_guess(void **state)
{
    moat_runtime *rt = geo_runtime("user_threshold = 4 user_familiar_threshold = 50 "
                                   "distributed_ips = 3 distributed_asns = 100");
    char reason[48], ip[32], pw[16];
    time_t t = 1800000000;
    int i;

    (void)state;
    /* lee logged in from AS64503: the whole ASN became familiar to her */
    assert_string_equal(login(rt, "100.64.9.9", "lee", "right", 1, t, reason), "accept");
    for (i = 1; i <= 7; i++) {
        snprintf(ip, sizeof ip, "100.64.%d.1", 20 + i);
        snprintf(pw, sizeof pw, "g%d", i);
        login(rt, ip, "lee", pw, 0, t, reason);
    }
    /* from the 3rd address on, the ASN no longer vouched: 4 unfamiliar failures lock */
    assert_string_equal(reason, "user_locked");
    assert_string_equal(login(rt, "100.64.99.1", "lee", "right", 1, t, reason), "deny");
    /* her own network still is familiar */
    assert_string_equal(login(rt, "100.64.9.10", "lee", "right", 1, t, reason), "accept");
}

static void missing_geo_file_refuses_nothing(void **state)
{
    moat_runtime *rt = runtime_with("deny_countries = {\"RU\"} } geoip { "
                                    "country_db = \"/nonexistent/geo.mmdb\"");
    char reason[48];
    time_t t = 1800000000;

    (void)state;
    assert_string_equal(before_auth(rt, "203.0.113.5", t, reason), "accept");
    assert_string_equal(login(rt, "203.0.113.5", "bob", "right", 1, t, reason), "accept");
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

#define REFUSED "SMTP error from remote mail server after RCPT TO:<%s>: 550 5.1.1 <%s>: " \
                "Recipient address rejected: User unknown"

static void remote_rejections_are_told_apart(void **state)
{
    (void)state;
    assert_true(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 550 5.1.1 No such user"));
    assert_true(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after pipelined RCPT TO:<x@y.test>: "
        "550-5.1.1 The email account that you tried to reach does not exist."));
    /* no enhanced status, and ": " inside the address and its parameters */
    assert_true(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after RCPT TO:<\"a: 250 b\"@y.test> "
        "ORCPT=rfc822;x@y.test: 550 unknown user"));
    assert_true(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 550 5.1.10 "
        "RESOLVER.ADR.RecipientNotFound"));
    /* policy answers say nothing of the address: a blocklist, relaying denied */
    assert_false(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 554 5.7.1 "
        "Service unavailable; Client host blocked"));
    /* refused after MAIL or DATA, or no answer at all: not the recipient */
    assert_false(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after MAIL FROM:<a@b.test> SIZE=300: 550 5.1.8 no"));
    assert_false(authlock_remote_rejection("msg:fail:delivery",
        "SMTP error from remote mail server after end of data: 550 5.7.1 spam"));
    assert_false(authlock_remote_rejection("msg:fail:delivery",
        "retry time not reached for any host after a long failure period"));
    assert_false(authlock_remote_rejection("msg:fail:delivery", ""));
    assert_false(authlock_remote_rejection("msg:fail:delivery", NULL));
    /* a temporary answer counts only when it names a bad address (4.1.x) */
    assert_true(authlock_remote_rejection("msg:rcpt:defer",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 450 4.1.1 "
        "Recipient address rejected: unverified address"));
    assert_false(authlock_remote_rejection("msg:rcpt:defer",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 451 4.7.1 Greylisted"));
    assert_false(authlock_remote_rejection("msg:rcpt:defer",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 550 5.1.1 unknown"));
    assert_false(authlock_remote_rejection("msg:delivery",
        "SMTP error from remote mail server after RCPT TO:<x@y.test>: 550 5.1.1 unknown"));
    assert_false(authlock_remote_rejection(NULL, NULL));
}

static void rejections_judged_against_a_floor_and_a_share(void **state)
{
    (void)state;
    assert_int_equal(authlock_rejects_judge(0, 0, 10, 30), REJECTS_FINE);
    assert_int_equal(authlock_rejects_judge(1, 1, 10, 30), REJECTS_FINE);     /* one typo */
    assert_int_equal(authlock_rejects_judge(4, 4, 10, 30), REJECTS_FINE);
    assert_int_equal(authlock_rejects_judge(5, 5, 10, 30), REJECTS_WARNING);
    assert_int_equal(authlock_rejects_judge(10, 12, 10, 30), REJECTS_OVER);
    /* a busy sender's bounces are a small share of what went out */
    assert_int_equal(authlock_rejects_judge(40, 1000, 10, 30), REJECTS_FINE);
    assert_int_equal(authlock_rejects_judge(300, 1000, 10, 30), REJECTS_OVER);
    /* more refusals than recipients of the day (older mail retried): all of them */
    assert_int_equal(authlock_rejects_judge(10, 0, 10, 30), REJECTS_OVER);
    /* send_reject_floor = 0: never */
    assert_int_equal(authlock_rejects_judge(500, 500, 0, 30), REJECTS_FINE);
}

/* refuse - one refusal of rcpt from a remote server; the verdict's reason */
static const char *refuse(moat_runtime *rt, const char *event, const char *user,
                          const char *rcpt, time_t t)
{
    static char reason[32];
    char data[256];
    moat_verdict v;
    const char *why = NULL;

    snprintf(data, sizeof data, REFUSED, rcpt, rcpt);
    assert_int_equal(authlock_rejected(rt, event, user, rcpt, data, t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    return reason;
}

static void recipients_refused_by_remote_servers_contain_the_user(void **state)
{
    moat_runtime *rt = runtime_with("send_floor = 1000 send_reject_floor = 6 "
                                    "send_reject_percent = 50");
    time_t t = 1800000000;
    char rcpt[64], action[16], reason[32];
    moat_verdict v;
    const char *why = NULL;
    int i;

    (void)state;
    /* a typo of a normal user: counted, nothing more */
    assert_int_equal(send_n(rt, "gina", 5, 0, t), 5);
    assert_string_equal(refuse(rt, "msg:fail:delivery", "gina", "r1@remote.test", t), "rejected");
    assert_string_equal(refuse(rt, "msg:fail:delivery", "Gina", "R1@remote.test", t), "rejected");
    assert_int_equal(send_n(rt, "gina", 5, 100, t), 5);
    assert_int_equal(authlock_sending_locked(rt, "gina", t), 0);
    /* not a refusal of the recipient, or no user: not counted */
    assert_string_equal(refuse(rt, "msg:delivery", "hank", "x@remote.test", t), "not_counted");
    assert_string_equal(refuse(rt, "msg:fail:delivery", "", "x@remote.test", t), "not_counted");

    /* hank sprays made-up addresses: past half the floor the admin is told
     * once (that message held), at the floor he is locked */
    for (i = 0; i < 3; i++) {
        snprintf(rcpt, sizeof rcpt, "s%d@victims.test", i);
        assert_int_equal(send_n(rt, "hank", 1, 1000 + i, t), 1);
        refuse(rt, "msg:fail:delivery", "hank", rcpt, t);
    }
    assert_int_equal(authlock_submit(rt, "hank", "s3@victims.test", 1, t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "reject_warning");
    assert_non_null(strstr(v.text, "held=yes"));
    assert_non_null(strstr(v.text, "tell=yes"));
    assert_int_equal(authlock_submit(rt, "hank", "s4@victims.test", 1, t, &v, &why), 0);
    assert_null(strstr(v.text, "held=yes"));    /* the next ones go: their answers decide */
    for (i = 4; i < 6; i++) {
        snprintf(rcpt, sizeof rcpt, "s%d@victims.test", i);
        assert_string_equal(refuse(rt, "msg:fail:delivery", "hank", rcpt, t), "rejected");
    }
    assert_string_equal(refuse(rt, "msg:rcpt:defer", "hank", "s6@victims.test", t),
                        "not_counted");     /* "550" in a defer: not a bad address answer */
    snprintf(rcpt, sizeof rcpt, "s6@victims.test");
    {
        moat_verdict d;
        const char *w = NULL;
        assert_int_equal(authlock_rejected(rt, "msg:rcpt:defer", "hank", rcpt,
            "SMTP error from remote mail server after RCPT TO:<s6@victims.test>: 450 4.1.1 "
            "unverified address", t, &d, &w), 0);
        verdict_get(d.text, "reason", reason, sizeof reason);
        assert_string_equal(reason, "reject_limit");
    }
    assert_int_equal(authlock_sending_locked(rt, "hank", t), 1);
    assert_string_equal(refuse(rt, "msg:fail:delivery", "hank", "s7@victims.test", t),
                        "sending_locked");
    assert_int_equal(authlock_submit(rt, "hank", "t@partner.test", 1, t, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "defer");
    assert_non_null(strstr(v.text, "code=451"));
    assert_int_equal(authlock_credentials(rt, "198.51.100.70", "hank", "pw", 1, t, &v, &why), 0);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(reason, "sending_locked");
    /* unlock forgets the refusals: sending resumes at once */
    assert_int_equal(authlock_unlock(rt, "hank"), 0);
    assert_int_equal(send_n(rt, "hank", 1, 2000, t), 1);
    assert_int_equal(authlock_sending_locked(rt, "hank", t), 0);
}

static void refusals_seen_at_rcpt_time_lock_too(void **state)
{
    /* the event's own lock lost (log-only at the time, a store hiccup):
     * the next RCPT judges the refusals itself */
    moat_runtime *rt = runtime_with("mode = log-only send_floor = 1000 send_reject_floor = 2");
    time_t t = 1800000000;
    moat_verdict v;
    const char *why = NULL;
    char action[16], reason[32];

    (void)state;
    assert_int_equal(send_n(rt, "ivan", 2, 0, t), 2);
    assert_string_equal(refuse(rt, "msg:fail:delivery", "ivan", "r0@remote.test", t), "rejected");
    assert_string_equal(refuse(rt, "msg:fail:delivery", "ivan", "r1@remote.test", t),
                        "reject_limit");
    assert_int_equal(authlock_sending_locked(rt, "ivan", t), 0);   /* log-only: no lock */
    assert_int_equal(authlock_submit(rt, "ivan", "r2@remote.test", 1, t, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    verdict_get(v.text, "reason", reason, sizeof reason);
    assert_string_equal(action, "accept");
    assert_string_equal(reason, "reject_limit");

    rt = runtime_with("send_floor = 1000 send_reject_floor = 2");
    assert_int_equal(send_n(rt, "judy", 2, 0, t), 2);
    {
        char key[64];
        uint64_t n = 0;
        snprintf(key, sizeof key, "authlock:rej:judy");
        assert_int_equal(moat_store_distinct_add(rt->store, key, "a@remote.test", 86400, t, &n),
                         STORE_OK);
        assert_int_equal(moat_store_distinct_add(rt->store, key, "b@remote.test", 86400, t, &n),
                         STORE_OK);
    }
    assert_int_equal(authlock_submit(rt, "judy", "c@remote.test", 1, t, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    assert_string_equal(action, "defer");
    assert_int_equal(authlock_sending_locked(rt, "judy", t), 1);
    /* send_reject_floor = 0 turns the signal off */
    rt = runtime_with("send_reject_floor = 0");
    assert_string_equal(refuse(rt, "msg:fail:delivery", "kim", "r0@remote.test", t),
                        "not_counted");
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
    pwhash(a, sizeof a, "alice", "secret", h3);   /* the first key again */
    assert_string_equal(h1, h3);
    /* HMAC-SHA256 of "alice\0secret" under the key 00 01 .. 1f, first 8 bytes (RFC 2104) */
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)i;
    pwhash(a, sizeof a, "alice", "secret", h1);
    assert_string_equal(h1, "7b44f81ae46ebb98");
}

/*
 * simultaneous_failures - 16 processes, released at once, each with one
 * wrong password from ip for a user of its own (ip_threshold = 3): the
 * threshold is crossed by many of them together, and each must see that
 * another has just begun the block
 */
static void simultaneous_failures(moat_runtime *rt, const char *ip, time_t t)
{
    int gate[2], i, status;
    pid_t pids[16];
    char c;

    assert_int_equal(pipe(gate), 0);
    for (i = 0; i < 16; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            moat_verdict v;
            const char *why = NULL;
            char user[16];

            close(gate[1]);
            if (read(gate[0], &c, 1) != 0)             /* wait for the gate to open */
                _exit(3);
            snprintf(user, sizeof user, "u%d", i);
            _exit(authlock_credentials(rt, ip, user, "wrong", 0, t, &v, &why) == 0 ? 0 : 1);
        }
    }
    close(gate[0]);
    close(gate[1]);                                    /* all at once */
    for (i = 0; i < 16; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* first_block_only - the ip is blocked for the first step (block_time), offence 1 */
static void first_block_only(moat_runtime *rt, const char *ip, time_t t)
{
    char subject[64], key[128], val[32];
    size_t len = 0;
    long until = 0;

    snprintf(subject, sizeof subject, "ip:%s", ip);
    assert_int_equal(block_active(rt->store, "authlock", subject, t, &until), 1);
    assert_int_equal(until - t, 600);                  /* block_time, not doubled 15 times */
    snprintf(key, sizeof key, "authlock:offense:%s", subject);
    assert_int_equal(moat_store_get(rt->store, key, val, sizeof val - 1, &len, NULL, t),
                     STORE_OK);
    val[len] = '\0';
    assert_string_equal(val, "1");
}

static void simultaneous_failures_begin_one_block_on_lmdb(void **state)
{
    moat_runtime *rt = runtime_with("ip_threshold = 3 spray_threshold = 1000 block_time = 10m");
    time_t t = 1800000000;

    (void)state;
    simultaneous_failures(rt, "203.0.113.16", t);
    first_block_only(rt, "203.0.113.16", t);
}

static void simultaneous_failures_begin_one_block_on_redis(void **state)
{
    redis_fixture rf;
    char path[128], text[1024];
    moat_runtime *rt;
    time_t t = time(NULL);

    (void)state;
    memset(&rf, 0, sizeof rf);
    assert_int_equal(redis_fixture_start(&rf), 0);
    snprintf(path, sizeof path, "%s/moat-redis.conf", dir);
    snprintf(text, sizeof text,
             "log { level = error }\nstore { backend = redis redis { host = \"127.0.0.1\" "
             "port = %d prefix = \"t%d:\" } }\n"
             "authlock { ip_threshold = 3 user_threshold = 3 spray_threshold = 1000 "
             "block_time = 10m }\n", rf.port, rand());
    rt = fixture_runtime(path, text);
    simultaneous_failures(rt, "203.0.113.17", t);
    first_block_only(rt, "203.0.113.17", t);
    redis_fixture_stop(&rf);
}

/* refused - the error loading authlock/rcpt settings gives, "" when they load */
static const char *refused(const char *settings)
{
    static char err[MOAT_ERR_MAX];
    char path[128], text[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/bounds.conf", dir);
    snprintf(text, sizeof text, "store { path = \"%s/bounds\" }\n%s\n", dir, settings);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    moat_runtime_reset();
    if (moat_runtime_get(path, err, sizeof err) != NULL)
        err[0] = '\0';
    moat_runtime_reset();
    return err;
}

static void settings_that_switch_protection_off_are_refused_with_the_bound(void **state)
{
    (void)state;
    assert_non_null(strstr(refused("authlock { window = 0 }"), "window: 0 is outside 60.."));
    assert_non_null(strstr(refused("authlock { send_floor = 0 }"),
                           "send_floor: 0 is outside 1.."));
    assert_non_null(strstr(refused("rcpt { window = 0 }"), "window: 0 is outside 60.."));
    assert_non_null(strstr(refused("rcpt { block_time = 0 }"), "block_time: 0 is outside 1.."));
    assert_string_equal(refused("authlock { window = 1h send_floor = 20 }"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_that_switch_protection_off_are_refused_with_the_bound),
        cmocka_unit_test(simultaneous_failures_begin_one_block_on_lmdb),
        cmocka_unit_test(simultaneous_failures_begin_one_block_on_redis),
        cmocka_unit_test(lockout_spares_the_familiar_network),
        cmocka_unit_test(identical_passwords_count_once_and_success_forgives),
        cmocka_unit_test(spraying_blocks_the_address),
        cmocka_unit_test(tarpit_grows_before_auth),
        cmocka_unit_test(tarpit_doubles_up_to_its_cap),
        cmocka_unit_test(blocks_grow_on_each_repeat_then_the_long_block),
        cmocka_unit_test(network_threshold_blocks_the_whole_network),
        cmocka_unit_test(unlock_starts_an_address_afresh),
        cmocka_unit_test(failures_seen_only_at_quit_count_too),
        cmocka_unit_test(country_and_asn_rules_global_and_per_domain),
        cmocka_unit_test(per_asn_threshold_blocks_the_asn),
        cmocka_unit_test(a_guess_spread_over_many_networks_locks_only_unfamiliar_places),
        cmocka_unit_test(familiar_asn_stops_vouching_under_a_distributed_guess),
        cmocka_unit_test(missing_geo_file_refuses_nothing),
        cmocka_unit_test(log_only_keeps_the_real_result),
        cmocka_unit_test(password_hash_is_keyed_and_stable),
        cmocka_unit_test(containment_learns_the_users_own_volume),
        cmocka_unit_test(remote_rejections_are_told_apart),
        cmocka_unit_test(rejections_judged_against_a_floor_and_a_share),
        cmocka_unit_test(recipients_refused_by_remote_servers_contain_the_user),
        cmocka_unit_test(refusals_seen_at_rcpt_time_lock_too),
        cmocka_unit_test(failed_attempts_from_the_auth_fail_event_count),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
