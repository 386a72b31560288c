/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net.c - IP and CIDR parsing and matching on top of inet_pton.
 */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int net_parse_ip(const char *text, moat_ip *out)
{
    char buf[MOAT_IP_TEXT_MAX];
    size_t n;

    if (text == NULL)
        return -1;
    n = strlen(text);
    if (n == 0 || n >= sizeof buf)
        return -1;
    /* Exim writes IPv6 client addresses plainly; accept [..] too. */
    if (text[0] == '[' && text[n - 1] == ']') {
        memcpy(buf, text + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        memcpy(buf, text, n + 1);
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->bytes) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
        if (memcmp(out->bytes, v4_mapped_prefix, 12) == 0) {
            memmove(out->bytes, out->bytes + 12, 4);
            memset(out->bytes + 4, 0, 12);
            out->family = 4;
        } else {
            out->family = 6;
        }
        return 0;
    }
    return -1;
}

int net_parse_cidr(const char *text, moat_cidr *out)
{
    char buf[MOAT_IP_TEXT_MAX];
    const char *slash;
    char *end;
    long prefix;
    size_t n;

    if (text == NULL)
        return -1;
    slash = strchr(text, '/');
    n = slash ? (size_t)(slash - text) : strlen(text);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (net_parse_ip(buf, &out->ip) != 0)
        return -1;
    if (slash == NULL) {
        out->prefix = out->ip.family == 4 ? 32 : 128;
        return 0;
    }
    if (slash[1] < '0' || slash[1] > '9')
        return -1;
    prefix = strtol(slash + 1, &end, 10);
    if (*end != '\0' || prefix < 0 || prefix > (out->ip.family == 4 ? 32 : 128))
        return -1;
    out->prefix = (int)prefix;
    return 0;
}

void net_format_ip(const moat_ip *ip, char *out, size_t cap)
{
    char buf[INET6_ADDRSTRLEN];

    if (inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->bytes, buf, sizeof buf) == NULL)
        buf[0] = '\0';
    snprintf(out, cap, "%s", buf);
}

/* mask_to - ip with every bit after prefix cleared */
static moat_ip mask_to(const moat_ip *ip, int prefix)
{
    moat_ip m = *ip;
    int total = ip->family == 4 ? 32 : 128;
    int bit;

    for (bit = prefix; bit < total; bit++)
        m.bytes[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    return m;
}

void net_network(const moat_ip *ip, int v4_prefix, int v6_prefix, char *out, size_t cap)
{
    int prefix = ip->family == 4 ? v4_prefix : v6_prefix;
    moat_ip m = mask_to(ip, prefix);
    char buf[INET6_ADDRSTRLEN];

    net_format_ip(&m, buf, sizeof buf);
    snprintf(out, cap, "%s/%d", buf, prefix);
}

int net_in_cidr(const moat_ip *ip, const moat_cidr *cidr)
{
    moat_ip a, b;

    if (ip->family != cidr->ip.family)
        return 0;
    a = mask_to(ip, cidr->prefix);
    b = mask_to(&cidr->ip, cidr->prefix);
    return memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

int net_in_list(const moat_ip *ip, const char *list)
{
    const char *p = list;

    while (p && *p) {
        char entry[MOAT_IP_TEXT_MAX];
        size_t n = strcspn(p, " \t,;");
        moat_cidr cidr;

        if (n > 0 && n < sizeof entry) {
            memcpy(entry, p, n);
            entry[n] = '\0';
            if (net_parse_cidr(entry, &cidr) == 0 && net_in_cidr(ip, &cidr))
                return 1;
        }
        p += n;
        p += strspn(p, " \t,;");
    }
    return 0;
}
