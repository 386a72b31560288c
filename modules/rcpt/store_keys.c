/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.c - the rcpt module's store keys (see store_keys.h).
 */
#include "store_keys.h"

#include "store.h"

static const char *const prefixes[] = {
    [RCPT_KEY_IP] = "rcpt:ip:",         [RCPT_KEY_NET] = "rcpt:net:",
    [RCPT_KEY_BIP] = "rcpt:bip:",       [RCPT_KEY_DOM] = "rcpt:dom:",
    [RCPT_KEY_SDOM] = "rcpt:sdom:",     [RCPT_KEY_ATTACK] = "rcpt:attack:",
    [RCPT_KEY_TARPIT] = "rcpt:tp:",     [RCPT_KEY_NEAR] = "rcpt:near:",
    [RCPT_KEY_LDAP] = "rcpt:ldap:",     [RCPT_KEY_LDAP_DOWN] = "rcpt:ldap-down",
};

const char *rcpt_key_prefix(rcpt_key_kind kind)
{
    return prefixes[kind];
}

size_t rcpt_key(char *buf, size_t cap, rcpt_key_kind kind, const char *subject)
{
    return moat_store_key(buf, cap, prefixes[kind], subject);
}
