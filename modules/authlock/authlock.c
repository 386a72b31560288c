/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authlock.c - SMTP-AUTH decisions: what is counted when a login fails,
 * what is refused, and when. The concerns it combines live next to it:
 * location.c (address, network, country, ASN), georules.c (country/ASN
 * lists), familiar.c (the user's familiar locations), ladder.c (tarpit and
 * block lengths), pwhash.c (identical wrong passwords counted once).
 *
 * Store keys (prefix authlock:), all sliding windows of `window`:
 *   ip:<ip>, net:<net>, asn:AS<n>   failures per client, network, ASN
 *   spray:<ip>                      distinct users failing from an IP
 *   uips:<user>, uasns:<user>       distinct IPs / unfamiliar ASNs failing for a user
 *   uf:<user>, ff:<user>            the user's failures from unfamiliar / familiar places
 *   pw:<user>:<ip>                  keyed hashes of wrong passwords (pwhash.h)
 *   fam:<user>|net:<net>, fam:<user>|asn:AS<n>   familiar locations (familiar.h)
 * and the blocks of common/block.h: block:ip:<ip>, block:net:<net>,
 * block:asn:AS<n>, block:user:<user>:unfamiliar, block:user:<user>:familiar.
 */
#include "authlock.h"
#include "containment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "block.h"
#include "familiar.h"
#include "georules.h"
#include "ladder.h"
#include "location.h"
#include "log.h"
#include "net.h"
#include "pwhash.h"
#include "store_keys.h"

#define USER_MAX AUTHLOCK_USER_MAX

typedef struct ctx {
    moat_runtime *rt;
    cfg_t *sec;
    time_t now;
    const char **why;
} ctx;

static ctx context(moat_runtime *rt, time_t now, const char **why)
{
    ctx c = {rt, moat_config_module(rt->config, "authlock"), now, why};
    return c;
}

static uint32_t window(const ctx *c)
{
    return (uint32_t)moat_cfg_int(c->sec, "window");
}

static void locate(const ctx *c, const char *ip, authlock_location *loc)
{
    authlock_locate(c->rt->config, c->sec, ip, c->now, loc);
}

/* subject_blocked - whether "<kind>:<what>" is blocked: 1/0/-1 */
static int subject_blocked(const ctx *c, const char *kind, const char *what)
{
    char subject[STORE_KEY_MAX];

    moat_store_key(subject, sizeof subject, kind, ":", what);
    return block_active(c->rt->store, "authlock", subject, c->now, NULL);
}

/* client_blocked - whether the client's IP, network or ASN is blocked: 1/0/-1, *what names it */
static int client_blocked(const ctx *c, const authlock_location *loc, const char **what)
{
    int r;

    if ((r = subject_blocked(c, "ip", loc->ip)) != 0) {
        *what = "ip_blocked";
        return r;
    }
    if (loc->net[0] && (r = subject_blocked(c, "net", loc->net)) != 0) {
        *what = "net_blocked";
        return r;
    }
    if (loc->asn[0] && (r = subject_blocked(c, "asn", loc->asn)) != 0) {
        *what = "asn_blocked";
        return r;
    }
    return 0;
}

/*
 * log_decision - the one line per decision:
 * moat authlock: action=... reason=... ip=... user=... country=... asn=... familiar=...
 */
static void log_decision(const ctx *c, const moat_verdict *v, const authlock_location *loc,
                         const char *user, int familiar)
{
    char action[16] = "", reason[48] = "", delay[16] = "", field[USER_MAX * 4 + 1];

    verdict_get(v->text, "action", action, sizeof action);
    verdict_get(v->text, "reason", reason, sizeof reason);
    verdict_get(v->text, "delay", delay, sizeof delay);
    /* user= is what the client typed: escaped, after ip= */
    moat_log(MOAT_LOG_INFO, "moat authlock: action=%s reason=%s ip=%s user=%s country=%s asn=%s "
             "familiar=%s%s%s%s", action, reason, loc->ip,
             user && *user ? moat_log_word(user, field, sizeof field) : "-",
             loc->geo.country[0] ? loc->geo.country : "-", loc->asn[0] ? loc->asn : "-",
             familiar < 0 ? "-" : familiar ? "yes" : "no", delay[0] ? " delay=" : "", delay,
             moat_config_log_only(c->rt->config, "authlock") ? " mode=log-only" : "");
}

/* refusal - the answer before credentials to a client that may not AUTH */
static void refusal(cfg_t *sec, moat_verdict *v, const char *reason)
{
    int drop = moat_cfg_int(sec, "refuse") == 1;

    verdict_init(v, drop ? "drop" : "defer");
    verdict_add(v, "code", drop ? "554" : "454");
    verdict_add(v, "xcode", drop ? "5.7.1" : "4.7.0");
    verdict_add(v, "reason", reason);
    verdict_add(v, "text", "Temporary authentication failure, try again later");
}

/* apply_log_only - in log-only mode the ACL always accepts; keep what it would have done */
static void apply_log_only(const ctx *c, moat_verdict *v)
{
    char would[16] = "";

    if (!moat_config_log_only(c->rt->config, "authlock"))
        return;
    verdict_get(v->text, "action", would, sizeof would);
    verdict_init(v, "accept");
    verdict_add(v, "reason", "log_only");
    verdict_add(v, "would", would);
}

int authlock_before(moat_runtime *rt, const char *ip, int at_connect, time_t now,
                    moat_verdict *v, const char **why)
{
    ctx c = context(rt, now, why);
    authlock_location loc;
    const char *what = NULL;
    char key[STORE_KEY_MAX + 1];
    uint64_t failures = 0;
    long delay;
    int r;

    verdict_init(v, "accept");
    if (authlock_in_networks(c.sec, "exempt_networks", ip))
        return 0;
    if (at_connect && !moat_cfg_bool(c.sec, "block_at_connect"))
        return 0;
    locate(&c, ip, &loc);
    if ((r = client_blocked(&c, &loc, &what)) < 0) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    if (r == 0 && !at_connect)
        what = georules_refused(c.sec, &loc, NULL);
    if (what != NULL) {
        refusal(c.sec, v, what);
        log_decision(&c, v, &loc, NULL, -1);
        apply_log_only(&c, v);
        return 0;
    }
    if (at_connect)
        return 0;
    authlock_key(key, sizeof key, AUTHLOCK_KEY_IP, ip);
    if (moat_store_counter_get(rt->store, key, window(&c), now, &failures) != STORE_OK) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    if ((delay = ladder_tarpit(c.sec, failures)) > 0) {
        verdict_add(v, "reason", "tarpit");
        verdict_addf(v, "delay", "%lds", delay);
        verdict_add_int(v, "failures", (long long)failures);
        log_decision(&c, v, &loc, NULL, -1);
        apply_log_only(&c, v);
    }
    return 0;
}

/* count - add one failure to the counter prefix + a; its new value, or -1 */
static long count(const ctx *c, authlock_key_kind kind, const char *a)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    authlock_key(key, sizeof key, kind, a);
    if (moat_store_counter_add(c->rt->store, key, window(c), 1, c->now, &n) != STORE_OK)
        return -1;
    return (long)n;
}

/* distinct - add member to the set prefix + a; how many it holds (counting stops at max), or -1 */
static long distinct(const ctx *c, authlock_key_kind kind, const char *a, const char *member,
                     long max)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    authlock_key(key, sizeof key, kind, a);
    if (moat_store_distinct_add_max(c->rt->store, key, member, window(c), c->now, (uint64_t)max,
                                    &n) != STORE_OK)
        return -1;
    return (long)n;
}

/*
 * escalate - put "<kind>:<what>" on the next step of policy, the failure
 * coming from ip; a block or lock that begins here gets its one log line
 * (a failure that crosses a threshold while another has just begun the
 * block changes nothing). 0 or -1.
 */
static int escalate(const ctx *c, const char *kind, const char *what, const char *ip,
                    const block_policy *policy)
{
    char subject[STORE_KEY_MAX], field[STORE_KEY_MAX * 4 + 1];
    long secs = 0;
    int r;

    moat_store_key(subject, sizeof subject, kind, ":", what);
    if ((r = block_escalate(c->rt->store, "authlock", subject, policy, c->now, &secs)) < 0)
        return -1;
    if (r > 0)
        moat_log(MOAT_LOG_INFO, "moat authlock: action=%s reason=%s_%s ip=%s subject=<%s> "
                 "for=%lds until=%ld", strcmp(kind, "user") == 0 ? "lock" : "block", kind,
                 strcmp(kind, "user") == 0 ? "lock_started" : "block_started", ip,
                 moat_log_field(subject, field, sizeof field), secs, (long)c->now + secs);
    return 0;
}

/* client_failure - count a failure against the client's IP, network and ASN; blocks past thresholds */
static int client_failure(const ctx *c, const authlock_location *loc, const char **locked)
{
    block_policy policy = ladder_client_policy(c->sec);
    long n;

    if ((n = count(c, AUTHLOCK_KEY_IP, loc->ip)) < 0)
        return -1;
    if (n >= moat_cfg_int(c->sec, "ip_threshold")) {
        if (escalate(c, "ip", loc->ip, loc->ip, &policy) != 0)
            return -1;
        *locked = "ip_blocked";
    }
    if (loc->net[0]) {
        if ((n = count(c, AUTHLOCK_KEY_NET, loc->net)) < 0)
            return -1;
        if (n >= moat_cfg_int(c->sec, "net_threshold")) {
            if (escalate(c, "net", loc->net, loc->ip, &policy) != 0)
                return -1;
            *locked = "net_blocked";
        }
    }
    if (loc->asn[0]) {
        if ((n = count(c, AUTHLOCK_KEY_ASN, loc->asn)) < 0)
            return -1;
        if (n >= georules_asn_threshold(c->sec, loc)) {
            if (escalate(c, "asn", loc->asn, loc->ip, &policy) != 0)
                return -1;
            *locked = "asn_blocked";
        }
    }
    return 0;
}

/* user_failure - count a failure of user from loc: spraying, distributed guessing, the user's locks */
static int user_failure(const ctx *c, const char *user, const authlock_location *loc,
                        int is_familiar, const char **locked)
{
    block_policy client = ladder_client_policy(c->sec), lock = ladder_user_policy(c->sec);
    const char *class = is_familiar ? "familiar" : "unfamiliar";
    long spray = moat_cfg_int(c->sec, "spray_threshold");
    long asns = moat_cfg_int(c->sec, "distributed_asns");
    char subject[STORE_KEY_MAX];
    const char *lock_reason = NULL;
    long n;

    if ((n = distinct(c, AUTHLOCK_KEY_SPRAY, loc->ip, user, spray)) < 0)
        return -1;
    if (n >= spray) {
        if (escalate(c, "ip", loc->ip, loc->ip, &client) != 0)
            return -1;
        *locked = "spraying";
    }
    if ((n = count(c, is_familiar ? AUTHLOCK_KEY_FAMILIAR : AUTHLOCK_KEY_UNFAMILIAR, user)) < 0)
        return -1;
    if (n >= moat_cfg_int(c->sec, is_familiar ? "user_familiar_threshold" : "user_threshold"))
        lock_reason = "user_locked";
    /* One user guessed at from many networks at once: a botnet, not a phone. */
    if (!is_familiar && loc->asn[0]) {
        if ((n = distinct(c, AUTHLOCK_KEY_USER_ASNS, user, loc->asn, asns)) < 0)
            return -1;
        if (n >= asns && lock_reason == NULL)
            lock_reason = "distributed";
    }
    if (lock_reason == NULL)
        return 0;
    moat_store_key(subject, sizeof subject, user, ":", class);
    if (escalate(c, "user", subject, loc->ip, &lock) != 0)
        return -1;
    if (*locked == NULL)
        *locked = lock_reason;
    return 0;
}

/* forgive - a success clears the user's failures of that location class */
static int forgive(const ctx *c, const char *user, int is_familiar)
{
    char key[STORE_KEY_MAX + 1];

    authlock_key(key, sizeof key, is_familiar ? AUTHLOCK_KEY_FAMILIAR : AUTHLOCK_KEY_UNFAMILIAR,
                 user);
    return moat_store_del(c->rt->store, key) == STORE_OK ? 0 : -1;
}

static void credentials_verdict(moat_verdict *v, int ok, const char *reason)
{
    verdict_init(v, ok ? "accept" : "deny");
    verdict_add(v, "reason", reason);
    if (!ok) {
        verdict_add(v, "code", "535");
        verdict_add(v, "xcode", "5.7.8");
        verdict_add(v, "text", "Authentication credentials invalid");
    }
}

/* secret - the per-install HMAC secret (NULL when unavailable) */
static const unsigned char *secret(const ctx *c)
{
    char path[4200];
    const char *conf = moat_cfg_str(c->sec, "secret_file");

    if (conf && *conf)
        snprintf(path, sizeof path, "%s", conf);
    else
        snprintf(path, sizeof path, "%s/authlock.secret", c->rt->config->store.path);
    return pwhash_install_secret(path);
}

/* trust_asn - whether the user's ASN still vouches: not while many addresses fail for the user */
static int trust_asn(const ctx *c, const char *user, int *trusted)
{
    long n = distinct(c, AUTHLOCK_KEY_USER_IPS, user, NULL, moat_cfg_int(c->sec, "distributed_ips"));

    if (n < 0)
        return -1;
    *trusted = n < moat_cfg_int(c->sec, "distributed_ips");
    return 0;
}

/*
 * failing_ip - add ip to the addresses failing for user and say whether
 * the user's ASN still vouches for this failure: only while fewer than
 * distributed_ips addresses, this one included, have failed. The count
 * comes from the set's atomic add, never from a read before it, so
 * failures arriving together each see the others (LMDB: the batch's
 * write transaction; Redis: one script).
 */
static int failing_ip(const ctx *c, const char *user, const char *ip, int *trusted)
{
    long max = moat_cfg_int(c->sec, "distributed_ips");
    long n = distinct(c, AUTHLOCK_KEY_USER_IPS, user, ip, max);

    if (n < 0)
        return -1;
    *trusted = n < max;
    return 0;
}

/*
 * failure_place - inside the failure's batch: record ip (failing_ip) and
 * judge the location class again when the ASN's trust changed since the
 * read before the batch (*fam, judged with trusted). *locked gets 1 when
 * the class it turns out to be is locked (the failure is then refused as
 * user_locked and not counted, as if it had been judged so at once).
 */
static int failure_place(const ctx *c, const char *user, const char *ip,
                         const authlock_location *loc, int trusted, int *fam, int *locked)
{
    char subject[STORE_KEY_MAX];
    int now_trusted, was = *fam;

    *locked = 0;
    if (failing_ip(c, user, ip, &now_trusted) != 0)
        return -1;
    if (now_trusted == trusted)
        return 0;
    if ((*fam = familiar_is(c->rt->store, user, loc, now_trusted, c->now)) < 0)
        return -1;
    if (*fam == was)
        return 0;
    moat_store_key(subject, sizeof subject, user, ":", *fam ? "familiar" : "unfamiliar");
    if ((*locked = subject_blocked(c, "user", subject)) < 0)
        return -1;
    return 0;
}

/* judge - the verdict on credentials; 0, or -1 on a store error */
static int judge(const ctx *c, const char *ip, const char *user_in, const char *password,
                 int real_ok, moat_verdict *v)
{
    char user[USER_MAX], subject[STORE_KEY_MAX];
    const unsigned char *key;
    authlock_location loc;
    const char *what = NULL, *locked = NULL;
    int r, fam, trusted = 1, repeat = 0, class_locked = 0;

    addr_lower(user_in ? user_in : "", user, sizeof user);
    if (authlock_in_networks(c->sec, "exempt_networks", ip)) {
        credentials_verdict(v, real_ok, real_ok ? "ok_exempt" : "bad_credentials_exempt");
        return 0;
    }
    locate(c, ip, &loc);
    if ((r = client_blocked(c, &loc, &what)) < 0)
        return -1;
    if (r == 0)
        what = georules_refused(c->sec, &loc, user);
    if (what == NULL && (r = authlock_sending_locked(c->rt, user, c->now)) != 0) {
        if (r < 0)
            return -1;
        what = "sending_locked";   /* contained after sending too much: until an admin unlocks */
    }
    if (what != NULL) {
        credentials_verdict(v, 0, what);
        log_decision(c, v, &loc, user, -1);
        return 0;
    }
    if (trust_asn(c, user, &trusted) != 0 ||
        (fam = familiar_is(c->rt->store, user, &loc, trusted, c->now)) < 0)
        return -1;
    moat_store_key(subject, sizeof subject, user, ":", fam ? "familiar" : "unfamiliar");
    if ((r = subject_blocked(c, "user", subject)) != 0) {
        if (r < 0)
            return -1;
        /* Locked here: even the right password fails, so a guesser learns
         * nothing; the log says it was the right one (the real user, or a
         * guesser who found it: either way the admin wants to know). */
        credentials_verdict(v, 0, real_ok ? "user_locked_password_ok" : "user_locked");
        log_decision(c, v, &loc, user, fam);
        return 0;
    }
    if (real_ok) {
        (void)moat_store_batch_begin(c->rt->store);   /* one write for both */
        r = familiar_remember(c->rt->store, user, &loc,
                              (uint32_t)moat_cfg_int(c->sec, "familiar_ttl"), c->now) != 0 ||
            forgive(c, user, fam) != 0;
        if (moat_store_batch_end(c->rt->store) != STORE_OK || r)
            return -1;
        credentials_verdict(v, 1, "ok");
        /* A login from a new place is worth a line (Exim logs the login itself). */
        if (!fam)
            log_decision(c, v, &loc, user, fam);
        return 0;
    }
    key = password ? secret(c) : NULL;
    r = 0;
    /* The failure's counters and blocks are one write (one LMDB transaction),
     * and so is the count of its logged decision (log { count }): a guesser's
     * attempt costs one commit, not two */
    (void)moat_store_batch_begin(c->rt->store);
    if (key && (repeat = pwhash_repeated(c->rt->store, key, user, ip, password, window(c),
                                         c->now)) < 0)
        r = -1;
    else if (!repeat)
        r = failure_place(c, user, ip, &loc, trusted, &fam, &class_locked) != 0 ||
            (!class_locked && (client_failure(c, &loc, &locked) != 0 ||
                               (user[0] && user_failure(c, user, &loc, fam, &locked) != 0)))
            ? -1 : 0;
    if (r == 0) {
        credentials_verdict(v, 0, class_locked ? "user_locked" : locked ? locked
                                  : repeat ? "bad_credentials_repeated" : "bad_credentials");
        log_decision(c, v, &loc, user, fam);
    }
    if (moat_store_batch_end(c->rt->store) != STORE_OK || r < 0)
        return -1;
    return 0;
}

int authlock_where(moat_runtime *rt, const char *ip, int port, int tls, time_t now,
                   moat_verdict *v, const char **why)
{
    ctx c = context(rt, now, why);
    const char *reason = NULL, *text = NULL, *code = "503", *xcode = "5.5.1";
    authlock_location loc;
    unsigned i;
    int port_ok = moat_cfg_count(c.sec, "auth_ports") == 0;

    if (authlock_in_networks(c.sec, "internal_networks", ip))
        return 0;   /* inside: AUTH anywhere */
    for (i = 0; i < moat_cfg_count(c.sec, "auth_ports"); i++)
        if (moat_cfg_nint(c.sec, "auth_ports", i) == port)
            port_ok = 1;
    if (!port_ok) {
        reason = "auth_wrong_port";
        text = "Authentication is not offered on this port; use the submission port";
    } else if (moat_cfg_bool(c.sec, "auth_require_tls") && !tls) {
        reason = "auth_needs_tls";
        code = "538";
        xcode = "5.7.11";
        text = "Encryption required for requested authentication mechanism";
    }
    if (reason == NULL)
        return 0;
    locate(&c, ip, &loc);
    /* An AUTH where it does not belong is a failure: guessers find port 25 first. */
    if (count(&c, AUTHLOCK_KEY_IP, ip) < 0) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    verdict_init(v, "deny");
    verdict_add(v, "code", code);
    verdict_add(v, "xcode", xcode);
    verdict_add(v, "reason", reason);
    verdict_add(v, "text", text);
    verdict_add_int(v, "port", port);
    log_decision(&c, v, &loc, NULL, -1);
    apply_log_only(&c, v);
    return 0;
}

int authlock_credentials(moat_runtime *rt, const char *ip, const char *user,
                         const char *password, int real_ok, time_t now, moat_verdict *v,
                         const char **why)
{
    ctx c = context(rt, now, why);

    if (judge(&c, ip, user, password, real_ok, v) != 0) {
        if (*why == NULL)
            *why = moat_store_last_error(rt->store);
        return -1;
    }
    if (moat_config_log_only(rt->config, "authlock")) {
        char would[16] = "";
        verdict_get(v->text, "action", would, sizeof would);
        credentials_verdict(v, real_ok, "log_only");
        verdict_add(v, "would", would);
    }
    return 0;
}

/*
 * fail_id_user - the user name in $authenticated_fail_id, lower-cased.
 * Exim 4.96 hands it over as it logs it, " (set_id=NAME)"; a bare NAME is
 * taken as it is.
 */
static void fail_id_user(const char *id, char *user, size_t cap)
{
    static const char tag[] = "(set_id=";
    char name[USER_MAX];
    size_t len;

    while (*id == ' ')
        id++;
    len = strlen(id);
    if (strncmp(id, tag, sizeof tag - 1) == 0 && len > sizeof tag - 1 && id[len - 1] == ')') {
        id += sizeof tag - 1;
        len -= sizeof tag;   /* the tag and the closing parenthesis */
    }
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), id);
    addr_lower(name, user, cap);
}

int authlock_session_failed(moat_runtime *rt, const char *ip, const char *user_in, time_t now,
                            moat_verdict *v, const char **why)
{
    ctx c = context(rt, now, why);
    char user[USER_MAX];
    authlock_location loc;
    const char *locked = NULL;
    int fam = 0, trusted = 1, failed;

    verdict_init(v, "accept");
    if (user_in == NULL || authlock_in_networks(c.sec, "exempt_networks", ip))
        return 0;
    fail_id_user(user_in, user, sizeof user);
    if (user[0] == '\0')
        return 0;
    locate(&c, ip, &loc);
    /* the class is judged inside the write, on the count this failure adds to */
    (void)moat_store_batch_begin(rt->store);
    failed = failing_ip(&c, user, ip, &trusted) != 0 ||
             (fam = familiar_is(rt->store, user, &loc, trusted, now)) < 0 ||
             client_failure(&c, &loc, &locked) != 0 ||
             user_failure(&c, user, &loc, fam, &locked) != 0;
    if (moat_store_batch_end(rt->store) != STORE_OK || failed) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    verdict_add(v, "reason", locked ? locked : "failure_recorded");
    if (locked)
        log_decision(&c, v, &loc, user, fam);
    return 0;
}

int authlock_attempt_failed(moat_runtime *rt, const char *ip, const char *user, time_t now,
                            moat_verdict *v, const char **why)
{
    ctx c = context(rt, now, why);
    authlock_location loc;
    const char *locked = NULL;
    int failed;

    if (user != NULL && user[0] != '\0')
        return authlock_session_failed(rt, ip, user, now, v, why);
    verdict_init(v, "accept");
    if (authlock_in_networks(c.sec, "exempt_networks", ip))
        return 0;
    locate(&c, ip, &loc);
    (void)moat_store_batch_begin(rt->store);
    failed = client_failure(&c, &loc, &locked) != 0;
    if (moat_store_batch_end(rt->store) != STORE_OK || failed) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    verdict_add(v, "reason", locked ? locked : "failure_recorded");
    if (locked)
        log_decision(&c, v, &loc, NULL, -1);
    return 0;
}

/* forget - delete the keys fmt(a) of a subject being unlocked */
static int forget(moat_store *st, const authlock_key_kind *kinds, size_t n, const char *a)
{
    char key[STORE_KEY_MAX + 1];

    for (size_t i = 0; i < n; i++) {
        authlock_key(key, sizeof key, kinds[i], a);
        if (moat_store_del(st, key) != STORE_OK)
            return -1;
    }
    return 0;
}

/* lift - lift subject's block; 1 when it was in force, 0 when not, -1 on a store error */
static int lift(moat_store *st, const char *subject)
{
    long until;
    int active = block_active(st, "authlock", subject, time(NULL), &until);

    if (active < 0 || block_lift(st, "authlock", subject) != 0)
        return -1;
    return active;
}

/* unlock_user - lift a user's locks (both classes) and forget her counts; 1 if locked */
static int unlock_user(moat_runtime *rt, const char *name)
{
    static const authlock_key_kind user_keys[] = {AUTHLOCK_KEY_UNFAMILIAR, AUTHLOCK_KEY_FAMILIAR,
                                                  AUTHLOCK_KEY_USER_IPS, AUTHLOCK_KEY_USER_ASNS};
    char subject[STORE_KEY_MAX], user[USER_MAX];
    int was, other;

    addr_lower(name, user, sizeof user);
    if (authlock_release(rt, user) != 0 ||
        forget(rt->store, user_keys, sizeof user_keys / sizeof user_keys[0], user) != 0)
        return -1;
    snprintf(subject, sizeof subject, "user:%s:unfamiliar", user);
    if ((was = lift(rt->store, subject)) < 0)
        return -1;
    snprintf(subject, sizeof subject, "user:%s:familiar", user);
    if ((other = lift(rt->store, subject)) < 0)
        return -1;
    return was || other;
}

int authlock_unlock(moat_runtime *rt, const char *what)
{
    static const authlock_key_kind ip_keys[] = {AUTHLOCK_KEY_IP, AUTHLOCK_KEY_SPRAY};
    static const authlock_key_kind net_keys[] = {AUTHLOCK_KEY_NET};
    static const authlock_key_kind asn_keys[] = {AUTHLOCK_KEY_ASN};
    char subject[STORE_KEY_MAX], text[MOAT_IP_TEXT_MAX];
    const authlock_key_kind *keys;
    size_t nkeys;
    moat_cidr cidr;
    int was;

    /* An unlocked subject starts afresh: its counters go too, or its next
     * failure would lock it again at once. "user:NAME" is NAME as a user,
     * whatever it looks like (an address, AS7). */
    if (strncmp(what, "user:", 5) == 0) {
        return unlock_user(rt, what + 5);
    } else if (net_parse_ip(what, &cidr.ip) == 0) {
        net_format_ip(&cidr.ip, text, sizeof text);
        snprintf(subject, sizeof subject, "ip:%s", text);
        keys = ip_keys;
        nkeys = sizeof ip_keys / sizeof ip_keys[0];
    } else if (net_parse_cidr(what, &cidr) == 0) {
        net_network(&cidr.ip, cidr.prefix, cidr.prefix, text, sizeof text);
        snprintf(subject, sizeof subject, "net:%s", text);
        keys = net_keys;
        nkeys = 1;
    } else if ((what[0] == 'A' || what[0] == 'a') && (what[1] == 'S' || what[1] == 's') &&
               what[2] != '\0' && strspn(what + 2, "0123456789") == strlen(what + 2)) {
        snprintf(text, sizeof text, "AS%lu", strtoul(what + 2, NULL, 10));
        snprintf(subject, sizeof subject, "asn:%s", text);
        keys = asn_keys;
        nkeys = 1;
    } else {
        return unlock_user(rt, what);
    }
    if ((was = lift(rt->store, subject)) < 0 || forget(rt->store, keys, nkeys, text) != 0)
        return -1;
    return was;
}
