/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - one logging call for every part of moat.
 *
 * Module logic and common/ code log through moat_log(); where the text goes
 * is decided once per process by whoever hosts the code: the Exim glue
 * routes it to Exim's mainlog (log_write), moatctl to stderr, unit tests to
 * a capture buffer. Lines never contain a newline.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include "api.h"

#include <stdarg.h>
#include <stddef.h>

typedef enum {
    MOAT_LOG_ERROR,   /* our own fault: store down, config broken */
    MOAT_LOG_WARN,    /* degraded, but working */
    MOAT_LOG_INFO,    /* one line per policy decision */
    MOAT_LOG_DEBUG
} moat_log_level;

typedef void (*moat_log_sink)(moat_log_level level, const char *line);

/* moat_log_set_sink - route every later line to sink (NULL: stderr) */
MOAT_API void moat_log_set_sink(moat_log_sink sink);

/*
 * moat_log_set_tap - also hand every line, whatever the level, to tap
 * (the decision counters, stats.c) before the level filter; NULL: none.
 * The tap must not log.
 */
typedef void (*moat_log_tap)(const char *line);
void moat_log_set_tap(moat_log_tap tap);

/* moat_log_set_level - drop lines less severe than level */
void moat_log_set_level(moat_log_level level);

/*
 * moat_log_wanted - whether a line of level would be written: a caller
 * with a costly line to build (a decision made on every RCPT) skips it
 * when not, and counts the decision itself (moat_stats_count)
 */
int moat_log_wanted(moat_log_level level);

void moat_log(moat_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void moat_vlog(moat_log_level level, const char *fmt, va_list ap);

/*
 * moat_log_once - log a line only the first time its key is seen in this
 * process: a fault that repeats on every call is reported once per process,
 * not once per call.
 */
MOAT_API void moat_log_once(const char *key, moat_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * moat_utf8_printable_len - the length of the UTF-8 character s starts
 * with when it is a printable non-ASCII one; 0 for ASCII, an invalid or
 * overlong sequence, a surrogate, a C1 control or U+2028/U+2029
 */
size_t moat_utf8_printable_len(const char *s);

/*
 * moat_log_field - s as one field of a log line, for values someone else
 * chose (an envelope address, an AUTH user name): control characters, DEL,
 * '\\', '<', '>' and '"' as \xNN, the rest as it is, cut to fit cap. A
 * value written this way between <> can neither end its field early nor
 * start a line. Returns out.
 */
const char *moat_log_field(const char *s, char *out, size_t cap);

/*
 * moat_log_word - s as a bare field value (key=VALUE, no brackets): as
 * moat_log_field, and blank and '=' as \xNN too, so a value someone else
 * chose can never look like a further key=value field. Returns out.
 */
const char *moat_log_word(const char *s, char *out, size_t cap);

/* moat_log_once_reset - forget every key (a fault that cleared may report again) */
void moat_log_once_reset(void);

#endif
