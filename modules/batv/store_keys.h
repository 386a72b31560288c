/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.h - the store keys of the batv module, built here for the
 * module and for moatctl alike (moatctl never spells a key itself):
 * per-domain counters of the last BATV_COUNTER_WINDOW,
 * "batv:<what>:<domain>", what being one of batv_count's names.
 * (The signing keys themselves are files: keys.h.)
 */
#ifndef MOAT_BATV_STORE_KEYS_H
#define MOAT_BATV_STORE_KEYS_H

#include <stddef.h>

typedef enum {
    BATV_COUNT_SIGNED,     /* return paths signed */
    BATV_COUNT_VALID,      /* bounces with a valid tag */
    BATV_COUNT_DENIED,     /* bounces refused */
    BATV_COUNT_GRACE,      /* untagged bounces let through in the grace period */
    BATV_COUNT_LOGGED,     /* bounces that would have been refused (log-only) */
    BATV_COUNT_KINDS
} batv_count;

/* batv_count_name - "signed", "valid", ... */
const char *batv_count_name(batv_count what);

/* batv_key_count - the key of domain's counter of what into buf, cut to fit cap; its length */
size_t batv_key_count(char *buf, size_t cap, batv_count what, const char *domain);

#endif
