/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfglist.c - membership in moat.conf's lists of the rcpt section: CIDRs
 * (exempt_networks, fetched { hosts }) and addresses ("addr", "@domain",
 * "domain": exempt_senders, own_domains { exempt_senders }).
 */
#include "cfglist.h"

#include <string.h>
#include <strings.h>

#include "net.h"

/* rcpt_in_cidr_list - whether ip matches one of the configured CIDRs */
int rcpt_in_cidr_list(cfg_t *sec, const char *opt, const char *ip)
{
    unsigned i, n = moat_cfg_count(sec, opt);
    moat_ip parsed;

    /* (asked for every RCPT, mostly of an empty list) */
    if (n == 0 || ip == NULL || net_parse_ip(ip, &parsed) != 0)
        return 0;
    for (i = 0; i < n; i++) {
        moat_cidr c;
        if (net_parse_cidr(moat_cfg_nstr(sec, opt, i), &c) == 0 && net_in_cidr(&parsed, &c))
            return 1;
    }
    return 0;
}

/* rcpt_in_address_list - whether key (lower-cased address) matches "addr", "@domain" or "domain" */
int rcpt_in_address_list(cfg_t *sec, const char *opt, const char *key)
{
    unsigned i, n = moat_cfg_count(sec, opt);
    const char *at;

    if (n == 0 || key == NULL || *key == '\0')   /* (asked for every RCPT, mostly empty) */
        return 0;
    at = strrchr(key, '@');
    for (i = 0; i < n; i++) {
        const char *e = moat_cfg_nstr(sec, opt, i);
        if (strcasecmp(e, key) == 0)
            return 1;
        if (at && ((e[0] == '@' && strcasecmp(e, at) == 0) ||
                   (strchr(e, '@') == NULL && strcasecmp(e, at + 1) == 0)))
            return 1;
    }
    return 0;
}
