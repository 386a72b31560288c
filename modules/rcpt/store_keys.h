/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.h - the store keys of the rcpt module, built here for the
 * module and for moatctl alike (moatctl never spells a key itself).
 *
 *   rcpt:ip:<ip>         unknown recipients from a client (counter)
 *   rcpt:net:<network>   the same from its network (counter)
 *   rcpt:bip:<ip>        a client's distinct unknown recipients (set)
 *   rcpt:dom:<domain>    distinct unknown local parts tried at a domain
 *   rcpt:sdom:<domain>   unknown recipients per sender domain (counter)
 *   rcpt:attack:<domain> a domain found under attack (flag)
 *   rcpt:tp:<ip>         the tarpit step of a client
 *   rcpt:near:<address>  near misses of a misspelt address
 *   rcpt:ldap:<address>  a cached LDAP answer
 *   rcpt:ldap-down       the LDAP server failed lately (no subject)
 * Blocks are common/block.c's ("rcpt:block:...").
 */
#ifndef MOAT_RCPT_STORE_KEYS_H
#define MOAT_RCPT_STORE_KEYS_H

#include <stddef.h>

typedef enum {
    RCPT_KEY_IP,
    RCPT_KEY_NET,
    RCPT_KEY_BIP,
    RCPT_KEY_DOM,
    RCPT_KEY_SDOM,
    RCPT_KEY_ATTACK,
    RCPT_KEY_TARPIT,
    RCPT_KEY_NEAR,
    RCPT_KEY_LDAP,
    RCPT_KEY_LDAP_DOWN,
} rcpt_key_kind;

/* rcpt_key_prefix - what every key of kind starts with (a scan's prefix) */
const char *rcpt_key_prefix(rcpt_key_kind kind);

/* rcpt_key - the key of kind for subject into buf, cut to fit cap; its length */
size_t rcpt_key(char *buf, size_t cap, rcpt_key_kind kind, const char *subject);

#endif
