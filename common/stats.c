/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.c - counting each logged decision into a tally of the state store.
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logline.h"

static moat_store *counting;
static time_t paused_until;

void moat_stats_attach(moat_store *st)
{
    counting = st;
    paused_until = 0;
}

int moat_stats_key(char *buf, size_t cap, const char *module, const char *action,
                   const char *reason)
{
    if (!logline_word_ok(module) || !logline_word_ok(action) || !logline_word_ok(reason))
        return -1;
    moat_store_key_join(buf, cap, STATS_PREFIX, module, ":", action, ":", reason, (char *)NULL);
    return 0;
}

void moat_stats_count(const char *module, const char *action, const char *reason)
{
    char key[STORE_KEY_MAX];
    time_t now;

    if (counting == NULL || moat_stats_key(key, sizeof key, module, action, reason) != 0)
        return;
    now = time(NULL);
    if (now < paused_until)
        return;
    if (moat_store_tally_note(counting, key, now) != STORE_OK)
        paused_until = now + STATS_PAUSE;
}

void moat_stats_note(const char *line)
{
    moat_logline l;

    if (counting == NULL || logline_parse(line, strlen(line), &l) != 0 || l.nfields < 2 ||
        strcmp(l.key[0], "action") != 0)
        return;
    moat_stats_count(l.module, l.value[0], logline_get(&l, "reason"));
}
