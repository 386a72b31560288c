/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nearmiss.c - finding and recording near-miss recipients.
 */
#include "nearmiss.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "store_keys.h"

#define NEAR_TTL (30 * 86400)
#define NEAR_LEN_MAX 64

/*
 * distance_within - optimal string alignment distance (insertions,
 * deletions, substitutions, adjacent swaps) of a[0..la) and b[0..lb),
 * capped at limit + 1. Only the band |i - j| <= limit of the table is
 * computed and a row entirely above limit ends the search, so a far-off
 * candidate costs a few cells, not la x lb.
 */
static int distance_within(const char *a, size_t la, const char *b, size_t lb, int limit)
{
    size_t i, j;
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

int edit_distance(const char *a, const char *b, int limit)
{
    return distance_within(a, strlen(a), b, strlen(b), limit);
}

nearmiss_shape nearmiss_shape_of(const char *s, size_t len)
{
    nearmiss_shape shape = {0, len};
    size_t i;

    for (i = 0; i < len; i++)
        shape.chars |= (uint64_t)1 << ((unsigned char)s[i] & 63);
    return shape;
}

int nearmiss_shapes_allow(nearmiss_shape a, nearmiss_shape b, int limit)
{
    if (limit < 0 || (a.len > b.len ? a.len - b.len : b.len - a.len) > (size_t)limit)
        return 0;
    return __builtin_popcountll(a.chars & ~b.chars) <= limit &&
           __builtin_popcountll(b.chars & ~a.chars) <= limit;
}

/* One entry of the list: its local part's shape and its domain's hash. */
typedef struct indexed_entry {
    uint64_t chars;
    uint32_t domain_hash;
    uint32_t len;          /* over NEAR_LEN_MAX: no local part to compare */
} indexed_entry;

#define NEAR_LEN_NONE UINT32_MAX

/* The index of the last list searched, rebuilt when another load is searched. */
static struct {
    unsigned long generation;
    size_t count;
    indexed_entry *entries;
} shapes;

/* index_list - make shapes describe list; 0, or -1 when out of memory */
static int index_list(const addrlist *list)
{
    indexed_entry *fresh;
    size_t i;

    if (list->generation == 0)
        return -1;
    if (shapes.generation == list->generation)
        return 0;
    fresh = calloc(list->count ? list->count : 1, sizeof *fresh);
    if (fresh == NULL)
        return -1;
    for (i = 0; i < list->count; i++) {
        const char *e = list->entries[i], *at = strrchr(e, '@');
        nearmiss_shape shape;

        fresh[i].len = NEAR_LEN_NONE;
        if (at == NULL || at - e > NEAR_LEN_MAX)
            continue;
        shape = nearmiss_shape_of(e, (size_t)(at - e));
        fresh[i].chars = shape.chars;
        fresh[i].len = (uint32_t)shape.len;
        fresh[i].domain_hash = (uint32_t)moat_fnv1a(at + 1);
    }
    free(shapes.entries);
    shapes.entries = fresh;
    shapes.count = list->count;
    shapes.generation = list->generation;
    return 0;
}

const char *nearmiss_closest(const addrlist *list, const char *address, int distance)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    const char *best = NULL;
    nearmiss_shape wanted;
    uint32_t hash;
    size_t llen, i;
    int best_d = distance + 1;

    if (list == NULL || at == NULL || distance <= 0 || at - address > NEAR_LEN_MAX ||
        index_list(list) != 0)
        return NULL;
    llen = (size_t)(at - address);
    wanted = nearmiss_shape_of(address, llen);
    hash = (uint32_t)moat_fnv1a(at + 1);
    /* Only a candidate closer than the best so far is worth its distance:
     * the limit shrinks as better ones are found. */
    for (i = 0; i < shapes.count && best_d > 0; i++) {
        const indexed_entry *x = &shapes.entries[i];
        const char *e = list->entries[i];
        nearmiss_shape shape = {x->chars, x->len};
        int dist;

        if (x->len > NEAR_LEN_MAX || x->domain_hash != hash ||
            !nearmiss_shapes_allow(wanted, shape, best_d - 1) || strcmp(e + x->len, at) != 0)
            continue;
        dist = distance_within(address, llen, e, x->len, best_d - 1);
        if (dist < best_d) {
            best_d = dist;
            best = e;
        }
    }
    return best;
}

int nearmiss_note(moat_store *st, const addrlist *list, const char *address, int distance,
                  time_t now)
{
    const char *best = nearmiss_closest(list, address, distance);
    char key[600], val[700], next[700];
    int tries, swapped = 0;

    if (best == NULL)
        return 0;
    rcpt_key(key, sizeof key, RCPT_KEY_NEAR, address);
    /* read, count, compare-and-set: concurrent sessions each count */
    for (tries = 0; tries < 8 && !swapped; tries++) {
        store_status s = moat_store_get_str(st, key, val, sizeof val, NULL, now);
        long count = s == STORE_OK ? strtol(val, NULL, 10) : 0;

        if (s == STORE_ERROR)
            return 0;
        if (count < 0 || count > 1000000000L)
            count = 0;                                 /* planted or damaged */
        snprintf(next, sizeof next, "%ld %s", count + 1, best);
        if (moat_store_swap(st, key, s == STORE_OK ? val : NULL, s == STORE_OK ? strlen(val) : 0,
                            next, strlen(next), NEAR_TTL, now, &swapped) != STORE_OK)
            return 0;
    }
    return swapped;
}
