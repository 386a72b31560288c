/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_reply.h - parsing SMTP replies from a remote server (RFC 5321 4.2,
 * enhanced status codes RFC 3463): multi-line, any line length, any junk.
 */
#ifndef MOAT_CATCHALL_SMTP_REPLY_H
#define MOAT_CATCHALL_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_REPLY_TEXT_MAX 256
#define SMTP_REPLY_LINE_MAX 4096   /* longer without a line end: not SMTP */

typedef struct smtp_reply {
    int code;            /* 200..599 */
    int enhanced[3];     /* class, subject, detail (the first line that has one); 0s when absent */
    char text[SMTP_REPLY_TEXT_MAX]; /* the text of every line, space-separated, cut */
} smtp_reply;

/*
 * smtp_reply_parse - parse the first complete reply in buf[0..len). Returns
 * the number of bytes it used (> 0), 0 when more data is needed, -1 when the
 * data is not an SMTP reply.
 */
long smtp_reply_parse(const char *buf, size_t len, smtp_reply *out);

#endif
