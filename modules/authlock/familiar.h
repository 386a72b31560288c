/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * familiar.h - the places a user has logged in from (Entra smart lockout's
 * familiar locations). A successful login remembers its network and ASN
 * for the user; failures from elsewhere count against their own, lower
 * threshold and never lock the user out of a familiar place.
 *
 * A country alone is not remembered: it is as much the attacker's as the
 * user's. An ASN vouches only while the user's failures come from few
 * addresses (see familiar_is).
 */
#ifndef MOAT_AUTHLOCK_FAMILIAR_H
#define MOAT_AUTHLOCK_FAMILIAR_H

#include <time.h>

#include "location.h"
#include "store.h"

/*
 * familiar_is - whether loc is familiar to user (lower-cased): its network,
 * or, when trust_asn, its ASN. 1/0, -1 on a store error.
 */
int familiar_is(moat_store *st, const char *user, const authlock_location *loc, int trust_asn,
                time_t now);

/* familiar_remember - make loc's network and ASN familiar to user for ttl seconds; 0 or -1 */
int familiar_remember(moat_store *st, const char *user, const authlock_location *loc,
                      uint32_t ttl, time_t now);

#endif
