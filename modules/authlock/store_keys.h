/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.h - the store keys of the authlock module, built here for the
 * module and for moatctl alike (moatctl never spells a key itself).
 *
 *   authlock:ip:<ip>       AUTH failures from a client (counter)
 *   authlock:net:<net>     the same from its network (counter)
 *   authlock:asn:<asn>     the same from its AS (counter)
 *   authlock:spray:<ip>    distinct users a client tried (set)
 *   authlock:uf:<user>     a user's failures from unfamiliar places (counter)
 *   authlock:ff:<user>     the same from familiar ones (counter)
 *   authlock:uips:<user>   distinct addresses failing for a user (set)
 *   authlock:uasns:<user>  distinct ASes failing for a user (set)
 *   authlock:out:<user>    a user's distinct recipients, 24 hours (set)
 *   authlock:rej:<user>    of those, the ones refused downstream (set)
 *   authlock:msgs:<user>   a user's messages, 24 hours (counter)
 *   authlock:base:<user>   a user's sending baseline
 *   authlock:warned:<user> a containment warning was logged
 *   authlock:pw:<user>:<ip>             wrong passwords seen (set of hashes)
 *   authlock:fam:<user>|<kind>:<what>   a place the user is known from
 * Users are lower-cased by the caller. Locks are common/block.c's
 * ("authlock:block:...").
 */
#ifndef MOAT_AUTHLOCK_STORE_KEYS_H
#define MOAT_AUTHLOCK_STORE_KEYS_H

/* a user name is judged, keyed and shown by its first AUTHLOCK_USER_MAX - 1 bytes */
#define AUTHLOCK_USER_MAX 128

#include <stddef.h>

typedef enum {
    AUTHLOCK_KEY_IP,
    AUTHLOCK_KEY_NET,
    AUTHLOCK_KEY_ASN,
    AUTHLOCK_KEY_SPRAY,
    AUTHLOCK_KEY_UNFAMILIAR,
    AUTHLOCK_KEY_FAMILIAR,
    AUTHLOCK_KEY_USER_IPS,
    AUTHLOCK_KEY_USER_ASNS,
    AUTHLOCK_KEY_OUT,
    AUTHLOCK_KEY_REJECTED,
    AUTHLOCK_KEY_MESSAGES,
    AUTHLOCK_KEY_BASELINE,
    AUTHLOCK_KEY_WARNED,
} authlock_key_kind;

/* authlock_key_prefix - what every key of kind starts with (a scan's prefix) */
const char *authlock_key_prefix(authlock_key_kind kind);

/* authlock_key - the key of kind for subject into buf, cut to fit cap; its length */
size_t authlock_key(char *buf, size_t cap, authlock_key_kind kind, const char *subject);

/*
 * authlock_key_familiar - the key saying user is known from kind:what
 * ("net", "asn"); with what NULL, the prefix of all of user's such keys
 * (a scan's, ending in "|"). Its length.
 */
size_t authlock_key_familiar(char *buf, size_t cap, const char *user, const char *kind,
                             const char *what);

/* authlock_key_password - the key of the wrong passwords user gave from ip; its length */
size_t authlock_key_password(char *buf, size_t cap, const char *user, const char *ip);

#endif
