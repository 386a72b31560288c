/*
 * nearmiss.h - unknown local parts that are a typo away from a real one.
 * Recorded (never revealed to the client) under "rcpt:near:<address>"
 * with the closest real address and a count, for "moatctl rcpt near-misses".
 */
#ifndef MOAT_RCPT_NEARMISS_H
#define MOAT_RCPT_NEARMISS_H

#include <stddef.h>
#include <time.h>

#include "addrlist.h"
#include "store.h"

/* edit_distance - Damerau-Levenshtein (adjacent swaps) distance, capped at limit+1 */
int edit_distance(const char *a, const char *b, int limit);

/*
 * nearmiss_note - when address (lower-cased, unknown) is within distance
 * of a real address of the same domain in list, record it; 1 if recorded.
 */
int nearmiss_note(moat_store *st, const addrlist *list, const char *address, int distance,
                  time_t now);

#endif
