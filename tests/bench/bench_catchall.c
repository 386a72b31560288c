/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_catchall.c - the cost of the cached-verdict path of a remote probe,
 * and of the RCPT-time policy for an explicit recipient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catchall/catchall.h"
#include "catchall/probe.h"
#include "runtime.h"
#include "measure.h"

#define CALLS 50000

int main(void)
{
    char dir[] = "/tmp/moat-bench-catchall-XXXXXX", path[128], err[512];
    catchall_request req = {"192.0.2.1", "x@remote.test", "alice@example.test", "yes", "", 0};
    moat_runtime *rt;
    moat_verdict v;
    probe_result r;
    const char *why;
    FILE *f;
    double t0;
    int i, calls = case_calls(CALLS);

    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof path, "%s/explicit", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 2;
    fputs("alice@example.test\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 2;
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 64M }\n"
               "catchall { domain \"example.test\" { explicit = \"%s/explicit\" } }\n", dir, dir);
    fclose(f);
    if ((rt = moat_runtime_get(path, err, sizeof err)) == NULL)
        return 2;
    moat_store_set(rt->store, "catchall:probe:remote.test", "1 cached", 8, 3600, time(NULL));
    t0 = case_start();
    for (i = 0; i < calls; i++)
        catchall_probe(rt, "remote.test", 1000, time(NULL), &r, &why);
    case_report("catchall", "probe-cached", t0, calls);
    req.now = time(NULL);
    t0 = case_start();
    for (i = 0; i < calls; i++)
        catchall_rcpt(rt, &req, &v, &why);
    case_report("catchall", "rcpt-explicit", t0, calls);
    moat_runtime_reset();
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
