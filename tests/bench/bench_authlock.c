/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_authlock.c - the per-attempt cost of authlock on an LMDB store: the
 * check before AUTH, a successful login, a failed one (counting included),
 * one from a new address on every attempt (a botnet), the same wrong
 * password again, and the check before AUTH with a GeoIP
 * file (written by tests/integration/mmdb_writer.pl; run from the top of
 * the checkout). With a case's name as argument, runs that case alone (for
 * a profiler).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authlock/authlock.h"
#include "runtime.h"
#include "measure.h"

#define CALLS 20000

static const char *only;   /* the one case to run, or NULL for all */

/* wanted - whether the case named name runs */
static int wanted(const char *name)
{
    return only == NULL || strcmp(only, name) == 0 ||
           (strcmp(only, "before-auth") == 0 && strcmp(name, "before-auth+geo") == 0);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/moat-bench-authlock-XXXXXX", path[128], err[512], ip[32], pw[32];
    char geo[256];
    int with_geo;
    moat_runtime *rt;
    moat_verdict v;
    const char *why;
    FILE *f;
    double t0;
    int i, calls = case_calls(CALLS);

    only = argc > 1 ? argv[1] : NULL;
    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return 2;
    snprintf(geo, sizeof geo, "perl tests/integration/mmdb_writer.pl %s/geo.mmdb "
             "192.0.0.0/16=DE:64500 198.51.100.0/24=CN:64501 >/dev/null 2>&1", dir);
    with_geo = system(geo) == 0;
    /* No threshold is reached, so no block changes the path; distributed_ips
     * keeps its default, as it bounds the counting of a user's addresses. */
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 64M }\n"
               "authlock { ip_threshold = 1000000 net_threshold = 1000000 "
               "asn_threshold = 1000000 spray_threshold = 1000000 user_threshold = 1000000 "
               "user_familiar_threshold = 1000000 "
               "distributed_asns = 1000000 }\n", dir);
    if (with_geo)
        fprintf(f, "geoip { country_db = \"%s/geo.mmdb\" asn_db = \"%s/geo.mmdb\" }\n", dir,
                dir);
    fclose(f);
    if ((rt = moat_runtime_get(path, err, sizeof err)) == NULL) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    if (wanted(with_geo ? "before-auth+geo" : "before-auth")) {
        t0 = case_start();
        for (i = 0; i < calls; i++) {
            snprintf(ip, sizeof ip, "192.0.%d.%d", (i / 250) % 250, i % 250 + 1);
            authlock_before(rt, ip, 0, time(NULL), &v, &why);
        }
        case_report("authlock", with_geo ? "before-auth+geo" : "before-auth", t0, calls);
    }
    if (wanted("login-success")) {
        t0 = case_start();
        for (i = 0; i < calls; i++)
            authlock_credentials(rt, "192.0.2.1", "alice", "right", 1, time(NULL), &v, &why);
        case_report("authlock", "login-success", t0, calls);
    }
    if (wanted("login-failure")) {
        t0 = case_start();
        for (i = 0; i < calls; i++) {
            snprintf(pw, sizeof pw, "guess%d", i);
            authlock_credentials(rt, "198.51.100.1", "bob", pw, 0, time(NULL), &v, &why);
        }
        case_report("authlock", "login-failure", t0, calls);
    }
    if (wanted("login-failure-new-address")) {   /* a botnet: every attempt from elsewhere */
        t0 = case_start();
        for (i = 0; i < calls; i++) {
            snprintf(ip, sizeof ip, "192.0.%d.%d", (i / 250) % 250, i % 250 + 1);
            snprintf(pw, sizeof pw, "guess%d", i);
            authlock_credentials(rt, ip, "dave", pw, 0, time(NULL), &v, &why);
        }
        case_report("authlock", "login-failure-new-address", t0, calls);
    }
    if (wanted("login-failure-repeat")) {
        t0 = case_start();
        for (i = 0; i < calls; i++)
            authlock_credentials(rt, "198.51.100.2", "carol", "same-old", 0, time(NULL), &v,
                                 &why);
        case_report("authlock", "login-failure-repeat", t0, calls);
    }
    moat_runtime_reset();
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
