/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_rcpt.c - the per-RCPT cost of rcpt_check on an LMDB store, for the
 * file, CDB and cached-LDAP sources (valid recipients, the hot path) and
 * for an unknown recipient (counting included), from a new address each
 * time, for a harvesting client,
 * and the near-miss search over 10000 addresses on its own (it runs for a
 * client's first unknown recipients): numbered and named addresses, and the
 * first search after a load, which indexes the list. Prints one line per case:
 * "bench rcpt <case> <ns per call>". With a case's name as argument, runs
 * that case alone (for a profiler).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rcpt/addrlist.h"
#include "rcpt/directory_cdb.h"
#include "rcpt/nearmiss.h"
#include "rcpt/rcpt.h"
#include "runtime.h"
#include "measure.h"

#define CALLS 20000
#define USERS 10000

static char dir[64];
static const char *only;   /* the one case to run, or NULL for all */

/* wanted - whether the case named name runs */
static int wanted(const char *name)
{
    return only == NULL || strcmp(only, name) == 0;
}

static moat_runtime *runtime_for(const char *rcpt_options)
{
    char path[128], text[1200], err[512];
    FILE *f;
    moat_runtime *rt;

    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    if (f == NULL)
        exit(2);
    snprintf(text, sizeof text, "log { level = error }\n"
             "store { path = \"%s/state\" map_size = 64M }\nrcpt { %s ip_threshold = 1000000 "
             "net_threshold = 1000000 sender_domain_threshold = 1000000 "
             "session_max_invalid = 1000000 tarpit_base = 0 domain_attack_threshold = 100 "
             "%s }\n", dir, rcpt_options,
             strstr(rcpt_options, "near_miss_distance") ? "" : "near_miss_distance = 0");
    fputs(text, f);
    fclose(f);
    moat_runtime_reset();
    rt = moat_runtime_get(path, err, sizeof err);
    if (rt == NULL) {
        fprintf(stderr, "bench: %s\n", err);
        exit(2);
    }
    return rt;
}

/* run - CALLS decisions; valid or unknown recipients, from one client or from many */
static void run(const char *name, moat_runtime *rt, int valid, int many_clients)
{
    char rcpt[64], ip[32] = "192.0.2.1";
    rcpt_request req = {ip, "someone@remote.test", rcpt, "", "", 0, time(NULL), 0};
    moat_verdict v;
    const char *why;
    double t0;
    int i, calls = case_calls(CALLS);

    if (!wanted(name))
        return;
    for (i = 0; i < 100; i++) {   /* warm the store and the caches */
        snprintf(rcpt, sizeof rcpt, "user%d@example.test", i % USERS);
        rcpt_check(rt, &req, &v, &why);
    }
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(rcpt, sizeof rcpt, valid ? "user%d@example.test" : "nobody%d@example.test",
                 valid ? i % USERS : i);
        if (many_clients)
            snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (rcpt_check(rt, &req, &v, &why) != 0) {
            fprintf(stderr, "bench: %s\n", why);
            exit(2);
        }
    }
    case_report("rcpt", name, t0, calls);
}

/* load_list - list_path into list (the bench stops if it cannot be read) */
static void load_list(addrlist *list, const char *list_path)
{
    char err[256];

    memset(list, 0, sizeof *list);
    if (addrlist_refresh(list, list_path, time(NULL), err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(2);
    }
}

/* nearmiss_search - the near-miss search alone: one unknown local part, a
 * swap away from a real one, against the USERS addresses of list_path */
static void nearmiss_search(moat_runtime *rt, const char *name, const char *list_path)
{
    addrlist list;
    char rcpt[80];
    double t0;
    int i, calls = case_calls(CALLS / 20);

    if (!wanted(name))
        return;
    load_list(&list, list_path);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        const char *real = list.entries[(size_t)i * 7919 % list.count], *at = strchr(real, '@');

        /* the first two letters swapped: "usre..." for "user..." */
        snprintf(rcpt, sizeof rcpt, "%c%c%s", real[1], real[0], real + 2);
        if (at - real < 2 || strcmp(rcpt, real) == 0)
            rcpt[0] = 'q';
        nearmiss_note(rt->store, &list, rcpt, 2, time(NULL));
    }
    case_report("rcpt", name, t0, calls);
    addrlist_free(&list);
}

/* nearmiss_index - the first search after the list is (re)loaded, which
 * first indexes the list's USERS local parts */
static void nearmiss_index(moat_runtime *rt, const char *list_path)
{
    addrlist list;
    double t0;
    int i, calls = case_calls(CALLS / 20);

    if (!wanted("nearmiss-first-search-10k"))
        return;
    load_list(&list, list_path);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        list.generation += 1000000;   /* as if reloaded: no index matches it */
        nearmiss_note(rt->store, &list, "usre42@example.test", 2, time(NULL));
    }
    case_report("rcpt", "nearmiss-first-search-10k", t0, calls);
    addrlist_free(&list);
}

/* write_names - USERS addresses with made-up first.last names, as a real
 * directory has, for the near-miss search; 0 or -1 */
static int write_names(const char *path)
{
    static const char *first[] = {"anna", "ben", "carla", "dmitri", "eva", "farid", "greta",
                                  "hugo", "ines", "jonas", "kerstin", "lars", "maria", "nils",
                                  "olga", "paul", "rosa", "sven", "tanja", "ulrich"};
    static const char consonants[] = "bcdfghklmnprstvwz", vowels[] = "aeiou";
    unsigned long seed = 42;
    FILE *f = fopen(path, "w");
    int i, j;

    if (f == NULL)
        return -1;
    for (i = 0; i < USERS; i++) {
        char last[16];
        int n = 2 + (int)(seed % 3);

        for (j = 0; j < n; j++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            last[2 * j] = consonants[(seed >> 33) % (sizeof consonants - 1)];
            last[2 * j + 1] = vowels[(seed >> 40) % (sizeof vowels - 1)];
        }
        last[2 * n] = '\0';
        fprintf(f, "%s.%s@example.test\n", first[(seed >> 20) % 20], last);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    char path[128], opts[512], cmd[128], err[256], key[96];
    FILE *f;
    moat_runtime *rt;
    int i;

    only = argc > 1 ? argv[1] : NULL;
    moat_log_set_level(MOAT_LOG_WARN);
    snprintf(dir, sizeof dir, "/tmp/moat-bench-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof path, "%s/recipients", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return 2;
    for (i = 0; i < USERS; i++)
        fprintf(f, "user%d@example.test\n", i);
    fclose(f);

    snprintf(opts, sizeof opts, "source = file file = \"%s\"", path);
    rt = runtime_for(opts);
    run("file-valid", rt, 1, 0);
    run("file-unknown", rt, 0, 0);
    run("file-unknown-new-address", rt, 0, 1);   /* a botnet: every attempt from elsewhere */
    snprintf(opts, sizeof opts, "source = file file = \"%s\" near_miss_distance = 2", path);
    rt = runtime_for(opts);
    run("file-unknown-harvester", rt, 0, 0);   /* near misses not searched after 3 */
    nearmiss_search(rt, "nearmiss-search-10k", path);   /* user0 .. user9999: the worst case */
    nearmiss_index(rt, path);
    snprintf(cmd, sizeof cmd, "%s/names", dir);
    if (write_names(cmd) != 0)
        return 2;
    nearmiss_search(rt, "nearmiss-search-10k-names", cmd);

    snprintf(opts, sizeof opts, "%s/recipients.cdb", dir);
    if (cdb_directory_compile(path, opts, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    snprintf(path, sizeof path, "source = cdb cdb = \"%s\"", opts);
    rt = runtime_for(path);
    run("cdb-valid", rt, 1, 0);

    rt = runtime_for("source = ldap ldap { uri = {\"ldap://127.0.0.1:1/\"} base = \"dc=x\" }");
    for (i = 0; i < USERS; i++) {   /* every answer cached: LDAP is never asked */
        snprintf(key, sizeof key, "rcpt:ldap:user%d@example.test", i);
        snprintf(opts, sizeof opts, "1 %ld", (long)time(NULL) + 86400);
        moat_store_set(rt->store, key, opts, strlen(opts), 86400, time(NULL));
    }
    run("ldap-cached-valid", rt, 1, 0);

    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
