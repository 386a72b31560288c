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
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf_edit.h"
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

int deb_write_enabled(const deb_exim *d, char names[][32], int count, char *err, size_t errlen)
{
    char *old = deb_macro_text(d), *block = NULL, *text = NULL;
    const char *insert;
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
        rc = unlink(d->macro_file) != 0 && errno != ENOENT ? -1 : 0;
        goto out;
    }
    rc = file_replace(d->macro_file, text, 0644);
out:
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", d->macro_file, strerror(errno ? errno : ENOMEM));
    free(old);
    free(block);
    free(text);
    return rc;
}

int deb_restore(const deb_exim *d, const char *old_text)
{
    if (old_text[0] == '\0')
        return unlink(d->macro_file) == 0 || errno == ENOENT ? 0 : -1;
    return file_replace(d->macro_file, old_text, 0644);
}

/*
 * run_capture - run argv (no shell) with stdin_text on its standard input
 * (NULL: /dev/null), collecting standard output and error into out.
 * Returns the exit status, or -1 when it could not run.
 */
static int run_capture(char *const argv[], const char *stdin_text, char *out, size_t outlen)
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

int deb_check(const deb_exim *d, char *report, size_t reportlen)
{
    char dir[] = "/tmp/moatctl.XXXXXX", conf[64];
    char *update_argv[8], *bv_argv[6], *bh_argv[8];
    const char *session = "EHLO moatctl.invalid\r\nMAIL FROM:<>\r\n"
                          "RCPT TO:<postmaster@localhost>\r\nQUIT\r\n";
    int n = 0, rc = -1;
    const char *bad;

    if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0) {
        snprintf(report, reportlen, "temporary directory: %s", strerror(errno));
        return -1;
    }
    snprintf(conf, sizeof conf, "%s/exim4.conf", dir);
    update_argv[n++] = (char *)d->update;
    update_argv[n++] = (char *)"-o";
    update_argv[n++] = conf;
    if (strcmp(d->exim_dir, DEFAULT_EXIM_DIR) != 0) {
        update_argv[n++] = (char *)"-d";
        update_argv[n++] = (char *)d->exim_dir;
    }
    update_argv[n] = NULL;
    if (run_capture(update_argv, NULL, report, reportlen) != 0) {
        goto out;
    }
    if (access(conf, R_OK) != 0) {
        /* an update command that writes nothing (tests): check nothing */
        rc = 0;
        goto out;
    }
    bv_argv[0] = (char *)d->exim;
    bv_argv[1] = (char *)"-C";
    bv_argv[2] = conf;
    bv_argv[3] = (char *)"-bV";
    bv_argv[4] = NULL;
    if (run_capture(bv_argv, NULL, report, reportlen) != 0)
        goto out;
    bh_argv[0] = (char *)d->exim;
    bh_argv[1] = (char *)"-C";
    bh_argv[2] = conf;
    bh_argv[3] = (char *)"-bh";
    bh_argv[4] = (char *)"192.0.2.1";
    bh_argv[5] = NULL;
    run_capture(bh_argv, session, report, reportlen);
    if ((bad = probe_failed(report)) != NULL) {
        memmove(report, bad, strlen(bad) + 1);
        goto out;
    }
    report[0] = '\0';
    rc = 0;
out:
    unlink(conf);
    rmdir(dir);
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
