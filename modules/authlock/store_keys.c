/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.c - the authlock module's store keys (see store_keys.h).
 */
#include "store_keys.h"

#include "store.h"

static const char *const prefixes[] = {
    [AUTHLOCK_KEY_IP] = "authlock:ip:",
    [AUTHLOCK_KEY_NET] = "authlock:net:",
    [AUTHLOCK_KEY_ASN] = "authlock:asn:",
    [AUTHLOCK_KEY_SPRAY] = "authlock:spray:",
    [AUTHLOCK_KEY_UNFAMILIAR] = "authlock:uf:",
    [AUTHLOCK_KEY_FAMILIAR] = "authlock:ff:",
    [AUTHLOCK_KEY_USER_IPS] = "authlock:uips:",
    [AUTHLOCK_KEY_USER_ASNS] = "authlock:uasns:",
    [AUTHLOCK_KEY_OUT] = "authlock:out:",
    [AUTHLOCK_KEY_REJECTED] = "authlock:rej:",
    [AUTHLOCK_KEY_MESSAGES] = "authlock:msgs:",
    [AUTHLOCK_KEY_BASELINE] = "authlock:base:",
    [AUTHLOCK_KEY_WARNED] = "authlock:warned:",
};

const char *authlock_key_prefix(authlock_key_kind kind)
{
    return prefixes[kind];
}

size_t authlock_key(char *buf, size_t cap, authlock_key_kind kind, const char *subject)
{
    return moat_store_key(buf, cap, prefixes[kind], subject);
}

size_t authlock_key_familiar(char *buf, size_t cap, const char *user, const char *kind,
                             const char *what)
{
    if (what == NULL)
        return moat_store_key(buf, cap, "authlock:fam:", user, "|");
    return moat_store_key(buf, cap, "authlock:fam:", user, "|", kind, ":", what);
}

size_t authlock_key_password(char *buf, size_t cap, const char *user, const char *ip)
{
    return moat_store_key(buf, cap, "authlock:pw:", user, ":", ip);
}
