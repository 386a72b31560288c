/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * containment.c - per-user outbound limits with a learned baseline.
 *
 * Store keys: authlock:out:<user> (distinct recipients, 24 h window),
 * authlock:msgs:<user> (messages, 24 h), authlock:base:<user> ("<day>
 * <today's count> <baseline>": the baseline is an exponentially weighted
 * mean of the user's daily distinct recipients, -1 before a first full
 * day), authlock:warned:<user> (the admin was told today), and the block
 * authlock:block:user:<user>:sending.
 */
#include "containment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "block.h"
#include "log.h"
#include "rejects.h"
#include "store_keys.h"

#define DAY 86400
#define USER_MAX AUTHLOCK_USER_MAX

/* baseline_parse - "<day> <today's count> <baseline>" (a planted value reads as none) */
static void baseline_parse(const char *val, long *day, double *last, double *ewma)
{
    const char *p = val;
    char *end;

    *day = strtol(p, &end, 10);
    if (end == p) {
        *day = 0;
        return;
    }
    p = end;
    *last = strtod(p, &end);
    if (end == p)
        return;
    p = end;
    *ewma = strtod(p, &end);
    if (end == p || !(*ewma >= 0 && *ewma < 1e12))
        *ewma = -1;
    if (!(*last >= 0 && *last < 1e12))
        *last = 0;
}

#define BASELINE_TRIES 8   /* compare-and-set rounds before giving up (never seen past 2) */

/*
 * baseline - update and return the learned daily baseline of the user: a
 * read, then a compare-and-set of what was read, so concurrent RCPTs of
 * one user (several processes, several MX hosts) fold a day into the mean
 * exactly once
 */
static int baseline(moat_store *st, const char *ukey, uint64_t today_count, time_t now,
                    double *base)
{
    char key[STORE_KEY_MAX + 1], val[96], next[96];
    long today = (long)(now / DAY);
    int tries, swapped = 0;

    *base = 0;
    authlock_key(key, sizeof key, AUTHLOCK_KEY_BASELINE, ukey);
    for (tries = 0; tries < BASELINE_TRIES && !swapped; tries++) {
        long day = 0;
        double last = 0, ewma = -1;   /* -1: no full day seen yet */
        store_status s = moat_store_get_str(st, key, val, sizeof val, NULL, now);

        if (s == STORE_ERROR)
            return -1;
        if (s == STORE_OK)
            baseline_parse(val, &day, &last, &ewma);
        /* A day has passed: its count joins the mean (the first day seeds it). */
        if (day > 0 && day < today)
            ewma = ewma < 0 ? last : 0.7 * ewma + 0.3 * last;
        *base = ewma < 0 ? 0 : ewma;
        snprintf(next, sizeof next, "%ld %llu %.3f", today, (unsigned long long)today_count,
                 ewma);
        if (s == STORE_OK && strcmp(val, next) == 0)
            return 0;                                  /* nothing to change */
        if (moat_store_swap(st, key, s == STORE_OK ? val : NULL, s == STORE_OK ? strlen(val) : 0,
                            next, strlen(next), 90 * DAY, now, &swapped) != STORE_OK)
            return -1;
    }
    return 0;   /* others kept changing it: theirs stands */
}

int authlock_sending_locked(moat_runtime *rt, const char *ukey, time_t now)
{
    char subject[USER_MAX + 32];

    snprintf(subject, sizeof subject, "user:%s:sending", ukey);
    return block_active(rt->store, "authlock", subject, now, NULL);
}

int authlock_lock_sending(moat_runtime *rt, const char *ukey, time_t now)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    block_policy p = {moat_cfg_int(sec, "send_lock_time"), moat_cfg_int(sec, "send_lock_time"),
                      moat_cfg_int(sec, "repeat_window"), 0, 0};
    char subject[USER_MAX + 32];
    long secs;

    snprintf(subject, sizeof subject, "user:%s:sending", ukey);
    return block_escalate(rt->store, "authlock", subject, &p, now, &secs) < 0 ? -1 : 0;
}

int authlock_release(moat_runtime *rt, const char *ukey)
{
    char subject[USER_MAX + 32], key[USER_MAX + 32];

    snprintf(subject, sizeof subject, "user:%s:sending", ukey);
    if (block_lift(rt->store, "authlock", subject) != 0)
        return -1;
    authlock_key(key, sizeof key, AUTHLOCK_KEY_OUT, ukey);
    if (moat_store_del(rt->store, key) != STORE_OK)
        return -1;
    return authlock_rejects_forget(rt, ukey);
}

/* contained - the verdict past a limit: 451 (log-only: accept) */
static void contained(moat_verdict *v, int log_only, const char *reason)
{
    verdict_init(v, log_only ? "accept" : "defer");
    verdict_add(v, "code", "451");
    verdict_add(v, "xcode", "4.7.1");
    verdict_add(v, "reason", reason);
    verdict_add(v, "text", "Sending limit reached for this account; contact your administrator");
}

/*
 * hold - past half a limit: the first time in a day, tell the admin (the
 * message is frozen with Exim's freeze_tell); every: hold each message for
 * review rather than let it go (the volume limit; the rejections' limit
 * needs the next deliveries' answers to lock). 0, -1 on a store error.
 */
static int hold(moat_runtime *rt, const char *ukey, int log_only, int every, const char *reason,
                const char *detail, time_t now, moat_verdict *v)
{
    char key[STORE_KEY_MAX + 1];
    store_status warned;
    int first = 0;

    authlock_key(key, sizeof key, AUTHLOCK_KEY_WARNED, ukey);
    /* one step: of processes that cross the line at once, one tells */
    if (moat_store_set_new(rt->store, key, "1", 1, DAY, now, &first) != STORE_OK)
        return -1;
    warned = first ? STORE_NOTFOUND : STORE_OK;
    if (!log_only && (every || warned == STORE_NOTFOUND))
        verdict_add(v, "held", "yes");
    verdict_add(v, "reason", reason);
    if (warned == STORE_NOTFOUND) {
        if (!log_only)
            verdict_add(v, "tell", "yes");
        moat_log(MOAT_LOG_WARN, "moat authlock: action=hold reason=%s user=%s %s%s: %s "
                 "frozen for review (moatctl authlock held %s)", reason, ukey, detail,
                 log_only ? " mode=log-only" : "", every ? "messages are" : "this message is",
                 ukey);
    }
    return 0;
}

int authlock_submit(moat_runtime *rt, const char *user, const char *recipient, int first,
                    time_t now, moat_verdict *v, const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    char ukey[USER_MAX], rkey[ADDR_TEXT_MAX + 1], key[STORE_KEY_MAX + 1];
    uint64_t recipients = 0, messages = 0, rejected = 0;
    rejects_state rstate = REJECTS_FINE;
    double base;
    long floor = moat_cfg_int(sec, "send_floor"), mult = moat_cfg_int(sec, "send_multiplier");
    long limit;
    int r, log_only = moat_config_log_only(rt->config, "authlock");

    addr_lower(user, ukey, sizeof ukey);
    addr_lower(recipient, rkey, sizeof rkey);
    verdict_init(v, "accept");
    if ((r = authlock_sending_locked(rt, ukey, now)) < 0)
        goto store_error;
    if (r > 0) {
        verdict_init(v, log_only ? "accept" : "defer");
        verdict_add(v, "code", "451");
        verdict_add(v, "xcode", "4.7.1");
        verdict_add(v, "reason", "sending_locked");
        verdict_add(v, "text", "Sending is suspended for this account; contact your administrator");
        return 0;
    }
    authlock_key(key, sizeof key, AUTHLOCK_KEY_OUT, ukey);
    if (moat_store_distinct_add(rt->store, key, rkey, DAY, now, &recipients) != STORE_OK)
        goto store_error;
    authlock_key(key, sizeof key, AUTHLOCK_KEY_MESSAGES, ukey);
    if (moat_store_counter_add(rt->store, key, DAY, first ? 1 : 0, now, &messages) != STORE_OK)
        goto store_error;
    if (baseline(rt->store, ukey, recipients, now, &base) != 0)
        goto store_error;
    limit = (long)(mult * base);
    if (limit < floor)
        limit = floor;
    if (authlock_rejects_state(rt, ukey, recipients, now, &rejected, &rstate) != 0)
        goto store_error;
    if ((long)recipients > limit || rstate == REJECTS_OVER) {
        const char *reason = (long)recipients > limit ? "sending_limit" : "reject_limit";
        if (!log_only && authlock_lock_sending(rt, ukey, now) != 0)
            goto store_error;
        moat_log(MOAT_LOG_ERROR, "moat authlock: action=contain reason=%s user=%s "
                 "recipients=%llu messages=%llu limit=%ld baseline=%.1f rejected=%llu%s: "
                 "account locked for sending and AUTH until moatctl authlock unlock %s",
                 reason, ukey, (unsigned long long)recipients, (unsigned long long)messages,
                 limit, base, (unsigned long long)rejected, log_only ? " mode=log-only" : "",
                 ukey);
        contained(v, log_only, reason);
        return 0;
    }
    if ((long)recipients * 2 > limit || rstate == REJECTS_WARNING) {
        char detail[128];
        int volume = (long)recipients * 2 > limit;

        snprintf(detail, sizeof detail, "recipients=%llu limit=%ld rejected=%llu",
                 (unsigned long long)recipients, limit, (unsigned long long)rejected);
        if (hold(rt, ukey, log_only, volume, volume ? "sending_warning" : "reject_warning",
                 detail, now, v) != 0)
            goto store_error;
    }
    verdict_add_int(v, "recipients", (long long)recipients);
    verdict_add_int(v, "limit", limit);
    verdict_add_int(v, "rejected", (long long)rejected);
    return 0;

store_error:
    *why = moat_store_last_error(rt->store);
    return -1;
}
