/*
 * bench_store_scale.c - the LMDB store as it fills: at 1k, 100k and 1M
 * keys, the cost of reading and of updating a counter picked at random,
 * the pages in use, and the time of a full sweep (every record examined,
 * none expired); then, with the store at that size, the two calls an
 * attack makes on every attempt: an unknown recipient from a new address
 * and a failed login. Target: at 1M keys within 2x of 1k keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authlock/authlock.h"
#include "log.h"
#include "rcpt/rcpt.h"
#include "runtime.h"
#include "store.h"
#include "clock.h"

#define CALLS 20000
#define ATTACK_CALLS 6000   /* each adds a few keys: few enough not to change the size */
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

/* used_mb - the pages LMDB holds (the file itself is reserved at the map's size) */
static double used_mb(const char *dir)
{
    char cmd[400], line[256];
    long long last = -1, psize = 4096;
    FILE *p;

    snprintf(cmd, sizeof cmd, "mdb_stat -e '%s' 2>/dev/null", dir);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, p)) {
        sscanf(line, " Number of pages used: %lld", &last);
        sscanf(line, " Page size: %lld", &psize);
    }
    pclose(p);
    return last < 0 ? -1 : (double)last * (double)psize / 1e6;
}

/* unknown_recipients - n unknown recipients from new addresses; ns per call, or -1 */
static double unknown_recipients(moat_runtime *rt, int n, int stage)
{
    char ip[32], rcpt[64];
    rcpt_request req = {ip, "someone@remote.test", rcpt, "", "", 0, 0};
    moat_verdict v;
    const char *why;
    double t = now_ns();
    int i, failures = 0;

    for (i = 0; i < n; i++) {
        long r = rand();
        snprintf(ip, sizeof ip, "172.%ld.%ld.%ld", r >> 16 & 15, r >> 8 & 255, r & 255);
        snprintf(rcpt, sizeof rcpt, "nobody%ld@s%d.example.test", r, stage);
        req.now = time(NULL);
        failures += rcpt_check(rt, &req, &v, &why) != 0;
    }
    return failures ? -1 : (now_ns() - t) / n;
}

/* failed_logins - n wrong passwords for the stage's user from new addresses; ns per call, or -1 */
static double failed_logins(moat_runtime *rt, int n, int stage)
{
    char ip[32], pw[32], user[16];
    moat_verdict v;
    const char *why;
    double t;
    int i, failures = 0;

    snprintf(user, sizeof user, "bob%d", stage);   /* each size its own victim */
    t = now_ns();
    for (i = 0; i < n; i++) {
        long r = rand();
        snprintf(ip, sizeof ip, "198.%ld.%ld.%ld", r >> 16 & 15, r >> 8 & 255, r & 255);
        snprintf(pw, sizeof pw, "guess%ld", r);
        failures += authlock_credentials(rt, ip, user, pw, 0, time(NULL), &v, &why) != 0;
    }
    return failures ? -1 : (now_ns() - t) / n;
}

/*
 * attacks - with the store at this size: unknown recipients and failed
 * logins from new addresses, after a few untimed ones (the first calls
 * open the store, load the recipients, create the password secret)
 */
static int attacks(const char *conf, const char *label, int stage)
{
    char err[512];
    moat_runtime *rt = moat_runtime_get(conf, err, sizeof err);
    double rcpt, login;

    if (rt == NULL) {
        fprintf(stderr, "bench_store_scale: %s\n", err);
        return 1;
    }
    rcpt = unknown_recipients(rt, ATTACK_CALLS / 20, stage) < 0 ? -1
           : unknown_recipients(rt, ATTACK_CALLS, stage);
    login = failed_logins(rt, ATTACK_CALLS / 20, stage) < 0 ? -1
            : failed_logins(rt, ATTACK_CALLS, stage);
    printf("bench store-scale lmdb-%s-keys-rcpt-unknown %8.0f ns/call\n", label, rcpt);
    printf("bench store-scale lmdb-%s-keys-login-failure %8.0f ns/call\n", label, login);
    moat_runtime_reset();   /* closes its store: one environment per process at a time */
    return (rcpt < 0) + (login < 0);
}

/*
 * write_conf - moat.conf in dir on the store dir/state, every threshold
 * out of reach; the sets that are counted only up to a threshold
 * (distributed_ips, domain_attack_threshold) keep their defaults.
 */
static int write_conf(const char *conf, const char *dir)
{
    char list[300];
    FILE *f;

    snprintf(list, sizeof list, "%s/recipients", dir);
    if ((f = fopen(list, "w")) == NULL)
        return -1;
    fputs("postmaster@s0.example.test\npostmaster@s1.example.test\n"
          "postmaster@s2.example.test\n", f);
    fclose(f);
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 1G }\n"
               "rcpt { source = file file = \"%s/recipients\" ip_threshold = 1000000 "
               "net_threshold = 1000000 sender_domain_threshold = 1000000 "
               "session_max_invalid = 1000000 tarpit_base = 0 near_miss_distance = 0 }\n"
               "authlock { ip_threshold = 1000000 net_threshold = 1000000 "
               "asn_threshold = 1000000 spray_threshold = 1000000 user_threshold = 1000000 "
               "user_familiar_threshold = 1000000 "
               "distributed_asns = 1000000 }\n", dir, dir);
    return fclose(f);
}

/*
 * fresh_reads - the store as an SMTP session meets it: each session is a
 * new Exim process that maps the file afresh, so its first touch of every
 * page is a page fault. SESSIONS processes each open the store (one read),
 * then read SESSION_READS random keys; the mean cost of those reads.
 */
#define SESSIONS 200
#define SESSION_READS 8

static double fresh_reads(const moat_store_config *cfg, long n, time_t t0)
{
    double sum = 0, each;
    int fds[2], s, got = 0;

    if (pipe(fds) != 0)
        return -1;
    for (s = 0; s < SESSIONS; s++) {
        pid_t pid = fork();

        if (pid == 0) {
            moat_store *st = moat_store_new(cfg);
            char key[64];
            uint64_t total;
            double t;
            int i, bad = 0;

            srand((unsigned)s + 1);
            bad += moat_store_counter_get(st, "open", 3600, t0, &total) != STORE_OK;
            t = now_ns();
            for (i = 0; i < SESSION_READS; i++) {
                key_of(key, sizeof key, rand() % n);
                bad += moat_store_counter_get(st, key, 3600, t0, &total) != STORE_OK;
            }
            each = bad ? -1 : (now_ns() - t) / SESSION_READS;
            _exit(write(fds[1], &each, sizeof each) == sizeof each ? 0 : 1);
        }
        if (pid > 0 && waitpid(pid, NULL, 0) == pid &&
            read(fds[0], &each, sizeof each) == sizeof each && each >= 0) {
            sum += each;
            got++;
        }
    }
    close(fds[0]);
    close(fds[1]);
    return got == SESSIONS ? sum / got : -1;
}

/* measure - random reads and updates among n keys, file size, sweep time */
static int measure(moat_store *st, const moat_store_config *cfg, long n, const char *label,
                   time_t t0)
{
    const char *dir = cfg->path;
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
    t = fresh_reads(cfg, n, t0);
    failures += t < 0;
    printf("bench store-scale lmdb-%s-keys-session-read %8.0f ns/call\n", label, t);
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
    printf("bench store-scale lmdb-%s-keys-used %8.1f MB\n", label, used_mb(dir));
    t = now_ns();
    failures += moat_store_sweep(st, t0, &removed) != STORE_OK || removed != 0;
    printf("bench store-scale lmdb-%s-keys-sweep %8.1f ms\n", label, (now_ns() - t) / 1e6);
    return failures;
}

int main(void)
{
    static const struct { long keys; const char *label; } sizes[] = {
        {1000, "1k"}, {100000, "100k"}, {1000000, "1M"}};
    char dir[] = "/var/tmp/moat-bench-scale-XXXXXX", cmd[128], conf[128];
    moat_store_config cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    long have = 0;
    size_t i;
    int failures = 0;

    if (mkdtemp(dir) == NULL)
        return 2;
    moat_log_set_level(MOAT_LOG_ERROR);
    moat_store_config_defaults(&cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s/state", dir);
    cfg.map_size = 1024UL * 1024 * 1024;
    snprintf(conf, sizeof conf, "%s/moat.conf", dir);
    failures += write_conf(conf, dir) != 0;
    for (i = 0; failures == 0 && i < sizeof sizes / sizeof sizes[0]; i++) {
        if ((st = moat_store_new(&cfg)) == NULL) {
            failures++;
            break;
        }
        failures += fill(st, have, sizes[i].keys, t0);
        have = sizes[i].keys;
        failures += measure(st, &cfg, have, sizes[i].label, t0);
        moat_store_free(st);
        failures += attacks(conf, sizes[i].label, (int)i);
    }
    if (failures)
        fprintf(stderr, "bench_store_scale: %d calls failed\n", failures);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && failures == 0 ? 0 : 1;
}
