/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block.c - escalating blocks kept in the state store.
 */
#include "block.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int block_active(moat_store *st, const char *prefix, const char *subject, time_t now,
                 long *until)
{
    return block_active_either(st, prefix, subject, "", now, until);
}

int block_active_either(moat_store *st, const char *prefix, const char *a, const char *b,
                        time_t now, long *until)
{
    char ka[STORE_KEY_MAX + 1], kb[STORE_KEY_MAX + 1];
    const char *keys[2] = {ka, kb};
    int n = b && *b ? 2 : 1;
    time_t expires = 0;
    store_status s;

    moat_store_key(ka, sizeof ka, prefix, ":block:", a);
    if (n == 2)
        moat_store_key(kb, sizeof kb, prefix, ":block:", b);
    s = moat_store_get_first(st, keys, n, NULL, &expires, now);
    if (s == STORE_ERROR)
        return -1;
    if (s == STORE_NOTFOUND)
        return 0;
    if (until)
        *until = (long)expires;
    return 1;
}

int block_escalate(moat_store *st, const char *prefix, const char *subject,
                   const block_policy *policy, time_t now, long *seconds)
{
    char key[STORE_KEY_MAX + 1], val[32];
    long offenses = 0, secs = policy->base, i;
    store_status s;
    int created = 0;

    moat_store_key(key, sizeof key, prefix, ":offense:", subject);
    s = moat_store_get_str(st, key, val, sizeof val, NULL, now);
    if (s == STORE_ERROR)
        return -1;
    if (s == STORE_OK) {
        char *end;
        offenses = strtol(val, &end, 10);
        if (end == val || offenses < 0)
            offenses = 0;
        if (offenses > 1000)
            offenses = 1000;                           /* planted or damaged: a long past */
    }
    for (i = 0; i < offenses && secs < policy->max; i++)
        secs *= 2;
    if (secs > policy->max)
        secs = policy->max;
    if (policy->repeat_after > 0 && offenses + 1 >= policy->repeat_after)
        secs = policy->repeat_block;
    if (secs < 1)
        secs = 1;
    *seconds = 0;
    moat_store_key(key, sizeof key, prefix, ":block:", subject);
    snprintf(val, sizeof val, "%ld", secs);
    if (moat_store_set_new(st, key, val, strlen(val), (uint32_t)secs, now, &created) != STORE_OK)
        return -1;
    if (!created)
        return 0;                                      /* another failure began it */
    /* One atomic step: blocks that began at once in several processes (or on
     * several MX hosts, one after another's expired) each count. */
    moat_store_key(key, sizeof key, prefix, ":offense:", subject);
    if (moat_store_value_add(st, key, 1,
                             (uint32_t)(policy->repeat_window > 0 ? policy->repeat_window : 1),
                             now, NULL) != STORE_OK)
        return -1;
    *seconds = secs;
    return 1;
}

int block_lift(moat_store *st, const char *prefix, const char *subject)
{
    char key[STORE_KEY_MAX + 1];

    moat_store_key(key, sizeof key, prefix, ":block:", subject);
    if (moat_store_del(st, key) != STORE_OK)
        return -1;
    moat_store_key(key, sizeof key, prefix, ":offense:", subject);
    return moat_store_del(st, key) == STORE_OK ? 0 : -1;
}

size_t block_scan_prefix(char *buf, size_t cap, const char *prefix)
{
    return moat_store_key(buf, cap, prefix, ":block:");
}
