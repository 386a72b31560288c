/*
 * audit.c - probing local domains with random local parts through Exim's
 * address testing mode (-bt, with routing debug to name the router).
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rcpt/rcpt.h"

#define OUTPUT_MAX ((size_t)256 * 1024)

/* run_exim - run exim with args, its stdout and stderr into out; the exit status or -1 */
static int run_exim(const char *binary, const char *config, const char *const *args,
                    char *out, size_t cap)
{
    const char *argv[16];
    int pipefd[2], status = 0, n = 0, i;
    size_t len = 0;
    pid_t pid;

    argv[n++] = binary;
    if (config) {
        argv[n++] = "-C";
        argv[n++] = config;
    }
    for (i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
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
            if (r == 0 || len + 1 >= cap)
                while (read(pipefd[0], sink, sizeof sink) > 0)
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

/* local_domains - the items of Exim's local_domains list (and @ as the primary hostname) */
static int local_domains(const char *binary, const char *config, audit_report *r, char *buf,
                         size_t cap)
{
    const char *args[] = {"-bP", "+local_domains", NULL};
    const char *host_args[] = {"-bP", "primary_hostname", NULL};
    char host[300] = "", *p, *eq, *item, *save = NULL;

    if (run_exim(binary, config, host_args, buf, cap) == 0 && (eq = strchr(buf, '=')))
        sscanf(eq + 1, " %299s", host);
    if (run_exim(binary, config, args, buf, cap) != 0 || (eq = strchr(buf, '=')) == NULL) {
        snprintf(r->error, sizeof r->error, "cannot read local_domains from Exim: %.200s", buf);
        return -1;
    }
    p = eq + 1;
    p[strcspn(p, "\n")] = '\0';
    for (item = strtok_r(p, ":", &save); item && r->count < AUDIT_DOMAINS_MAX;
         item = strtok_r(NULL, ":", &save)) {
        while (*item == ' ')
            item++;
        item[strcspn(item, " ")] = '\0';
        if (strcmp(item, "@") == 0)
            item = host;
        if (*item == '\0' || strchr(item, '*') || *item == '+' || *item == '!' ||
            strchr(item, ';'))
            continue;   /* patterns and lookups cannot be probed by name */
        snprintf(r->domains[r->count++].domain, sizeof r->domains[0].domain, "%s", item);
    }
    return 0;
}

/* random_local - "moat-audit-" and 16 random hex digits */
static void random_local(char *out, size_t cap)
{
    unsigned char b[8];
    size_t i, n;

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(rand() ^ (int)time(NULL));
    n = (size_t)snprintf(out, cap, "moat-audit-");
    for (i = 0; i < sizeof b && n + 2 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
}

int catchall_audit(moat_runtime *rt, const char *binary, const char *config, int probes,
                   audit_report *r)
{
    char *buf = malloc(OUTPUT_MAX);
    size_t d;
    int i;

    memset(r, 0, sizeof *r);
    if (buf == NULL) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    if (local_domains(binary, config, r, buf, OUTPUT_MAX) != 0) {
        free(buf);
        return -1;
    }
    for (d = 0; d < r->count; d++) {
        audit_domain *ad = &r->domains[d];
        for (i = 0; i < probes; i++) {
            char local[40], address[400];
            const char *args[] = {"-d+route", "-bt", address, NULL};
            int status;
            char *routed, *arrow;

            random_local(local, sizeof local);
            snprintf(address, sizeof address, "%s@%s", local, ad->domain);
            ad->probes++;
            if (rt && rcpt_directory_lookup(rt, address, "", time(NULL)) == RCPT_DIR_FOUND)
                ad->directory_catchall = 1;
            status = run_exim(binary, config, args, buf, OUTPUT_MAX);
            if (status != 0)
                continue;   /* undeliverable: the domain refused the made-up address */
            ad->accepted++;
            ad->exim_catchall = 1;
            if ((routed = strstr(buf, "routed by ")) != NULL)
                sscanf(routed + 10, "%63s", ad->router);
            /* -bt prints "target\n    <-- probed" for a redirect */
            if ((arrow = strstr(buf, "\n    <-- ")) != NULL) {
                char *start = arrow;
                while (start > buf && start[-1] != '\n')
                    start--;
                snprintf(ad->target, sizeof ad->target, "%.*s", (int)(arrow - start), start);
            }
        }
    }
    free(buf);
    return 0;
}
