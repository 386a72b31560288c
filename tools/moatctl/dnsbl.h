/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dnsbl.h - is one of our sending addresses on a DNS blocklist? An A
 * query for the reversed address under the list's zone (RFC 5782), asked
 * of a resolver the admin names (or the system's), with the list's TXT
 * reason when listed.
 */
#ifndef MOATCTL_DNSBL_H
#define MOATCTL_DNSBL_H

#include <stddef.h>

enum { DNSBL_NOT_LISTED = 0, DNSBL_LISTED = 1, DNSBL_ERROR = -1 };

/*
 * dnsbl_name - the query name for address (IPv4 or IPv6) under zone into
 * out: "4.3.2.1.zone" or 32 nibbles then zone; 0, or -1 when address is
 * not an IP address or the name does not fit
 */
int dnsbl_name(const char *address, const char *zone, char *out, size_t outlen);

/*
 * dnsbl_check - ask the list zone about address through resolver
 * ("IP" or "IP:PORT", IPv4; NULL or "": the system's). DNSBL_LISTED with
 * the answer (127.0.0.x) in answer and the list's TXT in text;
 * DNSBL_NOT_LISTED; DNSBL_ERROR with why in text (no answer, or the list
 * refused the resolver: an answer in 127.255.255.0/24).
 */
int dnsbl_check(const char *address, const char *zone, const char *resolver, char *answer,
                size_t answerlen, char *text, size_t textlen);

#endif
