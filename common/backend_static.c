/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend_static.c - moat_backend in the static libmoat.a: the backends
 * are linked in, so their tables are answered directly (the tables of
 * MOAT_BACKEND_VERSION: a name out of step does not link).
 */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "geo.h"
#include "rcpt/directory_cdb.h"
#include "store_internal.h"

const void *moat_backend(const char *name, char *err, size_t errlen)
{
    if (strcmp(name, "redis") == 0)
        return &moat_backend_redis_v1;
    if (strcmp(name, "geoip") == 0)
        return &moat_backend_geoip_v1;
    if (strcmp(name, "cdb") == 0)
        return &moat_backend_cdb_v1;
    snprintf(err, errlen, "no backend called %s", name);
    return NULL;
}
