/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addr.c - envelope address parsing to RFC 5321 (section 4.1.2, 4.5.3.1).
 */
#include "addr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net.h"

/* atext - RFC 5322 atext, plus UTF-8 octets */
static int atext(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL || c >= 0x80;
}

/* dot_atom_valid - RFC 5321 Dot-string */
static int dot_atom_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!atext((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* quoted_valid - RFC 5321 Quoted-string: "..." with qtextSMTP and \-pairs */
static int quoted_valid(const char *s, size_t n)
{
    size_t i;

    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return 0;
    for (i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            if (i + 1 >= n - 1 || (unsigned char)s[i + 1] < 32 || (unsigned char)s[i + 1] == 127)
                return 0;
            i++;
        } else if (c == '"' || c < 32 || c == 127) {
            return 0;
        }
    }
    return 1;
}

int addr_domain_valid(const char *text)
{
    size_t n = strlen(text), label = 0, i;

    if (n == 0 || n > ADDR_DOMAIN_MAX)
        return 0;
    if (text[0] == '[') {
        char inner[ADDR_DOMAIN_MAX + 1];
        moat_ip ip;
        if (text[n - 1] != ']' || n < 3)
            return 0;
        memcpy(inner, text + 1, n - 2);
        inner[n - 2] = '\0';
        if (strncasecmp(inner, "IPv6:", 5) == 0)
            return net_parse_ip(inner + 5, &ip) == 0 && ip.family == 6;
        return net_parse_ip(inner, &ip) == 0 && ip.family == 4 && strchr(inner, ':') == NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '.') {
            if (label == 0 || text[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum(c) || c >= 0x80 || (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && text[n - 1] != '-';
}

int addr_parse(const char *text, moat_addr *out, const char **why)
{
    const char *start, *end, *at = NULL, *p;
    size_t n, ln, dn;
    int in_quote = 0;

    out->local[0] = out->domain[0] = '\0';
    if (text == NULL) {
        *why = "empty address";
        return -1;
    }
    start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end > start && *start == '<') {
        if (end[-1] != '>') {
            *why = "unbalanced angle brackets";
            return -1;
        }
        start++;
        end--;
    }
    n = (size_t)(end - start);
    if (n == 0) {
        *why = "empty address";
        return -1;
    }
    if (n > ADDR_TEXT_MAX) {
        *why = "address longer than 320 octets";
        return -1;
    }
    /* The domain starts after the last @ outside a quoted local part. */
    for (p = start; p < end; p++) {
        if (*p == '\\' && in_quote && p + 1 < end)
            p++;
        else if (*p == '"')
            in_quote = !in_quote;
        else if (*p == '@' && !in_quote)
            at = p;
    }
    if (at == NULL) {
        *why = "missing @";
        return -1;
    }
    ln = (size_t)(at - start);
    dn = (size_t)(end - at - 1);
    if (ln == 0) {
        *why = "empty local part";
        return -1;
    }
    if (ln > ADDR_LOCAL_MAX) {
        *why = "local part longer than 64 octets";
        return -1;
    }
    if (!dot_atom_valid(start, ln) && !quoted_valid(start, ln)) {
        *why = "malformed local part";
        return -1;
    }
    if (dn == 0) {
        *why = "empty domain";
        return -1;
    }
    if (dn > ADDR_DOMAIN_MAX) {
        *why = "domain longer than 255 octets";
        return -1;
    }
    memcpy(out->local, start, ln);
    out->local[ln] = '\0';
    memcpy(out->domain, at + 1, dn);
    out->domain[dn] = '\0';
    addr_lower(out->domain, out->domain, sizeof out->domain);
    if (!addr_domain_valid(out->domain)) {
        *why = "malformed domain";
        memset(out, 0, sizeof *out);
        return -1;
    }
    *why = NULL;
    return 0;
}

void addr_lower(const char *s, char *out, size_t cap)
{
    size_t i;

    if (cap == 0)
        return;
    for (i = 0; s[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

void addr_key(const moat_addr *a, char *out, size_t cap)
{
    size_t nl = strnlen(a->local, sizeof a->local - 1),
           nd = strnlen(a->domain, sizeof a->domain - 1), i, n = 0;

    /* (runs for every RCPT: no printf, one pass) */
    if (cap == 0)
        return;
    for (i = 0; i < nl && n + 1 < cap; i++)
        out[n++] = (char)tolower((unsigned char)a->local[i]);
    if (n + 1 < cap)
        out[n++] = '@';
    for (i = 0; i < nd && n + 1 < cap; i++)
        out[n++] = (char)tolower((unsigned char)a->domain[i]);
    out[n] = '\0';
}

int addr_strip_prvs(const char *text, char *out, size_t cap)
{
    const char *rest, *at;
    size_t i, n;

    if (strncasecmp(text, "prvs=", 5) != 0)
        return 0;
    for (i = 5; i < 9; i++)
        if (!isdigit((unsigned char)text[i]))
            return 0;
    for (i = 9; i < 15; i++)
        if (!isxdigit((unsigned char)text[i]))
            return 0;
    if (text[15] != '=')
        return 0;
    /* ${prvscheck}'s (.+)@(.+)$: both parts non-empty, split at the last @, no line break */
    rest = text + 16;
    at = strrchr(rest, '@');
    n = strlen(rest);
    if (at == NULL || at == rest || at[1] == '\0' || strchr(rest, '\n') != NULL || n >= cap)
        return 0;
    memcpy(out, rest, n + 1);
    return 1;
}
