/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.c - the catchall module's store keys (see store_keys.h).
 */
#include "store_keys.h"

#include "store.h"

static const char *const prefixes[] = {
    [CATCHALL_KEY_PROBE] = "catchall:probe:",
    [CATCHALL_KEY_PROBING] = "catchall:probing:",
    [CATCHALL_KEY_PROBES] = "catchall:probes",
};

const char *catchall_key_prefix(catchall_key_kind kind)
{
    return prefixes[kind];
}

size_t catchall_key(char *buf, size_t cap, catchall_key_kind kind, const char *subject)
{
    return moat_store_key(buf, cap, prefixes[kind], subject);
}
