/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * familiar.c - familiar locations per user, kept as store values
 * "authlock:fam:<user>|net:<network>" and "authlock:fam:<user>|asn:AS<n>"
 * that expire familiar_ttl after the last successful login from there.
 */
#include "familiar.h"
#include "store_keys.h"

#include <stdio.h>

/* known - whether the value fam:<user>|<kind>:<what> exists: 1/0/-1 */
static int known(moat_store *st, const char *user, const char *kind, const char *what,
                 time_t now)
{
    char key[STORE_KEY_MAX + 1];
    size_t len = 0;

    authlock_key_familiar(key, sizeof key, user, kind, what);
    switch (moat_store_get(st, key, NULL, 0, &len, NULL, now)) {
    case STORE_OK:
        return 1;
    case STORE_NOTFOUND:
        return 0;
    default:
        return -1;
    }
}

int familiar_is(moat_store *st, const char *user, const authlock_location *loc, int trust_asn,
                time_t now)
{
    int r = 0;

    if (loc->net[0] && (r = known(st, user, "net", loc->net, now)) != 0)
        return r;
    if (trust_asn && loc->asn[0])
        r = known(st, user, "asn", loc->asn, now);
    return r;
}

/* learn - (re)set one familiar value */
static int learn(moat_store *st, const char *user, const char *kind, const char *what,
                 uint32_t ttl, time_t now)
{
    char key[STORE_KEY_MAX + 1];

    authlock_key_familiar(key, sizeof key, user, kind, what);
    return moat_store_set(st, key, "1", 1, ttl, now) == STORE_OK ? 0 : -1;
}

int familiar_remember(moat_store *st, const char *user, const authlock_location *loc,
                      uint32_t ttl, time_t now)
{
    if (loc->net[0] && learn(st, user, "net", loc->net, ttl, now) != 0)
        return -1;
    if (loc->asn[0] && learn(st, user, "asn", loc->asn, ttl, now) != 0)
        return -1;
    return 0;
}
