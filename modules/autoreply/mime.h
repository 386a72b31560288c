/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mime.h - the MIME structure a header block declares: the Content-Type
 * (RFC 2045 5.1, with RFC 2231 extended and continued parameters) and
 * whether it is a report - a delivery status notification (RFC 3464,
 * 6533), a disposition notification (RFC 8098) or a feedback report
 * (RFC 5965) - recognised from the structure whatever the envelope says.
 */
#ifndef MOAT_AUTOREPLY_MIME_H
#define MOAT_AUTOREPLY_MIME_H

#include <stddef.h>

#define MIME_TOKEN_MAX 128

typedef struct mime_type {
    char type[MIME_TOKEN_MAX];      /* lower-cased; "" when the value is not a type */
    char subtype[MIME_TOKEN_MAX];
} mime_type;

/* mime_content_type - type and subtype of a Content-Type value; 1 if it has both */
int mime_content_type(const char *value, mime_type *out);

/*
 * mime_param - parameter `name` of a Content-Type (or any RFC 2045
 * parameter list), unquoted: name=token, name="quoted", RFC 2231's
 * name*=charset'lang'%xx and continuations name*0= name*1*= ... joined in
 * order. 1 if present.
 */
int mime_param(const char *value, const char *name, char *out, size_t cap);

typedef enum {
    MIME_REPORT_NONE = 0,
    MIME_REPORT_DSN,        /* delivery status: an NDR, a delay or success notice */
    MIME_REPORT_MDN,        /* read receipt and the like */
    MIME_REPORT_ARF,        /* abuse feedback */
    MIME_REPORT_OTHER       /* multipart/report of another or no report-type */
} mime_report;

/* mime_report_kind - what report a top-level Content-Type value declares */
mime_report mime_report_kind(const char *content_type);

/* mime_report_name - "dsn", "mdn", "arf", "other" or "" */
const char *mime_report_name(mime_report r);

#endif
