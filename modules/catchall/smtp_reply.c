/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_reply.c - SMTP reply parsing.
 */
#include "smtp_reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* enhanced - "5.1.1 text" at p: fill e and return its length, or 0 */
static size_t enhanced(const char *p, size_t n, int e[3])
{
    size_t i = 0;
    int part;

    for (part = 0; part < 3; part++) {
        int v = 0, digits = 0;
        while (i < n && isdigit((unsigned char)p[i]) && digits < 3) {
            v = v * 10 + (p[i++] - '0');
            digits++;
        }
        if (digits == 0)
            return 0;
        e[part] = v;
        if (part < 2) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    if (i < n && p[i] != ' ')
        return 0;
    return i;
}

/* append_text - add a line's text to the reply's, space-separated, cut to fit */
static void append_text(smtp_reply *out, const char *text, size_t n)
{
    size_t have = strlen(out->text);

    if (have + 2 >= sizeof out->text)
        return;
    if (have > 0)
        out->text[have++] = ' ';
    if (n > sizeof out->text - 1 - have)
        n = sizeof out->text - 1 - have;
    memcpy(out->text + have, text, n);
    out->text[have + n] = '\0';
}

long smtp_reply_parse(const char *buf, size_t len, smtp_reply *out)
{
    size_t pos = 0;
    int first_code = -1;

    memset(out, 0, sizeof *out);
    while (pos < len) {
        const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        size_t n, skip = 0;
        int code, e[3] = {0, 0, 0};

        if (nl == NULL)
            return len - pos > SMTP_REPLY_LINE_MAX ? -1 : 0;   /* a line that never ends is junk */
        n = (size_t)(nl - line);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
            !isdigit((unsigned char)line[2]) || (n > 3 && line[3] != ' ' && line[3] != '-'))
            return -1;
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code < 200 || code > 599 || (first_code >= 0 && code != first_code))
            return -1;
        first_code = code;
        pos = (size_t)(nl - buf) + 1;
        if (n > 4) {
            /* an enhanced code counts only when its class is the reply's */
            skip = enhanced(line + 4, n - 4, e);
            if (skip && e[0] == code / 100 && out->enhanced[0] == 0)
                memcpy(out->enhanced, e, sizeof e);
            while (skip < n - 4 && line[4 + skip] == ' ')
                skip++;
            append_text(out, line + 4 + skip, n - 4 - skip);
        }
        if (n > 3 && line[3] == '-')
            continue;
        out->code = code;
        return (long)pos;
    }
    return 0;
}
