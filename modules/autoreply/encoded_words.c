/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * encoded_words.c - RFC 2047 encoded words in, clean UTF-8 in the middle,
 * RFC 2047 (Q, UTF-8) out. Charsets other than UTF-8 and US-ASCII go
 * through iconv; nothing here trusts a length or a byte it was sent.
 */
#include "encoded_words.h"

#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define EW_TEXT_MAX 1024         /* longest encoded-text read in one encoded word */
#define RAW_MAX 4096             /* decoded bytes kept before cleaning */
#define FOLD_AT 78               /* RFC 5322 2.1.1: SHOULD */
#define ENCODED_WORD_MAX 75      /* RFC 2047 2 */

typedef struct raw {
    char buf[RAW_MAX];
    size_t n;
} raw;

/* utf8_seq - length of the well-formed UTF-8 sequence at s (of n bytes), 0 if none; *cp */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        c = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        c = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return 0;
    *cp = c;
    return len;
}

int ew_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t i = 0, k;

    while (i < n) {
        if ((k = utf8_seq(p + i, n - i, &cp)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

static void put_bytes(raw *r, const char *s, size_t n)
{
    if (n > RAW_MAX - r->n)
        n = RAW_MAX - r->n;
    memcpy(r->buf + r->n, s, n);
    r->n += n;
}

static void put_cp(raw *r, uint32_t c)
{
    char b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    if (n <= RAW_MAX - r->n)
        put_bytes(r, b, n);
    else
        r->n = RAW_MAX;                                /* full: nothing more fits */
}

/*
 * put_converted - n bytes in charset (iconv's name) appended as UTF-8; a
 * byte iconv cannot read becomes U+FFFD, an unknown charset leaves ASCII
 * and turns every other byte into '?'.
 */
static void put_converted(raw *r, const char *charset, const char *s, size_t n)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    char out[256];

    if (cd == (iconv_t)-1) {
        size_t i;
        for (i = 0; i < n; i++)
            put_cp(r, (unsigned char)s[i] < 0x80 ? (unsigned char)s[i] : '?');
        return;
    }
    while (n > 0 && r->n < RAW_MAX) {
        char *in = (char *)s, *o = out;
        size_t inleft = n, outleft = sizeof out;

        if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1 && o == out &&
            inleft == n) {
            put_cp(r, 0xFFFD);                         /* an unreadable byte */
            inleft--;
            in++;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
        put_bytes(r, out, (size_t)(o - out));
        s = in;
        n = inleft;
    }
    iconv_close(cd);
}

/* put_utf8ish - bytes that should be UTF-8: well-formed sequences kept, others U+FFFD */
static void put_utf8ish(raw *r, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t i = 0, k;

    while (i < n && r->n < RAW_MAX) {
        if ((k = utf8_seq(p + i, n - i, &cp)) == 0) {
            put_cp(r, 0xFFFD);
            i++;
        } else {
            put_bytes(r, s + i, k);
            i += k;
        }
    }
}

/* put_raw - raw header bytes: UTF-8 where they are, Windows-1252 where not */
static void put_raw(raw *r, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t i = 0, k;

    while (i < n && r->n < RAW_MAX) {
        if ((k = utf8_seq(p + i, n - i, &cp)) > 0) {
            put_bytes(r, s + i, k);
            i += k;
        } else {
            put_converted(r, "WINDOWS-1252", s + i, 1);
            i++;
        }
    }
}

typedef struct encoded_word {
    char charset[64];
    char encoding;             /* 'B' or 'Q' */
    const char *text;
    size_t text_len;
    size_t len;                /* of the whole "=?...?=" */
} encoded_word;

/* parse_ew - an encoded word at s (n bytes), RFC 2047 2; 0 when it is not one */
static int parse_ew(const char *s, size_t n, encoded_word *ew)
{
    size_t i = 2, cs = 0, t;

    if (n < 8 || s[0] != '=' || s[1] != '?')
        return 0;
    while (i < n && s[i] != '?') {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 127 || cs + 1 >= sizeof ew->charset)
            return 0;
        ew->charset[cs++] = s[i++];
    }
    ew->charset[cs] = '\0';
    if (cs == 0 || i + 3 >= n || s[i + 2] != '?')
        return 0;
    ew->encoding = (char)(s[i + 1] & ~0x20);
    if (ew->encoding != 'B' && ew->encoding != 'Q')
        return 0;
    i += 3;
    for (t = i; t + 1 < n && !(s[t] == '?' && s[t + 1] == '='); t++)
        if ((unsigned char)s[t] <= ' ' || (unsigned char)s[t] >= 127 || t - i >= EW_TEXT_MAX)
            return 0;
    if (t + 1 >= n)
        return 0;
    ew->text = s + i;
    ew->text_len = t - i;
    ew->len = t + 2;
    {
        char *star = strchr(ew->charset, '*');        /* RFC 2231 language: "utf-8*de" */
        if (star != NULL)
            *star = '\0';
    }
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c & ~0x20);
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* ew_bytes - the octets an encoded word carries; returns their count (<= text_len) */
static size_t ew_bytes(const encoded_word *ew, char *out)
{
    size_t i, n = 0;

    if (ew->encoding == 'Q') {
        for (i = 0; i < ew->text_len; i++) {
            char c = ew->text[i];
            int hi, lo;
            if (c == '_') {
                out[n++] = ' ';
            } else if (c == '=' && i + 2 < ew->text_len && (hi = hexval(ew->text[i + 1])) >= 0 &&
                       (lo = hexval(ew->text[i + 2])) >= 0) {
                out[n++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                out[n++] = c;
            }
        }
    } else {
        uint32_t acc = 0;
        int bits = 0, v;
        for (i = 0; i < ew->text_len && ew->text[i] != '='; i++) {
            if ((v = b64val(ew->text[i])) < 0)
                continue;
            acc = (acc << 6) | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[n++] = (char)((acc >> bits) & 0xFF);
            }
        }
    }
    return n;
}

static void put_ew(raw *r, const encoded_word *ew)
{
    char bytes[EW_TEXT_MAX];
    size_t n = ew_bytes(ew, bytes);

    if (strcasecmp(ew->charset, "utf-8") == 0 || strcasecmp(ew->charset, "utf8") == 0 ||
        strcasecmp(ew->charset, "us-ascii") == 0)
        put_utf8ish(r, bytes, n);
    else
        put_converted(r, ew->charset, bytes, n);
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* invisible - format characters that reorder or hide text: dropped */
static int invisible(uint32_t c)
{
    return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF || c == 0x00AD;
}

/* blank_like - controls and line or paragraph separators: a blank */
static int blank_like(uint32_t c)
{
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
           c == 0x85;
}

size_t ew_decode(const char *value, char *out, size_t cap)
{
    raw r;
    const unsigned char *p;
    size_t len = value ? strlen(value) : 0, i = 0, n = 0, k;
    encoded_word ew;
    int prev_ew = 0, space = 1;
    uint32_t cp;

    if (cap == 0)
        return 0;
    r.n = 0;
    while (i < len && r.n < RAW_MAX) {
        if (value[i] == '=' && parse_ew(value + i, len - i, &ew)) {
            put_ew(&r, &ew);
            i += ew.len;
            prev_ew = 1;
            continue;
        }
        if (prev_ew && blank(value[i])) {
            size_t j = i;
            while (j < len && blank(value[j]))
                j++;
            if (j < len && value[j] == '=' && parse_ew(value + j, len - j, &ew)) {
                i = j;                                 /* blanks between encoded words */
                continue;
            }
        }
        k = i + 1;
        while (k < len && value[k] != '=' && !blank(value[k]))
            k++;
        put_raw(&r, value + i, k - i);
        prev_ew = 0;
        i = k;
    }
    /* Clean: r holds well-formed UTF-8 (cut, perhaps, inside its last character). */
    p = (const unsigned char *)r.buf;
    for (i = 0; i < r.n; i += k) {
        if ((k = utf8_seq(p + i, r.n - i, &cp)) == 0)
            break;
        if (invisible(cp))
            continue;
        if (cp == ' ' || blank_like(cp)) {
            if (space)
                continue;
            space = 1;
            if (n + 1 >= cap)
                break;
            out[n++] = ' ';
            continue;
        }
        if (n + k >= cap)
            break;
        memcpy(out + n, r.buf + i, k);
        n += k;
        space = 0;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n;
}

/* ------------------------------------------------------------ encoding */

typedef struct writer {
    char *out;
    size_t cap, n, line;       /* line: characters on the current line */
    int failed;
} writer;

static void w_put(writer *w, const char *s, size_t n)
{
    if (w->failed || n >= w->cap - w->n) {
        w->failed = 1;
        return;
    }
    memcpy(w->out + w->n, s, n);
    w->n += n;
    w->out[w->n] = '\0';
    w->line += n;
}

/* w_token - a word or encoded word, after a blank or a fold when one came before */
static void w_token(writer *w, const char *s, size_t n, int first)
{
    if (!first) {
        if (w->line + 1 + n > FOLD_AT) {
            w_put(w, "\n ", 2);
            w->line = 1;
        } else {
            w_put(w, " ", 1);
        }
    }
    w_put(w, s, n);
}

/* plain_word - printable US-ASCII that no reader could take for an encoded word */
static int plain_word(const char *s, size_t n)
{
    size_t i;

    if (n > FOLD_AT - 2)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
            return 0;
        if (s[i] == '=' && i + 1 < n && (s[i + 1] == '?'))
            return 0;
        if (s[i] == '?' && i + 1 < n && s[i + 1] == '=')
            return 0;
    }
    return 1;
}

/* q_safe - characters RFC 2047 5(3) lets stand for themselves in any header */
static int q_safe(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* w_encoded - n bytes of UTF-8 (blanks included) as Q encoded words, whole characters each */
static void w_encoded(writer *w, const char *s, size_t n, int first)
{
    static const char prefix[] = "=?UTF-8?Q?";
    const size_t room = ENCODED_WORD_MAX - (sizeof prefix - 1) - 2;
    const unsigned char *p = (const unsigned char *)s;
    char word[ENCODED_WORD_MAX + 1];
    size_t i = 0, k, used = 0, j;
    uint32_t cp;

    memcpy(word, prefix, sizeof prefix - 1);
    while (i < n) {
        char enc[12] = "";
        size_t el = 0;

        if ((k = utf8_seq(p + i, n - i, &cp)) == 0)
            k = 1;                                     /* not expected: encode the byte */
        for (j = 0; j < k; j++) {
            unsigned char c = p[i + j];
            if (c == ' ') {
                enc[el++] = '_';
            } else if (q_safe(c)) {
                enc[el++] = (char)c;
            } else {
                static const char hex[] = "0123456789ABCDEF";
                enc[el++] = '=';
                enc[el++] = hex[c >> 4];
                enc[el++] = hex[c & 15];
            }
        }
        if (used + el > room) {                        /* this word is full */
            word[sizeof prefix - 1 + used] = '?';
            word[sizeof prefix + used] = '=';
            w_token(w, word, sizeof prefix - 1 + used + 2, first);
            first = 0;
            used = 0;
        }
        memcpy(word + sizeof prefix - 1 + used, enc, el);
        used += el;
        i += k;
    }
    if (used > 0) {
        word[sizeof prefix - 1 + used] = '?';
        word[sizeof prefix + used] = '=';
        w_token(w, word, sizeof prefix - 1 + used + 2, first);
    }
}

size_t ew_encode(const char *text, size_t used, char *out, size_t cap)
{
    writer w = {out, cap, 0, used, 0};
    const char *p = text, *span = NULL, *span_end = NULL;
    int first = 1;

    if (cap == 0)
        return 0;
    out[0] = '\0';
    for (;;) {
        size_t n;

        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n > 0 && !plain_word(p, n)) {              /* joins the run to encode */
            if (span == NULL)
                span = p;
            span_end = p + n;
            p += n;
            continue;
        }
        if (span != NULL) {
            w_encoded(&w, span, (size_t)(span_end - span), first);
            first = 0;
            span = NULL;
        }
        if (n == 0)
            break;
        w_token(&w, p, n, first);
        first = 0;
        p += n;
    }
    return w.failed ? 0 : w.n;
}
