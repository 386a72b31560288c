/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * geo.c - the GeoIP front: geo off (nothing loaded) while no database is
 * named, else the GeoIP backend's answer. A backend that cannot be loaded
 * turns the geo rules off with one log line, as a missing file does.
 */
#include "geo.h"

#include <string.h>

#include "backend.h"
#include "log.h"

/* backend - the GeoIP backend, NULL (logged once) when it cannot be loaded */
static const geo_backend *backend(void)
{
    char why[512];
    const geo_backend *b = moat_backend("geoip", why, sizeof why);

    if (b == NULL)
        moat_log_once("geo-backend", MOAT_LOG_ERROR, "moat geo: geo rules are off: %s", why);
    return b;
}

static int named(const char *path)
{
    return path != NULL && *path != '\0';
}

int geo_lookup(const char *country_db, const char *asn_db, const char *ip, time_t now,
               geo_info *info)
{
    const geo_backend *b;

    memset(info, 0, sizeof *info);
    if ((!named(country_db) && !named(asn_db)) || (b = backend()) == NULL)
        return 0;
    return b->lookup(country_db, asn_db, ip, now, info);
}

int geo_available(const char *country_db, const char *asn_db, time_t now)
{
    const geo_backend *b;

    if ((!named(country_db) && !named(asn_db)) || (b = backend()) == NULL)
        return 0;
    return b->available(country_db, asn_db, now);
}
