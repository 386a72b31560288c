/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net.h - client addresses: parse IPv4/IPv6, name their networks
 * (/24 and /64 by default), match CIDR lists.
 */
#ifndef MOAT_NET_H
#define MOAT_NET_H

#include <stddef.h>
#include <stdint.h>

#define MOAT_IP_TEXT_MAX 64   /* an address or network in text, with prefix */

typedef struct moat_ip {
    int family;               /* 4 or 6 */
    uint8_t bytes[16];        /* IPv4 in the first 4 */
} moat_ip;

typedef struct moat_cidr {
    moat_ip ip;
    int prefix;
} moat_cidr;

/* net_parse_ip - "192.0.2.7", "2001:db8::1" (also "::ffff:192.0.2.7", taken as IPv4); 0 or -1 */
int net_parse_ip(const char *text, moat_ip *out);

/* net_parse_cidr - "192.0.2.0/24", "2001:db8::/32", or a bare address (full prefix); 0 or -1 */
int net_parse_cidr(const char *text, moat_cidr *out);

/* net_format_ip - canonical text of ip */
void net_format_ip(const moat_ip *ip, char *out, size_t cap);

/*
 * net_network - the network of ip with prefix bits (v4_prefix for IPv4,
 * v6_prefix for IPv6) in text, e.g. "198.51.100.0/24", "2001:db8:1:2::/64"
 */
void net_network(const moat_ip *ip, int v4_prefix, int v6_prefix, char *out, size_t cap);

/* net_in_cidr - whether ip lies inside cidr */
int net_in_cidr(const moat_ip *ip, const moat_cidr *cidr);

/*
 * net_in_list - whether ip lies in any entry of a list of CIDRs separated
 * by spaces, commas or semicolons. Malformed entries never match.
 */
int net_in_list(const moat_ip *ip, const char *list);

#endif
