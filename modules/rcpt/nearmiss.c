/*
 * nearmiss.c - finding and recording near-miss recipients.
 */
#include "nearmiss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR_TTL (30 * 86400)
#define NEAR_LEN_MAX 64

/*
 * edit_distance - optimal string alignment distance (insertions, deletions,
 * substitutions, adjacent swaps). Only the band |i - j| <= limit of the
 * table is computed and a row entirely above limit ends the search, so a
 * far-off candidate costs a few cells, not len(a) x len(b).
 */
int edit_distance(const char *a, const char *b, int limit)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    int d[NEAR_LEN_MAX + 1][NEAR_LEN_MAX + 1];
    const int over = limit + 1;

    if (limit < 0 || la > NEAR_LEN_MAX || lb > NEAR_LEN_MAX)
        return over;
    if ((la > lb ? la - lb : lb - la) > (size_t)limit)
        return over;
    /* Row 0 and column 0 inside the band, and sentinels just outside it:
     * the band of row i reads row i-1 from one column left of its own band
     * to one column right of it, so no other cell needs a value. */
    for (j = 0; j <= lb && j <= (size_t)limit; j++)
        d[0][j] = (int)j;
    if ((size_t)limit + 1 <= lb)
        d[0][limit + 1] = over;
    for (i = 1; i <= la; i++) {
        size_t from = i > (size_t)limit ? i - (size_t)limit : 1;
        size_t to = i + (size_t)limit < lb ? i + (size_t)limit : lb;
        int row_min;

        d[i][from - 1] = from == 1 && i <= (size_t)limit ? (int)i : over;
        row_min = d[i][from - 1];
        if (to + 1 <= lb)
            d[i][to + 1] = over;
        for (j = from; j <= to; j++) {
            int cost = a[i - 1] != b[j - 1];
            /* Set by the band of row i-1 or its sentinels (checked by valgrind
             * and fuzz_rcpt_nearmiss); the analyzer cannot follow the band. */
            /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best > over ? over : best;
            if (d[i][j] < row_min)
                row_min = d[i][j];
        }
        if (row_min > limit)
            return over;
    }
    return d[la][lb] > limit ? over : d[la][lb];
}

int nearmiss_note(moat_store *st, const addrlist *list, const char *address, int distance,
                  time_t now)
{
    const char *at = strrchr(address, '@');
    const char *best = NULL;
    char local[NEAR_LEN_MAX + 1], key[600], val[700];
    size_t llen, i;
    int best_d = distance + 1;
    long count = 0;
    size_t len = 0;

    if (list == NULL || at == NULL || distance <= 0)
        return 0;
    llen = (size_t)(at - address);
    if (llen > NEAR_LEN_MAX)
        return 0;
    memcpy(local, address, llen);
    local[llen] = '\0';
    for (i = 0; i < list->count; i++) {
        const char *e = list->entries[i], *eat = strrchr(e, '@');
        char elocal[NEAR_LEN_MAX + 1];
        size_t el;
        int dist;

        if (eat == NULL || strcmp(eat, at) != 0)
            continue;
        el = (size_t)(eat - e);
        if (el > NEAR_LEN_MAX)
            continue;
        memcpy(elocal, e, el);
        elocal[el] = '\0';
        dist = edit_distance(local, elocal, distance);
        if (dist < best_d) {
            best_d = dist;
            best = e;
        }
    }
    if (best == NULL)
        return 0;
    snprintf(key, sizeof key, "rcpt:near:%s", address);
    if (moat_store_get(st, key, val, sizeof val - 1, &len, NULL, now) == STORE_OK) {
        val[len < sizeof val - 1 ? len : sizeof val - 1] = '\0';
        count = strtol(val, NULL, 10);
    }
    snprintf(val, sizeof val, "%ld %s", count + 1, best);
    return moat_store_set(st, key, val, strlen(val), NEAR_TTL, now) == STORE_OK;
}
