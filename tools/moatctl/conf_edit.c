/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conf_edit.c - change one module's "enabled" option in moat.conf as text.
 *
 * moatctl enable/disable must not rewrite the admin's file through
 * libconfuse (which would drop every comment), so this reads the file
 * with a small lexer that knows libconfuse's comments (#, //, / * * /),
 * strings ("..." with backslash escapes, '...') and braces, finds the
 * module's top-level section and the value of its enabled option, and
 * splices the new value in. The caller validates the result with the real
 * parser before it replaces anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_edit.h"

typedef enum { TOK_END, TOK_WORD, TOK_STRING, TOK_LBRACE, TOK_RBRACE, TOK_EQUALS,
               TOK_OTHER } tok_type;

typedef struct token {
    tok_type type;
    size_t start, end;   /* [start, end) in the text */
} token;

/* skip_blank - skip white space and comments; 0, or -1 on an open comment */
static int skip_blank(const char *s, size_t *pos)
{
    size_t i = *pos;

    for (;;) {
        while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            i++;
        if (s[i] == '#' || (s[i] == '/' && s[i + 1] == '/')) {
            while (s[i] != '\0' && s[i] != '\n')
                i++;
        } else if (s[i] == '/' && s[i + 1] == '*') {
            const char *close = strstr(s + i + 2, "*/");
            if (close == NULL)
                return -1;
            i = (size_t)(close - s) + 2;
        } else {
            *pos = i;
            return 0;
        }
    }
}

/* next_token - the token at *pos; 0, or -1 on an unterminated comment or string */
static int next_token(const char *s, size_t *pos, token *t)
{
    size_t i;

    if (skip_blank(s, pos) != 0)
        return -1;
    i = *pos;
    t->start = i;
    switch (s[i]) {
    case '\0':
        t->type = TOK_END;
        break;
    case '{':
        t->type = TOK_LBRACE;
        i++;
        break;
    case '}':
        t->type = TOK_RBRACE;
        i++;
        break;
    case '=':
        t->type = TOK_EQUALS;
        i++;
        break;
    case '"':
    case '\'': {
        char quote = s[i++];
        while (s[i] != '\0' && s[i] != quote) {
            if (quote == '"' && s[i] == '\\' && s[i + 1] != '\0')
                i++;
            i++;
        }
        if (s[i] == '\0')
            return -1;
        i++;
        t->type = TOK_STRING;
        break;
    }
    default:
        if (strchr(",;()+", s[i]) != NULL) {
            t->type = TOK_OTHER;
            i++;
            break;
        }
        while (s[i] != '\0' && strchr(" \t\r\n{}=,;()\"'#", s[i]) == NULL &&
               !(s[i] == '/' && (s[i + 1] == '/' || s[i + 1] == '*')))
            i++;
        t->type = TOK_WORD;
        break;
    }
    t->end = i;
    *pos = i;
    return 0;
}

static int word_is(const char *s, const token *t, const char *word)
{
    size_t n = strlen(word);
    return t->type == TOK_WORD && t->end - t->start == n && strncmp(s + t->start, word, n) == 0;
}

/* text_splice - text with [start, end) replaced by insert; malloc'd */
static char *text_splice(const char *text, size_t start, size_t end, const char *insert)
{
    size_t need = strlen(text) - (end - start) + strlen(insert) + 1;
    char *out = malloc(need);

    if (out != NULL)
        snprintf(out, need, "%.*s%s%s", (int)start, text, insert, text + end);
    return out;
}

char *conf_set_enabled(const char *text, const char *module, int enabled, char *err,
                       size_t errlen)
{
    const char *value = enabled ? "true" : "false";
    size_t pos = 0;
    int depth = 0;
    token prev = {TOK_END, 0, 0}, prev2 = {TOK_END, 0, 0}, t;
    int in_section = 0;          /* depth of the module's section body, 0 = not in it */
    size_t section_open = 0;     /* offset just after its "{" */

    for (;;) {
        if (next_token(text, &pos, &t) != 0) {
            snprintf(err, errlen, "unterminated comment or string");
            return NULL;
        }
        if (t.type == TOK_END)
            break;
        if (t.type == TOK_LBRACE) {
            depth++;
            /* "module {" at top level (not "name = {", a list) */
            if (depth == 1 && prev.type == TOK_WORD && prev2.type != TOK_EQUALS &&
                word_is(text, &prev, module) && !in_section) {
                in_section = 1;
                section_open = t.end;
            }
        } else if (t.type == TOK_RBRACE) {
            if (depth == 0) {
                snprintf(err, errlen, "unbalanced '}'");
                return NULL;
            }
            if (in_section && depth == 1) {
                /* the section has no enabled line: add one first */
                const char *nl = strchr(text + section_open, '\n');
                char line[64];
                if (nl != NULL && (size_t)(nl - text) < t.start) {
                    /* its own line, after the line of the "{" (and its comment) */
                    size_t at = (size_t)(nl - text) + 1;
                    snprintf(line, sizeof line, "    enabled = %s\n", value);
                    return text_splice(text, at, at, line);
                }
                snprintf(line, sizeof line, " enabled = %s", value);
                return text_splice(text, section_open, section_open, line);
            }
            depth--;
        } else if (in_section && depth == 1 && t.type == TOK_EQUALS &&
                   word_is(text, &prev, "enabled") && prev2.type != TOK_EQUALS) {
            token v;
            if (next_token(text, &pos, &v) != 0 || (v.type != TOK_WORD && v.type != TOK_STRING)) {
                snprintf(err, errlen, "%s: enabled has no value", module);
                return NULL;
            }
            return text_splice(text, v.start, v.end, value);
        }
        prev2 = prev;
        prev = t;
    }
    if (depth != 0) {
        snprintf(err, errlen, "unbalanced '{'");
        return NULL;
    }
    {
        /* no section: append one */
        size_t len = strlen(text);
        const char *sep = (len == 0 || text[len - 1] == '\n') ? "" : "\n";
        size_t need = len + strlen(sep) + strlen(module) + 64;
        char *out = malloc(need);
        if (out == NULL)
            return NULL;
        snprintf(out, need, "%s%s\n%s {\n    enabled = %s\n}\n", text, sep, module, value);
        return out;
    }
}

char *file_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    size_t got = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return buf;
}

int file_replace(const char *path, const char *text, unsigned new_mode)
{
    char tmp[4096];
    struct stat st;
    int have_old = stat(path, &st) == 0;
    size_t len = strlen(text), done = 0;
    int fd, saved;

    if (snprintf(tmp, sizeof tmp, "%s.moatctl-new", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              have_old ? (st.st_mode & 07777) : new_mode);
    if (fd < 0)
        return -1;
    if (have_old && (fchown(fd, st.st_uid, st.st_gid) != 0 ||
                     fchmod(fd, st.st_mode & 07777) != 0))
        goto fail;
    if (!have_old && fchmod(fd, new_mode) != 0)
        goto fail;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}
