/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reply.c - the parts of an auto-reply that come from the message it
 * answers, made safe: subject, destination, threading, and the RFC 5230
 * 4.5 "was this user addressed at all" test.
 */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoded_words.h"

char *reply_subject(const header_block *hb, char *out, size_t cap)
{
    char text[REPLY_SUBJECT_TEXT_MAX + 8] = "Auto: ";
    const char *v = headers_get(hb, "Subject", 0);

    if (ew_decode(v, text + 6, REPLY_SUBJECT_TEXT_MAX + 1) == 0)
        snprintf(text + 6, sizeof text - 6, "your message");
    if (ew_encode(text, 9, out, cap) == 0)             /* cannot happen with cap >= 1 KB */
        snprintf(out, cap, "Auto: your message");
    return out;
}

/* atext - RFC 5322 3.2.3 */
static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

const char *reply_sender_problem(const char *sender)
{
    const char *at, *p;
    size_t len = sender ? strlen(sender) : 0;

    if (len == 0)
        return "null_sender";
    if (len > 254)
        return "sender_too_long";
    at = strrchr(sender, '@');
    if (at == NULL || at == sender || at[1] == '\0')
        return "sender_unqualified";
    /* dot-atom: atext runs separated by single dots */
    if (sender[0] == '.' || at[-1] == '.')
        return "sender_not_plain";
    for (p = sender; p < at; p++)
        if (!(atext((unsigned char)*p) || (*p == '.' && p[1] != '.')))
            return "sender_not_plain";
    /* a host name: letters, digits, hyphens, dots between labels */
    if (at[1] == '.' || sender[len - 1] == '.' || at[1] == '-')
        return "sender_domain_invalid";
    for (p = at + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || (*p == '.' && p[1] != '.')))
            return "sender_domain_invalid";
    return NULL;
}

/* same_address - a equal to b (any case), or to b once a's "+detail" is taken out */
static int same_address(const char *a, const char *b)
{
    const char *plus, *at;

    if (strcasecmp(a, b) == 0)
        return 1;
    plus = strchr(a, '+');
    at = strrchr(a, '@');
    if (plus == NULL || at == NULL || plus > at)
        return 0;
    return strncasecmp(a, b, (size_t)(plus - a)) == 0 && b[plus - a] == '@' &&
           strcasecmp(at, b + (plus - a)) == 0;
}

typedef struct wanted {
    const char *const *addresses;
    size_t n;
} wanted;

static int is_wanted(const char *addr, int has_at, void *arg)
{
    const wanted *w = arg;
    size_t i;

    if (!has_at)
        return 0;
    for (i = 0; i < w->n; i++)
        if (w->addresses[i] && same_address(addr, w->addresses[i]))
            return 1;
    return 0;
}

int reply_addressed(const header_block *hb, const char *const *addresses, size_t n)
{
    static const char *const fields[] = {"To", "Cc", "Bcc", "Resent-To", "Resent-Cc",
                                         "Resent-Bcc"};
    wanted w = {addresses, n};
    size_t i, k;

    for (i = 0; i < hb->count; i++) {
        const header_field *f = &hb->fields[i];
        for (k = 0; k < sizeof fields / sizeof fields[0]; k++)
            if (strcasecmp(f->name, fields[k]) == 0 &&
                header_each_address(f->value, is_wanted, &w) == 1)
                return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ threading */

typedef struct id_list {
    char ids[REPLY_REFERENCES_MAX][REPLY_MSGID_MAX + 1];
    size_t count;
} id_list;

/* msgid_clean - an id worth copying: id-left@id-right, printable, no blanks or brackets */
static int msgid_clean(const char *id)
{
    size_t n = strlen(id), i;

    if (n < 3 || n > REPLY_MSGID_MAX || strchr(id, '@') == NULL)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 32 || (unsigned char)id[i] >= 127 || id[i] == '<' ||
            id[i] == '>')
            return 0;
    return 1;
}

/* keep_id - the first id and the latest ones (the thread's root and its end) */
static int keep_id(const char *id, void *arg)
{
    id_list *l = arg;

    if (!msgid_clean(id))
        return 0;
    if (l->count == REPLY_REFERENCES_MAX) {
        memmove(l->ids[1], l->ids[2], (REPLY_REFERENCES_MAX - 2) * sizeof l->ids[0]);
        l->count--;
    }
    snprintf(l->ids[l->count++], sizeof l->ids[0], "%s", id);
    return 0;
}

char *reply_threading(const header_block *hb, char *out, size_t cap)
{
    id_list own, refs;
    const char *parent = headers_get(hb, "References", 0);
    size_t n = 0, i;

    memset(&own, 0, sizeof own);
    memset(&refs, 0, sizeof refs);
    out[0] = '\0';
    header_each_msgid_raw(headers_get(hb, "Message-ID", 0), keep_id, &own);
    header_each_msgid_raw(parent ? parent : headers_get(hb, "In-Reply-To", 0), keep_id, &refs);
    if (own.count > 0) {
        keep_id(own.ids[0], &refs);
        n += (size_t)snprintf(out + n, cap - n, "In-Reply-To: <%s>\n", own.ids[0]);
    }
    for (i = 0; i < refs.count && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s<%s>\n", i == 0 ? "References: " : " ",
                              refs.ids[i]);
    if (n >= cap)                                      /* cannot happen: 13 x 254 < 4 KB */
        out[0] = '\0';
    return out;
}

/* ------------------------------------------------------------ the message */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void add(buf *b, const char *s, size_t n)
{
    if (b->p == NULL || n >= b->cap - b->n)
        return;                                        /* sized up front: never */
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void adds(buf *b, const char *s)
{
    add(b, s, strlen(s));
}

/* add_text - the body: CRLF or LF in, LF out, lines over 998 cut, a last line end */
static void add_text(buf *b, const char *text, size_t len)
{
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len, n = e - i;

        if (n > 0 && text[e - 1] == '\r')
            n--;
        while (n > 998) {
            add(b, text + i, 998);
            adds(b, "\n");
            i += 998;
            n -= 998;
        }
        add(b, text + i, n);
        adds(b, "\n");
        i = e + 1;
    }
}

char *reply_compose(const header_block *hb, const char *from, const char *to, const char *text,
                    size_t *len)
{
    char subject[REPLY_SUBJECT_MAX], threading[REPLY_THREADING_MAX];
    size_t tl = text ? strnlen(text, REPLY_TEXT_MAX) : 0;
    buf b = {NULL, 0, 0};

    reply_subject(hb, subject, sizeof subject);
    reply_threading(hb, threading, sizeof threading);
    b.cap = 1024 + strlen(from) + strlen(to) + sizeof subject + sizeof threading + tl +
            tl / 998 + 2;
    if ((b.p = malloc(b.cap)) == NULL)
        return NULL;
    b.p[0] = '\0';
    adds(&b, "From: ");
    adds(&b, from);
    adds(&b, "\nTo: ");
    adds(&b, to);
    adds(&b, "\nSubject: ");
    adds(&b, subject);
    adds(&b, "\n");
    adds(&b, threading);
    adds(&b, "Auto-Submitted: auto-replied (vacation)\n"
             "X-Auto-Response-Suppress: All\n"
             "Precedence: auto_reply\n"
             "MIME-Version: 1.0\n");
    adds(&b, ew_utf8_valid(text ? text : "", tl)
                 ? "Content-Type: text/plain; charset=utf-8\n"
                 : "Content-Type: text/plain; charset=windows-1252\n");
    adds(&b, "Content-Transfer-Encoding: 8bit\n\n");
    add_text(&b, text ? text : "", tl);
    *len = b.n;
    return b.p;
}
