/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - the process-wide log sink, level filter and once-only reporting.
 */
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LOG_LINE_MAX 1024
#define ONCE_KEYS_MAX 32
#define ONCE_KEY_LEN 64

static moat_log_sink current_sink;
static moat_log_tap current_tap;
static int in_tap;   /* a line logged while the tap runs (the store's own) is not tapped again */
static moat_log_level current_level = MOAT_LOG_INFO;
static char once_keys[ONCE_KEYS_MAX][ONCE_KEY_LEN];
static int once_count;

void moat_log_set_sink(moat_log_sink sink) { current_sink = sink; }
void moat_log_set_tap(moat_log_tap tap) { current_tap = tap; }
void moat_log_set_level(moat_log_level level) { current_level = level; }
int moat_log_wanted(moat_log_level level) { return level <= current_level; }

/* flatten - replace control characters so a line stays one line */
static void flatten(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

void moat_vlog(moat_log_level level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];

    int tap = current_tap != NULL && !in_tap;

    if (level > current_level && !tap)
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    flatten(line);
    if (tap) {
        in_tap = 1;
        current_tap(line);
        in_tap = 0;
    }
    if (level > current_level)
        return;
    if (current_sink)
        current_sink(level, line);
    else
        fprintf(stderr, "%s\n", line);
}

size_t moat_utf8_printable_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len, i;
    uint32_t cp;

    if (u[0] < 0xc2 || u[0] > 0xf4)
        return 0;                              /* ASCII, a continuation, an overlong lead */
    len = u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
    cp = u[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (u[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0 || cp == 0x2028 || cp == 0x2029)
        return 0;                              /* overlong, surrogate, C1 control, line break */
    return len;
}

/* escape - s into out with control characters, DEL, bytes that are not printable
 * UTF-8 (C1 controls, invalid sequences) and the bytes of also as \xNN */
static const char *escape(const char *s, char *out, size_t cap, const char *also)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0, u;

    if (cap == 0)
        return "";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 && (u = moat_utf8_printable_len(s)) > 0) {
            if (n + u >= cap)
                break;
            memcpy(out + n, s, u);
            n += u;
            s += u - 1;
        } else if (c < 0x20 || c >= 0x7f || strchr(also, c) != NULL) {
            if (n + 4 >= cap)
                break;
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            if (n + 1 >= cap)
                break;
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return out;
}

const char *moat_log_field(const char *s, char *out, size_t cap)
{
    return escape(s, out, cap, "\\<>\"");
}

const char *moat_log_word(const char *s, char *out, size_t cap)
{
    return escape(s, out, cap, "\\<>\" =");
}

void moat_log(moat_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    moat_vlog(level, fmt, ap);
    va_end(ap);
}

void moat_log_once(const char *key, moat_log_level level, const char *fmt, ...)
{
    va_list ap;
    int i;

    for (i = 0; i < once_count; i++)
        if (strncmp(once_keys[i], key, ONCE_KEY_LEN - 1) == 0)
            return;
    if (once_count < ONCE_KEYS_MAX)
        snprintf(once_keys[once_count++], ONCE_KEY_LEN, "%s", key);
    va_start(ap, fmt);
    moat_vlog(level, fmt, ap);
    va_end(ap);
}

void moat_log_once_reset(void) { once_count = 0; }
