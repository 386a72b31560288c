/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_store_scale.c - the LMDB store as it fills: at 1k, 100k and 1M
 * keys, the cost of reading and of updating a counter picked at random,
 * the pages in use, and the time of a full sweep (every record examined,
 * none expired); the same random reads by LMDB alone on the same file
 * (mdb_get in one read transaction: the floor any store on LMDB has);
 * then, with the store at that size, the calls an SMTP session makes: an
 * unknown recipient and a failed login from new addresses (an attack),
 * a valid recipient and a successful login (legitimate mail). Target: at
 * 1M keys within 2x of 1k keys.
 *
 * "bench_store_scale fill MOAT_CONF N" instead fills the store of MOAT_CONF
 * with N counters under the keys rcpt and authlock keep per client address,
 * for random addresses (make bench's Exim with a full store).
 */
#include <lmdb.h>
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
#include "measure.h"

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

/*
 * recipients - n recipients from new addresses: unknown ones (a new local
 * part each time) or the stage's valid one; ns per call, or -1
 */
static double recipients(moat_runtime *rt, int n, int stage, int valid)
{
    char ip[32], rcpt[64];
    rcpt_request req = {ip, "someone@remote.test", rcpt, "", "", 0, 0, 0};
    moat_verdict v;
    const char *why;
    double t = now_ns();
    int i, failures = 0;

    for (i = 0; i < n; i++) {
        long r = rand();
        snprintf(ip, sizeof ip, "172.%ld.%ld.%ld", r >> 16 & 15, r >> 8 & 255, r & 255);
        if (valid)
            snprintf(rcpt, sizeof rcpt, "postmaster@s%d.example.test", stage);
        else
            snprintf(rcpt, sizeof rcpt, "nobody%ld@s%d.example.test", r, stage);
        req.now = time(NULL);
        failures += rcpt_check(rt, &req, &v, &why) != 0;
    }
    return failures ? -1 : (now_ns() - t) / n;
}

/*
 * logins - n logins to the stage's user from new addresses, each with a
 * wrong password or (real_ok) the right one; ns per call, or -1
 */
static double logins(moat_runtime *rt, int n, int stage, int real_ok)
{
    char ip[32], pw[32], user[16];
    moat_verdict v;
    const char *why;
    double t;
    int i, failures = 0;

    snprintf(user, sizeof user, "%s%d", real_ok ? "alice" : "bob", stage);  /* one per size */
    t = now_ns();
    for (i = 0; i < n; i++) {
        long r = rand();
        snprintf(ip, sizeof ip, "198.%ld.%ld.%ld", r >> 16 & 15, r >> 8 & 255, r & 255);
        snprintf(pw, sizeof pw, "guess%ld", r);
        failures += authlock_credentials(rt, ip, user, pw, real_ok, time(NULL), &v, &why) != 0;
    }
    return failures ? -1 : (now_ns() - t) / n;
}

/* timed - fn's cost per call over n calls, after n/20 untimed ones; -1 if a call failed */
static double timed(double (*fn)(moat_runtime *, int, int, int), moat_runtime *rt, int n,
                    int stage, int flag)
{
    return fn(rt, n / 20, stage, flag) < 0 ? -1 : fn(rt, n, stage, flag);
}

/*
 * sessions_calls - with the store at this size, the calls SMTP sessions
 * make: an attack's (unknown recipients, failed logins from new addresses)
 * and legitimate mail's (a valid recipient, a successful login). The
 * untimed first calls open the store, load the recipients and create the
 * password secret.
 */
static int sessions_calls(const char *conf, const char *label, int stage)
{
    static const struct { const char *name; int login, flag; } cases[] = {
        {"rcpt-unknown", 0, 0}, {"login-failure", 1, 0},
        {"rcpt-valid", 0, 1}, {"login-success", 1, 1}};
    char err[512];
    moat_runtime *rt = moat_runtime_get(conf, err, sizeof err);
    size_t i;
    int failures = 0;

    if (rt == NULL) {
        fprintf(stderr, "bench_store_scale: %s\n", err);
        return 1;
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double ns = timed(cases[i].login ? logins : recipients, rt, ATTACK_CALLS, stage,
                          cases[i].flag);

        failures += ns < 0;
        printf("bench store-scale lmdb-%s-keys-%s %8.0f ns/call\n", label, cases[i].name, ns);
    }
    moat_runtime_reset();   /* closes its store: one environment per process at a time */
    return failures;
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

/*
 * lmdb_reads - the same random reads by LMDB alone: in a child process (an
 * environment must not be opened twice in one process), the store's file
 * opened read-only, CALLS mdb_get in one read transaction, keys built the
 * same way; ns per read, or -1. What no store on LMDB can go below.
 */
static double lmdb_reads(const char *path, long n)
{
    int fds[2];
    double each = -1;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    if ((pid = fork()) == 0) {
        MDB_env *env = NULL;
        MDB_txn *txn = NULL;
        MDB_dbi dbi;
        MDB_val k, v;
        char key[64];
        double t;
        int i, bad = 0;

        if (mdb_env_create(&env) != 0 || mdb_env_set_maxreaders(env, 1024) != 0 ||
            mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0) != 0 ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
            mdb_dbi_open(txn, NULL, 0, &dbi) != 0)
            _exit(1);
        srand(7);
        t = now_ns();
        for (i = 0; i < CALLS; i++) {
            key_of(key, sizeof key, rand() % n);
            k.mv_size = strlen(key);
            k.mv_data = key;
            bad += mdb_get(txn, dbi, &k, &v) != 0;
        }
        each = bad ? -1 : (now_ns() - t) / CALLS;
        _exit(write(fds[1], &each, sizeof each) == sizeof each ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, NULL, 0) != pid || read(fds[0], &each, sizeof each) != sizeof each)
        each = -1;
    close(fds[0]);
    close(fds[1]);
    return each;
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
    t = lmdb_reads(dir, n);
    failures += t < 0;
    printf("bench store-scale lmdb-%s-keys-lmdb-read %8.0f ns/call\n", label, t);
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

/*
 * fill_for_exim - N counters in the store conf names, half "rcpt:ip:", half
 * "authlock:ip:", each for a random IPv4 address: spread over the key space
 * an SMTP session's lookups go through, as a busy server's would be
 */
static int fill_for_exim(const char *conf, long n)
{
    char err[512], key[64];
    moat_runtime *rt = moat_runtime_get(conf, err, sizeof err);
    time_t t0 = time(NULL);
    long i;
    int failures = 0;

    if (rt == NULL) {
        fprintf(stderr, "bench_store_scale: %s\n", err);
        return 1;
    }
    srand(11);
    for (i = 0; i < n; i++) {
        unsigned long a = ((unsigned long)rand() << 16) ^ (unsigned long)rand();

        if (i % FILL_BATCH == 0)
            failures += moat_store_batch_begin(rt->store) != STORE_OK;
        snprintf(key, sizeof key, "%s%lu.%lu.%lu.%lu", i % 2 ? "authlock:ip:" : "rcpt:ip:",
                 a >> 24 & 255, a >> 16 & 255, a >> 8 & 255, a & 255);
        failures += moat_store_counter_add(rt->store, key, 3600, 1, t0, NULL) != STORE_OK;
        if ((i + 1) % FILL_BATCH == 0 || i + 1 == n)
            failures += moat_store_batch_end(rt->store) != STORE_OK;
    }
    moat_runtime_reset();
    if (failures)
        fprintf(stderr, "bench_store_scale: %d calls failed filling %s\n", failures, conf);
    return failures != 0;
}

int main(int argc, char **argv)
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

    moat_log_set_level(MOAT_LOG_ERROR);
    if (argc == 4 && strcmp(argv[1], "fill") == 0)
        return fill_for_exim(argv[2], atol(argv[3]));
    if (argc != 1) {
        fprintf(stderr, "usage: bench_store_scale [fill MOAT_CONF KEYS]\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL)
        return 2;
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
        failures += sessions_calls(conf, sizes[i].label, (int)i);
    }
    if (failures)
        fprintf(stderr, "bench_store_scale: %d calls failed\n", failures);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && failures == 0 ? 0 : 1;
}
