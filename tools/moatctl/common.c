/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * common.c - moatctl helpers: loading the config (as the store's owner),
 * JSON strings, running Exim.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "net.h"

/* root_again - at exit, the root ids ctl_become_store_owner set aside: what
 * runs after main (LeakSanitizer's check in sanitizer builds) runs as the
 * process began */
static void root_again(void)
{
    if (getuid() == 0 && geteuid() != 0 && seteuid(0) == 0 && setegid(0) != 0)
        _exit(2);   /* cannot happen once root: euid 0 may set any egid */
}

/*
 * create_for_exim - mkdir path (mode 0750) and give it to the Exim user
 * before anything is put in it: what Exim's own processes would create at
 * their next connection, never a directory of root's. 0, or -1 with err.
 */
static int create_for_exim(const char *path, char *err, size_t errlen)
{
    const struct passwd *pw;
    int fd;

    if ((pw = getpwnam("Debian-exim")) == NULL && (pw = getpwnam("exim")) == NULL) {
        snprintf(err, errlen, "store directory %s is missing and there is no Exim user "
                 "(Debian-exim) to create it for", path);
        return -1;
    }
    if (mkdir(path, 0700) != 0) {
        snprintf(err, errlen, "store directory %s is missing and cannot be created: %s", path,
                 strerror(errno));
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, pw->pw_uid, pw->pw_gid) != 0 || fchmod(fd, 0750) != 0) {
        snprintf(err, errlen, "store directory %s: cannot give it to %s: %s", path,
                 pw->pw_name, strerror(errno));
        if (fd >= 0)
            close(fd);
        rmdir(path);
        return -1;
    }
    close(fd);
    return 0;
}

int ctl_become_store_owner(const char *config_path, char *err, size_t errlen)
{
    moat_config *cfg;
    struct stat st;
    const struct passwd *pw;
    char path[4096];
    int lmdb;

    if (geteuid() != 0)
        return 0;
    if ((cfg = moat_config_load(config_path, err, errlen)) == NULL)
        return 0;   /* the caller reports the broken file */
    snprintf(path, sizeof path, "%s", cfg->store.path);
    lmdb = cfg->store.backend == STORE_BACKEND_LMDB;
    moat_config_free(cfg);
    if (stat(path, &st) != 0 && !lmdb)
        return 0;   /* Redis: the directory holds at most authlock's secret */
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "store directory %s: %s", path, strerror(errno));
            return -1;
        }
        if (create_for_exim(path, err, errlen) != 0)
            return -1;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "store directory %s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (st.st_uid == 0)
        return 0;   /* root's own store: nothing Exim could use is at stake */
    if ((pw = getpwuid(st.st_uid)) == NULL) {
        snprintf(err, errlen, "store directory %s: owner %u has no passwd entry", path,
                 (unsigned)st.st_uid);
        return -1;
    }
    /* effective ids only: files moatctl creates are the owner's, and the
     * Exim it runs (ctl_run_exim) is root's again */
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setegid(pw->pw_gid) != 0 ||
        seteuid(pw->pw_uid) != 0) {
        snprintf(err, errlen, "cannot become %s, the owner of %s: %s", pw->pw_name, path,
                 strerror(errno));
        return -1;
    }
    atexit(root_again);
    return 0;
}

int ctl_exim_macro(const char *exim_config, const char *macro, char *out, size_t outlen)
{
    ctl_env env = {NULL, exim_config, 0, NULL, NULL};
    const char *args[] = {"-bP", "macro", macro, NULL};
    char buf[4200];
    size_t n = strlen(macro), len;

    if (ctl_run_exim(&env, args, buf, sizeof buf) != 0 || strncmp(buf, macro, n) != 0 ||
        buf[n] != '=')
        return -1;
    len = strcspn(buf + n + 1, "\n");
    if (len == 0 || len >= outlen)
        return -1;
    memcpy(out, buf + n + 1, len);
    out[len] = '\0';
    return 0;
}

moat_runtime *ctl_runtime(const ctl_env *env)
{
    char err[MOAT_ERR_MAX];
    moat_runtime *rt;

    if (ctl_become_store_owner(env->config_path, err, sizeof err) != 0) {
        fprintf(stderr, "moatctl: %s\n", err);
        return NULL;
    }
    rt = moat_runtime_get(env->config_path, err, sizeof err);

    if (rt == NULL)
        fprintf(stderr, "moatctl: %s\n", err);
    return rt;
}

const char *ctl_safe(const char *s)
{
    static char bufs[4][2048];
    static unsigned next;
    char *b = bufs[next++ % 4];

    return moat_log_field(s, b, sizeof bufs[0]);
}

const char *ctl_ip_text(const char *s, char *buf, size_t cap)
{
    moat_ip ip;

    if (net_parse_ip(s, &ip) != 0)
        return s;
    net_format_ip(&ip, buf, cap);
    return buf;
}

void ctl_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    size_t u;

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else if (c < 0x80)
            fputc(c, out);
        else if ((u = moat_utf8_printable_len(s)) > 0) {
            fwrite(s, 1, u, out);
            s += u - 1;
        } else
            fprintf(out, "\\\\x%02x", c);      /* not UTF-8 JSON can carry: as the text shows it */
    }
    fputc('"', out);
}

pid_t ctl_spawn_exim(const ctl_env *env, const char *const *args, int in_fd, int out_fd)
{
    const char *argv[24], *binary = getenv("MOAT_EXIM");
    int n = 0;
    pid_t pid;

    if (binary == NULL || *binary == '\0')
        binary = access("/usr/sbin/exim4", X_OK) == 0 ? "/usr/sbin/exim4" : "/usr/sbin/exim";
    argv[n++] = binary;
    if (env->exim_config) {
        argv[n++] = "-C";
        argv[n++] = env->exim_config;
    }
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if ((pid = fork()) != 0)
        return pid;
    if (in_fd >= 0)
        dup2(in_fd, 0);
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        dup2(out_fd, 2);
    }
    /* root again if ctl_become_store_owner gave it up (effective ids only) */
    if (getuid() == 0 && geteuid() != 0 &&
        (seteuid(0) != 0 || setegid(0) != 0 || setgroups(0, NULL) != 0))
        _exit(126);
    execv(binary, (char *const *)argv);
    _exit(127);
}

int ctl_run_exim(const ctl_env *env, const char *const *args, char *out, size_t cap)
{
    size_t len = 0;
    int pipefd[2], status = 0;
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    if ((pid = ctl_spawn_exim(env, args, -1, pipefd[1])) < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    close(pipefd[1]);
    for (;;) {
        ssize_t r = read(pipefd[0], out + len, len + 1 < cap ? cap - len - 1 : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            char sink[4096];
            while (r == 0 && len + 1 >= cap && read(pipefd[0], sink, sizeof sink) > 0)
                ;
            break;
        }
        len += (size_t)r;
    }
    out[len] = '\0';
    close(pipefd[0]);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
