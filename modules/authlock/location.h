/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * location.h - where an AUTH client is: its address, its network (/24 or
 * /64 by default) and, when a GeoIP database answers, its country and ASN.
 * Counters, blocks and familiar locations are keyed by these.
 */
#ifndef MOAT_AUTHLOCK_LOCATION_H
#define MOAT_AUTHLOCK_LOCATION_H

#include <confuse.h>
#include <time.h>

#include "config.h"
#include "geo.h"
#include "net.h"

typedef struct authlock_location {
    const char *ip;                 /* as Exim gave it */
    char net[MOAT_IP_TEXT_MAX];     /* "198.51.100.0/24"; "" when ip does not parse */
    char asn[24];                   /* "AS64500"; "" when unknown */
    geo_info geo;
    int has_geo;
} authlock_location;

/* authlock_locate - fill loc for ip (sec: the authlock section) */
void authlock_locate(const moat_config *config, cfg_t *sec, const char *ip, time_t now,
                     authlock_location *loc);

/* authlock_in_networks - whether ip lies in one of the CIDRs of list option opt */
int authlock_in_networks(cfg_t *sec, const char *opt, const char *ip);

#endif
