/*
 * authlock.c - SMTP-AUTH decisions: counters in sliding windows, the
 * escalation ladder, familiar locations, identical wrong passwords counted
 * once, success forgives, country/ASN rules.
 *
 * Store keys (prefix authlock:): ip:<ip>, net:<net>, asn:<n> (failure
 * counters), spray:<ip> (distinct users failing from an IP), uips:<user>
 * (distinct IPs failing for a user), uf:<user> / ff:<user> (failures from
 * unfamiliar / familiar locations), pw:<user>:<ip> (hashes of recent wrong
 * passwords), fam:<user>|net:<net> and fam:<user>|asn:AS<n> (familiar
 * locations), and
 * the blocks of common/block.h: block:ip:<ip>, block:net:<net>,
 * block:asn:<n>, block:user:<user>:unfamiliar, block:user:<user>:familiar.
 */
#include "authlock.h"
#include "containment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "block.h"
#include "geo.h"
#include "log.h"
#include "net.h"
#include "pwhash.h"

#define USER_MAX 128

typedef struct location {
    const char *ip;
    char net[MOAT_IP_TEXT_MAX];
    geo_info geo;
    int has_geo;
} location;

typedef struct ctx {
    moat_runtime *rt;
    cfg_t *sec;
    time_t now;
    const char **why;
} ctx;

static store_status fail_store(const ctx *c)
{
    *c->why = moat_store_last_error(c->rt->store);
    return STORE_ERROR;
}

static void locate(const ctx *c, const char *ip, location *loc)
{
    moat_ip parsed;

    memset(loc, 0, sizeof *loc);
    loc->ip = ip;
    if (net_parse_ip(ip, &parsed) == 0)
        net_network(&parsed, (int)cfg_getint(c->sec, "v4_prefix"),
                    (int)cfg_getint(c->sec, "v6_prefix"), loc->net, sizeof loc->net);
    loc->has_geo = geo_lookup(c->rt->config->geoip.country_db, c->rt->config->geoip.asn_db, ip,
                              c->now, &loc->geo);
}

static void user_key(const char *user, char *out)
{
    addr_lower(user, out, USER_MAX);
}

/* in_list - whether value is in the string list opt of sec (case-insensitive) */
static int in_list(cfg_t *sec, const char *opt, const char *value)
{
    unsigned i;

    for (i = 0; value && *value && i < cfg_size(sec, opt); i++)
        if (strcasecmp(cfg_getnstr(sec, opt, i), value) == 0)
            return 1;
    return 0;
}

/* asn_text - "AS64500", or "" when unknown */
static void asn_text(const location *loc, char *out, size_t cap)
{
    if (loc->geo.asn)
        snprintf(out, cap, "AS%u", loc->geo.asn);
    else
        out[0] = '\0';
}

/* geo_refused - the country/ASN rules for this location (and the user's domain): reason or NULL */
static const char *geo_refused(const ctx *c, const location *loc, const char *user)
{
    char asn[24];
    const char *at = user ? strrchr(user, '@') : NULL;
    cfg_t *dom = at ? cfg_gettsec(c->sec, "domain", at + 1) : NULL;

    if (!loc->has_geo)
        return NULL;
    asn_text(loc, asn, sizeof asn);
    if (loc->geo.country[0] && in_list(c->sec, "deny_countries", loc->geo.country))
        return "country_denied";
    if (cfg_size(c->sec, "allow_countries") && loc->geo.country[0] &&
        !in_list(c->sec, "allow_countries", loc->geo.country))
        return "country_not_allowed";
    if (asn[0] && in_list(c->sec, "deny_asns", asn))
        return "asn_denied";
    if (cfg_size(c->sec, "allow_asns") && asn[0] && !in_list(c->sec, "allow_asns", asn))
        return "asn_not_allowed";
    if (dom && loc->geo.country[0]) {
        if (in_list(dom, "deny_countries", loc->geo.country))
            return "country_denied";
        if (cfg_size(dom, "allow_countries") && !in_list(dom, "allow_countries", loc->geo.country))
            return "country_not_allowed";
    }
    return NULL;
}

/* client_blocked - whether ip, its network or its ASN is blocked: 1/0, -1 on a store error */
static int client_blocked(const ctx *c, const location *loc, const char **what)
{
    char subject[96], asn[24];
    int r;

    snprintf(subject, sizeof subject, "ip:%s", loc->ip);
    if ((r = block_active(c->rt->store, "authlock", subject, c->now, NULL)) != 0) {
        *what = "ip_blocked";
        return r;
    }
    if (loc->net[0]) {
        snprintf(subject, sizeof subject, "net:%s", loc->net);
        if ((r = block_active(c->rt->store, "authlock", subject, c->now, NULL)) != 0) {
            *what = "net_blocked";
            return r;
        }
    }
    asn_text(loc, asn, sizeof asn);
    if (asn[0]) {
        snprintf(subject, sizeof subject, "asn:%s", asn);
        if ((r = block_active(c->rt->store, "authlock", subject, c->now, NULL)) != 0) {
            *what = "asn_blocked";
            return r;
        }
    }
    return 0;
}

/* exempt - whether ip is in exempt_networks (never counted, never refused) */
static int exempt(const ctx *c, const char *ip)
{
    moat_ip parsed;
    unsigned i;

    if (net_parse_ip(ip, &parsed) != 0)
        return 0;
    for (i = 0; i < cfg_size(c->sec, "exempt_networks"); i++) {
        moat_cidr cidr;
        if (net_parse_cidr(cfg_getnstr(c->sec, "exempt_networks", i), &cidr) == 0 &&
            net_in_cidr(&parsed, &cidr))
            return 1;
    }
    return 0;
}

static block_policy ladder(cfg_t *sec)
{
    block_policy p = {cfg_getint(sec, "block_time"), cfg_getint(sec, "block_max"),
                      cfg_getint(sec, "repeat_window"), cfg_getint(sec, "repeat_after"),
                      cfg_getint(sec, "repeat_block")};
    return p;
}

static void log_decision(const ctx *c, const moat_verdict *v, const location *loc,
                         const char *user, int familiar)
{
    char action[16] = "", reason[48] = "", delay[16] = "", asn[24];

    verdict_get(v->text, "action", action, sizeof action);
    verdict_get(v->text, "reason", reason, sizeof reason);
    verdict_get(v->text, "delay", delay, sizeof delay);
    asn_text(loc, asn, sizeof asn);
    moat_log(MOAT_LOG_INFO, "moat authlock: action=%s reason=%s ip=%s user=%s country=%s asn=%s "
             "familiar=%s%s%s%s", action, reason, loc->ip, user ? user : "-",
             loc->geo.country[0] ? loc->geo.country : "-", asn[0] ? asn : "-",
             familiar < 0 ? "-" : familiar ? "yes" : "no", delay[0] ? " delay=" : "", delay,
             moat_config_log_only(c->rt->config, "authlock") ? " mode=log-only" : "");
}

static void refusal(cfg_t *sec, moat_verdict *v, const char *reason)
{
    int drop = cfg_getint(sec, "refuse") == 1;

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
    ctx c = {rt, moat_config_module(rt->config, "authlock"), now, why};
    location loc;
    const char *what = NULL;
    char key[128];
    uint64_t failures = 0;
    long delay, after;
    int r;

    locate(&c, ip, &loc);
    verdict_init(v, "accept");
    if (exempt(&c, ip))
        return 0;
    if (at_connect && !cfg_getbool(c.sec, "block_at_connect"))
        return 0;
    r = client_blocked(&c, &loc, &what);
    if (r < 0)
        return fail_store(&c);
    if (r > 0) {
        refusal(c.sec, v, what);
        log_decision(&c, v, &loc, NULL, -1);
        apply_log_only(&c, v);
        return 0;
    }
    if (at_connect)
        return 0;
    if ((what = geo_refused(&c, &loc, NULL)) != NULL) {
        refusal(c.sec, v, what);
        log_decision(&c, v, &loc, NULL, -1);
        apply_log_only(&c, v);
        return 0;
    }
    snprintf(key, sizeof key, "authlock:ip:%s", ip);
    if (moat_store_counter_get(rt->store, key, (uint32_t)cfg_getint(c.sec, "window"), now,
                               &failures) != STORE_OK)
        return fail_store(&c);
    after = cfg_getint(c.sec, "tarpit_after");
    if ((long)failures >= after) {
        delay = cfg_getint(c.sec, "tarpit_base") * ((long)failures - after + 1);
        if (delay > cfg_getint(c.sec, "tarpit_max"))
            delay = cfg_getint(c.sec, "tarpit_max");
        verdict_add(v, "reason", "tarpit");
        verdict_addf(v, "delay", "%lds", delay);
        verdict_add_int(v, "failures", (long long)failures);
        log_decision(&c, v, &loc, NULL, -1);
        apply_log_only(&c, v);
    }
    return 0;
}

/* familiar - whether loc is one the user has logged in from (see docs/authlock.md) */
static int familiar(const ctx *c, const char *ukey, const location *loc, uint64_t failing_ips)
{
    char probe[USER_MAX + 128];
    size_t len;
    /* Failures for the user from many addresses: a distributed guess is under
     * way, and an ASN shared with the attacker no longer vouches for anyone. */
    int trust_asn = failing_ips < (uint64_t)cfg_getint(c->sec, "distributed_ips");

    /* Each familiar location is a value "authlock:fam:<user>|<location>". */
    snprintf(probe, sizeof probe, "authlock:fam:%s|net:%s", ukey, loc->net);
    if (loc->net[0] &&
        moat_store_get(c->rt->store, probe, NULL, 0, &len, NULL, c->now) == STORE_OK)
        return 1;
    if (trust_asn && loc->geo.asn) {
        snprintf(probe, sizeof probe, "authlock:fam:%s|asn:AS%u", ukey, loc->geo.asn);
        if (moat_store_get(c->rt->store, probe, NULL, 0, &len, NULL, c->now) == STORE_OK)
            return 1;
    }
    return 0;
}

/* remember_location - a successful login makes its network and ASN familiar */
static int remember_location(const ctx *c, const char *ukey, const location *loc)
{
    char probe[USER_MAX + 128];
    uint32_t ttl = (uint32_t)cfg_getint(c->sec, "familiar_ttl");

    if (loc->net[0]) {
        snprintf(probe, sizeof probe, "authlock:fam:%s|net:%s", ukey, loc->net);
        if (moat_store_set(c->rt->store, probe, "1", 1, ttl, c->now) != STORE_OK)
            return -1;
    }
    if (loc->geo.asn) {
        snprintf(probe, sizeof probe, "authlock:fam:%s|asn:AS%u", ukey, loc->geo.asn);
        if (moat_store_set(c->rt->store, probe, "1", 1, ttl, c->now) != STORE_OK)
            return -1;
    }
    return 0;
}

/* count - add one to a failure counter; its new value, or -1 */
static long count(const ctx *c, const char *fmt, const char *a, uint32_t window)
{
    char key[STORE_KEY_MAX + 1];
    uint64_t n = 0;

    snprintf(key, sizeof key, fmt, a);
    if (moat_store_counter_add(c->rt->store, key, window, 1, c->now, &n) != STORE_OK)
        return -1;
    return (long)n;
}

/* escalate - block subject ("ip:...", "user:...:unfamiliar") on the ladder; 0 or -1 */
static int escalate(const ctx *c, const char *subject, long *secs)
{
    block_policy p = ladder(c->sec);

    return block_escalate(c->rt->store, "authlock", subject, &p, c->now, secs);
}

/* asn_threshold - the threshold of loc's ASN: its own section, else asn_threshold */
static long asn_threshold(const ctx *c, const location *loc)
{
    char title[24];
    cfg_t *a;

    snprintf(title, sizeof title, "AS%u", loc->geo.asn);
    a = cfg_gettsec(c->sec, "asn", title);
    return a ? cfg_getint(a, "threshold") : cfg_getint(c->sec, "asn_threshold");
}

/*
 * record_failure - count one failure of user from loc; blocks and locks as
 * thresholds are crossed. *locked_reason gets what was locked, if anything.
 */
static int record_failure(const ctx *c, const char *ukey, const location *loc, int is_familiar,
                          const char **locked_reason)
{
    uint32_t window = (uint32_t)cfg_getint(c->sec, "window");
    char subject[USER_MAX + 64], asn[24], key[STORE_KEY_MAX + 1];
    long n, secs = 0;
    uint64_t users = 0;

    *locked_reason = NULL;
    if ((n = count(c, "authlock:ip:%s", loc->ip, window)) < 0)
        return -1;
    if (n >= cfg_getint(c->sec, "ip_threshold")) {
        snprintf(subject, sizeof subject, "ip:%s", loc->ip);
        if (escalate(c, subject, &secs) != 0)
            return -1;
        *locked_reason = "ip_blocked";
    }
    if (loc->net[0]) {
        if ((n = count(c, "authlock:net:%s", loc->net, window)) < 0)
            return -1;
        if (n >= cfg_getint(c->sec, "net_threshold")) {
            snprintf(subject, sizeof subject, "net:%s", loc->net);
            if (escalate(c, subject, &secs) != 0)
                return -1;
            *locked_reason = "net_blocked";
        }
    }
    asn_text(loc, asn, sizeof asn);
    if (asn[0]) {
        if ((n = count(c, "authlock:asn:%s", asn, window)) < 0)
            return -1;
        if (n >= asn_threshold(c, loc)) {
            snprintf(subject, sizeof subject, "asn:%s", asn);
            if (escalate(c, subject, &secs) != 0)
                return -1;
            *locked_reason = "asn_blocked";
        }
    }
    if (ukey[0]) {
        snprintf(key, sizeof key, "authlock:spray:%s", loc->ip);
        if (moat_store_distinct_add_max(c->rt->store, key, ukey, window, c->now,
                                        (uint64_t)cfg_getint(c->sec, "spray_threshold"),
                                        &users) != STORE_OK)
            return -1;
        if (users >= (uint64_t)cfg_getint(c->sec, "spray_threshold")) {
            snprintf(subject, sizeof subject, "ip:%s", loc->ip);
            if (escalate(c, subject, &secs) != 0)
                return -1;
            *locked_reason = "spraying";
        }
        if ((n = count(c, is_familiar ? "authlock:ff:%s" : "authlock:uf:%s", ukey, window)) < 0)
            return -1;
        if (n >= cfg_getint(c->sec, is_familiar ? "user_familiar_threshold" : "user_threshold")) {
            block_policy p = {cfg_getint(c->sec, "user_lock_time"),
                              cfg_getint(c->sec, "block_max"), cfg_getint(c->sec, "repeat_window"),
                              0, 0};
            snprintf(subject, sizeof subject, "user:%s:%s", ukey,
                     is_familiar ? "familiar" : "unfamiliar");
            if (block_escalate(c->rt->store, "authlock", subject, &p, c->now, &secs) != 0)
                return -1;
            if (*locked_reason == NULL)
                *locked_reason = "user_locked";
        }
    }
    return 0;
}

/* forgive - a success clears the failures of that (user, location class) */
static int forgive(const ctx *c, const char *ukey, int is_familiar)
{
    char key[USER_MAX + 32];

    snprintf(key, sizeof key, is_familiar ? "authlock:ff:%s" : "authlock:uf:%s", ukey);
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

/* secret - the per-install HMAC secret of this process (NULL when unavailable) */
static const unsigned char *secret(const ctx *c)
{
    static unsigned char key[32];
    static int state;   /* 0 unknown, 1 loaded, -1 unavailable */
    char path[4200], err[512];
    const char *conf = cfg_getstr(c->sec, "secret_file");

    if (state == 0) {
        if (conf && *conf)
            snprintf(path, sizeof path, "%s", conf);
        else
            snprintf(path, sizeof path, "%s/authlock.secret", c->rt->config->store.path);
        if (pwhash_secret(path, key, sizeof key, err, sizeof err) == 0) {
            state = 1;
        } else {
            state = -1;
            moat_log_once("authlock:secret", MOAT_LOG_WARN,
                          "moat authlock: %s: every wrong password counts", err);
        }
    }
    return state == 1 ? key : NULL;
}

/* repeated_password - whether this wrong password was already counted for (user, ip) */
static int repeated_password(const ctx *c, const char *ukey, const location *loc,
                             const char *password)
{
    const unsigned char *k = secret(c);
    char hash[PWHASH_HEX], key[STORE_KEY_MAX + 1];
    uint32_t window = (uint32_t)cfg_getint(c->sec, "window");
    store_status seen;

    if (k == NULL || password == NULL)
        return 0;
    pwhash(k, 32, ukey, password, hash);
    snprintf(key, sizeof key, "authlock:pw:%s:%s", ukey, loc->ip);
    seen = moat_store_distinct_contains(c->rt->store, key, hash, window, c->now);
    if (seen == STORE_ERROR ||
        moat_store_distinct_add_max(c->rt->store, key, hash, window, c->now, 1, NULL) != STORE_OK)
        return -1;
    return seen == STORE_OK;
}

/* judge - the shared core of a credential verdict */
static int judge(const ctx *c, const char *ip, const char *user, const char *password,
                 int real_ok, moat_verdict *v)
{
    char ukey[USER_MAX], subject[USER_MAX + 64], key[STORE_KEY_MAX + 1];
    location loc;
    const char *what = NULL, *locked = NULL;
    uint64_t failing_ips = 0;
    int r, fam, repeat = 0;

    user_key(user ? user : "", ukey);
    locate(c, ip, &loc);
    if (exempt(c, ip)) {
        credentials_verdict(v, real_ok, real_ok ? "ok_exempt" : "bad_credentials_exempt");
        return 0;
    }
    r = client_blocked(c, &loc, &what);
    if (r < 0)
        return -1;
    if (r > 0) {
        credentials_verdict(v, 0, what);
        log_decision(c, v, &loc, user, -1);
        return 0;
    }
    if ((what = geo_refused(c, &loc, ukey)) != NULL) {
        credentials_verdict(v, 0, what);
        log_decision(c, v, &loc, user, -1);
        return 0;
    }
    snprintf(key, sizeof key, "authlock:uips:%s", ukey);
    if (moat_store_distinct_add_max(c->rt->store, key, NULL,
                                    (uint32_t)cfg_getint(c->sec, "window"), c->now,
                                    (uint64_t)cfg_getint(c->sec, "distributed_ips"),
                                    &failing_ips) != STORE_OK)
        return -1;
    if ((r = authlock_sending_locked(c->rt, ukey, c->now)) != 0) {
        if (r < 0)
            return -1;
        /* Contained after sending too much: locked for AUTH until an admin unlocks. */
        credentials_verdict(v, 0, "sending_locked");
        log_decision(c, v, &loc, user, -1);
        return 0;
    }
    fam = familiar(c, ukey, &loc, failing_ips);
    snprintf(subject, sizeof subject, "user:%s:%s", ukey, fam ? "familiar" : "unfamiliar");
    r = block_active(c->rt->store, "authlock", subject, c->now, NULL);
    if (r < 0)
        return -1;
    if (r > 0) {
        /* Locked here: even the right password fails, so a guesser learns nothing. */
        credentials_verdict(v, 0, "user_locked");
        log_decision(c, v, &loc, user, fam);
        return 0;
    }
    if (real_ok) {
        if (remember_location(c, ukey, &loc) != 0 || forgive(c, ukey, fam) != 0)
            return -1;
        credentials_verdict(v, 1, "ok");
        moat_log(MOAT_LOG_DEBUG, "moat authlock: action=accept reason=ok ip=%s user=%s", ip, user);
        return 0;
    }
    if ((repeat = repeated_password(c, ukey, &loc, password)) < 0)
        return -1;
    if (!repeat) {
        if (moat_store_distinct_add_max(c->rt->store, key, ip,
                                        (uint32_t)cfg_getint(c->sec, "window"), c->now,
                                        (uint64_t)cfg_getint(c->sec, "distributed_ips"),
                                        &failing_ips) != STORE_OK)
            return -1;
        if (record_failure(c, ukey, &loc, fam, &locked) != 0)
            return -1;
    }
    credentials_verdict(v, 0, locked ? locked : repeat ? "bad_credentials_repeated"
                                                       : "bad_credentials");
    log_decision(c, v, &loc, user, fam);
    return 0;
}

/* in_networks - whether ip is in the CIDR list opt */
static int in_networks(cfg_t *sec, const char *opt, const char *ip)
{
    moat_ip parsed;
    unsigned i;

    if (net_parse_ip(ip, &parsed) != 0)
        return 0;
    for (i = 0; i < cfg_size(sec, opt); i++) {
        moat_cidr cidr;
        if (net_parse_cidr(cfg_getnstr(sec, opt, i), &cidr) == 0 && net_in_cidr(&parsed, &cidr))
            return 1;
    }
    return 0;
}

int authlock_where(moat_runtime *rt, const char *ip, int port, int tls, time_t now,
                   moat_verdict *v, const char **why)
{
    ctx c = {rt, moat_config_module(rt->config, "authlock"), now, why};
    const char *reason = NULL, *text = NULL, *code = "503", *xcode = "5.5.1";
    location loc;
    unsigned i;
    int port_ok = cfg_size(c.sec, "auth_ports") == 0;

    if (in_networks(c.sec, "internal_networks", ip))
        return 0;   /* inside: AUTH anywhere */
    for (i = 0; i < cfg_size(c.sec, "auth_ports"); i++)
        if (cfg_getnint(c.sec, "auth_ports", i) == port)
            port_ok = 1;
    if (!port_ok) {
        reason = "auth_wrong_port";
        text = "Authentication is not offered on this port; use the submission port";
    } else if (cfg_getbool(c.sec, "auth_require_tls") && !tls) {
        reason = "auth_needs_tls";
        code = "538";
        xcode = "5.7.11";
        text = "Encryption required for requested authentication mechanism";
    }
    if (reason == NULL)
        return 0;
    locate(&c, ip, &loc);
    /* An AUTH where it does not belong is a failure: guessers find port 25 first. */
    if (count(&c, "authlock:ip:%s", ip, (uint32_t)cfg_getint(c.sec, "window")) < 0)
        return fail_store(&c);
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
    ctx c = {rt, moat_config_module(rt->config, "authlock"), now, why};

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

int authlock_session_failed(moat_runtime *rt, const char *ip, const char *user, time_t now,
                            moat_verdict *v, const char **why)
{
    ctx c = {rt, moat_config_module(rt->config, "authlock"), now, why};
    char ukey[USER_MAX];
    location loc;
    const char *locked = NULL;
    int fam;

    verdict_init(v, "accept");
    if (user == NULL || *user == '\0' || exempt(&c, ip))
        return 0;
    user_key(user, ukey);
    locate(&c, ip, &loc);
    fam = familiar(&c, ukey, &loc, 0);
    if (record_failure(&c, ukey, &loc, fam, &locked) != 0) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    verdict_add(v, "reason", locked ? locked : "failure_recorded");
    return 0;
}

int authlock_unlock(moat_runtime *rt, const char *what)
{
    char subject[USER_MAX + 64], ukey[USER_MAX];
    moat_cidr cidr;

    if (net_parse_ip(what, &cidr.ip) == 0) {
        snprintf(subject, sizeof subject, "ip:%s", what);
        return block_lift(rt->store, "authlock", subject);
    }
    if (net_parse_cidr(what, &cidr) == 0) {
        snprintf(subject, sizeof subject, "net:%s", what);
        return block_lift(rt->store, "authlock", subject);
    }
    if ((what[0] == 'A' || what[0] == 'a') && (what[1] == 'S' || what[1] == 's') &&
        what[2] >= '0' && what[2] <= '9') {
        snprintf(subject, sizeof subject, "asn:AS%s", what + 2);
        return block_lift(rt->store, "authlock", subject);
    }
    user_key(what, ukey);
    if (authlock_release(rt, ukey) != 0)
        return -1;
    snprintf(subject, sizeof subject, "user:%s:unfamiliar", ukey);
    if (block_lift(rt->store, "authlock", subject) != 0)
        return -1;
    snprintf(subject, sizeof subject, "user:%s:familiar", ukey);
    return block_lift(rt->store, "authlock", subject);
}
