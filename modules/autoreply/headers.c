/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * headers.c - the header block: unfolding into one arena, field lookup,
 * and the RFC 5322 lexer for structured values (comments, quoted strings).
 */
#include "headers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* header_end - length of the header part (up to the empty line, or all); *lines its lines */
static size_t header_end(const char *text, size_t len, size_t *lines)
{
    size_t i = 0;

    *lines = 1;
    for (;;) {
        const char *nl;

        if (i < len && text[i] == '\n')
            return i;                                  /* an empty line (LF) */
        if (i + 1 < len && text[i] == '\r' && text[i + 1] == '\n')
            return i;                                  /* an empty line (CRLF) */
        nl = memchr(text + i, '\n', len - i);
        if (nl == NULL)
            return len;
        i = (size_t)(nl - text) + 1;
        (*lines)++;
    }
}

/* field_name_ok - RFC 5322 3.6.8 ftext: printable US-ASCII but colon */
static int field_name_ok(const char *name, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)name[i] <= 32 || (unsigned char)name[i] >= 127)
            return 0;
    return 1;
}

/* copy_line - append n bytes to buf at *w; a NUL byte (RFC 5322 forbids it) becomes a blank */
static void copy_line(char *buf, size_t *w, const char *src, size_t n)
{
    char *p = buf + *w, *end = p + n;

    memcpy(p, src, n);
    while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
        *p++ = ' ';
    *w += n;
}

/* add_field - split one unfolded, NUL-terminated line "Name: value" in place */
static void add_field(header_block *hb, char *line, size_t n)
{
    char *colon = memchr(line, ':', n), *value, *end = line + n;
    size_t nl;

    if (colon == NULL) {
        hb->malformed++;
        return;
    }
    nl = (size_t)(colon - line);
    while (nl > 0 && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
        nl--;                                          /* "Subject : x" (RFC 5322 4.5) */
    if (!field_name_ok(line, nl)) {
        hb->malformed++;
        return;
    }
    line[nl] = '\0';
    value = colon + 1;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    hb->fields[hb->count].name = line;
    hb->fields[hb->count].name_len = nl;
    hb->fields[hb->count].value = value;
    hb->fields[hb->count].value_len = (size_t)(end - value);
    hb->count++;
}

int headers_parse(header_block *hb, const char *text, size_t len)
{
    size_t hlen, lines, r = 0, w = 0, start = 0;
    char *buf;
    int have = 0;

    memset(hb, 0, sizeof *hb);
    if (len > HEADERS_MAX_BYTES) {
        len = HEADERS_MAX_BYTES;
        hb->truncated = 1;
    }
    hlen = header_end(text, len, &lines);
    hb->arena = malloc(lines * sizeof(header_field) + hlen + 1);
    if (hb->arena == NULL)
        return -1;
    hb->fields = (header_field *)(void *)hb->arena;
    buf = hb->arena + lines * sizeof(header_field);
    /*
     * Copy line by line, dropping line ends; a line that starts with a
     * blank continues the previous one (the blank is kept), any other line
     * ends it. The text only shrinks, so each field is NUL-terminated in
     * place of a dropped line end.
     */
    while (r < hlen) {
        const char *nl = memchr(text + r, '\n', hlen - r);
        size_t e = nl ? (size_t)(nl - text) : hlen, n = e - r;

        if (n > 0 && text[e - 1] == '\r')
            n--;
        if (text[r] == ' ' || text[r] == '\t') {
            if (have)
                copy_line(buf, &w, text + r, n);
            else
                hb->malformed++;                       /* a continuation of nothing */
        } else {
            if (have) {
                buf[w] = '\0';
                add_field(hb, buf + start, w - start);
                w++;
            }
            start = w;
            copy_line(buf, &w, text + r, n);
            have = 1;
        }
        r = e + 1;
    }
    if (have) {
        buf[w] = '\0';
        add_field(hb, buf + start, w - start);
    }
    return 0;
}

void headers_free(header_block *hb)
{
    free(hb->arena);
    memset(hb, 0, sizeof *hb);
}

/* named - whether field f is called name (of length len), any case; lengths first */
static int named(const header_field *f, const char *name, size_t len)
{
    return f->name_len == len && strcasecmp(f->name, name) == 0;
}

const char *headers_get(const header_block *hb, const char *name, size_t n)
{
    size_t i, len = strlen(name);

    for (i = 0; i < hb->count; i++)
        if (named(&hb->fields[i], name, len) && n-- == 0)
            return hb->fields[i].value;
    return NULL;
}

const char *headers_next(const header_block *hb, const char *name, size_t *pos)
{
    size_t len = strlen(name);

    while (*pos < hb->count) {
        const header_field *f = &hb->fields[(*pos)++];
        if (named(f, name, len))
            return f->value;
    }
    return NULL;
}

size_t headers_count(const header_block *hb, const char *name)
{
    size_t i, c = 0, len = strlen(name);

    for (i = 0; i < hb->count; i++)
        c += named(&hb->fields[i], name, len);
    return c;
}

const header_field *headers_with_prefix(const header_block *hb, const char *prefix)
{
    size_t i, pl = strlen(prefix);

    for (i = 0; i < hb->count; i++)
        if (strncasecmp(hb->fields[i].name, prefix, pl) == 0)
            return &hb->fields[i];
    return NULL;
}

/* ------------------------------------------------------------ the lexer */

void hlex_init(hlex *lx, const char *value, const char *specials)
{
    lx->p = value ? value : "";
    lx->specials = specials;
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* skip_cfws - blanks and (nested) comments; an unclosed comment runs to the end */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (blank(*p))
            p++;
        if (*p != '(')
            return p;
        {
            int depth = 0;
            do {
                if (*p == '\\' && p[1])
                    p++;
                else if (*p == '(')
                    depth++;
                else if (*p == ')')
                    depth--;
                p++;
            } while (*p && depth > 0);
        }
    }
}

/* put - append c to out if it fits */
static void put(char *out, size_t cap, size_t *n, char c, int *cut)
{
    if (*n + 1 < cap)
        out[(*n)++] = c;
    else
        *cut = 1;
}

htok hlex_next(hlex *lx, char *out, size_t cap)
{
    htok t = {HTOK_END, 0, 0};
    const char *p = skip_cfws(lx->p);
    size_t n = 0;

    if (*p == '\0') {
        /* end */
    } else if (*p == '"') {
        t.kind = HTOK_QUOTED;
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            put(out, cap, &n, *p, &t.cut);
        }
        if (*p == '"')
            p++;
    } else if (strchr(lx->specials, *p) != NULL) {
        t.kind = HTOK_SPECIAL;
        t.special = *p++;
    } else {
        t.kind = HTOK_ATOM;
        while (*p && !blank(*p) && *p != '(' && *p != '"' && strchr(lx->specials, *p) == NULL)
            put(out, cap, &n, *p++, &t.cut);
    }
    if (cap > 0)
        out[n] = '\0';
    lx->p = p;
    return t;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

char *header_keyword(const char *value, char *out, size_t cap)
{
    hlex lx;

    hlex_init(&lx, value, HLEX_MIME);
    if (hlex_next(&lx, out, cap).kind != HTOK_ATOM)
        out[0] = '\0';
    lower(out);
    return out;
}

/* append - append s to out (bounded) */
static void append(char *out, size_t cap, size_t *n, const char *s)
{
    int cut = 0;

    while (*s)
        put(out, cap, n, *s++, &cut);
    out[*n] = '\0';
}

/* emit - hand one candidate to fn, lower-cased; has_at: an '@' after at least one character */
static int emit(char *cur, int (*fn)(const char *, int, void *), void *arg)
{
    const char *at = strchr(cur, '@');

    lower(cur);
    return fn(cur, at != NULL && at != cur, arg);
}

int header_each_address(const char *value,
                        int (*fn)(const char *addr, int has_at, void *arg), void *arg)
{
    char word[1000], cur[1000];
    size_t n = 0;
    int angle = 0, words = 0, closed = 0, r;
    hlex lx;
    htok t;

    hlex_init(&lx, value, HLEX_RFC5322);
    cur[0] = '\0';
    for (;;) {
        t = hlex_next(&lx, word, sizeof word);
        if (t.kind == HTOK_ATOM || t.kind == HTOK_QUOTED) {
            append(cur, sizeof cur, &n, word);
            words++;
            continue;
        }
        if (t.kind == HTOK_SPECIAL && strchr(".@[]\\", t.special) != NULL) {
            char s[2] = {t.special, '\0'};
            append(cur, sizeof cur, &n, s);
            continue;
        }
        if (t.kind == HTOK_SPECIAL && t.special == '<') {
            angle = 1;                                 /* what came before was a display name */
        } else if (t.kind == HTOK_SPECIAL && t.special == '>') {
            if (angle && (r = emit(cur, fn, arg)) != 0)
                return r;
            angle = 0;
            closed = 1;                                /* this mailbox is done */
        } else if (t.kind == HTOK_SPECIAL && t.special == ':') {
            /* the end of a route inside <>, or a group's name outside */
        } else if (angle && t.kind == HTOK_SPECIAL && t.special == ',' && cur[0] == '@') {
            continue;                                  /* inside a route: "<@a,@b:user@c>" */
        } else {
            /* ',', ';' or the end: a bare addr-spec, or a lone word, ends here (and
             * so does an angle-addr never closed, when it holds an address) */
            if (!closed && n > 0 && (angle ? strchr(cur, '@') != NULL
                                           : strchr(cur, '@') != NULL || words == 1) &&
                (r = emit(cur, fn, arg)) != 0)
                return r;
            if (t.kind == HTOK_END)
                return 0;
            angle = closed = 0;
        }
        n = 0;
        words = 0;
        cur[0] = '\0';
    }
}

typedef struct first_address {
    char *out;
    size_t cap;
} first_address;

static int take_first(const char *addr, int has_at, void *arg)
{
    first_address *f = arg;

    /* an address too long for out would be cut (perhaps before its @):
     * not one we can use; look further */
    if (!has_at || strlen(addr) >= f->cap)
        return 0;
    snprintf(f->out, f->cap, "%s", addr);
    return 1;
}

int header_address(const char *value, char *out, size_t cap)
{
    first_address f = {out, cap};

    out[0] = '\0';
    return header_each_address(value, take_first, &f) == 1;
}

/* each_msgid - header_each_msgid, ids lower-cased or as written */
static int each_msgid(const char *value, int fold, int (*fn)(const char *id, void *arg),
                      void *arg)
{
    char word[1000], id[1000];
    hlex lx;
    htok t;
    size_t n = 0;
    int inside = 0, r;

    hlex_init(&lx, value, "<>");
    while ((t = hlex_next(&lx, word, sizeof word)).kind != HTOK_END) {
        if (t.kind == HTOK_SPECIAL && t.special == '<') {
            inside = 1;
            n = 0;
            id[0] = '\0';
        } else if (t.kind == HTOK_SPECIAL && t.special == '>') {
            if (inside && n > 0 && strchr(id, '@') != NULL) {
                if (fold)
                    lower(id);
                if ((r = fn(id, arg)) != 0)
                    return r;
            }
            inside = 0;
        } else if (inside) {
            append(id, sizeof id, &n, word);
        }
    }
    return 0;
}

int header_each_msgid(const char *value, int (*fn)(const char *id, void *arg), void *arg)
{
    return each_msgid(value, 1, fn, arg);
}

int header_each_msgid_raw(const char *value, int (*fn)(const char *id, void *arg), void *arg)
{
    return each_msgid(value, 0, fn, arg);
}
