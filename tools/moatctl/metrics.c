/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.c - moatctl metrics [--json] [--textfile PATH]: the state store
 * as Prometheus text exposition (format 0.0.4), for node_exporter's
 * textfile collector, or as JSON.
 *
 *   moat_store_up                           1 when the store answered
 *   moat_store_used_bytes{backend}          LMDB pages in use / Redis used_memory
 *   moat_store_limit_bytes{backend}         LMDB map_size / Redis maxmemory (when set)
 *   moat_decisions_total{module,action,reason}
 *                                           each decision moat logged (stats.c)
 *   moat_blocked{module,kind}               blocks and locks in force now
 *   moat_near_misses                        unknown addresses a typo from a real one
 *   moat_catchall_probe_cache{verdict}      cached verdicts of catch-all probes
 *
 * --textfile writes PATH atomically (a temporary file in its directory,
 * then rename), as root when moatctl runs as root, so a collector never
 * reads half a file. A store that does not answer still gives a file
 * (moat_store_up 0) and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "observe.h"

static int usage(void)
{
    fprintf(stderr, "usage: moatctl metrics [--json] [--textfile PATH]\n");
    return CTL_USAGE;
}

/* blocked_count - blocks of module and kind in force */
static size_t blocked_count(const obs_state *o, const char *module, const char *kind)
{
    size_t i, n = 0;

    for (i = 0; i < o->nblocks; i++)
        n += strcmp(o->blocks[i].module, module) == 0 && strcmp(o->blocks[i].kind, kind) == 0;
    return n;
}

static const struct {
    const char *module, *kind;
} block_kinds[] = {
    {"rcpt", "ip"}, {"rcpt", "net"}, {"authlock", "ip"},
    {"authlock", "net"}, {"authlock", "asn"}, {"authlock", "user"},
};
#define NKINDS (sizeof block_kinds / sizeof block_kinds[0])

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* prometheus - the exposition; labels are [a-z0-9_] words (obs_collect checked them) */
static void prometheus(FILE *out, const obs_state *o)
{
    size_t i;

    family(out, "moat_store_up", "gauge", "Whether the state store answered (1) or not (0).");
    fprintf(out, "moat_store_up %d\n", o->store_up);
    if (!o->store_up)
        return;
    family(out, "moat_store_used_bytes", "gauge",
           "Bytes the state store uses: LMDB pages in use, Redis used_memory.");
    fprintf(out, "moat_store_used_bytes{backend=\"%s\"} %llu\n", o->backend,
            (unsigned long long)o->used);
    if (o->limit > 0) {
        family(out, "moat_store_limit_bytes", "gauge",
               "The most the state store may use: LMDB map_size, Redis maxmemory.");
        fprintf(out, "moat_store_limit_bytes{backend=\"%s\"} %llu\n", o->backend,
                (unsigned long long)o->limit);
    }
    family(out, "moat_decisions_total", "counter",
           "Decisions moat logged, by module, action and reason (docs/logging.md).");
    for (i = 0; i < o->ntallies; i++)
        fprintf(out, "moat_decisions_total{module=\"%s\",action=\"%s\",reason=\"%s\"} %llu\n",
                o->tallies[i].module, o->tallies[i].action, o->tallies[i].reason,
                (unsigned long long)o->tallies[i].count);
    family(out, "moat_blocked", "gauge",
           "Blocks in force: rcpt's harvest blocks, authlock's blocks and user locks.");
    for (i = 0; i < NKINDS; i++)
        fprintf(out, "moat_blocked{module=\"%s\",kind=\"%s\"} %zu\n", block_kinds[i].module,
                block_kinds[i].kind, blocked_count(o, block_kinds[i].module, block_kinds[i].kind));
    family(out, "moat_near_misses", "gauge",
           "Unknown recipient addresses one typo from a real one (moatctl rcpt near-misses).");
    fprintf(out, "moat_near_misses %zu\n", o->nnear);
    family(out, "moat_catchall_probe_cache", "gauge",
           "Cached verdicts of catch-all probes of remote domains.");
    for (i = 0; i < 3; i++)
        fprintf(out, "moat_catchall_probe_cache{verdict=\"%s\"} %zu\n",
                obs_probe_verdict_name((int)i), o->probe_verdicts[i]);
}

static void json(FILE *out, const obs_state *o)
{
    size_t i;

    fprintf(out, "{\"store\":{\"up\":%s,\"backend\":\"%s\"", o->store_up ? "true" : "false",
            o->backend);
    if (!o->store_up) {
        fprintf(out, ",\"error\":");
        ctl_json_string(out, o->store_error);
        fprintf(out, "}}\n");
        return;
    }
    fprintf(out, ",\"used_bytes\":%llu,\"limit_bytes\":%llu},\"decisions\":[",
            (unsigned long long)o->used, (unsigned long long)o->limit);
    for (i = 0; i < o->ntallies; i++)
        fprintf(out, "%s{\"module\":\"%s\",\"action\":\"%s\",\"reason\":\"%s\",\"count\":%llu}",
                i ? "," : "", o->tallies[i].module, o->tallies[i].action, o->tallies[i].reason,
                (unsigned long long)o->tallies[i].count);
    fprintf(out, "],\"blocked\":[");
    for (i = 0; i < NKINDS; i++)
        fprintf(out, "%s{\"module\":\"%s\",\"kind\":\"%s\",\"count\":%zu}", i ? "," : "",
                block_kinds[i].module, block_kinds[i].kind,
                blocked_count(o, block_kinds[i].module, block_kinds[i].kind));
    fprintf(out, "],\"near_misses\":%zu,\"catchall_probe_cache\":{", o->nnear);
    for (i = 0; i < 3; i++)
        fprintf(out, "%s\"%s\":%zu", i ? "," : "", obs_probe_verdict_name((int)i),
                o->probe_verdicts[i]);
    fprintf(out, "}}\n");
}

/*
 * write_atomically - text into path through a temporary file beside it and
 * rename, as root again when moatctl became the store's owner; 0 or -1
 */
static int write_atomically(const char *path, const char *text, size_t len)
{
    char tmp[4096 + 32];
    int fd, saved;

    if (getuid() == 0 && geteuid() != 0 && (seteuid(0) != 0 || setegid(0) != 0))
        return -1;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        return -1;
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0) {
        saved = errno;
        (void)unlink(tmp);
        errno = saved ? saved : EIO;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        (void)unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int ctl_metrics(const ctl_env *env, int argc, char **argv)
{
    const char *textfile = NULL;
    moat_runtime *rt;
    obs_state o;
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    int i, up;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--textfile") == 0 && i + 1 < argc)
            textfile = argv[++i];
        else
            return usage();
    }
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    memset(&o, 0, sizeof o);
    if (obs_collect(rt, time(NULL), &o) != 0)
        fprintf(stderr, "moatctl metrics: %s\n", o.store_error);
    up = o.store_up;
    if ((out = textfile ? open_memstream(&text, &len) : stdout) == NULL) {
        fprintf(stderr, "moatctl metrics: %s\n", strerror(errno));
        obs_free(&o);
        return CTL_USAGE;
    }
    if (env->json)
        json(out, &o);
    else
        prometheus(out, &o);
    obs_free(&o);
    if (textfile) {
        if (fclose(out) != 0 || write_atomically(textfile, text, len) != 0) {
            fprintf(stderr, "moatctl metrics: %s: %s\n", textfile, strerror(errno));
            free(text);
            return CTL_USAGE;
        }
        free(text);
    }
    return up ? CTL_OK : CTL_PROBLEM;
}
