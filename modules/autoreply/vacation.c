/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vacation.c - the decision the shipped vacation responder asks moat for:
 * whether to answer at all (a plain envelope sender, a user who was
 * addressed). The reply itself is reply.c's (moatctl autoreply reply).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "autoreply.h"
#include "log.h"
#include "reply.h"

#define USER_ADDRESSES_MAX 64

/* user_addresses - user, then the addresses of its user section (any case); the count */
static size_t user_addresses(moat_runtime *rt, const char *user, const char **out, size_t cap)
{
    cfg_t *sec, *u;
    size_t n = 0;
    unsigned i, k;

    out[n++] = user;
    if (rt == NULL || (sec = moat_config_module(rt->config, "autoreply")) == NULL)
        return n;
    for (i = 0; i < cfg_size(sec, "user"); i++) {
        u = cfg_getnsec(sec, "user", i);
        if (strcasecmp(cfg_title(u), user) != 0)
            continue;
        for (k = 0; k < cfg_size(u, "addresses") && n < cap; k++)
            out[n++] = cfg_getnstr(u, "addresses", k);
    }
    return n;
}

int autoreply_vacation_check(moat_runtime *rt, const autoreply_message *m, const char *user,
                             const char **reason)
{
    const char *addresses[USER_ADDRESSES_MAX];
    char u[1281], s[1281];
    header_block hb;
    size_t n;
    int ok;

    *reason = reply_sender_problem(m->sender);
    if (*reason == NULL) {
        if (headers_parse(&hb, m->headers, m->headers_len) != 0) {
            *reason = "out_of_memory";
        } else {
            n = user_addresses(rt, user, addresses, USER_ADDRESSES_MAX);
            if (!reply_addressed(&hb, addresses, n))
                *reason = "not_addressed";
            headers_free(&hb);
        }
    }
    ok = *reason == NULL;
    if (!ok)
        moat_log(MOAT_LOG_INFO, "moat autoreply: action=skip reason=%s user=<%s> sender=<%s>",
                 *reason, moat_log_field(user, u, sizeof u),
                 moat_log_field(m->sender, s, sizeof s));
    return ok;
}

