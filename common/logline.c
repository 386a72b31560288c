/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logline.c - splitting a moat log line into its module and key=value fields.
 */
#include "logline.h"

#include <string.h>

/* module_start - the offset just after "moat MODULE: " in line, or -1; module filled */
static long module_start(const char *line, size_t len, char *module, size_t cap)
{
    size_t i, m;

    for (i = 0; i + 5 < len; i++) {
        if (memcmp(line + i, "moat ", 5) != 0 || (i > 0 && line[i - 1] != ' '))
            continue;
        for (m = 0; i + 5 + m < len && m + 1 < cap; m++) {
            char c = line[i + 5 + m];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                break;
            module[m] = c;
        }
        module[m] = '\0';
        if (m > 0 && i + 5 + m + 1 < len && line[i + 5 + m] == ':' && line[i + 6 + m] == ' ')
            return (long)(i + 7 + m);
    }
    return -1;
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
                *o++ = *p;
            if (p < end)
                p++;
        } else {
            for (; p < end && *p != ' ' && *p != '\n' && *p != '\0'; p++)
                *o++ = *p;
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
