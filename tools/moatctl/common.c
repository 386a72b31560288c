/*
 * common.c - moatctl helpers: loading the config, JSON strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

moat_runtime *ctl_runtime(const ctl_env *env)
{
    char err[MOAT_ERR_MAX];
    moat_runtime *rt = moat_runtime_get(env->config_path, err, sizeof err);

    if (rt == NULL)
        fprintf(stderr, "moatctl: %s\n", err);
    return rt;
}

void ctl_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

int ctl_run_exim(const ctl_env *env, const char *const *args, char *out, size_t cap)
{
    const char *argv[24], *binary = getenv("MOAT_EXIM");
    size_t len = 0;
    int pipefd[2], status = 0, n = 0, i;
    pid_t pid;

    if (binary == NULL || *binary == '\0')
        binary = access("/usr/sbin/exim4", X_OK) == 0 ? "/usr/sbin/exim4" : "/usr/sbin/exim";
    argv[n++] = binary;
    if (env->exim_config) {
        argv[n++] = "-C";
        argv[n++] = env->exim_config;
    }
    for (i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    if ((pid = fork()) < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        execv(binary, (char *const *)argv);
        _exit(127);
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
