/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_store.c - the cost of each state store call on both backends: LMDB
 * in a temporary directory, and a redis-server started here on a unix
 * socket (skipped, with a note, when redis-server is not installed).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"
#include "store.h"
#include "measure.h"

static void report(const char *backend, const char *what, double t0, int calls)
{
    char name[64];

    snprintf(name, sizeof name, "%s-%s", backend, what);
    case_report("store", name, t0, calls);
}

/* run - every call kind, calls times; 0 if all succeeded */
static int run(moat_store *st, int calls)
{
    const char *backend = moat_store_backend_name(st);
    time_t now = time(NULL);
    char key[64], member[32], buf[64];
    uint64_t n;
    int i, failures = 0;
    double t0;

    t0 = case_start();
    for (i = 0; i < calls; i++)
        failures += moat_store_counter_add(st, "bench:ip:192.0.2.7", 600, 1, now, &n) != STORE_OK;
    report(backend, "counter-add", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(key, sizeof key, "bench:ip:10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        failures += moat_store_counter_add(st, key, 600, 1, now, &n) != STORE_OK;
    }
    report(backend, "counter-new-key", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++)
        failures += moat_store_counter_get(st, "bench:ip:192.0.2.7", 600, now, &n) != STORE_OK;
    report(backend, "counter-get", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(member, sizeof member, "user%d", i % 50);
        failures += moat_store_distinct_add(st, "bench:users:192.0.2.7", member, 600, now, &n)
                    != STORE_OK;
    }
    report(backend, "distinct-add-50", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(key, sizeof key, "bench:cache:user%d@example.test", i % 1000);
        failures += moat_store_set(st, key, "valid", 5, 600, now) != STORE_OK;
    }
    report(backend, "value-set", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(key, sizeof key, "bench:cache:user%d@example.test", i % 1000);
        failures += moat_store_get(st, key, buf, sizeof buf, NULL, NULL, now) != STORE_OK;
    }
    report(backend, "value-get", t0, calls);
    t0 = case_start();
    for (i = 0; i < calls; i++)
        failures += moat_store_tally_add(st, "stats:rcpt:accept:valid", 1, now, &n) != STORE_OK;
    report(backend, "tally-add", t0, calls);
    /* a decision line as a module logs it: formatted, parsed and counted (stats.c) */
    moat_log_set_level(MOAT_LOG_ERROR);
    moat_stats_attach(st);
    moat_log_set_tap(moat_stats_note);
    t0 = case_start();
    for (i = 0; i < calls; i++)
        moat_log(MOAT_LOG_DEBUG, "moat rcpt: action=accept reason=valid ip=192.0.2.%d "
                 "sender=<a@remote.test> rcpt=<alice@example.test>", i & 255);
    report(backend, "decision-counted", t0, calls);
    moat_log_set_tap(NULL);
    moat_stats_attach(NULL);
    if (failures)
        fprintf(stderr, "bench_store %s: %d calls failed: %s\n", backend, failures,
                moat_store_last_error(st));
    return failures;
}

int main(void)
{
    char dir[] = "/tmp/moat-bench-store-XXXXXX", cmd[512], pidfile[128];
    moat_store_config cfg;
    moat_store *st;
    FILE *f;
    int failed, i, pid = 0;

    if (mkdtemp(dir) == NULL)
        return 2;
    moat_store_config_defaults(&cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s/state", dir);
    st = moat_store_new(&cfg);
    failed = st == NULL || run(st, case_calls(20000));
    moat_store_free(st);

    snprintf(pidfile, sizeof pidfile, "%s/redis.pid", dir);
    snprintf(cmd, sizeof cmd, "redis-server --port 0 --unixsocket %s/redis.sock "
             "--save '' --appendonly no --dir %s --daemonize yes --pidfile %s "
             ">/dev/null 2>&1", dir, dir, pidfile);
    if (system(cmd) != 0) {
        printf("(redis-server not found: no Redis figures; make deps installs it)\n");
    } else {
        for (i = 0; i < 100 && pid <= 0; i++) {
            usleep(20000);
            if ((f = fopen(pidfile, "r")) != NULL) {
                if (fscanf(f, "%d", &pid) != 1)
                    pid = 0;
                fclose(f);
            }
        }
        cfg.backend = STORE_BACKEND_REDIS;
        snprintf(cfg.redis_socket, sizeof cfg.redis_socket, "%s/redis.sock", dir);
        st = moat_store_new(&cfg);
        failed |= st == NULL || run(st, case_calls(5000));
        moat_store_free(st);
        if (pid > 0)
            kill(pid, SIGTERM);
        usleep(100000);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && !failed ? 0 : 1;
}
