/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rejects.c - remote rejections of a user's recipients as a containment signal.
 *
 * Store key: authlock:rej:<user> (distinct rejected recipients, 24 h
 * window, next to authlock:out:<user>, the distinct recipients sent). A
 * recipient refused again on a later try counts once.
 */
#include "rejects.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "containment.h"
#include "log.h"
#include "store_keys.h"

#define DAY 86400
#define USER_MAX AUTHLOCK_USER_MAX

/*
 * rcpt_reply - the reply code and enhanced status of a refusal at RCPT in
 * Exim's message ("... after [pipelined ]RCPT TO:<a@b> [params]: 550 5.1.1 text");
 * the code, 0 when the message is no answer to RCPT.
 */
static int rcpt_reply(const char *data, char *enh, size_t enhlen)
{
    const char *p = data ? strstr(data, "RCPT TO:") : NULL, *gt;
    size_t n = 0;
    int code;

    enh[0] = '\0';
    if (p == NULL)
        return 0;
    if ((gt = strchr(p, '>')) != NULL)
        p = gt;
    for (; (p = strstr(p, ": ")) != NULL; p++) {
        const unsigned char *c = (const unsigned char *)p + 2;
        if (isdigit(c[0]) && isdigit(c[1]) && isdigit(c[2]) &&
            (c[3] == ' ' || c[3] == '-' || c[3] == '\0'))
            break;
    }
    if (p == NULL)
        return 0;
    p += 2;
    code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 3;
    if (*p == ' ' || *p == '-') {
        p++;
        /* an enhanced status: class "." subject "." detail (RFC 3463) */
        while (n + 1 < enhlen && (isdigit((unsigned char)p[n]) || p[n] == '.'))
            n++;
        if (n >= 5 && p[1] == '.' && (p[n] == ' ' || p[n] == '\0')) {
            memcpy(enh, p, n);
            enh[n] = '\0';
        }
    }
    return code;
}

int authlock_remote_rejection(const char *event, const char *data)
{
    char enh[16];
    int code;

    if (event == NULL)
        return 0;
    code = rcpt_reply(data, enh, sizeof enh);
    if (strcmp(event, "msg:fail:delivery") == 0)
        return code >= 500 && code <= 599 && strncmp(enh, "5.7.", 4) != 0;
    if (strcmp(event, "msg:rcpt:defer") == 0)
        return code >= 400 && code <= 499 && strncmp(enh, "4.1.", 4) == 0;
    return 0;
}

rejects_state authlock_rejects_judge(uint64_t rejected, uint64_t sent, long floor, long percent)
{
    uint64_t base = sent > rejected ? sent : rejected;

    if (floor <= 0 || rejected == 0)
        return REJECTS_FINE;
    /* a share of what the user sent: a busy sender's few bounces are no sign */
    if (rejected * 100 < (uint64_t)percent * base)
        return REJECTS_FINE;
    if (rejected >= (uint64_t)floor)
        return REJECTS_OVER;
    return rejected * 2 >= (uint64_t)floor ? REJECTS_WARNING : REJECTS_FINE;
}

/* count - the user's rejected recipients of the day, adding recipient unless NULL */
static int count(moat_runtime *rt, const char *ukey, const char *recipient, time_t now,
                 uint64_t *rejected)
{
    char key[STORE_KEY_MAX + 1];

    authlock_key(key, sizeof key, AUTHLOCK_KEY_REJECTED, ukey);
    return moat_store_distinct_add(rt->store, key, recipient, DAY, now, rejected) == STORE_OK
               ? 0 : -1;
}

int authlock_rejects_state(moat_runtime *rt, const char *ukey, uint64_t sent, time_t now,
                           uint64_t *rejected, rejects_state *state)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    long floor = moat_cfg_int(sec, "send_reject_floor");

    *rejected = 0;
    *state = REJECTS_FINE;
    if (floor <= 0)
        return 0;
    if (count(rt, ukey, NULL, now, rejected) != 0)
        return -1;
    *state = authlock_rejects_judge(*rejected, sent, floor,
                                    moat_cfg_int(sec, "send_reject_percent"));
    return 0;
}

int authlock_rejected(moat_runtime *rt, const char *event, const char *user,
                      const char *recipient, const char *data, time_t now, moat_verdict *v,
                      const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "authlock");
    char ukey[USER_MAX], rkey[ADDR_TEXT_MAX + 1], key[STORE_KEY_MAX + 1];
    uint64_t rejected = 0, sent = 0;
    long floor = moat_cfg_int(sec, "send_reject_floor"), percent;
    int locked, log_only = moat_config_log_only(rt->config, "authlock");

    verdict_init(v, "accept");
    if (user == NULL || user[0] == '\0' || floor <= 0 ||
        !authlock_remote_rejection(event, data)) {
        verdict_add(v, "reason", "not_counted");
        return 0;
    }
    percent = moat_cfg_int(sec, "send_reject_percent");
    addr_lower(user, ukey, sizeof ukey);
    addr_lower(recipient ? recipient : "", rkey, sizeof rkey);
    if (count(rt, ukey, rkey, now, &rejected) != 0)
        goto store_error;
    authlock_key(key, sizeof key, AUTHLOCK_KEY_OUT, ukey);
    if (moat_store_distinct_add(rt->store, key, NULL, DAY, now, &sent) != STORE_OK)
        goto store_error;
    verdict_add_int(v, "rejected", (long long)rejected);
    if (authlock_rejects_judge(rejected, sent, floor, percent) != REJECTS_OVER) {
        verdict_add(v, "reason", "rejected");
        return 0;
    }
    if ((locked = authlock_sending_locked(rt, ukey, now)) < 0)
        goto store_error;
    if (locked) {
        verdict_add(v, "reason", "sending_locked");
        return 0;
    }
    if (!log_only && authlock_lock_sending(rt, ukey, now) != 0)
        goto store_error;
    moat_log(MOAT_LOG_ERROR, "moat authlock: action=contain reason=reject_limit user=%s "
             "rejected=%llu recipients=%llu floor=%ld percent=%ld%s: remote servers refused "
             "too many of the user's recipients; account locked for sending and AUTH until "
             "moatctl authlock unlock %s", ukey, (unsigned long long)rejected,
             (unsigned long long)sent, floor, percent, log_only ? " mode=log-only" : "", ukey);
    verdict_add(v, "reason", "reject_limit");
    return 0;

store_error:
    *why = moat_store_last_error(rt->store);
    return -1;
}

int authlock_rejects_forget(moat_runtime *rt, const char *ukey)
{
    char key[STORE_KEY_MAX + 1];

    authlock_key(key, sizeof key, AUTHLOCK_KEY_REJECTED, ukey);
    return moat_store_del(rt->store, key) == STORE_OK ? 0 : -1;
}
