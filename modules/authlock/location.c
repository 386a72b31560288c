/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * location.c - an AUTH client's address, network, country and ASN.
 */
#include "location.h"

#include <stdio.h>
#include <string.h>

void authlock_locate(const moat_config *config, cfg_t *sec, const char *ip, time_t now,
                     authlock_location *loc)
{
    moat_ip parsed;

    memset(loc, 0, sizeof *loc);
    loc->ip = ip;
    if (net_parse_ip(ip, &parsed) == 0)
        net_network(&parsed, (int)moat_cfg_int(sec, "v4_prefix"),
                    (int)moat_cfg_int(sec, "v6_prefix"), loc->net, sizeof loc->net);
    loc->has_geo = geo_lookup(config->geoip.country_db, config->geoip.asn_db, ip, now, &loc->geo);
    if (loc->geo.asn)
        snprintf(loc->asn, sizeof loc->asn, "AS%u", loc->geo.asn);
}

int authlock_in_networks(cfg_t *sec, const char *opt, const char *ip)
{
    moat_ip parsed;
    unsigned i;

    if (net_parse_ip(ip, &parsed) != 0)
        return 0;
    for (i = 0; i < moat_cfg_count(sec, opt); i++) {
        moat_cidr cidr;
        if (net_parse_cidr(moat_cfg_nstr(sec, opt, i), &cidr) == 0 && net_in_cidr(&parsed, &cidr))
            return 1;
    }
    return 0;
}
