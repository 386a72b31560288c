/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim_events.c - moat's delivery events in Debian's remote smtp transports.
 *
 * authlock counts the recipients remote servers refuse to an authenticated
 * user, autoreply records its replies that bounced: both hear of it from
 * the smtp transport's event_action (MOAT_EVENT). Debian's remote_smtp and
 * remote_smtp_smarthost have no macro hook for that option, so moatctl
 * adds three marked lines right after their "driver = smtp":
 *
 *   # moat: delivery events (moatctl enable/disable)
 *   .ifdef MOAT_EVENT
 *     event_action = MOAT_EVENT
 *   .endif
 *   # moat: end of delivery events
 *
 * MOAT_EVENT is defined only while the package's debian/main.conf is read,
 * so the lines are inert once moat is removed.
 *
 * Split configuration: not in Debian's conffile, but in the ".rul" file
 * update-exim4.conf reads instead of it ("meant to be helpful for easy
 * interaction with packages extending Exim", update-exim4.conf(8)): a copy
 * of Debian's file with the lines added, marked as moatctl's in its first
 * line, written again from Debian's file at every enable, disable and
 * refresh (the package runs "moatctl refresh" when exim4-config changes
 * those files), removed with the last module and by the package's postrm.
 * An admin's own .rul is edited in place instead, like the unsplit
 * template. A transport with an event_action of its own is left alone and
 * reported: the admin adds MOAT_EVENT to that expansion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exim_debian.h"
#include "file_io.h"

#define EVENT_BEGIN "# moat: delivery events (moatctl enable/disable)\n"
#define EVENT_BODY ".ifdef MOAT_EVENT\n  event_action = MOAT_EVENT\n.endif\n"
#define EVENT_END "# moat: end of delivery events\n"
#define RUL_MARK "# moat: written by moatctl from "

/* The smtp transports of Debian's exim4-config and their split files. */
static const struct {
    const char *name;
    const char *file;
} debian_transports[] = {
    {"remote_smtp", "conf.d/transport/30_exim4-config_remote_smtp"},
    {"remote_smtp_smarthost", "conf.d/transport/30_exim4-config_remote_smtp_smarthost"},
};
#define N_TRANSPORTS (sizeof debian_transports / sizeof debian_transports[0])

/* line_end - the start of the line after the one at p */
static const char *line_end(const char *p)
{
    const char *nl = strchr(p, '\n');

    return nl ? nl + 1 : p + strlen(p);
}

/*
 * definition - where the driver definition "name:" is in text: its first
 * line at *start, the end (the next definition, a "begin" line, or the end
 * of text) at *end. 0 if found.
 */
static int definition(const char *text, const char *name, const char **start, const char **end)
{
    size_t nlen = strlen(name);
    const char *at, *p;

    for (at = text; (at = strstr(at, name)) != NULL; at += nlen)
        if ((at == text || at[-1] == '\n') && at[nlen] == ':')
            break;
    if (at == NULL)
        return -1;
    *start = at;
    for (p = line_end(at); *p != '\0'; p = line_end(p)) {
        /* options are indented or not, comments and .ifdef lines come and
         * go; a new definition is "name:" at the start of a line */
        size_t word = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if ((word > 0 && p[word] == ':' && strncmp(p, "begin", 5) != 0) ||
            strncmp(p, "begin ", 6) == 0)
            break;
    }
    *end = p;
    return 0;
}

/* option_line - whether [from, to) has a line setting option (not a comment) */
static int option_line(const char *from, const char *to, const char *option)
{
    size_t olen = strlen(option);

    for (const char *p = from; p < to; p = line_end(p)) {
        const char *q = p + strspn(p, " \t");
        if (strncmp(q, option, olen) == 0 && (q[olen] == ' ' || q[olen] == '\t' || q[olen] == '='))
            return 1;
    }
    return 0;
}

char *deb_events_text(const char *text, const char *transport, int on, int *own)
{
    const char *start, *end, *after, *p;
    char *bare = strdup(text), *out, *b, *e;
    size_t cap;

    *own = 0;
    if (bare == NULL || definition(bare, transport, &start, &end) != 0)
        return bare;
    /* moat's lines out of this transport's definition (only) */
    while ((b = strstr(start, EVENT_BEGIN)) != NULL && b < end &&
           (e = strstr(b, EVENT_END)) != NULL) {
        e += strlen(EVENT_END);
        memmove(b, e, strlen(e) + 1);
        if (definition(bare, transport, &start, &end) != 0)
            return bare;
    }
    if (!on)
        return bare;
    if (option_line(start, end, "event_action")) {
        *own = 1;
        return bare;
    }
    /* after the driver line, or the name line when there is none */
    after = line_end(start);
    for (p = after; p < end; p = line_end(p)) {
        const char *q = p + strspn(p, " \t");
        if (strncmp(q, "driver", 6) == 0 && (q[6] == ' ' || q[6] == '\t' || q[6] == '=')) {
            after = line_end(p);
            break;
        }
    }
    cap = strlen(bare) + sizeof EVENT_BEGIN + sizeof EVENT_BODY + sizeof EVENT_END + 2;
    if ((out = malloc(cap)) == NULL) {
        free(bare);
        return NULL;
    }
    snprintf(out, cap, "%.*s%s" EVENT_BEGIN EVENT_BODY EVENT_END "%s", (int)(after - bare), bare,
             after > bare && after[-1] != '\n' ? "\n" : "", after);
    free(bare);
    return out;
}

int deb_events_paths(const deb_exim *d, char paths[][DEB_PATH_MAX], int max)
{
    int n = 0;

    if (!d->split)
        return 0;
    for (size_t i = 0; i < N_TRANSPORTS && n < max; i++)
        snprintf(paths[n++], DEB_PATH_MAX, "%.4000s/%s.rul", d->exim_dir,
                 debian_transports[i].file);
    return n;
}

/* write_split - one transport's .rul for the split configuration; 0 or -1 */
static int write_split(const deb_exim *d, size_t i, int on, char *report, size_t reportlen,
                       size_t *used)
{
    char base[DEB_PATH_MAX], rul[DEB_PATH_MAX + 8];
    char *rul_text, *base_text = NULL, *text = NULL, *whole = NULL;
    int own = 0, ours, rc = -1;

    snprintf(base, sizeof base, "%.4000s/%s", d->exim_dir, debian_transports[i].file);
    snprintf(rul, sizeof rul, "%s.rul", base);
    rul_text = file_read(rul);
    if (rul_text == NULL && errno != ENOENT)
        return -1;
    ours = rul_text == NULL || strncmp(rul_text, RUL_MARK, strlen(RUL_MARK)) == 0;
    if (!ours) {
        /* the admin's own .rul: moat's lines in it, or out of it */
        if ((text = deb_events_text(rul_text, debian_transports[i].name, on, &own)) == NULL)
            goto out;
        rc = strcmp(text, rul_text) == 0 ? 0 : file_replace(rul, text, 0644);
        goto out;
    }
    if (!on) {
        rc = unlink(rul) == 0 || errno == ENOENT ? 0 : -1;
        goto out;
    }
    if ((base_text = file_read(base)) == NULL) {
        /* Debian's file is not there (removed by the admin): nothing to add to */
        rc = errno == ENOENT ? (unlink(rul) == 0 || errno == ENOENT ? 0 : -1) : -1;
        goto out;
    }
    if ((text = deb_events_text(base_text, debian_transports[i].name, 1, &own)) == NULL)
        goto out;
    if (own) {
        rc = unlink(rul) == 0 || errno == ENOENT ? 0 : -1;
        goto out;
    }
    {
        size_t cap = strlen(text) + 512;
        if ((whole = malloc(cap)) == NULL)
            goto out;
        snprintf(whole, cap,
                 RUL_MARK "%s with moat's\n"
                 "# event_action added. update-exim4.conf reads this file instead of that one.\n"
                 "# Do not edit: moatctl enable/disable/refresh write it again from Debian's\n"
                 "# file (edit that one), and the last module disabled or apt remove takes it\n"
                 "# away.\n%s",
                 debian_transports[i].file, text);
    }
    rc = file_replace(rul, whole, 0644);
out:
    if (own && *used < reportlen)
        *used += (size_t)snprintf(report + *used, reportlen - *used,
                                  "%s has an event_action of its own: add MOAT_EVENT to its "
                                  "expansion\n", debian_transports[i].name);
    free(rul_text);
    free(base_text);
    free(text);
    free(whole);
    return rc;
}

int deb_write_events(const deb_exim *d, int on, char *report, size_t reportlen)
{
    size_t used = 0;

    if (reportlen > 0)
        report[0] = '\0';
    if (d->split) {
        for (size_t i = 0; i < N_TRANSPORTS; i++)
            if (write_split(d, i, on, report, reportlen, &used) != 0)
                return -1;
        return 0;
    }
    {
        char path[DEB_PATH_MAX];
        char *tmpl, *cur;
        int rc = 0;

        snprintf(path, sizeof path, "%.4000s/exim4.conf.template", d->exim_dir);
        if ((tmpl = file_read(path)) == NULL)
            return errno == ENOENT ? 0 : -1;
        cur = strdup(tmpl);
        for (size_t i = 0; cur != NULL && i < N_TRANSPORTS; i++) {
            int own = 0;
            char *next = deb_events_text(cur, debian_transports[i].name, on, &own);
            free(cur);
            cur = next;
            if (own && used < reportlen)
                used += (size_t)snprintf(report + used, reportlen - used,
                                         "%s has an event_action of its own: add MOAT_EVENT to "
                                         "its expansion\n", debian_transports[i].name);
        }
        if (cur == NULL)
            rc = -1;
        else if (strcmp(cur, tmpl) != 0)
            rc = file_replace(path, cur, 0644);
        free(tmpl);
        free(cur);
        return rc;
    }
}
