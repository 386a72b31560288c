/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.h - the store keys of the catchall module, built here for the
 * module and for moatctl alike (moatctl never spells a key itself).
 *
 *   catchall:probe:<domain>    a probe's cached verdict
 *   catchall:probing:<domain>  a probe of the domain is under way
 *   catchall:probes            probes begun in the last minute (no subject)
 */
#ifndef MOAT_CATCHALL_STORE_KEYS_H
#define MOAT_CATCHALL_STORE_KEYS_H

#include <stddef.h>

typedef enum {
    CATCHALL_KEY_PROBE,
    CATCHALL_KEY_PROBING,
    CATCHALL_KEY_PROBES,
} catchall_key_kind;

/* catchall_key_prefix - what every key of kind starts with (a scan's prefix) */
const char *catchall_key_prefix(catchall_key_kind kind);

/* catchall_key - the key of kind for subject into buf, cut to fit cap; its length */
size_t catchall_key(char *buf, size_t cap, catchall_key_kind kind, const char *subject);

#endif
