/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logline.c - splitting a moat log line into its module and key=value fields.
 */
#include "logline.h"

#include <string.h>

/* module_start - the offset just after "moat MODULE: " at the start of line, or -1 */
static long module_start(const char *line, size_t len, char *module, size_t cap)
{
    size_t m;

    if (len < 5 || memcmp(line, "moat ", 5) != 0)
        return -1;
    for (m = 0; 5 + m < len && m + 1 < cap; m++) {
        char c = line[5 + m];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            break;
        module[m] = c;
    }
    module[m] = '\0';
    if (m > 0 && 6 + m < len && line[5 + m] == ':' && line[6 + m] == ' ')
        return (long)(7 + m);
    return -1;
}

/* span - how many of the len bytes at p are in set (up to max) */
static size_t span(const char *p, size_t len, const char *set, size_t max)
{
    size_t n = 0;

    while (n < len && n < max && p[n] != '\0' && strchr(set, p[n]) != NULL)
        n++;
    return n;
}

#define DIGITS "0123456789"
#define ALNUM DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

long logline_exim_prefix(const char *line, size_t len)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    size_t i, n;

    if (len < sizeof shape)
        return -1;
    for (i = 0; i + 1 < sizeof shape; i++)
        if (shape[i] == 'd' ? !(line[i] >= '0' && line[i] <= '9') : line[i] != shape[i])
            return -1;
    if (i < len && line[i] == '.' && (n = span(line + i + 1, len - i - 1, DIGITS, 9)) > 0)
        i += 1 + n;                                    /* log_timezone fractions */
    if (i + 6 <= len && line[i] == ' ' && (line[i + 1] == '+' || line[i + 1] == '-') &&
        span(line + i + 2, len - i - 2, DIGITS, 4) == 4)
        i += 6;                                        /* " +0100" */
    if (i + 3 < len && line[i] == ' ' && line[i + 1] == '[' &&
        (n = span(line + i + 2, len - i - 2, DIGITS, 10)) > 0 && i + 2 + n < len &&
        line[i + 2 + n] == ']')
        i += 3 + n;                                    /* " [pid]" */
    if (i < len && line[i] == ' ') {                   /* " 1abcde-000000-AB" */
        size_t a = span(line + i + 1, len - i - 1, ALNUM, 12), b, c;
        if (a == 6 && i + 7 < len && line[i + 7] == '-' &&
            (b = span(line + i + 8, len - i - 8, ALNUM, 12)) >= 6 && b <= 11 &&
            i + 8 + b < len && line[i + 8 + b] == '-' &&
            (c = span(line + i + 9 + b, len - i - 9 - b, ALNUM, 5)) >= 2 && c <= 4)
            i += 9 + b + c;
    }
    if (i >= len || line[i] != ' ')
        return -1;
    return (long)(i + 1);
}

/* hex_digit - the value of a hex digit, -1 for anything else */
static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * copy_byte - the byte at *p into o, a \xNN that moat_log_field or
 * moat_log_word wrote as the byte it stands for (never a NUL: that stays
 * text), *p left on the last byte read; the next place to write
 */
static char *copy_byte(const char **p, const char *end, char *o)
{
    const char *q = *p;
    int hi, lo;

    if (q[0] == '\\' && end - q >= 4 && q[1] == 'x' && (hi = hex_digit(q[2])) >= 0 &&
        (lo = hex_digit(q[3])) >= 0 && (hi | lo) != 0) {
        *o++ = (char)(hi << 4 | lo);
        *p = q + 3;
        return o;
    }
    *o++ = *q;
    return o;
}

int logline_parse(const char *line, size_t len, moat_logline *out)
{
    const char *p, *end;
    char *o;
    long start;

    out->nfields = 0;
    out->module[0] = '\0';
    if (line == NULL)
        return -1;
    if (len > LOGLINE_TEXT_MAX)
        len = LOGLINE_TEXT_MAX;
    if ((start = module_start(line, len, out->module, sizeof out->module)) < 0)
        return -1;
    p = line + start;
    end = line + len;
    o = out->buf;
    /* Each field copies at most its own bytes plus two NULs: buf holds twice the line. */
    while (p < end && out->nfields < LOGLINE_FIELDS_MAX) {
        const char *k;

        while (p < end && *p == ' ')
            p++;
        k = p;
        while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            p++;
        if (p == k || p >= end || *p != '=')
            break;
        out->key[out->nfields] = o;
        memcpy(o, k, (size_t)(p - k));
        o += p - k;
        *o++ = '\0';
        p++;
        out->value[out->nfields] = o;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                *o++ = *p;
            }
            if (p < end)
                p++;
        } else if (p < end && *p == '<') {
            for (p++; p < end && *p != '>'; p++)
                o = copy_byte(&p, end, o);
            if (p < end)
                p++;
        } else {
            for (; p < end && *p != ' ' && *p != '\n' && *p != '\0'; p++)
                o = copy_byte(&p, end, o);
        }
        *o++ = '\0';
        out->nfields++;
        if (p < end && (*p == '\n' || *p == '\0'))
            break;
    }
    return 0;
}

const char *logline_get(const moat_logline *l, const char *key)
{
    int i;

    for (i = 0; i < l->nfields; i++)
        if (strcmp(l->key[i], key) == 0)
            return l->value[i];
    return NULL;
}

int logline_word_ok(const char *s)
{
    size_t n;

    if (s == NULL || *s == '\0')
        return 0;
    for (n = 0; s[n]; n++)
        if (n >= 48 || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
                         s[n] == '_'))
            return 0;
    return 1;
}
