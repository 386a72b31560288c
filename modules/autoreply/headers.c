/*
 * headers.c - unfolding, field lookup, comments, parameters, addresses.
 */
#include "headers.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* add_field - store one unfolded field line "Name: value" */
static void add_field(header_block *hb, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    header_field *f;
    size_t nl, vl, i;

    if (colon == NULL || colon == line) {
        hb->dropped++;
        return;
    }
    nl = (size_t)(colon - line);
    while (nl > 0 && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
        nl--;                                        /* "Subject : x" (obsolete syntax) */
    for (i = 0; i < nl; i++)
        if ((unsigned char)line[i] <= 32 || (unsigned char)line[i] >= 127) {
            hb->dropped++;
            return;
        }
    if (nl == 0 || nl >= sizeof hb->fields[0].name || hb->count >= HEADERS_MAX_FIELDS) {
        hb->dropped++;
        return;
    }
    f = &hb->fields[hb->count++];
    memcpy(f->name, line, nl);
    f->name[nl] = '\0';
    colon++;
    n -= (size_t)(colon - line);
    while (n > 0 && (*colon == ' ' || *colon == '\t')) {
        colon++;
        n--;
    }
    while (n > 0 && (colon[n - 1] == ' ' || colon[n - 1] == '\t'))
        n--;
    vl = n < sizeof f->value - 1 ? n : sizeof f->value - 1;
    memcpy(f->value, colon, vl);
    f->value[vl] = '\0';
}

void headers_parse(const char *text, size_t len, header_block *hb)
{
    char line[HEADER_VALUE_MAX + 128];
    size_t pos = 0, ln = 0;
    int have = 0;

    hb->count = 0;
    hb->dropped = 0;
    while (pos < len) {
        const char *eol = memchr(text + pos, '\n', len - pos);
        size_t end = eol ? (size_t)(eol - text) : len, n = end - pos;
        const char *s = text + pos;

        if (n > 0 && s[n - 1] == '\r')
            n--;
        pos = eol ? end + 1 : len;
        if (n == 0)
            break;                                   /* the empty line ends the header */
        if (s[0] == ' ' || s[0] == '\t') {
            if (!have) {
                hb->dropped++;
                continue;
            }
            /* a continuation: unfold (RFC 5322 2.2.3) */
            if (ln + n < sizeof line) {
                memcpy(line + ln, s, n);
                ln += n;
            }
            continue;
        }
        if (have)
            add_field(hb, line, ln);
        ln = n < sizeof line ? n : sizeof line - 1;
        memcpy(line, s, ln);
        have = 1;
    }
    if (have)
        add_field(hb, line, ln);
}

const char *headers_get(const header_block *hb, const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < hb->count; i++)
        if (strcasecmp(hb->fields[i].name, name) == 0 && n-- == 0)
            return hb->fields[i].value;
    return NULL;
}

size_t headers_count(const header_block *hb, const char *name)
{
    size_t i, c = 0;

    for (i = 0; i < hb->count; i++)
        c += strcasecmp(hb->fields[i].name, name) == 0;
    return c;
}

int headers_has_prefix(const header_block *hb, const char *prefix)
{
    size_t i, pl = strlen(prefix);

    for (i = 0; i < hb->count; i++)
        if (strncasecmp(hb->fields[i].name, prefix, pl) == 0)
            return 1;
    return 0;
}

/* strip_comments - value without (nested) comments and quoted-pairs kept */
static void strip_comments(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int depth = 0, quoted = 0;

    for (; *in && n + 1 < cap; in++) {
        if (*in == '\\' && in[1]) {
            if (!depth)
                out[n++] = in[1];
            in++;
        } else if (!quoted && *in == '(') {
            depth++;
        } else if (!quoted && *in == ')' && depth > 0) {
            depth--;
        } else if (!depth) {
            if (*in == '"')
                quoted = !quoted;
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

char *header_token(const char *value, char *out, size_t cap)
{
    char clean[HEADER_VALUE_MAX];
    const char *p = clean;
    size_t n = 0;

    strip_comments(value ? value : "", clean, sizeof clean);
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p && *p != ';' && *p != ' ' && *p != '\t' && *p != ',' && n + 1 < cap)
        out[n++] = (char)tolower((unsigned char)*p++);
    out[n] = '\0';
    return out;
}

int header_param(const char *value, const char *param, char *out, size_t cap)
{
    char clean[HEADER_VALUE_MAX];
    char *p, *save = NULL;
    size_t pl = strlen(param);

    strip_comments(value ? value : "", clean, sizeof clean);
    for (p = strtok_r(clean, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
        size_t n = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, param, pl) != 0)
            continue;
        p += pl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '=')
            continue;
        while (*p == ' ' || *p == '\t' || *p == '"')
            p++;
        while (*p && *p != '"' && *p != ' ' && *p != '\t' && n + 1 < cap)
            out[n++] = (char)tolower((unsigned char)*p++);
        out[n] = '\0';
        return 1;
    }
    return 0;
}

int header_address(const char *value, char *out, size_t cap)
{
    char clean[HEADER_VALUE_MAX] = "";
    const char *lt, *start, *end, *at;
    size_t n = 0;

    strip_comments(value ? value : "", clean, sizeof clean);
    lt = strchr(clean, '<');
    if (lt) {
        start = lt + 1;
        end = strchr(start, '>');
        if (end == NULL)
            return 0;
    } else {
        start = clean;
        while (*start == ' ' || *start == '\t')
            start++;
        end = start + strcspn(start, " \t,;");
    }
    at = memchr(start, '@', (size_t)(end - start));
    if (at == NULL || at == start || at + 1 >= end)
        return 0;
    for (; start < end && n + 1 < cap; start++)
        out[n++] = (char)tolower((unsigned char)*start);
    out[n] = '\0';
    return 1;
}
