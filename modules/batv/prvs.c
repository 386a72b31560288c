/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prvs.c - a BATV tag checked by moat itself. The facts are Exim's
 * (expand.c, ${prvs} and ${prvscheck}): the signature is the first three
 * bytes of HMAC-SHA1(secret, K DDD user@domain) in lower-case hex, K the key
 * number, DDD the expiry day (days since the epoch, last three digits,
 * seven days after signing); a tag is good until that day has passed,
 * the three digits wrapping after 999. moat signs and checks the address
 * in lower case, and a tag written back in capitals is the same tag.
 */
#include "batv/prvs.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "batv/batv.h"
#include "batv/keys.h"

int batv_tag_sign(const char *address, const char *secret, char keynum, const char *day,
                  char out[7])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE], data[4 + ADDR_TEXT_MAX + 1];
    unsigned int mdlen = 0;
    size_t n = strlen(address), klen = strlen(secret);

    if (klen > 64 || n > ADDR_TEXT_MAX || strlen(day) != 3)
        return -1;
    /* the signed text: K DDD user@domain (no terminating NUL) */
    data[0] = (unsigned char)keynum;
    for (size_t i = 0; i < 3; i++)
        data[1 + i] = (unsigned char)day[i];
    for (size_t i = 0; i < n; i++)
        data[4 + i] = (unsigned char)address[i];
    if (HMAC(EVP_sha1(), secret, (int)klen, data, 4 + n, md, &mdlen) == NULL || mdlen < 3)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[6] = '\0';
    return 0;
}

/* day_not_past - ${prvscheck}'s expiry test of the tag's day stamp */
static int day_not_past(const char *day, time_t now)
{
    unsigned expire = (unsigned)((day[0] - '0') * 100 + (day[1] - '0') * 10 + (day[2] - '0'));
    unsigned today = (unsigned)((now / 86400) % 1000);

    if (expire < 7 && today >= 993)   /* the three digits wrapped since signing */
        today = 0;
    return expire >= today;
}

const char *batv_tag_status(moat_runtime *rt, const char *address, time_t now)
{
    char untagged[ADDR_TEXT_MAX + 1], keynum[2], day[4], secret[BATV_SECRET_MAX + 1], sig[7];

    if (addr_strip_prvs(address, untagged, sizeof untagged) != 1)
        return "none";
    addr_lower(untagged, untagged, sizeof untagged);   /* signed in lower case (main.conf) */
    keynum[0] = address[5];
    keynum[1] = '\0';
    memcpy(day, address + 6, 3);
    day[3] = '\0';
    /* a key moat does not have: Exim is given a secret that matches nothing */
    if (batv_secret(rt, untagged, keynum, now, secret, sizeof secret) != 0 ||
        batv_tag_sign(untagged, secret, keynum[0], day, sig) != 0)
        return "invalid";
    if (strncasecmp(sig, address + 9, 6) != 0 || !day_not_past(day, now))
        return "invalid";
    return "valid";
}
