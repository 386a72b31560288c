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

/* the counts held (moat_stats_hold): kinds of decision and how many of each */
static int holding;
static struct held {
    char key[STORE_KEY_MAX];
    uint64_t n;
} held[STATS_HOLD_KEYS];
static int nheld;
static unsigned total_held;

void moat_stats_attach(moat_store *st)
{
    moat_stats_flush();
    counting = st;
    paused_until = 0;
}

void moat_stats_hold(int on)
{
    if (!on)
        moat_stats_flush();
    holding = on;
}

void moat_stats_flush(void)
{
    time_t now;
    store_status rc = STORE_OK;

    if (nheld == 0)
        return;
    now = time(NULL);
    for (int i = 0; i < nheld && rc == STORE_OK && counting != NULL && now >= paused_until; i++)
        if ((rc = moat_store_tally_note(counting, held[i].key, held[i].n, now)) != STORE_OK)
            paused_until = now + STATS_PAUSE;
    nheld = 0;
    total_held = 0;
}

/* hold - add one to key's held count; 0, or -1 when the table has no room */
static int hold(const char *key)
{
    int i;

    for (i = 0; i < nheld; i++)
        if (strcmp(held[i].key, key) == 0)
            break;
    if (i == nheld) {
        if (nheld == STATS_HOLD_KEYS)
            return -1;
        snprintf(held[i].key, sizeof held[i].key, "%s", key);
        held[i].n = 0;
        nheld++;
    }
    held[i].n++;
    total_held++;
    return 0;
}

int moat_stats_key(char *buf, size_t cap, const char *module, const char *action,
                   const char *reason)
{
    if (!logline_word_ok(module) || !logline_word_ok(action) || !logline_word_ok(reason))
        return -1;
    moat_store_key_join(buf, cap, STATS_PREFIX, module, ":", action, ":", reason, (char *)NULL);
    return 0;
}

/* count - one decision under key: held when hold_ok and holding, else written */
static void count(const char *key, int hold_ok)
{
    time_t now = time(NULL);

    if (now < paused_until)
        return;
    if (hold_ok && holding) {
        /* full: what was held before is written first, so the count just
         * held stays in the process until the next call (moat_stats_uncount) */
        if (total_held >= STATS_HOLD_MAX)
            moat_stats_flush();
        if (hold(key) != 0) {
            moat_stats_flush();
            (void)hold(key);
        }
        return;
    }
    if (moat_store_tally_note(counting, key, 1, now) != STORE_OK)
        paused_until = now + STATS_PAUSE;
}

void moat_stats_count(const char *module, const char *action, const char *reason)
{
    /* the same decision again (a good recipient's, mostly): its key is the last one */
    static char last_module[32], last_action[32], last_reason[64], last_key[STORE_KEY_MAX];
    static int last_ok;

    if (counting == NULL)
        return;
    if (!last_ok || strcmp(reason, last_reason) != 0 || strcmp(action, last_action) != 0 ||
        strcmp(module, last_module) != 0) {
        last_ok = 0;
        if (strlen(module) >= sizeof last_module || strlen(action) >= sizeof last_action ||
            strlen(reason) >= sizeof last_reason ||
            moat_stats_key(last_key, sizeof last_key, module, action, reason) != 0)
            return;
        last_ok = 1;
        memcpy(last_module, module, strlen(module) + 1);
        memcpy(last_action, action, strlen(action) + 1);
        memcpy(last_reason, reason, strlen(reason) + 1);
    }
    count(last_key, 1);
}

void moat_stats_uncount(const char *module, const char *action, const char *reason)
{
    char key[STORE_KEY_MAX];

    if (moat_stats_key(key, sizeof key, module, action, reason) != 0)
        return;
    for (int i = 0; i < nheld; i++)
        if (strcmp(held[i].key, key) == 0 && held[i].n > 0) {
            held[i].n--;
            total_held--;
            return;
        }
}

void moat_stats_note(const char *line)
{
    moat_logline l;
    char key[STORE_KEY_MAX];

    if (counting == NULL || logline_parse(line, strlen(line), &l) != 0 || l.nfields < 2 ||
        strcmp(l.key[0], "action") != 0)
        return;
    if (moat_stats_key(key, sizeof key, l.module, l.value[0], logline_get(&l, "reason")) == 0)
        count(key, 0);
}
