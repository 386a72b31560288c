/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_distinct.c - the cost of adding a new member to a large distinct
 * set on LMDB (authlock containment's recipients per user, rcpt's
 * domain-wide unknown local parts): a set of 50,000 members, then 2,000
 * additions of new members, each timed as one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "store.h"

#define MEMBERS 50000
#define CALLS 2000

int main(void)
{
    char dir[] = "/tmp/moat-bench-distinct-XXXXXX", member[64], cmd[128];
    moat_store_config cfg;
    moat_store *st;
    time_t now = time(NULL);
    uint64_t n = 0;
    double t0;
    int i, failures = 0;

    if (mkdtemp(dir) == NULL)
        return 1;
    moat_store_config_defaults(&cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s", dir);
    st = moat_store_new(&cfg);
    for (i = 0; i < MEMBERS; i++) {
        snprintf(member, sizeof member, "r%d@example.test", i);
        failures += moat_store_distinct_add(st, "authlock:out:alice", member, 86400, now, &n) !=
                    STORE_OK;
    }
    t0 = case_start();
    for (i = 0; i < CALLS; i++) {
        snprintf(member, sizeof member, "new%d@example.test", i);
        failures += moat_store_distinct_add(st, "authlock:out:alice", member, 86400, now, &n) !=
                    STORE_OK;
    }
    case_report("store", "lmdb-distinct-add-50k", t0, CALLS);
    if (n != MEMBERS + CALLS)
        failures++;
    moat_store_free(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        failures++;
    return failures ? 1 : 0;
}
