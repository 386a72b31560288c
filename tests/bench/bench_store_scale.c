/*
 * bench_store_scale.c - the LMDB store as it fills: at 1k, 100k and 1M
 * keys, the cost of reading and of updating a counter picked at random,
 * the data file's size on disk, and the time of a full sweep (every record
 * examined, none expired). Target: at 1M keys within 2x of 1k keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"
#include "clock.h"

#define CALLS 20000
#define FILL_BATCH 1000

static void key_of(char *buf, size_t cap, long i)
{
    snprintf(buf, cap, "rcpt:ip:10.%ld.%ld.%ld", i >> 16 & 255, i >> 8 & 255, i & 255);
}

/* fill - grow the store from have to want counter keys, FILL_BATCH per write */
static int fill(moat_store *st, long have, long want, time_t t0)
{
    char key[64];
    long i;
    int failures = 0;

    for (i = have; i < want; i++) {
        if (i % FILL_BATCH == 0 || i == have)
            failures += moat_store_batch_begin(st) != STORE_OK;
        key_of(key, sizeof key, i);
        failures += moat_store_counter_add(st, key, 3600, 1, t0, NULL) != STORE_OK;
        if ((i + 1) % FILL_BATCH == 0 || i + 1 == want)
            failures += moat_store_batch_end(st) != STORE_OK;
    }
    return failures;
}

/* measure - random reads and updates among n keys, file size, sweep time */
static int measure(moat_store *st, const char *dir, long n, const char *label, time_t t0)
{
    char key[64], path[300];
    struct stat sb;
    uint64_t total, removed;
    double t;
    int i, failures = 0;

    srand(7);
    t = now_ns();
    for (i = 0; i < CALLS; i++) {
        key_of(key, sizeof key, rand() % n);
        failures += moat_store_counter_get(st, key, 3600, t0, &total) != STORE_OK;
    }
    printf("bench store-scale lmdb-%s-keys-read %8.0f ns/call\n", label, (now_ns() - t) / CALLS);
    t = now_ns();
    for (i = 0; i < CALLS; i++) {
        key_of(key, sizeof key, rand() % n);
        failures += moat_store_counter_add(st, key, 3600, 1, t0, &total) != STORE_OK;
    }
    printf("bench store-scale lmdb-%s-keys-update %8.0f ns/call\n", label,
           (now_ns() - t) / CALLS);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &sb) == 0)
        printf("bench store-scale lmdb-%s-keys-file %8.1f MB\n", label,
               (double)sb.st_blocks * 512 / 1e6);
    t = now_ns();
    failures += moat_store_sweep(st, t0, &removed) != STORE_OK || removed != 0;
    printf("bench store-scale lmdb-%s-keys-sweep %8.1f ms\n", label, (now_ns() - t) / 1e6);
    return failures;
}

int main(void)
{
    static const struct { long keys; const char *label; } sizes[] = {
        {1000, "1k"}, {100000, "100k"}, {1000000, "1M"}};
    char dir[] = "/var/tmp/moat-bench-scale-XXXXXX", cmd[128];
    moat_store_config cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    long have = 0;
    size_t i;
    int failures = 0;

    if (mkdtemp(dir) == NULL)
        return 2;
    moat_store_config_defaults(&cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s", dir);
    cfg.map_size = 1024UL * 1024 * 1024;
    st = moat_store_new(&cfg);
    for (i = 0; st && i < sizeof sizes / sizeof sizes[0]; i++) {
        failures += fill(st, have, sizes[i].keys, t0);
        have = sizes[i].keys;
        failures += measure(st, dir, have, sizes[i].label, t0);
    }
    if (failures || st == NULL)
        fprintf(stderr, "bench_store_scale: %d calls failed: %s\n", failures,
                st ? moat_store_last_error(st) : "no store");
    moat_store_free(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && failures == 0 && st ? 0 : 1;
}
