/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash.h - 64-bit FNV-1a of a string: short fixed-size names for keys too
 * long to store whole, and cheap comparisons in in-memory indexes. Not a
 * defence against chosen collisions.
 */
#ifndef MOAT_HASH_H
#define MOAT_HASH_H

#include <stdint.h>

static inline uint64_t moat_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
