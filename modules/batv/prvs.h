/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prvs.h - checking a BATV tag (prvs=KDDDSSSSSS=user@domain) in moat
 * itself, as Exim's ${prvscheck} with moat's secret would: for rcpt's
 * router, which judges bounces to our users without an ACL statement.
 * Pure logic: no Exim symbol.
 */
#ifndef MOAT_BATV_PRVS_H
#define MOAT_BATV_PRVS_H

#include "api.h"

#include <time.h>

#include "runtime.h"

/*
 * batv_tag_status - "none" (address carries no tag ${prvscheck} would take
 * apart), "valid" (the signature is moat's key's and the day not past) or
 * "invalid" (forged, expired, or a key moat does not have): what the ACL
 * got from ${prvscheck{ADDRESS}{MOAT_BATV_SECRET}{...}}. ADDRESS keeps its
 * local part's case: the signature covers it as signed.
 */
MOAT_API const char *batv_tag_status(moat_runtime *rt, const char *address, time_t now);

/*
 * batv_tag_sign - the six hex digits Exim's ${prvs} writes for address
 * with secret, key number keynum ('0'-'9') and day stamp day (three
 * digits); 0, or -1 when the secret is too long (over 64 bytes, which
 * Exim refuses too). For the tests, and for batv_tag_status.
 */
int batv_tag_sign(const char *address, const char *secret, char keynum, const char *day,
                  char out[7]);

#endif
