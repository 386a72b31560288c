/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nearmiss.h - unknown local parts that are a typo away from a real one.
 * Recorded (never revealed to the client) under "rcpt:near:<address>"
 * with the closest real address and a count, for "moatctl rcpt near-misses".
 */
#ifndef MOAT_RCPT_NEARMISS_H
#define MOAT_RCPT_NEARMISS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addrlist.h"
#include "store.h"

/* edit_distance - Damerau-Levenshtein (adjacent swaps) distance, capped at limit+1 */
int edit_distance(const char *a, const char *b, int limit);

/*
 * nearmiss_shape - what the search compares before it computes a distance:
 * the length, and the set of characters (one bit per character, c & 63).
 */
typedef struct nearmiss_shape {
    uint64_t chars;
    size_t len;
} nearmiss_shape;

nearmiss_shape nearmiss_shape_of(const char *s, size_t len);

/*
 * nearmiss_shapes_allow - 0 when strings of these shapes are certainly
 * more than limit edits apart: lengths further apart than limit, or one
 * holding more than limit characters the other lacks (each edit brings in
 * at most one, a swap none). 1 when only the distance can tell.
 */
int nearmiss_shapes_allow(nearmiss_shape a, nearmiss_shape b, int limit);

/*
 * nearmiss_closest - the first address of list, in its order, at the
 * smallest distance, at most distance, from address (lower-cased)
 * within its domain; NULL when none is that close. The shapes of the
 * list's local parts are indexed once for each load of the list.
 */
const char *nearmiss_closest(const addrlist *list, const char *address, int distance);

/*
 * nearmiss_note - when address (lower-cased, unknown) is within distance
 * of a real address of the same domain in list, record it; 1 if recorded.
 */
int nearmiss_note(moat_store *st, const addrlist *list, const char *address, int distance,
                  time_t now);

#endif
