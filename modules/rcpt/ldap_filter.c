/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ldap_filter.c - RFC 4515 escaping and filter templates.
 */
#include "ldap_filter.h"

#include <stdio.h>
#include <string.h>

int ldap_escape(const char *in, size_t inlen, char *out, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
            if (n + 3 >= cap)
                return -1;
            snprintf(out + n, 4, "\\%02x", c);
            n += 3;
        } else {
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)c;
        }
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return 0;
}

int ldap_build_filter(const char *tmpl, const char *address, char *out, size_t cap)
{
    const char *at = strrchr(address, '@');
    size_t n = 0, alen = strlen(address);

    for (; *tmpl; tmpl++) {
        const char *part = NULL;
        size_t plen = 0;

        if (*tmpl != '%') {
            if (n + 1 >= cap)
                return -1;
            out[n++] = *tmpl;
            continue;
        }
        switch (*++tmpl) {
        case 's': part = address; plen = alen; break;
        case 'u': part = address; plen = at ? (size_t)(at - address) : alen; break;
        case 'd': part = at ? at + 1 : ""; plen = strlen(part); break;
        case '%':
            if (n + 1 >= cap)
                return -1;
            out[n++] = '%';
            continue;
        default:
            return -1;
        }
        if (ldap_escape(part, plen, out + n, cap - n) != 0)
            return -1;
        n += strlen(out + n);
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return 0;
}
