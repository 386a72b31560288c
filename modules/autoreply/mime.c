/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mime.c - Content-Type, its parameters (RFC 2045, RFC 2231), report kinds.
 */
#include "mime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"

#define SEGMENTS_MAX 16

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int mime_content_type(const char *value, mime_type *out)
{
    hlex lx;
    htok t;

    out->type[0] = out->subtype[0] = '\0';
    hlex_init(&lx, value, HLEX_MIME);
    if (hlex_next(&lx, out->type, sizeof out->type).kind != HTOK_ATOM)
        goto none;
    t = hlex_next(&lx, out->subtype, sizeof out->subtype);
    if (t.kind != HTOK_SPECIAL || t.special != '/')
        goto none;
    if (hlex_next(&lx, out->subtype, sizeof out->subtype).kind != HTOK_ATOM)
        goto none;
    lower(out->type);
    lower(out->subtype);
    return 1;
none:
    out->type[0] = out->subtype[0] = '\0';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* percent_decode - RFC 2231 extended-other-values, in place */
static void percent_decode(char *s)
{
    char *w = s;

    for (; *s; s++) {
        int hi, lo;
        if (*s == '%' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* strip_charset - drop RFC 2231's "charset'language'" prefix, in place */
static void strip_charset(char *s)
{
    char *q1 = strchr(s, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;

    if (q2)
        memmove(s, q2 + 1, strlen(q2 + 1) + 1);
}

typedef struct segment {
    int present;
    int encoded;
    char text[256];
} segment;

int mime_param(const char *value, const char *name, char *out, size_t cap)
{
    char attr[MIME_TOKEN_MAX], val[1024];
    segment *seg = NULL;
    size_t nl = strlen(name);
    hlex lx;
    htok t;
    int plain = 0, found = 0, i;

    out[0] = '\0';
    hlex_init(&lx, value, HLEX_MIME);
    /* skip type/subtype: everything up to the first ';' */
    do
        t = hlex_next(&lx, val, sizeof val);
    while (t.kind != HTOK_END && !(t.kind == HTOK_SPECIAL && t.special == ';'));
    while (t.kind != HTOK_END) {
        /* here: just after a ';' */
        t = hlex_next(&lx, attr, sizeof attr);
        if (t.kind != HTOK_ATOM)
            goto next;
        t = hlex_next(&lx, val, sizeof val);
        if (t.kind != HTOK_SPECIAL || t.special != '=')
            goto next;
        t = hlex_next(&lx, val, sizeof val);
        if (t.kind != HTOK_ATOM && t.kind != HTOK_QUOTED)
            goto next;
        if (strncasecmp(attr, name, nl) != 0)
            goto next;
        if (attr[nl] == '\0') {                        /* name=value */
            if (!plain && !found) {
                snprintf(out, cap, "%s", val);
                plain = 1;
            }
        } else if (attr[nl] == '*' && attr[nl + 1] == '\0') {   /* name*=charset'lang'value */
            strip_charset(val);
            percent_decode(val);
            snprintf(out, cap, "%s", val);
            found = 1;
        } else if (attr[nl] == '*' && isdigit((unsigned char)attr[nl + 1])) {
            char *end;
            long k = strtol(attr + nl + 1, &end, 10);
            if ((*end != '\0' && strcmp(end, "*") != 0) || k < 0 || k >= SEGMENTS_MAX)
                goto next;
            if (seg == NULL && (seg = calloc(SEGMENTS_MAX, sizeof *seg)) == NULL)
                goto next;
            seg[k].present = 1;
            seg[k].encoded = *end == '*';
            snprintf(seg[k].text, sizeof seg[k].text, "%s", val);
        }
    next:
        while (t.kind != HTOK_END && !(t.kind == HTOK_SPECIAL && t.special == ';'))
            t = hlex_next(&lx, val, sizeof val);
    }
    if (seg && seg[0].present) {                       /* continuations win over name= */
        size_t n = 0;
        out[0] = '\0';
        for (i = 0; i < SEGMENTS_MAX && seg[i].present; i++) {
            if (i == 0 && seg[i].encoded)
                strip_charset(seg[i].text);
            if (seg[i].encoded)
                percent_decode(seg[i].text);
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s", seg[i].text);
            if (n >= cap)
                break;
        }
        found = 1;
    }
    free(seg);
    return found || plain;
}

mime_report mime_report_kind(const char *content_type)
{
    static const struct {
        const char *name;
        mime_report kind;
    } kinds[] = {
        {"delivery-status", MIME_REPORT_DSN},
        {"global-delivery-status", MIME_REPORT_DSN},
        {"disposition-notification", MIME_REPORT_MDN},
        {"global-disposition-notification", MIME_REPORT_MDN},
        {"feedback-report", MIME_REPORT_ARF},
    };
    mime_type mt;
    char rt[MIME_TOKEN_MAX];
    size_t i;

    if (content_type == NULL || !mime_content_type(content_type, &mt))
        return MIME_REPORT_NONE;
    if (strcmp(mt.type, "multipart") == 0 && strcmp(mt.subtype, "report") == 0) {
        if (!mime_param(content_type, "report-type", rt, sizeof rt))
            return MIME_REPORT_OTHER;
        lower(rt);
    } else if (strcmp(mt.type, "message") == 0) {
        snprintf(rt, sizeof rt, "%s", mt.subtype);   /* a bare report part as the message */
    } else {
        return MIME_REPORT_NONE;
    }
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(rt, kinds[i].name) == 0)
            return kinds[i].kind;
    return strcmp(mt.type, "multipart") == 0 ? MIME_REPORT_OTHER : MIME_REPORT_NONE;
}

const char *mime_report_name(mime_report r)
{
    switch (r) {
    case MIME_REPORT_DSN: return "dsn";
    case MIME_REPORT_MDN: return "mdn";
    case MIME_REPORT_ARF: return "arf";
    case MIME_REPORT_OTHER: return "other";
    case MIME_REPORT_NONE: break;
    }
    return "";
}
