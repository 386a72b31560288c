/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addr.h - RFC 5321 mailbox addresses as they arrive in the envelope.
 *
 * Parses "local@domain" (optionally in <>), checks the RFC 5321 limits
 * (local part 64 octets, domain 255, dot-atom or quoted-string local part,
 * LDH labels or an address literal), lower-cases the domain, and keeps the
 * local part as given; addr_key gives the case-folded form used for keys.
 * UTF-8 octets (SMTPUTF8) are accepted in both parts.
 */
#ifndef MOAT_ADDR_H
#define MOAT_ADDR_H

#include "api.h"

#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_TEXT_MAX 320

typedef struct moat_addr {
    char local[ADDR_LOCAL_MAX * 2 + 3];  /* as given, quotes included */
    char domain[ADDR_DOMAIN_MAX + 1];    /* lower-cased */
} moat_addr;

/*
 * addr_parse - split and check an address; 0 on success, -1 with *why set
 * to a short reason ("missing @", "local part longer than 64 octets", ...).
 */
int addr_parse(const char *text, moat_addr *out, const char **why);

/* addr_key - "local@domain" lower-cased, for store keys and comparisons */
void addr_key(const moat_addr *a, char *out, size_t cap);

/* addr_lower - lower-case ASCII letters of s into out */
void addr_lower(const char *s, char *out, size_t cap);

/* addr_domain_valid - whether text is a syntactically valid domain or literal */
int addr_domain_valid(const char *text);

/*
 * addr_strip_prvs - a BATV-tagged address (prvs=KDDDSSSSSS=user@domain, the
 * form Exim's ${prvs} makes and ${prvscheck} takes apart: K a digit, DDD
 * three digits, SSSSSS six hex digits, "prvs" in any case) without its tag,
 * as ${prvscheck} gives it (the tag is not checked: batv does that). 1 with
 * the address in out; 0 when text is not of that form or out is too small.
 */
MOAT_API int addr_strip_prvs(const char *text, char *out, size_t cap);

#endif
