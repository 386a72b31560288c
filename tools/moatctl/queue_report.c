/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue_report.c - counts over Exim's queue listing. The listing, one
 * message a block:
 *
 *    25m  1.2K 1xVO7j-0002wx-0L <bob@example.test> *** frozen ***
 *             alice@remote.test
 *           D carol@remote.test
 *
 * a message line (age, size, ID, <sender>, maybe frozen), then its
 * recipients indented, "D " before those delivered, a blank line. Senders
 * and domains are counted in an open-addressing table of bounded keys.
 */
#include "queue_report.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct counter {
    char **keys;
    long *counts;
    size_t cap, used;
} counter;

/* hash - FNV-1a of the lower-cased key */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ULL;
    }
    return h;
}

/* counter_add - count key once more; 0, or -1 out of memory */
static int counter_add(counter *c, const char *key)
{
    size_t i;

    if (c->used * 2 >= c->cap) {
        counter grown = {0};
        grown.cap = c->cap ? c->cap * 2 : 64;
        grown.keys = calloc(grown.cap, sizeof *grown.keys);
        grown.counts = calloc(grown.cap, sizeof *grown.counts);
        if (grown.keys == NULL || grown.counts == NULL) {
            free(grown.keys);
            free(grown.counts);
            return -1;
        }
        for (size_t k = 0; k < c->cap; k++) {
            if (c->keys[k] == NULL)
                continue;
            i = hash(c->keys[k]) & (grown.cap - 1);
            while (grown.keys[i] != NULL)
                i = (i + 1) & (grown.cap - 1);
            grown.keys[i] = c->keys[k];
            grown.counts[i] = c->counts[k];
        }
        grown.used = c->used;
        free(c->keys);
        free(c->counts);
        *c = grown;
    }
    i = hash(key) & (c->cap - 1);
    while (c->keys[i] != NULL && strcasecmp(c->keys[i], key) != 0)
        i = (i + 1) & (c->cap - 1);
    if (c->keys[i] == NULL) {
        if ((c->keys[i] = strdup(key)) == NULL)
            return -1;
        c->used++;
    }
    c->counts[i]++;
    return 0;
}

static void counter_free(counter *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->counts);
    memset(c, 0, sizeof *c);
}

/* counter_top - the largest counts (ties by key) into top; how many */
static size_t counter_top(const counter *c, queue_top *top, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < c->cap; i++) {
        size_t at;
        if (c->keys[i] == NULL)
            continue;
        for (at = n; at > 0 && (top[at - 1].count < c->counts[i] ||
                                (top[at - 1].count == c->counts[i] &&
                                 strcmp(top[at - 1].key, c->keys[i]) > 0)); at--)
            ;
        if (at >= max)
            continue;
        memmove(&top[at + 1], &top[at], (n < max ? n - at : max - 1 - at) * sizeof *top);
        snprintf(top[at].key, sizeof top[at].key, "%s", c->keys[i]);
        top[at].count = c->counts[i];
        if (n < max)
            n++;
    }
    return n;
}

long exim_age_seconds(const char *text)
{
    char *end;
    long n, unit;

    while (*text == ' ')
        text++;
    if (!isdigit((unsigned char)*text))
        return -1;
    n = strtol(text, &end, 10);
    if (n < 0 || n > 100000000L)
        return -1;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7L * 86400; break;
    default: return -1;
    }
    if (end[1] != '\0' && end[1] != ' ')
        return -1;
    return n * unit;
}

/* sender_of - the <sender> after the ID on a message line, into out ("<>" for a bounce) */
static void sender_of(const char *line, const char *id_end, char *out, size_t outlen)
{
    const char *lt = strchr(id_end, '<'), *gt;

    out[0] = '\0';
    if (lt == NULL || (gt = strchr(lt, '>')) == NULL)
        return;
    if (gt == lt + 1)
        snprintf(out, outlen, "<>");
    else
        snprintf(out, outlen, "%.*s", (int)(gt - lt - 1), lt + 1);
    (void)line;
}

/* domain_of - the domain of a recipient address (after the last '@'), "" if none */
static const char *domain_of(const char *address)
{
    const char *at = strrchr(address, '@');

    return at ? at + 1 : "";
}

int queue_report_parse(const char *listing, size_t len, long held_after, queue_report *r)
{
    counter domains = {0}, frozen = {0}, held = {0};
    const char *p = listing, *end = listing + len;
    char line[1024];
    int in_message = 0, rc = 0;

    memset(r, 0, sizeof *r);
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char id[EXIM_MSGID_MAX], sender[QUEUE_KEY_MAX], age[16];
        int is_frozen;
        const char *rcpt;

        /* a longer line is cut: an address over 1000 bytes is no one's */
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        for (char *c = line; *c; c++)
            if (*c == '\r' || *c == '\t')
                *c = ' ';
        p = nl ? nl + 1 : end;
        if (line[strspn(line, " ")] == '\0') {
            in_message = 0;
            continue;
        }
        if (exim_queue_line(line, id, &is_frozen) == 0) {
            long secs;
            in_message = 1;
            r->messages++;
            if (sscanf(line, "%15s", age) != 1 || (secs = exim_age_seconds(age)) < 0)
                secs = 0;
            if (secs > r->oldest_seconds || r->messages == 1) {
                r->oldest_seconds = secs;
                memcpy(r->oldest_id, id, sizeof id);
            }
            sender_of(line, strstr(line, id) + strlen(id), sender, sizeof sender);
            if (strcmp(sender, "<>") == 0)
                r->bounces++;
            if (is_frozen) {
                r->frozen++;
                rc = counter_add(&frozen, sender[0] ? sender : "?");
            } else if (secs >= held_after) {
                r->held++;
                rc = counter_add(&held, sender[0] ? sender : "?");
            }
            continue;
        }
        if (!in_message || line[0] != ' ') {
            r->bad_lines++;
            continue;
        }
        rcpt = line + strspn(line, " ");
        if (rcpt[0] == 'D' && rcpt[1] == ' ')
            continue;   /* delivered */
        /* "+D " (delivered, 4.97+ for a child address) */
        if (rcpt[0] == '+' && rcpt[1] == 'D' && rcpt[2] == ' ')
            continue;
        {
            char address[QUEUE_KEY_MAX];
            snprintf(address, sizeof address, "%.*s", (int)strcspn(rcpt, " "), rcpt);
            r->recipients++;
            if (domain_of(address)[0])
                rc = counter_add(&domains, domain_of(address));
        }
    }
    r->domains = (long)domains.used;
    r->frozen_senders = counter_top(&frozen, r->frozen_by_sender, QUEUE_TOP_MAX);
    r->held_senders = counter_top(&held, r->held_by_sender, QUEUE_TOP_MAX);
    counter_free(&domains);
    counter_free(&frozen);
    counter_free(&held);
    return rc;
}
