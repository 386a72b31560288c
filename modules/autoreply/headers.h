/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * headers.h - an RFC 5322 header block as the SMTP peer sent it (folded
 * lines, CRLF or LF, any case), and a lexer for structured field values
 * (comments, quoted strings, quoted-pairs).
 *
 * headers_parse copies the block once into one allocation and unfolds it
 * in place (RFC 5322 2.2.3: a line break followed by a blank is removed);
 * fields point into that copy. Nothing is cut: a value is as long as it
 * was sent. Parsing stops at the empty line that ends the header.
 */
#ifndef MOAT_AUTOREPLY_HEADERS_H
#define MOAT_AUTOREPLY_HEADERS_H

#include <stddef.h>

#define HEADERS_MAX_BYTES ((size_t)1024 * 1024)   /* Exim's header_maxsize default */

typedef struct header_field {
    const char *name;     /* as sent, NUL-terminated, no trailing blanks */
    size_t name_len;
    const char *value;    /* unfolded, outer blanks removed, NUL-terminated */
    size_t value_len;
} header_field;

typedef struct header_block {
    header_field *fields;
    size_t count;
    size_t malformed;     /* lines that are neither a field nor a continuation */
    int truncated;        /* the block was longer than HEADERS_MAX_BYTES */
    char *arena;          /* the one allocation: fields, then the text */
} header_block;

/*
 * headers_parse - parse len bytes of text (a body after the empty line is
 * ignored). 0, or -1 when memory runs out (hb is then empty but valid).
 * Malformed lines are counted, never fatal. Free with headers_free.
 */
int headers_parse(header_block *hb, const char *text, size_t len);
void headers_free(header_block *hb);

/* headers_get - the value of the n-th (0-based) field called name, any case; NULL */
const char *headers_get(const header_block *hb, const char *name, size_t n);

/*
 * headers_next - the value of the next field called name (any case) at or
 * after *pos, which it advances past that field; NULL when none is left.
 * Start with *pos = 0: a walk over every field of one name is linear.
 */
const char *headers_next(const header_block *hb, const char *name, size_t *pos);

/* headers_count - how many fields are called name */
size_t headers_count(const header_block *hb, const char *name);

/* headers_has_prefix - the first field whose name starts with prefix (any case), or NULL */
const header_field *headers_with_prefix(const header_block *hb, const char *prefix);

/*
 * The structured-value lexer. Blanks and comments (nested, with
 * quoted-pairs) separate tokens and are dropped; a quoted string is one
 * token with its quoted-pairs undone; any character in `specials` is a
 * token of its own; everything else runs into an atom. A token longer than
 * the caller's buffer is cut (and flagged), never overflowing it.
 */
typedef enum { HTOK_END = 0, HTOK_ATOM, HTOK_QUOTED, HTOK_SPECIAL } htok_kind;

typedef struct hlex {
    const char *p;
    const char *specials;
} hlex;

typedef struct htok {
    htok_kind kind;
    char special;         /* for HTOK_SPECIAL */
    int cut;              /* the text did not fit */
} htok;

/* RFC 5322 3.2.3 specials, and RFC 2045 5.1 tspecials */
#define HLEX_RFC5322 "()<>[]:;@\\,.\""
#define HLEX_MIME "()<>@,;:\\\"/[]?="

void hlex_init(hlex *lx, const char *value, const char *specials);

/* hlex_next - the next token; atom and quoted text go to out (cap >= 1) */
htok hlex_next(hlex *lx, char *out, size_t cap);

/*
 * header_keyword - the first atom of a value, lower-cased, comments
 * skipped: "Auto-Replied (vacation); x=1" -> "auto-replied". "" if none.
 * Atoms here stop at RFC 2045 tspecials. Returns out.
 */
char *header_keyword(const char *value, char *out, size_t cap);

/*
 * header_each_address - call fn for every address of an address-list field
 * (To, Cc, From, Resent-Bcc ...), lower-cased, quotes removed: display
 * names, comments, routes and groups are skipped, group members are
 * visited. Also for what robots write without a domain: the content of an
 * angle-addr ("<MAILER-DAEMON>", "<>" gives "") and a lone word are passed
 * with has_at = 0. Stops when fn returns non-zero and returns that value.
 */
int header_each_address(const char *value,
                        int (*fn)(const char *addr, int has_at, void *arg), void *arg);

/*
 * header_address - the first addr-spec of an address-list field (From,
 * Sender, Reply-To, X-Failed-Recipients), lower-cased: handles display
 * names (quoted, with '<' or '@' inside), comments, groups and bare
 * addresses. 1 if found.
 */
int header_address(const char *value, char *out, size_t cap);

/*
 * header_each_msgid - call fn for every msg-id ("<left@right>", comments
 * skipped) in a Message-ID, In-Reply-To or References value, with the id
 * lower-cased and without brackets. Stops when fn returns non-zero and
 * returns that value; 0 otherwise.
 */
int header_each_msgid(const char *value, int (*fn)(const char *id, void *arg), void *arg);

/* header_each_msgid_raw - the same with each id as written (case kept, no brackets) */
int header_each_msgid_raw(const char *value, int (*fn)(const char *id, void *arg), void *arg);

#endif
