/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * geo.h - country and ASN of a client address, from MaxMind DB files
 * (libmaxminddb): GeoLite2-Country / GeoIP2-Country and GeoLite2-ASN, or
 * one file holding both.
 *
 * Each file is opened once per process and reopened when it is replaced
 * (checked at most once a second). A missing or corrupt file turns the geo
 * rules off with one log line; lookups then answer "unknown". With no file
 * named, nothing is loaded: libmaxminddb is mapped only into the processes
 * of a site that uses it.
 */
#ifndef MOAT_GEO_H
#define MOAT_GEO_H

#include <stdint.h>
#include <time.h>

#include "api.h"

typedef struct geo_info {
    char country[3];     /* ISO 3166-1 alpha-2, "" when unknown */
    uint32_t asn;        /* 0 when unknown */
    char asn_org[64];
} geo_info;

/*
 * geo_lookup - fill info for ip from the country and ASN databases (either
 * path may be ""); returns 1 when some database answered, 0 when geo is off
 * or the address is not in it.
 */
int geo_lookup(const char *country_db, const char *asn_db, const char *ip, time_t now,
               geo_info *info);

/* geo_available - whether at least one database is open and usable */
int geo_available(const char *country_db, const char *asn_db, time_t now);

/* What the GeoIP backend (geo_mmdb.c: backends/geoip.so, with libmaxminddb)
 * does for the two above; they load it only when a database is named. */
typedef struct geo_backend {
    int (*lookup)(const char *country_db, const char *asn_db, const char *ip, time_t now,
                  geo_info *info);
    int (*available)(const char *country_db, const char *asn_db, time_t now);
} geo_backend;

extern MOAT_API const geo_backend moat_backend_geoip_v1;

#endif
