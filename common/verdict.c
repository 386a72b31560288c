/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verdict.c - writing and reading the key=value verdict line.
 */
#include "verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* bare_ok - whether value can be written without quotes */
static int bare_ok(const char *value)
{
    const char *p;

    if (*value == '\0')
        return 0;
    for (p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._:/@+=-", c)))
            return 0;
    }
    return 1;
}

void verdict_init(moat_verdict *v, const char *action)
{
    v->len = 0;
    v->truncated = 0;
    v->text[0] = '\0';
    verdict_add(v, "action", action);
}

void verdict_add(moat_verdict *v, const char *key, const char *value)
{
    char pair[MOAT_VERDICT_MAX];
    size_t n = 0;
    const char *p;

    if (value == NULL || v->truncated)
        return;
    if (v->len)
        pair[n++] = ' ';
    for (p = key; *p && n < sizeof pair - 1; p++)
        pair[n++] = *p;
    if (*p || n >= sizeof pair - 1)
        goto too_long;
    pair[n++] = '=';
    if (bare_ok(value)) {
        for (p = value; *p && n < sizeof pair - 1; p++)
            pair[n++] = *p;
        if (*p)
            goto too_long;
    } else {
        pair[n++] = '"';
        for (p = value; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (n + 4 >= sizeof pair)
                goto too_long;
            if (c == '"' || c == '\\')
                pair[n++] = '\\';
            pair[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        }
        pair[n++] = '"';
    }
    pair[n] = '\0';
    if (v->len + n >= sizeof v->text)
        goto too_long;
    memcpy(v->text + v->len, pair, n + 1);
    v->len += n;
    return;

too_long:
    v->truncated = 1;
}

void verdict_addf(moat_verdict *v, const char *key, const char *fmt, ...)
{
    char value[MOAT_VERDICT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    verdict_add(v, key, value);
}

void verdict_add_int(moat_verdict *v, const char *key, long long value)
{
    verdict_addf(v, key, "%lld", value);
}

int verdict_get(const char *text, const char *key, char *out, size_t outlen)
{
    size_t keylen = strlen(key);
    const char *p = text;

    while (*p) {
        const char *k, *ke;
        size_t n = 0;
        int match;

        while (*p == ' ' || *p == '\t')
            p++;
        k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        ke = p;
        if (*p != '=')
            return 0;
        p++;
        match = (size_t)(ke - k) == keylen && strncmp(k, key, keylen) == 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (match && n + 1 < outlen)
                    out[n++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ' ' && *p != '\t') {
                if (match && n + 1 < outlen)
                    out[n++] = *p;
                p++;
            }
        }
        if (match) {
            if (outlen)
                out[n] = '\0';
            return 1;
        }
    }
    return 0;
}
