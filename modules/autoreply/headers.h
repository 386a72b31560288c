/*
 * headers.h - an RFC 5322 header block, as the SMTP peer sent it: folded
 * lines, CRLF or LF, any case. Fields are unfolded on the way in; values
 * are kept with their comments, and helpers strip them where RFCs say so.
 */
#ifndef MOAT_AUTOREPLY_HEADERS_H
#define MOAT_AUTOREPLY_HEADERS_H

#include <stddef.h>

#define HEADERS_MAX_FIELDS 256
#define HEADER_VALUE_MAX 2048

typedef struct header_field {
    char name[80];                  /* as sent */
    char value[HEADER_VALUE_MAX];   /* unfolded, leading blanks removed, cut if longer */
} header_field;

typedef struct header_block {
    header_field fields[HEADERS_MAX_FIELDS];
    size_t count;
    size_t dropped;                 /* fields past HEADERS_MAX_FIELDS, or malformed lines */
} header_block;

/*
 * headers_parse - parse text (len bytes; it may continue with a body after
 * an empty line, which is ignored). Never fails: malformed lines are
 * counted in dropped.
 */
void headers_parse(const char *text, size_t len, header_block *hb);

/* headers_get - the n-th (0-based) field called name (case-insensitive), or NULL */
const char *headers_get(const header_block *hb, const char *name, size_t n);

/* headers_count - how many fields are called name */
size_t headers_count(const header_block *hb, const char *name);

/* headers_has_prefix - whether any field name starts with prefix (e.g. "List-") */
int headers_has_prefix(const header_block *hb, const char *prefix);

/*
 * header_token - the first token of a structured value with RFC 5322
 * comments removed and case folded: "Auto-Replied (vacation); x=1" ->
 * "auto-replied". Returns out.
 */
char *header_token(const char *value, char *out, size_t cap);

/* header_param - a parameter of a structured value ("report-type"), unquoted, lower-cased; 1 if found */
int header_param(const char *value, const char *param, char *out, size_t cap);

/* header_address - the first addr-spec in an address header (From, Sender), lower-cased; 1 if found */
int header_address(const char *value, char *out, size_t cap);

#endif
