/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * georules.c - country and ASN allow/deny lists and per-ASN thresholds.
 */
#include "georules.h"

#include <string.h>
#include <strings.h>

/* in_list - whether value is in the string list opt of sec (case-insensitive) */
static int in_list(cfg_t *sec, const char *opt, const char *value)
{
    unsigned i;

    for (i = 0; *value && i < moat_cfg_count(sec, opt); i++)
        if (strcasecmp(moat_cfg_nstr(sec, opt, i), value) == 0)
            return 1;
    return 0;
}

/*
 * list_refused - one allow/deny pair of sec for a known value: deny wins,
 * a non-empty allow list refuses what it does not name. An unknown value
 * ("") is never refused: a gap in the database locks nobody out.
 */
static const char *list_refused(cfg_t *sec, const char *allow, const char *deny,
                                const char *value, const char *denied, const char *not_allowed)
{
    if (*value == '\0')
        return NULL;
    if (in_list(sec, deny, value))
        return denied;
    if (moat_cfg_count(sec, allow) && !in_list(sec, allow, value))
        return not_allowed;
    return NULL;
}

/* rules_refused - the country and ASN lists of one section (global or a domain's) */
static const char *rules_refused(cfg_t *sec, const authlock_location *loc)
{
    const char *why = list_refused(sec, "allow_countries", "deny_countries", loc->geo.country,
                                   "country_denied", "country_not_allowed");

    return why ? why
               : list_refused(sec, "allow_asns", "deny_asns", loc->asn, "asn_denied",
                              "asn_not_allowed");
}

const char *georules_refused(cfg_t *sec, const authlock_location *loc, const char *user)
{
    const char *at = user ? strrchr(user, '@') : NULL;
    cfg_t *domain = at ? moat_cfg_titled(sec, "domain", at + 1) : NULL;
    const char *why;

    if (!loc->has_geo)
        return NULL;
    if ((why = rules_refused(sec, loc)) != NULL)
        return why;
    return domain ? rules_refused(domain, loc) : NULL;
}

long georules_asn_threshold(cfg_t *sec, const authlock_location *loc)
{
    cfg_t *a = loc->asn[0] ? moat_cfg_titled(sec, "asn", loc->asn) : NULL;

    return a ? moat_cfg_int(a, "threshold") : moat_cfg_int(sec, "asn_threshold");
}
