/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_keys.c - the batv module's store keys (see store_keys.h).
 */
#include "store_keys.h"

#include "store.h"

static const char *const names[BATV_COUNT_KINDS] = {
    [BATV_COUNT_SIGNED] = "signed", [BATV_COUNT_VALID] = "valid",
    [BATV_COUNT_DENIED] = "denied", [BATV_COUNT_GRACE] = "grace",
    [BATV_COUNT_LOGGED] = "logged",
};

const char *batv_count_name(batv_count what)
{
    return names[what];
}

size_t batv_key_count(char *buf, size_t cap, batv_count what, const char *domain)
{
    return moat_store_key(buf, cap, "batv:", names[what], ":", domain);
}
