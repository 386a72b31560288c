/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logline.h - reading moat's own log lines back: the stable format
 * docs/logging.md promises,
 *
 *   moat MODULE: key=value key=value ...
 *
 * where a value is bare (up to the next blank), "quoted" (\" and \\
 * escaped) or <bracketed> (moat_log_field escapes '<', '>' inside). Used by
 * the decision counters (stats.c) on every line moat logs, and by
 * moatctl report on Exim's mainlog, whose lines come from anywhere: the
 * parser trusts nothing in them.
 */
#ifndef MOAT_LOGLINE_H
#define MOAT_LOGLINE_H

#include <stddef.h>

#define LOGLINE_FIELDS_MAX 24
#define LOGLINE_TEXT_MAX 1024

typedef struct moat_logline {
    char module[16];                       /* "rcpt", "authlock", ... */
    int nfields;
    const char *key[LOGLINE_FIELDS_MAX];   /* into buf */
    const char *value[LOGLINE_FIELDS_MAX]; /* into buf, unquoted, brackets kept off */
    char buf[LOGLINE_TEXT_MAX * 2];
} moat_logline;

/*
 * logline_parse - a line that begins "moat MODULE: " (len bytes, not
 * necessarily NUL-terminated) split into fields; 0, or -1 when it is no
 * moat line. A field that is not key=value ends the parse (what came before
 * is kept); at most LOGLINE_FIELDS_MAX fields, a line cut at
 * LOGLINE_TEXT_MAX bytes. When a key comes twice, logline_get gives the
 * first: moat writes its own fields (action, reason, ip) before any a
 * client chose.
 */
int logline_parse(const char *line, size_t len, moat_logline *out);

/*
 * logline_exim_prefix - where the text after Exim's own prefix begins in a
 * mainlog line: "YYYY-MM-DD HH:MM:SS" (with fractions and a zone if
 * configured), then " [pid]" and a message id when present, then one
 * blank; -1 when the line does not begin so. Only what follows it may be a
 * moat line: a "moat rcpt: ..." inside an address Exim logs is not one.
 */
long logline_exim_prefix(const char *line, size_t len);

/* logline_get - the value of key, or NULL */
const char *logline_get(const moat_logline *l, const char *key);

/*
 * logline_word_ok - whether s is a label fit for a counter's key and a
 * metric's label: 1 to 48 of [a-z0-9_]
 */
int logline_word_ok(const char *s);

#endif
