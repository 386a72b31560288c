/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * georules.h - the country and ASN rules of AUTH: allow and deny lists,
 * global and per user domain (user names of the form user@domain), and the
 * per-ASN failure thresholds. Without geo data no rule applies: a missing
 * GeoIP file never refuses anybody.
 */
#ifndef MOAT_AUTHLOCK_GEORULES_H
#define MOAT_AUTHLOCK_GEORULES_H

#include <confuse.h>

#include "location.h"

/*
 * georules_refused - why loc may not AUTH ("country_denied",
 * "country_not_allowed", "asn_denied", "asn_not_allowed"), or NULL. user
 * (lower-cased) selects the domain's own rules; NULL before credentials.
 */
const char *georules_refused(cfg_t *sec, const authlock_location *loc, const char *user);

/* georules_asn_threshold - failures allowed from loc's ASN: its asn section, else asn_threshold */
long georules_asn_threshold(cfg_t *sec, const authlock_location *loc);

#endif
