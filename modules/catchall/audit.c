/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c - probing local domains with random local parts through Exim's
 * address testing mode (-bt, with routing debug to name the router that
 * took the address) and through moat's rcpt directory.
 */
#include "audit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "rcpt/rcpt.h"

#define OUTPUT_MAX ((size_t)512 * 1024)

int audit_domain_is_catchall(const audit_domain *d)
{
    return d->accepted > 0 || d->directory_accepted > 0;
}

static void note_skipped(audit_report *r, const char *item, const char *why)
{
    if (r->skipped_count < AUDIT_SKIPPED_MAX)
        snprintf(r->skipped[r->skipped_count++], sizeof r->skipped[0], "%.80s (%s)", item, why);
}

static void add_domain(audit_report *r, const char *name)
{
    char lower[256];
    size_t i;

    addr_lower(name, lower, sizeof lower);
    if (!addr_domain_valid(lower) || lower[0] == '[')
        return;
    for (i = 0; i < r->count; i++)
        if (strcmp(r->domains[i].domain, lower) == 0)
            return;
    if (r->count < AUDIT_DOMAINS_MAX)
        snprintf(r->domains[r->count++].domain, sizeof r->domains[0].domain, "%s", lower);
}

/* add_lsearch_keys - the keys of an lsearch file ("key: data" or "key" lines) */
static void add_lsearch_keys(audit_report *r, const char *item, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[1024];

    if (f == NULL) {
        note_skipped(r, item, "cannot read the file");
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char *key = line + strspn(line, " \t");
        if (*key == '#' || *key == '\n' || key != line)
            continue;   /* comments, blank and continuation lines */
        key[strcspn(key, ": \t\r\n")] = '\0';
        if (*key != '*')
            add_domain(r, key);
    }
    fclose(f);
}

/* add_dsearch_entries - the names in a dsearch directory */
static void add_dsearch_entries(audit_report *r, const char *item, const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d == NULL) {
        note_skipped(r, item, "cannot read the directory");
        return;
    }
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            add_domain(r, e->d_name);
    closedir(d);
}

void audit_local_domains(const char *list, const char *host, audit_report *r)
{
    char *copy, *item, *save = NULL;
    const char *eq = strchr(list, '=');
    size_t n;

    copy = strdup(eq ? eq + 1 : list);
    if (copy == NULL)
        return;
    copy[strcspn(copy, "\n")] = '\0';
    for (item = strtok_r(copy, ":", &save); item; item = strtok_r(NULL, ":", &save)) {
        item += strspn(item, " \t");
        n = strlen(item);
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            item[--n] = '\0';
        if (n == 0)
            continue;
        if (strcmp(item, "@") == 0) {
            if (host && *host)
                add_domain(r, host);
        } else if (strncmp(item, "lsearch;", 8) == 0) {
            add_lsearch_keys(r, item, item + 8);
        } else if (strncmp(item, "dsearch;", 8) == 0) {
            add_dsearch_entries(r, item, item + 8);
        } else if (strpbrk(item, "*^!+;$") || strncmp(item, "@[", 2) == 0 ||
                   strncmp(item, "@mx", 3) == 0) {
            note_skipped(r, item, "a pattern or lookup: name the domains on the command line");
        } else {
            add_domain(r, item);
        }
    }
    free(copy);
}

/* copy_word - the word (up to white space or a comma) at p into out */
static void copy_word(const char *p, char *out, size_t cap)
{
    size_t n = strcspn(p, " \t\r\n,");

    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

void audit_parse_bt(const char *output, audit_domain *d)
{
    const char *p, *arrow, *start;

    /* debug: the first router that routed anything took the random address */
    if ((p = strstr(output, "\nrouted by ")) != NULL)
        copy_word(p + 11, d->router, sizeof d->router);
    /* -bt's own summary: "  router = NAME, transport = T" (the last one delivers) */
    for (p = output; (p = strstr(p, "router = ")) != NULL; p += 9)
        copy_word(p + 9, d->final_router, sizeof d->final_router);
    if (d->router[0] == '\0')
        snprintf(d->router, sizeof d->router, "%s", d->final_router);
    /* a redirect prints "target\n    <-- probed": the line before the first arrow */
    if ((arrow = strstr(output, "\n    <-- ")) != NULL) {
        for (start = arrow; start > output && start[-1] != '\n'; start--)
            ;
        snprintf(d->target, sizeof d->target, "%.*s", (int)(arrow - start), start);
    }
    /* "  host NAME [IP] ..." follows a router that hands the address to another host */
    d->relayed = strstr(output, "\n  host ") != NULL;
}

/* random_local - "moat-audit-" and 16 random hex digits */
static void random_local(char *out, size_t cap)
{
    unsigned char b[8] = {0};
    size_t i, n;

    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
        for (i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(seed >> (i * 4));
    }
    n = (size_t)snprintf(out, cap, "moat-audit-");
    for (i = 0; i < sizeof b && n + 2 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
}

/* find_domains - the local domains Exim knows, read with -bP */
static int find_domains(audit_run_fn run, void *ctx, audit_report *r, char *buf, size_t cap)
{
    const char *list_args[] = {"-bP", "+local_domains", NULL};
    const char *host_args[] = {"-bP", "primary_hostname", NULL};
    char host[300] = "";
    const char *eq;

    if (run(ctx, host_args, buf, cap) == 0 && (eq = strchr(buf, '=')) != NULL)
        sscanf(eq + 1, " %299s", host);
    if (run(ctx, list_args, buf, cap) != 0 || strchr(buf, '=') == NULL) {
        snprintf(r->error, sizeof r->error, "cannot read local_domains from Exim: %.200s", buf);
        return -1;
    }
    audit_local_domains(buf, host, r);
    return 0;
}

/* probe_domain - probes random addresses of one domain through Exim and the directory */
static void probe_domain(moat_runtime *rt, audit_run_fn run, void *ctx, int probes,
                         audit_domain *ad, char *buf, size_t cap)
{
    int i;

    for (i = 0; i < probes; i++) {
        char local[40], address[400];
        const char *args[] = {"-d+route", "-bt", address, NULL};
        int status;

        random_local(local, sizeof local);
        snprintf(address, sizeof address, "%s@%s", local, ad->domain);
        ad->probes++;
        if (rt && rcpt_directory_lookup(rt, address, "", time(NULL)) == RCPT_DIR_FOUND)
            ad->directory_accepted++;
        status = run(ctx, args, buf, cap);
        if (status == 1)
            ad->deferred++;   /* -bt: 1 deferred, 2 undeliverable */
        if (status != 0)
            continue;
        ad->accepted++;
        if (ad->router[0] == '\0')
            audit_parse_bt(buf, ad);
    }
}

int catchall_audit(moat_runtime *rt, audit_run_fn run, void *ctx, const char *const *domains,
                   int probes, audit_report *r)
{
    char *buf = malloc(OUTPUT_MAX);
    size_t d;

    memset(r, 0, sizeof *r);
    if (buf == NULL) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    if (domains && domains[0]) {
        for (; *domains; domains++)
            add_domain(r, *domains);
    } else if (find_domains(run, ctx, r, buf, OUTPUT_MAX) != 0) {
        free(buf);
        return -1;
    }
    for (d = 0; d < r->count; d++)
        probe_domain(rt, run, ctx, probes, &r->domains[d], buf, OUTPUT_MAX);
    free(buf);
    return 0;
}
