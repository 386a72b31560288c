/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim_debian.c - moat's place in Debian's exim4-config.
 *
 * The moat block is a few lines: MOAT_ENABLE_<MODULE> = yes per enabled
 * module, then ".include_if_exists <snippets>/debian/main.conf", which
 * hooks moat's ACLs into Debian's (conf/exim/debian/main.conf says how).
 * For the split configuration it is the whole of conf.d/main/01_moat_macros
 * (after Debian's 01_exim4-config_listmacrosdefs, before 02_..._options,
 * which reads MAIN_ACL_CHECK_*); for the unsplit template it sits between
 * marker lines at the end of exim4.conf.localmacros, after the admin's own
 * macros, which the hooks test with .ifndef.
 *
 * Routers and transports (autoreply's gate first of all routers, the
 * vacation router and transport) come from <snippets>/debian/routers.conf
 * and transports.conf, included from conf.d/router/01_moat_routers and
 * conf.d/transport/01_moat_transports, or, in the unsplit template, which
 * has no hook there, from marked lines right after "begin routers" and
 * "begin transports". authlock's wrappers of the site's own PLAIN/LOGIN
 * authenticators (auth_wrap.c) go to conf.d/auth/01_moat_authenticators or
 * a marked block after "begin authenticators". Every include names an
 * absolute path with .include_if_exists, and what is written outside the
 * main section acts only under .ifdef MOAT_INSTALLED (defined by the
 * package's debian/main.conf): after "apt remove" Exim reads the same
 * configuration as before moat.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_io.h"
#include "exim_debian.h"

#define DEFAULT_EXIM_DIR "/etc/exim4"
#define DEFAULT_SNIPPETS "/usr/share/moat/exim"
#define DEFAULT_LIBDIR "/usr/lib/exim4/moat"
#define DEFAULT_CONFIG "/etc/moat/moat.conf"

/* pick - the first of option, environment variable, default that is set */
static void pick(char *dst, const char *option, const char *env_name, const char *fallback)
{
    const char *env = getenv(env_name);
    const char *v = option ? option : (env && *env ? env : fallback);

    snprintf(dst, DEB_PATH_MAX, "%s", v);
}

/* read_split - dc_use_split_config from update-exim4.conf.conf (0 if unset) */
static int read_split(const char *exim_dir)
{
    char path[DEB_PATH_MAX + 32], line[512];
    FILE *f;
    int split = 0;

    snprintf(path, sizeof path, "%s/update-exim4.conf.conf", exim_dir);
    if ((f = fopen(path, "re")) == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *v;
        if (strncmp(line, "dc_use_split_config=", 20) != 0)
            continue;
        v = line + 20;
        if (*v == '\'' || *v == '"')
            v++;
        split = strncmp(v, "true", 4) == 0;
    }
    fclose(f);
    return split;
}

int deb_exim_init(deb_exim *d, const char *exim_dir, const char *snippets, const char *libdir,
                  const char *moat_config, char *err, size_t errlen)
{
    char hand[DEB_PATH_MAX + 16];
    struct stat st;

    memset(d, 0, sizeof *d);
    pick(d->exim_dir, exim_dir, "MOAT_EXIM_DIR", DEFAULT_EXIM_DIR);
    pick(d->snippets, snippets, "MOAT_SNIPPETS", DEFAULT_SNIPPETS);
    pick(d->libdir, libdir, "MOAT_LIBDIR", DEFAULT_LIBDIR);
    pick(d->exim, NULL, "MOAT_EXIM", "/usr/sbin/exim4");
    pick(d->update, NULL, "MOAT_UPDATE_EXIM4_CONF", "/usr/sbin/update-exim4.conf");
    pick(d->pidfile, NULL, "MOAT_EXIM_PIDFILE", "/run/exim4/exim.pid");
    if (moat_config == NULL || realpath(moat_config, d->moat_config) == NULL)
        snprintf(d->moat_config, sizeof d->moat_config, "%s",
                 moat_config ? moat_config : DEFAULT_CONFIG);

    snprintf(hand, sizeof hand, "%s/exim4.conf", d->exim_dir);
    if (stat(hand, &st) == 0) {
        snprintf(err, errlen,
                 "%s exists, so Exim does not use the configuration update-exim4.conf "
                 "generates; add moat to it by hand (see moat(7))", hand);
        return -1;
    }
    snprintf(hand, sizeof hand, "%s/update-exim4.conf.conf", d->exim_dir);
    if (stat(hand, &st) != 0) {
        snprintf(err, errlen, "%s: %s (is exim4-config installed?)", hand, strerror(errno));
        return -1;
    }
    d->split = read_split(d->exim_dir);
    if (d->split)
        snprintf(d->macro_file, sizeof d->macro_file, "%.4000s/conf.d/main/01_moat_macros",
                 d->exim_dir);
    else
        snprintf(d->macro_file, sizeof d->macro_file, "%.4000s/exim4.conf.localmacros",
                 d->exim_dir);
    return 0;
}

char *deb_macro_text(const deb_exim *d)
{
    char *text = file_read(d->macro_file);

    return text ? text : strdup("");
}

/* block_span - where the moat block is in text: [*start, *end), 0 if found */
static int block_span(const deb_exim *d, const char *text, size_t *start, size_t *end)
{
    const char *b, *e;

    if (d->split) {
        *start = 0;
        *end = strlen(text);
        return *end > 0 ? 0 : -1;
    }
    if ((b = strstr(text, "# BEGIN moat")) == NULL || (b != text && b[-1] != '\n'))
        return -1;
    if ((e = strstr(b, "\n" DEB_BLOCK_END)) == NULL)
        return -1;
    e += 1 + strlen(DEB_BLOCK_END);
    if (*e == '\n')
        e++;
    *start = (size_t)(b - text);
    *end = (size_t)(e - text);
    return 0;
}

int deb_read_enabled(const deb_exim *d, char names[][32], int max)
{
    char *text = deb_macro_text(d);
    size_t start, end;
    int n = 0;

    if (text == NULL)
        return 0;
    if (block_span(d, text, &start, &end) == 0) {
        const char *p = text + start;
        while (p < text + end && n < max) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            if (strncmp(p, "MOAT_ENABLE_", 12) == 0) {
                size_t i = 0;
                const char *q = p + 12;
                while (i < 31 && (isupper((unsigned char)q[i]) || isdigit((unsigned char)q[i]) ||
                                  q[i] == '_')) {
                    names[n][i] = (char)tolower((unsigned char)q[i]);
                    i++;
                }
                names[n][i] = '\0';
                if (i > 0)
                    n++;
            }
            p += len + (nl ? 1 : 0);
            if (nl == NULL)
                break;
        }
    }
    free(text);
    return n;
}

/* block_text - the moat block for these modules, malloc'd */
static char *block_text(const deb_exim *d, char names[][32], int count)
{
    size_t cap = 2048 + (size_t)count * 64 + (size_t)3 * DEB_PATH_MAX;
    char *out = malloc(cap);
    size_t len = 0;
    int i;

    if (out == NULL)
        return NULL;
#define ADD(...) (len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__))
    if (d->split)
        ADD("# moat: written by moatctl enable/disable; change it with those commands.\n"
            "# Which modules act in Exim; the hooks are in %s/debian/main.conf.\n",
            d->snippets);
    else
        ADD("%s\n", DEB_BLOCK_BEGIN);
    if (strcmp(d->snippets, DEFAULT_SNIPPETS) != 0)
        ADD("MOAT_SNIPPETS = %s\n", d->snippets);
    if (strcmp(d->libdir, DEFAULT_LIBDIR) != 0)
        ADD("MOAT_LIBDIR = %s\n", d->libdir);
    if (strcmp(d->moat_config, DEFAULT_CONFIG) != 0)
        ADD("MOAT_CONFIG = %s\n", d->moat_config);
    if (d->external_auth)
        ADD("MOAT_AUTHLOCK_EXTERNAL_AUTH = yes\n");
    for (i = 0; i < count; i++) {
        char upper[32];
        size_t k;
        for (k = 0; k < sizeof upper - 1 && names[i][k] != '\0'; k++)
            upper[k] = (char)toupper((unsigned char)names[i][k]);
        upper[k] = '\0';
        ADD("MOAT_ENABLE_%s = yes\n", upper);
    }
    ADD(".include_if_exists %s/debian/main.conf\n", d->snippets);
    if (!d->split)
        ADD("%s\n", DEB_BLOCK_END);
#undef ADD
    if (len >= cap) {
        free(out);
        return NULL;
    }
    return out;
}

/* split_path - <exim_dir>/<rel> into out */
static void split_path(const deb_exim *d, const char *rel, char out[DEB_PATH_MAX])
{
    snprintf(out, DEB_PATH_MAX, "%.3000s/%s", d->exim_dir, rel);
}

#define SPLIT_ROUTERS "conf.d/router/01_moat_routers"
/* after Debian's last router, mmm_mail4root (update-exim4.conf reads them sorted) */
#define SPLIT_ROUTERS_LAST "conf.d/router/zz_moat_routers_last"
#define SPLIT_TRANSPORTS "conf.d/transport/01_moat_transports"
#define SPLIT_AUTH "conf.d/auth/01_moat_authenticators"
#define TEMPLATE "exim4.conf.template"

int deb_snapshot_take(const deb_exim *d, deb_snapshot *s)
{
    const char *rel[] = {SPLIT_ROUTERS, SPLIT_ROUTERS_LAST, SPLIT_TRANSPORTS, SPLIT_AUTH};

    char auth_dir[DEB_PATH_MAX];
    DIR *dir;
    struct dirent *de;

    memset(s, 0, sizeof *s);
    snprintf(s->path[s->n++], DEB_PATH_MAX, "%s", d->macro_file);
    if (d->split) {
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
            split_path(d, rel[i], s->path[s->n++]);
        /* the site's authenticators, which authlock's guards change */
        split_path(d, "conf.d/auth", auth_dir);
        if ((dir = opendir(auth_dir)) != NULL) {
            while ((de = readdir(dir)) != NULL && s->n < DEB_SNAP_MAX)
                if (de->d_name[0] != '.' && strcmp(de->d_name, "01_moat_authenticators") != 0)
                    snprintf(s->path[s->n++], DEB_PATH_MAX, "%.3000s/%.255s", auth_dir,
                             de->d_name);
            closedir(dir);
        }
        /* the transports' .rul files moat's delivery events live in */
        s->n += deb_events_paths(d, &s->path[s->n], DEB_SNAP_MAX - s->n);
    } else {
        split_path(d, TEMPLATE, s->path[s->n++]);
    }
    for (int i = 0; i < s->n; i++) {
        s->text[i] = file_read(s->path[i]);
        if (s->text[i] == NULL && errno != ENOENT)
            return -1;
    }
    return 0;
}

int deb_snapshot_restore(const deb_snapshot *s)
{
    int rc = 0;

    for (int i = 0; i < s->n; i++) {
        if (s->text[i] == NULL) {
            if (unlink(s->path[i]) != 0 && errno != ENOENT)
                rc = -1;
        } else if (file_replace(s->path[i], s->text[i], 0644) != 0) {
            rc = -1;
        }
    }
    return rc;
}

void deb_snapshot_free(deb_snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->text[i]);
    memset(s, 0, sizeof *s);
}

/* put_file - text into path, or remove path when text is NULL; 0 or -1 */
static int put_file(const char *path, const char *text)
{
    if (text == NULL)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    return file_replace(path, text, 0644);
}

/*
 * template_place - text with the marked block called marker ("routers")
 * taken out and, when body is not NULL, put back right after the line
 * "begin <section>" or (before) right before it. malloc'd; NULL when out
 * of memory or (body given) the template has no such line.
 */
static char *template_place(const char *text, const char *marker, const char *section,
                            int before, const char *body)
{
    char begin[96], end[96], sect[64];
    const char *b, *e, *after = NULL, *at;
    size_t len = strlen(text), pre = len, cap;
    char *out;

    snprintf(begin, sizeof begin, "# BEGIN moat %s (moatctl enable/disable)\n", marker);
    snprintf(end, sizeof end, "# END moat %s\n", marker);
    snprintf(sect, sizeof sect, "begin %s\n", section);
    /* the old block: text[pre, after) */
    if ((b = strstr(text, begin)) != NULL && (e = strstr(b, end)) != NULL) {
        pre = (size_t)(b - text);
        after = e + strlen(end);
    }
    cap = len + (body ? strlen(body) : 0) + sizeof begin + sizeof end;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    snprintf(out, cap, "%.*s%s", (int)pre, text, after ? after : "");
    if (body == NULL)
        return out;
    for (at = out; (at = strstr(at, sect)) != NULL; at++)
        if (at == out || at[-1] == '\n')
            break;
    if (at == NULL) {
        free(out);
        return NULL;
    }
    if (!before)
        at += strlen(sect);
    {
        /* out = out[0, at) begin body end out[at, ...) */
        size_t head = (size_t)(at - out);
        char *whole = malloc(cap);
        if (whole != NULL)
            snprintf(whole, cap, "%.*s%s%s%s%s", (int)head, out, begin, body, end, out + head);
        free(out);
        return whole;
    }
}

/* template_block - the marked block for section, right after "begin <section>" */
static char *template_block(const char *text, const char *section, const char *body)
{
    return template_place(text, section, section, 0, body);
}

#define GUARD_BEGIN "# moat: off while authlock wraps it (moatctl)\n.ifndef MOAT_AUTHLOCK_WRAPS\n"
#define GUARD_END "# moat: end of what authlock wraps\n.endif\n"

/* unguard - text without any guard lines of moatctl's (malloc'd) */
static char *unguard(const char *text)
{
    char *out = strdup(text), *at;

    if (out == NULL)
        return NULL;
    while ((at = strstr(out, GUARD_BEGIN)) != NULL)
        memmove(at, at + strlen(GUARD_BEGIN), strlen(at + strlen(GUARD_BEGIN)) + 1);
    while ((at = strstr(out, GUARD_END)) != NULL)
        memmove(at, at + strlen(GUARD_END), strlen(at + strlen(GUARD_END)) + 1);
    return out;
}

/*
 * guard - text with the definition of authenticator name (its "name:" line
 * at the start of a line, after from, and the indented lines below it)
 * between GUARD_BEGIN and GUARD_END: Exim then reads it only when authlock's
 * wrapper does not replace it. malloc'd; a copy when name is not there.
 */
static char *guard(const char *text, const char *from, const char *name)
{
    size_t nlen = strlen(name), len = strlen(text), cap;
    const char *at = from, *end;
    char *out;

    for (; (at = strstr(at, name)) != NULL; at += nlen)
        if ((at == text || at[-1] == '\n') && at[nlen] == ':' &&
            (at[nlen + 1] == '\n' || at[nlen + 1] == ' ' || at[nlen + 1] == '\t'))
            break;
    if (at == NULL)
        return strdup(text);
    end = strchr(at, '\n');
    end = end ? end + 1 : text + len;
    while (*end == ' ' || *end == '\t') {
        const char *nl = strchr(end, '\n');
        end = nl ? nl + 1 : text + len;
    }
    cap = len + sizeof GUARD_BEGIN + sizeof GUARD_END + 1;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    snprintf(out, cap, "%.*s%s%.*s%s%s%s", (int)(at - text), text, GUARD_BEGIN, (int)(end - at),
             at, end > at && end[-1] != '\n' ? "\n" : "", GUARD_END, end);
    return out;
}

/* guard_all - text unguarded, then with each wrapped authenticator guarded (malloc'd) */
static char *guard_all(const char *text, const char *section, char wrapped[][128], int nwrapped)
{
    char *cur = unguard(text);

    for (int i = 0; cur != NULL && i < nwrapped; i++) {
        const char *from = cur;
        char *next;
        if (section != NULL && (from = strstr(cur, section)) == NULL)
            break;
        next = guard(cur, from, wrapped[i]);
        free(cur);
        cur = next;
    }
    return cur;
}

/* guard_split_auth - guard the wrapped authenticators in every conf.d/auth file; path: where it failed */
static int guard_split_auth(const deb_exim *d, char wrapped[][128], int nwrapped,
                            char path[DEB_PATH_MAX])
{
    char dir_path[DEB_PATH_MAX];
    DIR *dir;
    struct dirent *de;
    int rc = 0;

    split_path(d, "conf.d/auth", dir_path);
    if ((dir = opendir(dir_path)) == NULL)
        return errno == ENOENT ? 0 : -1;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        char *text, *guarded;
        if (de->d_name[0] == '.' || strcmp(de->d_name, "01_moat_authenticators") == 0 ||
            strchr(de->d_name, '.') != NULL)
            continue;
        snprintf(path, DEB_PATH_MAX, "%.3000s/%.255s", dir_path, de->d_name);
        if ((text = file_read(path)) == NULL)
            continue;
        guarded = guard_all(text, NULL, wrapped, nwrapped);
        if (guarded == NULL ||
            (strcmp(guarded, text) != 0 && file_replace(path, guarded, 0644) != 0))
            rc = -1;
        free(text);
        free(guarded);
    }
    closedir(dir);
    return rc;
}

int deb_write_enabled(const deb_exim *d, char names[][32], int count, const char *auth_text,
                      char wrapped[][128], int nwrapped, char *err, size_t errlen)
{
    char *old = deb_macro_text(d), *block = NULL, *text = NULL;
    char routers[DEB_PATH_MAX + 256], transports[DEB_PATH_MAX + 256], path[DEB_PATH_MAX];
    char routers_last[DEB_PATH_MAX + 256];
    const char *insert, *what = d->macro_file;
    size_t start, end, len, need;
    int rc = -1;

    errno = 0;
    if (old == NULL)
        goto out;
    if (count > 0 && (block = block_text(d, names, count)) == NULL)
        goto out;
    insert = block ? block : "";
    len = strlen(old);
    if (d->split) {
        start = 0;
        end = len;
    } else if (block_span(d, old, &start, &end) != 0) {
        start = end = len;   /* append, after the admin's own macros */
    }
    need = len - (end - start) + strlen(insert) + 2;
    if ((text = malloc(need)) == NULL)
        goto out;
    /* before the block, a line break if the admin's last line has none,
     * the block, what followed it */
    snprintf(text, need, "%.*s%s%s%s", (int)start, old,
             start > 0 && old[start - 1] != '\n' && count > 0 ? "\n" : "", insert, old + end);
    if (text[0] == '\0') {
        /* nothing left but what we wrote: remove the file, not leave it empty */
        if (unlink(d->macro_file) != 0 && errno != ENOENT)
            goto out;
    } else if (file_replace(d->macro_file, text, 0644) != 0) {
        goto out;
    }

    /* routers, transports, authenticators: only the includes (guarded) */
    snprintf(routers, sizeof routers,
             "# moat: written by moatctl enable/disable. Harmless without exim4-moat.\n"
             ".include_if_exists %.4000s/debian/routers.conf\n", d->snippets);
    snprintf(routers_last, sizeof routers_last,
             "# moat: written by moatctl enable/disable. Harmless without exim4-moat.\n"
             ".include_if_exists %.4000s/debian/routers-last.conf\n", d->snippets);
    snprintf(transports, sizeof transports,
             "# moat: written by moatctl enable/disable. Harmless without exim4-moat.\n"
             ".include_if_exists %.4000s/debian/transports.conf\n", d->snippets);
    if (auth_text != NULL && *auth_text == '\0')
        auth_text = NULL;
    if (d->split) {
        split_path(d, SPLIT_ROUTERS, path);
        what = path;
        if (put_file(path, count > 0 ? routers : NULL) != 0)
            goto out;
        split_path(d, SPLIT_ROUTERS_LAST, path);
        if (put_file(path, count > 0 ? routers_last : NULL) != 0)
            goto out;
        split_path(d, SPLIT_TRANSPORTS, path);
        if (put_file(path, count > 0 ? transports : NULL) != 0)
            goto out;
        split_path(d, SPLIT_AUTH, path);
        if (put_file(path, count > 0 ? auth_text : NULL) != 0)
            goto out;
        if (guard_split_auth(d, auth_text ? wrapped : NULL, auth_text ? nwrapped : 0, path) != 0)
            goto out;
        /* delivery events in Debian's smtp transports (exim_events.c) */
        what = "conf.d/transport/30_exim4-config_remote_smtp*.rul";
        if (deb_write_events(d, count > 0, path, sizeof path) != 0)
            goto out;
    } else {
        char *tmpl, *t0 = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
        split_path(d, TEMPLATE, path);
        what = path;
        if ((tmpl = file_read(path)) == NULL)
            goto out;
        /* the last routers: right before "begin transports", which ends the routers */
        t0 = template_place(tmpl, "routers-last", "transports", 1,
                            count > 0 ? strchr(routers_last, '\n') + 1 : NULL);
        t1 = t0 ? template_block(t0, "routers", count > 0 ? strchr(routers, '\n') + 1 : NULL)
                : NULL;
        t2 = t1 ? template_block(t1, "transports", count > 0 ? strchr(transports, '\n') + 1
                                                             : NULL)
                : NULL;
        t3 = t2 ? template_block(t2, "authenticators", count > 0 ? auth_text : NULL) : NULL;
        if (t3 != NULL) {
            char *t4 = guard_all(t3, "\nbegin authenticators\n", wrapped,
                                 count > 0 && auth_text ? nwrapped : 0);
            free(t3);
            t3 = t4;
        }
        if (t3 == NULL)
            errno = errno ? errno : EINVAL;
        else if (strcmp(t3, tmpl) == 0 || file_replace(path, t3, 0644) == 0)
            rc = 0;
        free(tmpl);
        free(t0);
        free(t1);
        free(t2);
        free(t3);
        if (rc != 0)
            goto out;
        rc = -1;
        if (deb_write_events(d, count > 0, path, sizeof path) != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", what, strerror(errno ? errno : ENOMEM));
    free(old);
    free(block);
    free(text);
    return rc;
}

/* drop_to_exim - in a child about to exec: become the Exim user (root only) */
static void drop_to_exim(void)
{
    const struct passwd *pw;

    if (geteuid() != 0)
        return;
    if ((pw = getpwnam("Debian-exim")) == NULL && (pw = getpwnam("exim")) == NULL)
        _exit(126);
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        _exit(126);
}

int deb_run(char *const argv[], const char *stdin_text, char *out, size_t outlen, int as_exim)
{
    int outp[2], inp[2] = {-1, -1}, status;
    size_t got = 0;
    pid_t pid;

    if (outlen > 0)
        out[0] = '\0';
    if (pipe2(outp, O_CLOEXEC) != 0)
        return -1;
    if (stdin_text != NULL && pipe2(inp, O_CLOEXEC) != 0) {
        close(outp[0]);
        close(outp[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(stdin_text != NULL ? inp[0] : devnull, 0);
        dup2(outp[1], 1);
        dup2(outp[1], 2);
        if (as_exim)
            drop_to_exim();
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(outp[1]);
    if (stdin_text != NULL) {
        size_t len = strlen(stdin_text), done = 0;
        close(inp[0]);
        signal(SIGPIPE, SIG_IGN);
        while (done < len) {
            ssize_t n = write(inp[1], stdin_text + done, len - done);
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        close(inp[1]);
    }
    for (;;) {
        char sink[512];
        ssize_t n;
        if (got + 1 < outlen)
            n = read(outp[0], out + got, outlen - got - 1);
        else
            n = read(outp[0], sink, sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + 1 < outlen)
            got += (size_t)n;
    }
    if (outlen > 0)
        out[got] = '\0';
    close(outp[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_capture(char *const argv[], const char *stdin_text, char *out, size_t outlen)
{
    return deb_run(argv, stdin_text, out, outlen, 0);
}

/* probe_failed - a line of the -bh session that says an ACL could not run */
static const char *probe_failed(const char *out)
{
    static const char *const signs[] = {
        "451 Temporary local problem", "failed to expand ACL string", "ACL error",
        "error in ACL", "failed to open ACL file", "undefined symbol", "dlopen",
        "Exim configuration error",
    };
    size_t i;

    for (i = 0; i < sizeof signs / sizeof signs[0]; i++) {
        const char *hit = strstr(out, signs[i]);
        if (hit != NULL)
            return hit;
    }
    return NULL;
}

int deb_build(const deb_exim *d, char dir[32], char conf[64], char *report, size_t reportlen)
{
    char *argv[8];
    int n = 0;

    snprintf(dir, 32, "/tmp/moatctl.XXXXXX");
    conf[0] = '\0';
    if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0) {
        snprintf(report, reportlen, "temporary directory: %s", strerror(errno));
        dir[0] = '\0';
        return -1;
    }
    snprintf(conf, 64, "%s/exim4.conf", dir);
    argv[n++] = (char *)d->update;
    argv[n++] = (char *)"-o";
    argv[n++] = conf;
    if (strcmp(d->exim_dir, DEFAULT_EXIM_DIR) != 0) {
        argv[n++] = (char *)"-d";
        argv[n++] = (char *)d->exim_dir;
    }
    argv[n] = NULL;
    if (run_capture(argv, NULL, report, reportlen) != 0)
        return -1;
    /* an update command that writes nothing (tests): nothing to check */
    return access(conf, R_OK) == 0 ? 0 : 1;
}

void deb_build_cleanup(const char *dir, const char *conf)
{
    if (conf[0] != '\0')
        unlink(conf);
    if (dir[0] != '\0')
        rmdir(dir);
}

/* bp - exim [-C conf] -bP what into out; its exit status. As the caller:
 * -bP runs no module, and the Exim user would hear "exim user lost
 * privilege for using -C option" before the answer. */
static int bp(const deb_exim *d, const char *conf, const char *what, char *out, size_t outlen)
{
    char *argv[8], word[64];
    const char *space = strchr(what, ' ');
    int n = 0;

    argv[n++] = (char *)d->exim;
    if (conf != NULL) {
        argv[n++] = (char *)"-C";
        argv[n++] = (char *)conf;
    }
    argv[n++] = (char *)"-bP";
    /* "transport NAME", "macro NAME": two arguments to Exim */
    if (space != NULL && (size_t)(space - what) < sizeof word) {
        snprintf(word, sizeof word, "%.*s", (int)(space - what), what);
        argv[n++] = word;
        argv[n++] = (char *)space + 1;
    } else {
        argv[n++] = (char *)what;
    }
    argv[n] = NULL;
    return deb_run(argv, NULL, out, outlen, 0);
}

#define PROBE_MAX ((size_t)512 * 1024)

/* value_of - the value in "name = value\n" output of -bP, trimmed, into out */
static void value_of(const char *bp_out, char *out, size_t outlen)
{
    const char *eq = strstr(bp_out, " = ");
    size_t n;

    if (eq == NULL) {
        snprintf(out, outlen, "(unset)");
        return;
    }
    eq += 3;
    n = strcspn(eq, "\n");
    snprintf(out, outlen, "%.*s", (int)n, eq);
}

/* probe_session - the -bh probe with RCPT TO:<postmaster@domain> into out */
static void probe_session(const deb_exim *d, const char *conf, const char *domain, char *out)
{
    char session[512], *argv[10];
    int n = 0;

    snprintf(session, sizeof session,
             "EHLO moatctl.invalid\r\nMAIL FROM:<moatctl@moatctl.invalid>\r\n"
             "RCPT TO:<postmaster@%.200s>\r\nDATA\r\n"
             "Subject: moatctl probe\r\n\r\nprobe\r\n.\r\nQUIT\r\n", domain);
    argv[n++] = (char *)d->exim;
    if (conf != NULL) {
        argv[n++] = (char *)"-C";
        argv[n++] = (char *)conf;
    }
    argv[n++] = (char *)"-d-all+acl";
    argv[n++] = (char *)"-bh";
    argv[n++] = (char *)"192.0.2.1";
    argv[n] = NULL;
    /* as the Exim user: the modules open the store as Exim's processes do */
    deb_run(argv, session, out, PROBE_MAX, 1);
}

char *deb_probe(const deb_exim *d, const char *conf)
{
    char *out = malloc(PROBE_MAX), qualify[300], domain[256];

    if (out == NULL)
        return NULL;
    /* localhost: a local domain of Debian's configuration; else the
     * configuration's own qualify_domain, which is local nearly everywhere */
    probe_session(d, conf, "localhost", out);
    if (strstr(out, "\n354") == NULL && bp(d, conf, "qualify_domain", qualify, sizeof qualify) == 0) {
        value_of(qualify, domain, sizeof domain);
        if (domain[0] != '\0' && strcmp(domain, "localhost") != 0 &&
            strspn(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
                strlen(domain))
            probe_session(d, conf, domain, out);
    }
    return out;
}

/* ran_snippet - whether the probe processed a statement of <snippets>/<module>/<file> */
static int ran_snippet(const deb_exim *d, const char *probe, const char *module,
                       const char *file)
{
    char needle[DEB_PATH_MAX + 64];

    snprintf(needle, sizeof needle, "(%.4000s/%s/%s ", d->snippets, module, file);
    return strstr(probe, needle) != NULL;
}

/* has_line - whether text (exim -bP's one name per line) has the line name */
static int has_line(const char *text, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name))
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/*
 * statements_run - whether the probe ran module's statements of the ACL
 * of stage ("mail", "rcpt"); if not, why says which ACL Exim uses instead
 */
static int statements_run(const deb_exim *d, const char *conf, const char *probe,
                          const char *module, const char *stage, char *why, size_t whylen)
{
    char file[32], option[32], out[4096], acl[256], upper[8];
    size_t i;

    snprintf(file, sizeof file, "acl-%s.conf", stage);
    if (ran_snippet(d, probe, module, file))
        return 1;
    snprintf(option, sizeof option, "acl_smtp_%s", stage);
    for (i = 0; stage[i] && i + 1 < sizeof upper; i++)
        upper[i] = (char)toupper((unsigned char)stage[i]);
    upper[i] = '\0';
    bp(d, conf, option, out, sizeof out);
    value_of(out, acl, sizeof acl);
    snprintf(why, whylen,
             "its %s ACL statements never run: %s = %s (MAIN_ACL_CHECK_%s set by your "
             "configuration?); start that ACL with .include_if_exists %.200s/%s", upper, option,
             acl, upper, d->snippets, file);
    return 0;
}

int deb_module_wired(const deb_exim *d, const char *conf, const char *probe, const char *module,
                     char *why, size_t whylen)
{
    static char out[16384];
    char acl[256];

    why[0] = '\0';
    if (probe == NULL) {
        snprintf(why, whylen, "could not run Exim's -bh probe");
        return -1;
    }
    if (strcmp(module, "autoreply") == 0) {
        if (bp(d, conf, "router_list", out, sizeof out) != 0 ||
            strncmp(out, "moat_autoreply_gate\n", 20) != 0) {
            snprintf(why, whylen, "moat_autoreply_gate is not the first router (routers: %.200s)",
                     out);
            return 0;
        }
        if (bp(d, conf, "macro MOAT_AUTOREPLY_VACATION", out, sizeof out) == 0 &&
            strncmp(out, "MOAT_AUTOREPLY_VACATION", 23) == 0) {
            if (bp(d, conf, "router_list", out, sizeof out) != 0 ||
                strstr(out, "\nmoat_vacation\n") == NULL) {
                snprintf(why, whylen, "MOAT_AUTOREPLY_VACATION is set but moat_vacation is "
                                      "not a router");
                return 0;
            }
        }
        if (bp(d, conf, "acl_not_smtp", out, sizeof out) == 0 &&
            strstr(out, "acl_moat_not_smtp") == NULL &&
            !(bp(d, conf, "macro MOAT_KEEP_ACL_NOT_SMTP", out, sizeof out) == 0 &&
              strncmp(out, "MOAT_KEEP_ACL_NOT_SMTP", 22) == 0)) {
            snprintf(why, whylen, "acl_not_smtp is not moat's (the gate never marks local "
                                  "auto-replies and bounces)");
            return 0;
        }
        if (!ran_snippet(d, probe, module, "acl-data.conf")) {
            if (strstr(probe, "\n354") == NULL) {
                snprintf(why, whylen, "the -bh probe did not reach DATA; DATA ACL not checked");
                return -1;
            }
            bp(d, conf, "acl_smtp_data", out, sizeof out);
            value_of(out, acl, sizeof acl);
            snprintf(why, whylen, "its DATA ACL statements never run (acl_smtp_data = %s; "
                                  "CHECK_DATA_LOCAL_ACL_FILE taken?)", acl);
            return 0;
        }
        return 1;
    }
    /* rcpt judges recipients in its router during the site's verify, and
     * takes catchall's and batv's RCPT decisions there too (their RCPT
     * statements are included only without rcpt) */
    if (strcmp(module, "rcpt") == 0 || strcmp(module, "catchall") == 0 ||
        strcmp(module, "batv") == 0) {
        int judged = bp(d, conf, "router_list", out, sizeof out) == 0 &&
                     has_line(out, "moat_rcpt_judge");
        if (strcmp(module, "rcpt") != 0 && judged)
            return 1;
        if (strcmp(module, "rcpt") == 0 && !judged) {
            snprintf(why, whylen, "its router moat_rcpt_judge is not in begin routers: include "
                                  "%.200s/debian/routers.conf first there", d->snippets);
            return 0;
        }
        /* the router acts on the configuration the MAIL statements name */
        if (strcmp(module, "rcpt") == 0 && !statements_run(d, conf, probe, module, "mail", why,
                                                           whylen))
            return 0;
    }
    if (!statements_run(d, conf, probe, module, "rcpt", why, whylen))
        return 0;
    if (strcmp(module, "authlock") == 0 && bp(d, conf, "acl_smtp_auth", out, sizeof out) == 0 &&
        strstr(out, "acl_moat_auth") == NULL &&
        !(bp(d, conf, "macro MOAT_KEEP_ACL_SMTP_AUTH", out, sizeof out) == 0 &&
          strncmp(out, "MOAT_KEEP_ACL_SMTP_AUTH", 23) == 0)) {
        snprintf(why, whylen, "acl_smtp_auth is not moat's");
        return 0;
    }
    return 1;
}

int deb_events_wired(const deb_exim *d, const char *conf, const char *module, char *why,
                     size_t whylen)
{
    static char out[65536];
    const char *names[] = {"remote_smtp", "remote_smtp_smarthost"};
    char needle[64], list[4096];

    why[0] = '\0';
    if (strcmp(module, "authlock") != 0 && strcmp(module, "autoreply") != 0)
        return 1;
    if (bp(d, conf, "transport_list", list, sizeof list) != 0) {
        snprintf(why, whylen, "could not list Exim's transports");
        return -1;
    }
    snprintf(needle, sizeof needle, "moat_%s_event", module);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char what[64];
        const char *at;
        size_t nlen = strlen(names[i]);
        for (at = list; (at = strstr(at, names[i])) != NULL; at += nlen)
            if ((at == list || at[-1] == '\n') && (at[nlen] == '\n' || at[nlen] == '\0'))
                break;
        if (at == NULL)
            continue;
        snprintf(what, sizeof what, "transport %s", names[i]);
        if (bp(d, conf, what, out, sizeof out) != 0) {
            snprintf(why, whylen, "could not read transport %s", names[i]);
            return -1;
        }
        if (strstr(out, needle) == NULL) {
            snprintf(why, whylen,
                     "transport %s has no event_action = MOAT_EVENT (%s): run moatctl refresh, "
                     "or add MOAT_EVENT to its own event_action",
                     names[i], strcmp(module, "authlock") == 0
                                   ? "recipients remote servers refuse are not counted"
                                   : "auto-replies that bounce are not recorded");
            return 0;
        }
    }
    return 1;
}

int deb_check(const deb_exim *d, char names[][32], int count, char *report, size_t reportlen)
{
    char dir[32], conf[64], *bv_argv[6], *probe = NULL;
    int rc = -1, built;
    const char *bad;
    size_t len = 0;

    if ((built = deb_build(d, dir, conf, report, reportlen)) != 0) {
        rc = built > 0 ? 0 : -1;
        goto out;
    }
    bv_argv[0] = (char *)d->exim;
    bv_argv[1] = (char *)"-C";
    bv_argv[2] = conf;
    bv_argv[3] = (char *)"-bV";
    bv_argv[4] = NULL;
    if (deb_run(bv_argv, NULL, report, reportlen, 1) != 0)
        goto out;
    if ((probe = deb_probe(d, conf)) == NULL) {
        snprintf(report, reportlen, "out of memory");
        goto out;
    }
    if ((bad = probe_failed(probe)) != NULL) {
        snprintf(report, reportlen, "%.*s", (int)strcspn(bad, "\n"), bad);
        goto out;
    }
    report[0] = '\0';
    for (int i = 0; i < count; i++) {
        char why[1024];
        if (deb_module_wired(d, conf, probe, names[i], why, sizeof why) == 0)
            len += (size_t)snprintf(report + len, len < reportlen ? reportlen - len : 0,
                                    "%s: %s\n", names[i], why);
    }
    rc = len == 0 ? 0 : -1;
out:
    free(probe);
    deb_build_cleanup(dir, conf);
    return rc;
}

int deb_update(const deb_exim *d, char *report, size_t reportlen)
{
    char *argv[4];
    int n = 0;

    argv[n++] = (char *)d->update;
    if (strcmp(d->exim_dir, DEFAULT_EXIM_DIR) != 0) {
        argv[n++] = (char *)"-d";
        argv[n++] = (char *)d->exim_dir;
    }
    argv[n] = NULL;
    return run_capture(argv, NULL, report, reportlen) == 0 ? 0 : -1;
}

int deb_reload(const deb_exim *d)
{
    char buf[64], comm_path[64], comm[64] = "";
    FILE *f = fopen(d->pidfile, "re");
    long pid;

    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof buf, f) == NULL) {
        fclose(f);
        return 0;
    }
    fclose(f);
    pid = strtol(buf, NULL, 10);
    if (pid <= 1)
        return 0;
    /* only signal an Exim: a stale pid file may name anything */
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", pid);
    if ((f = fopen(comm_path, "re")) == NULL)
        return 0;
    if (fgets(comm, sizeof comm, f) == NULL)
        comm[0] = '\0';
    fclose(f);
    if (strncmp(comm, "exim", 4) != 0)
        return 0;
    return kill((pid_t)pid, SIGHUP) == 0 ? 1 : -1;
}

int deb_exim_macro(const deb_exim *d, const char *exim_config, const char *macro)
{
    char out[512], *argv[8];
    int n = 0, rc;

    if (access(d->exim, X_OK) != 0)
        return -1;
    argv[n++] = (char *)d->exim;
    if (exim_config != NULL) {
        argv[n++] = (char *)"-C";
        argv[n++] = (char *)exim_config;
    }
    argv[n++] = (char *)"-bP";
    argv[n++] = (char *)"macro";
    argv[n++] = (char *)macro;
    argv[n] = NULL;
    rc = run_capture(argv, NULL, out, sizeof out);
    if (rc == 0 && strncmp(out, macro, strlen(macro)) == 0)
        return 1;
    if (strstr(out, "not found") != NULL)
        return 0;
    return -1;
}
