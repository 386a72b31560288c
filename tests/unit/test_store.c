/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_store.c - one behaviour suite for the state store, run against both
 * backends (LMDB in a temporary directory, a real redis-server started
 * here), plus each backend's own failure modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "redis_fixture.h"
#include "store.h"

typedef struct fixture {
    moat_store_config cfg;
    moat_store *st;
    redis_fixture redis;
    char dir[64];
} fixture;

static int log_lines;

static void count_lines(moat_log_level level, const char *line)
{
    (void)level;
    (void)line;
    log_lines++;
}

static int setup_lmdb(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    moat_store_config_defaults(&f->cfg);
    snprintf(f->dir, sizeof f->dir, "/tmp/moat-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->cfg.path, sizeof f->cfg.path, "%s/state", f->dir);
    f->cfg.map_size = 16UL * 1024 * 1024;
    f->st = moat_store_new(&f->cfg);
    *state = f;
    return 0;
}

static int setup_redis(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    moat_store_config_defaults(&f->cfg);
    if (redis_fixture_start(&f->redis) != 0) {
        fprintf(stderr, "test_store: cannot start redis-server\n");
        return -1;
    }
    f->cfg.backend = STORE_BACKEND_REDIS;
    f->cfg.redis_port = f->redis.port;
    /* Timeouts for a loaded test machine (sixteen writer processes on two
     * cores): these tests count, they do not time Redis; the production
     * defaults (50/100 ms) are tested in tests/integration/test_faults.py. */
    f->cfg.connect_timeout_ms = 5000;
    f->cfg.command_timeout_ms = 10000;
    snprintf(f->cfg.redis_prefix, sizeof f->cfg.redis_prefix, "t%d:", (int)getpid());
    f->st = moat_store_new(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    moat_store_free(f->st);
    redis_fixture_stop(&f->redis);
    if (f->dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            return -1;
    }
    free(f);
    return 0;
}

static void counter_counts_within_its_window(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t total = 99;

    assert_int_equal(moat_store_counter_get(f->st, "c:a", 80, t0, &total), STORE_OK);
    assert_int_equal(total, 0);
    assert_int_equal(moat_store_counter_add(f->st, "c:a", 80, 3, t0, &total), STORE_OK);
    assert_int_equal(total, 3);
    assert_int_equal(moat_store_counter_add(f->st, "c:a", 80, 2, t0 + 30, &total), STORE_OK);
    assert_int_equal(total, 5);
    assert_int_equal(moat_store_counter_get(f->st, "c:a", 80, t0 + 40, &total), STORE_OK);
    assert_int_equal(total, 5);
    /* The first slot leaves the window; the second is still inside. */
    assert_int_equal(moat_store_counter_get(f->st, "c:a", 80, t0 + 95, &total), STORE_OK);
    assert_int_equal(total, 2);
    assert_int_equal(moat_store_counter_get(f->st, "c:a", 80, t0 + 200, &total), STORE_OK);
    assert_int_equal(total, 0);
    assert_int_equal(moat_store_counter_add(f->st, "c:a", 80, 1, t0 + 200, &total), STORE_OK);
    assert_int_equal(total, 1);
}

static void counter_slides_slot_by_slot(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL) / 10 * 10;
    uint64_t total = 0;
    int i;

    /* window 80 s = 8 slots of 10 s; one event per slot for 20 slots */
    for (i = 0; i < 20; i++)
        assert_int_equal(moat_store_counter_add(f->st, "c:slide", 80, 1, t0 + 10L * i, &total),
                         STORE_OK);
    assert_int_equal(total, MOAT_WINDOW_SLOTS);
}

static void distinct_counts_members_once(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL), s0 = t0 / 10 * 10;
    uint64_t n = 0;
    int i;

    /* window 80 s = 8 slots of 10 s (s0 starts one); a member counts from
     * its last addition until its slot leaves the window */
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", "alice", 80, s0, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", "bob", 80, s0 + 1, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", "alice", 80, s0 + 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", NULL, 80, s0 + 3, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* alice again at s0+40: she moves to that slot, bob stays in s0's */
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", "alice", 80, s0 + 40, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", NULL, 80, s0 + 79, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* bob has left the window at s0+85, alice not until s0+120 */
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", NULL, 80, s0 + 85, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_distinct_contains(f->st, "d:ip", "bob", 80, s0 + 85),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_distinct_add(f->st, "d:ip", NULL, 80, s0 + 125, &n), STORE_OK);
    assert_int_equal(n, 0);
    /* a member added again and again counts once; many count each */
    for (i = 0; i < 30; i++)
        assert_int_equal(moat_store_distinct_add(f->st, "d:many", i % 3 ? "same" : "other",
                                                 80, s0 + i, &n), STORE_OK);
    assert_int_equal(n, 2);
    for (i = 0; i < 500; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        assert_int_equal(moat_store_distinct_add(f->st, "d:many", m, 80, s0 + 30, &n), STORE_OK);
    }
    assert_int_equal(n, 502);
    assert_int_equal(moat_store_del(f->st, "d:many"), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "d:many", "x", 80, s0 + 31, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_distinct_add(f->st, "d:other", NULL, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 0);
    /* membership, and counting that stops at a bound */
    assert_int_equal(moat_store_distinct_add(f->st, "d:m", "x", 60, t0, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_contains(f->st, "d:m", "x", 60, t0 + 1), STORE_OK);
    assert_int_equal(moat_store_distinct_contains(f->st, "d:m", "y", 60, t0 + 1), STORE_NOTFOUND);
    assert_int_equal(moat_store_distinct_contains(f->st, "d:m", "x", 60, t0 + 61), STORE_NOTFOUND);
    moat_store_distinct_add(f->st, "d:m", "y", 60, t0, &n);
    moat_store_distinct_add(f->st, "d:m", "z", 60, t0, &n);
    assert_int_equal(moat_store_distinct_add_max(f->st, "d:m", NULL, 60, t0, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
}

/* one read for several keys: the first live value wins; expired, absent,
 * a key of another kind and a long name's digest are handled as by get */
static void get_first_finds_the_first_live_value(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL), exp = 0;
    char long_name[STORE_KEY_MAX + 1];
    const char *keys[4] = {"gf:a", "gf:b", "gf:c", long_name};
    uint64_t n;
    int which = 7;

    memset(long_name, 'q', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(moat_store_get_first(f->st, keys, 4, &which, &exp, t0), STORE_NOTFOUND);
    assert_int_equal(which, -1);
    assert_int_equal(moat_store_counter_add(f->st, "gf:a", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_set(f->st, "gf:b", "x", 1, 10, t0), STORE_OK);
    assert_int_equal(moat_store_set(f->st, "gf:c", "y", 1, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get_first(f->st, keys, 4, &which, &exp, t0), STORE_OK);
    assert_int_equal(which, 1);
    assert_int_equal(exp, t0 + 10);
    /* b expired: c */
    assert_int_equal(moat_store_get_first(f->st, keys, 4, &which, &exp, t0 + 10), STORE_OK);
    assert_int_equal(which, 2);
    assert_int_equal(exp, t0 + 60);
    assert_int_equal(moat_store_del(f->st, "gf:c"), STORE_OK);
    assert_int_equal(moat_store_set(f->st, long_name, "z", 1, 30, t0), STORE_OK);
    assert_int_equal(moat_store_get_first(f->st, keys, 4, &which, NULL, t0 + 10), STORE_OK);
    assert_int_equal(which, 3);
    assert_int_equal(moat_store_get_first(f->st, keys, 1, NULL, NULL, t0), STORE_NOTFOUND);
    assert_int_equal(moat_store_get_first(f->st, keys, 0, &which, NULL, t0), STORE_ERROR);
    assert_int_equal(moat_store_get_first(f->st, keys, 5, &which, NULL, t0), STORE_ERROR);
}

static void values_expire_and_delete(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL), exp = 0;
    char buf[16];
    size_t len = 0;

    assert_int_equal(moat_store_get(f->st, "v:x", buf, sizeof buf, &len, &exp, t0),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_set(f->st, "v:x", "hello", 5, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get(f->st, "v:x", buf, sizeof buf, &len, &exp, t0 + 1), STORE_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(exp, t0 + 60);
    assert_int_equal(moat_store_get(f->st, "v:x", buf, sizeof buf, &len, &exp, t0 + 60),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_set(f->st, "v:x", "hi", 2, 60, t0), STORE_OK);
    assert_int_equal(moat_store_del(f->st, "v:x"), STORE_OK);
    assert_int_equal(moat_store_get(f->st, "v:x", buf, sizeof buf, &len, &exp, t0),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_del(f->st, "v:absent"), STORE_OK);
    /* a buffer too small gets the start, and the full length */
    assert_int_equal(moat_store_set(f->st, "v:long", "0123456789abcdefXYZ", 19, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get(f->st, "v:long", buf, 4, &len, NULL, t0), STORE_OK);
    assert_int_equal(len, 19);
    assert_memory_equal(buf, "0123", 4);
    /* an empty value is a value */
    assert_int_equal(moat_store_set(f->st, "v:empty", "", 0, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get(f->st, "v:empty", buf, sizeof buf, &len, NULL, t0), STORE_OK);
    assert_int_equal(len, 0);
}

static void delete_removes_sets_and_counters(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t n = 0;

    moat_store_distinct_add(f->st, "del:set", "a", 60, t0, &n);
    moat_store_distinct_add(f->st, "del:set", "b", 60, t0, &n);
    moat_store_distinct_add(f->st, "del:setx", "c", 60, t0, &n);
    moat_store_counter_add(f->st, "del:cnt", 60, 4, t0, &n);
    assert_int_equal(moat_store_del(f->st, "del:set"), STORE_OK);
    assert_int_equal(moat_store_del(f->st, "del:cnt"), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "del:set", NULL, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(moat_store_distinct_add(f->st, "del:setx", NULL, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_counter_get(f->st, "del:cnt", 60, t0, &n), STORE_OK);
    assert_int_equal(n, 0);
}

typedef struct seen {
    char keys[16][64];
    int n;
    moat_store *st;
} seen;

static int collect(const char *key, void *arg)
{
    seen *s = arg;

    if (s->n < 16)
        snprintf(s->keys[s->n++], sizeof s->keys[0], "%s", key);
    return 0;
}

static int has_key(const seen *s, const char *key)
{
    int i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0)
            return 1;
    return 0;
}

static void scan_lists_live_keys_by_prefix(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t n;
    seen s = {.n = 0};

    moat_store_set(f->st, "scan:block:192.0.2.1", "x", 1, 60, t0);
    moat_store_set(f->st, "scan:block:192.0.2.2", "x", 1, 60, t0);
    moat_store_set(f->st, "scan:other", "x", 1, 60, t0);
    moat_store_distinct_add(f->st, "scan:block:set", "m1", 60, t0, &n);
    moat_store_distinct_add(f->st, "scan:block:set", "m2", 60, t0, &n);
    moat_store_set(f->st, "scan:block:gone", "x", 1, 5, t0 - 10);
    assert_int_equal(moat_store_scan(f->st, "scan:block:", t0, collect, &s), STORE_OK);
    assert_int_equal(s.n, 3);
    assert_true(has_key(&s, "scan:block:192.0.2.1"));
    assert_true(has_key(&s, "scan:block:192.0.2.2"));
    assert_true(has_key(&s, "scan:block:set"));
    assert_false(has_key(&s, "scan:other"));
    /* a prefix is literal, whatever Redis's MATCH makes of * and [ */
    moat_store_set(f->st, "scan:g*[x]:1", "x", 1, 60, t0);
    moat_store_set(f->st, "scan:gab]:1", "x", 1, 60, t0);
    s.n = 0;
    assert_int_equal(moat_store_scan(f->st, "scan:g*[x]", t0, collect, &s), STORE_OK);
    assert_int_equal(s.n, 1);
    assert_true(has_key(&s, "scan:g*[x]:1"));
}

/* read_during_scan - a scan's callback that reads the value it is shown */
static int read_during_scan(const char *key, void *arg)
{
    seen *s = arg;
    char buf[8] = "";
    size_t len = 0;

    if (moat_store_get(s->st, key, buf, sizeof buf - 1, &len, NULL, time(NULL)) == STORE_OK &&
        len == 1 && buf[0] == key[strlen(key) - 1])
        s->n++;
    return 0;
}

static void a_scan_callback_may_read_the_store(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    seen s = {.n = 0, .st = f->st};

    moat_store_set(f->st, "nested:a", "a", 1, 60, t0);
    moat_store_set(f->st, "nested:b", "b", 1, 60, t0);
    moat_store_set(f->st, "nested:c", "c", 1, 60, t0);
    assert_int_equal(moat_store_scan(f->st, "nested:", t0, read_during_scan, &s), STORE_OK);
    assert_int_equal(s.n, 3);
    /* and reading goes on as before afterwards */
    assert_int_equal(moat_store_get(f->st, "nested:b", NULL, 0, NULL, NULL, t0), STORE_OK);
}

static void keys_are_joined_and_cut_to_fit(void **state)
{
    char buf[12];

    (void)state;
    assert_int_equal(moat_store_key(buf, sizeof buf, "rcpt:ip:", "1.2"), 11);
    assert_string_equal(buf, "rcpt:ip:1.2");
    assert_int_equal(moat_store_key(buf, sizeof buf, "rcpt:ip:", "10.0.0.1"), 11);
    assert_string_equal(buf, "rcpt:ip:10.");   /* cut, and still terminated */
    assert_int_equal(moat_store_key(buf, sizeof buf, "a", "", ":", "b"), 3);
    assert_string_equal(buf, "a:b");
    assert_int_equal(moat_store_key(buf, 1, "abc"), 0);
    assert_string_equal(buf, "");
}

static void a_key_of_another_kind_reads_as_absent(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t n = 99;
    char buf[8];

    assert_int_equal(moat_store_set(f->st, "kind:k", "v", 1, 60, t0), STORE_OK);
    assert_int_equal(moat_store_counter_get(f->st, "kind:k", 60, t0, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(moat_store_counter_add(f->st, "kind:k", 60, 2, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_get(f->st, "kind:k", buf, sizeof buf, NULL, NULL, t0),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_distinct_contains(f->st, "kind:k", "m", 60, t0), STORE_NOTFOUND);
    /* and the connection or environment is still fine */
    assert_int_equal(moat_store_counter_add(f->st, "kind:k", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(n, 3);
}

/* open_fds - mark in fds[] every descriptor open in this process */
static void open_fds(char *fds, int cap)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    memset(fds, 0, (size_t)cap);
    while (d && (e = readdir(d)) != NULL) {
        int fd = (int)strtol(e->d_name, NULL, 10);
        if (e->d_name[0] != '.' && fd >= 0 && fd < cap)
            fds[fd] = 1;
    }
    if (d)
        closedir(d);
}

static void descriptors_are_close_on_exec(void **state)
{
    fixture *f = *state;
    uint64_t n;
    pid_t pid;
    int status;

    /* The parent has used the store; a child opens its own, and every
     * descriptor it gains must not leak into programs Exim runs. */
    assert_int_equal(moat_store_counter_add(f->st, "fd:warm", 60, 1, time(NULL), &n), STORE_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char before[1024], after[1024];
        int fd, leaks = 0;

        open_fds(before, sizeof before);
        if (moat_store_counter_add(f->st, "fd:child", 60, 1, time(NULL), &n) != STORE_OK)
            _exit(2);
        open_fds(after, sizeof after);
        for (fd = 0; fd < (int)sizeof after; fd++)
            if (after[fd] && !before[fd] && !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
                leaks++;
        _exit(leaks ? 1 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void sweep_removes_only_expired(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t removed = 99, n;
    char buf[4];
    int i;

    for (i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof key, "sw:old:%d", i);
        moat_store_set(f->st, key, "o", 1, 10, t0);
    }
    moat_store_set(f->st, "sw:new", "n", 1, 3600, t0);
    moat_store_counter_add(f->st, "sw:cnt", 3600, 1, t0, &n);
    assert_int_equal(moat_store_sweep(f->st, t0 + 20, &removed), STORE_OK);
    if (f->cfg.backend == STORE_BACKEND_LMDB)
        assert_true(removed >= 50);
    assert_int_equal(moat_store_get(f->st, "sw:new", buf, sizeof buf, NULL, NULL, t0 + 20),
                     STORE_OK);
    assert_int_equal(moat_store_counter_get(f->st, "sw:cnt", 3600, t0 + 20, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_get(f->st, "sw:old:7", buf, sizeof buf, NULL, NULL, t0 + 20),
                     STORE_NOTFOUND);
}

static void bad_arguments_are_errors(void **state)
{
    fixture *f = *state;
    char key[STORE_KEY_MAX + 2];
    uint64_t n;

    (void)key;
    assert_int_equal(moat_store_counter_add(f->st, "", 60, 1, time(NULL), &n), STORE_ERROR);
    assert_int_equal(moat_store_counter_add(f->st, "w0", 0, 1, time(NULL), &n), STORE_ERROR);
    assert_int_equal(moat_store_set(f->st, "ttl0", "x", 1, 0, time(NULL)), STORE_ERROR);
}

/* long_names_are_stored_by_their_digest - records sized to need; distinct names stay distinct */
static int note_key(const char *key, void *arg)
{
    snprintf(arg, STORE_KEY_MAX + 1, "%s", key);
    return 0;
}

static void long_names_are_stored_by_their_digest(void **state)
{
    fixture *f = *state;
    char a[STORE_KEY_MAX * 2], b[STORE_KEY_MAX * 2], member[400], seen[STORE_KEY_MAX + 1] = "";
    char expect[STORE_KEY_SHORT + 1], buf[8];
    time_t t0 = time(NULL);
    uint64_t n = 0;

    snprintf(a, sizeof a, "long:%0300d", 0);
    memset(a + 5, 'k', 300);
    snprintf(b, sizeof b, "%s", a);
    b[strlen(b) - 1] = 'j';                            /* differs in its last byte only */
    assert_int_equal(moat_store_set(f->st, a, "A", 1, 60, t0), STORE_OK);
    assert_int_equal(moat_store_set(f->st, b, "B", 1, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get_str(f->st, a, buf, sizeof buf, NULL, t0), STORE_OK);
    assert_string_equal(buf, "A");
    assert_int_equal(moat_store_get_str(f->st, b, buf, sizeof buf, NULL, t0), STORE_OK);
    assert_string_equal(buf, "B");
    /* the stored form: the first 95 bytes, '#', SHA-256's first 16 bytes in hex
     * (python3: hashlib.sha256(key).hexdigest()[:32]) - the same on every host */
    snprintf(expect, sizeof expect, "%.95s#8a7f5d8c602b3560a4063a9006aace57", a);
    assert_int_equal(moat_store_del(f->st, b), STORE_OK);
    assert_int_equal(moat_store_get(f->st, b, NULL, 0, NULL, NULL, t0), STORE_NOTFOUND);
    assert_int_equal(moat_store_get(f->st, a, NULL, 0, NULL, NULL, t0), STORE_OK);
    assert_int_equal(moat_store_scan(f->st, "long:", t0, note_key, seen), STORE_OK);
    assert_string_equal(seen, expect);
    /* even a key longer than callers build, and long members */
    memset(member, 'm', sizeof member - 1);
    member[sizeof member - 1] = '\0';
    assert_int_equal(moat_store_counter_add(f->st, a, 60, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, b, member, 60, t0, &n), STORE_OK);
    member[0] = 'x';
    assert_int_equal(moat_store_distinct_add(f->st, b, member, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_distinct_contains(f->st, b, member, 60, t0), STORE_OK);
    member[1] = 'x';
    assert_int_equal(moat_store_distinct_contains(f->st, b, member, 60, t0), STORE_NOTFOUND);
}

#define WRITERS 16
#define INCREMENTS 1000

/* wait_for_writers - every one of the WRITERS children exited 0 (no failed call) */
static void wait_for_writers(const pid_t *pids)
{
    int i, status;

    for (i = 0; i < WRITERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void sixteen_processes_count_exactly(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t total = 0;
    pid_t pids[WRITERS];
    int i, j;

    /* The parent has used the store: children must not share its handle. */
    assert_int_equal(moat_store_counter_add(f->st, "fork:warm", 3600, 1, t0, &total), STORE_OK);
    for (i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int failures = 0;
            for (j = 0; j < INCREMENTS; j++)
                if (moat_store_counter_add(f->st, "fork:total", 3600, 1, t0, NULL) != STORE_OK)
                    failures++;
            _exit(failures ? 1 : 0);
        }
    }
    wait_for_writers(pids);
    assert_int_equal(moat_store_counter_get(f->st, "fork:total", 3600, t0, &total), STORE_OK);
    assert_int_equal(total, WRITERS * INCREMENTS);
}

/* value_add_and_swap_do_what_they_say - sums, expiry, planted values, compare and set */
static void value_add_and_swap_do_what_they_say(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    char buf[32];
    size_t len = 0;
    int64_t n = 0;
    int swapped = 0;

    assert_int_equal(moat_store_value_add(f->st, "add:a", 2, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_value_add(f->st, "add:a", -5, 60, t0, &n), STORE_OK);
    assert_int_equal(n, -3);
    assert_int_equal(moat_store_get_str(f->st, "add:a", buf, sizeof buf, NULL, t0), STORE_OK);
    assert_string_equal(buf, "-3");
    /* expired: counts from 0 again */
    assert_int_equal(moat_store_value_add(f->st, "add:a", 1, 60, t0 + 61, &n), STORE_OK);
    assert_int_equal(n, 1);
    /* planted: not a number, or out of range */
    assert_int_equal(moat_store_set(f->st, "add:b", "12x", 3, 60, t0), STORE_OK);
    assert_int_equal(moat_store_value_add(f->st, "add:b", 1, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_set(f->st, "add:c", "999999999999999999", 18, 60, t0),
                     STORE_OK);
    assert_int_equal(moat_store_value_add(f->st, "add:c", 1, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 9007199254740991LL);
    assert_int_equal(moat_store_value_add(f->st, "add:c", 1LL << 60, 60, t0, &n), STORE_ERROR);
    /* compare and set: absent, equal, different */
    assert_int_equal(moat_store_swap(f->st, "swap:a", NULL, 0, "one", 3, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 1);
    assert_int_equal(moat_store_swap(f->st, "swap:a", NULL, 0, "two", 3, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 0);
    assert_int_equal(moat_store_swap(f->st, "swap:a", "on", 2, "two", 3, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 0);
    assert_int_equal(moat_store_swap(f->st, "swap:a", "one", 3, "t\0o", 3, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 1);
    assert_int_equal(moat_store_get(f->st, "swap:a", buf, sizeof buf, &len, NULL, t0), STORE_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "t\0o", 3);
    assert_int_equal(moat_store_swap(f->st, "swap:a", "t\0o", 3, "", 0, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 1);
    assert_int_equal(moat_store_swap(f->st, "swap:a", "", 0, "x", 1, 60, t0, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 1);
    /* an expired value is no value */
    assert_int_equal(moat_store_swap(f->st, "swap:a", NULL, 0, "y", 1, 60, t0 + 61, &swapped),
                     STORE_OK);
    assert_int_equal(swapped, 1);
    /* a key of another kind is no value either */
    assert_int_equal(moat_store_counter_add(f->st, "swap:c", 60, 1, t0, NULL), STORE_OK);
    assert_int_equal(moat_store_value_add(f->st, "swap:c", 4, 60, t0, &n), STORE_OK);
    assert_int_equal(n, 4);
}

/*
 * read_modify_write_is_exact_across_processes - WRITERS processes each
 * add 1 to one value INCREMENTS times, and each raise another INCREMENTS/10
 * times through read, compute, compare-and-set (retrying when they lost):
 * no update lost
 */
static void read_modify_write_is_exact_across_processes(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    pid_t pids[WRITERS];
    char buf[32];
    int64_t n = 0;
    int i;

    assert_int_equal(moat_store_value_add(f->st, "rmw:warm", 1, 3600, t0, &n), STORE_OK);
    for (i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int failures = 0, j;
            for (j = 0; j < INCREMENTS; j++) {
                if (moat_store_value_add(f->st, "rmw:add", 1, 3600, t0, NULL) != STORE_OK)
                    failures++;
            }
            for (j = 0; j < INCREMENTS / 10 && failures == 0; j++) {
                char old[32], neu[32];
                int swapped = 0, tries = 0;
                do {
                    store_status s = moat_store_get_str(f->st, "rmw:cas", old, sizeof old, NULL,
                                                        t0);
                    if (s == STORE_ERROR ||
                        (snprintf(neu, sizeof neu, "%ld", (s == STORE_OK ? atol(old) : 0) + 1),
                         moat_store_swap(f->st, "rmw:cas", s == STORE_OK ? old : NULL,
                                         s == STORE_OK ? strlen(old) : 0, neu, strlen(neu), 3600,
                                         t0, &swapped)) != STORE_OK) {
                        fprintf(stderr, "rmw: %s\n", moat_store_last_error(f->st));
                        failures++;
                    }
                } while (!swapped && failures == 0 && ++tries < 100000);
                failures += !swapped;
            }
            _exit(failures ? 1 : 0);
        }
    }
    wait_for_writers(pids);
    assert_int_equal(moat_store_get_str(f->st, "rmw:add", buf, sizeof buf, NULL, t0), STORE_OK);
    assert_int_equal(atol(buf), WRITERS * INCREMENTS);
    assert_int_equal(moat_store_get_str(f->st, "rmw:cas", buf, sizeof buf, NULL, t0), STORE_OK);
    assert_int_equal(atol(buf), WRITERS * (INCREMENTS / 10));
}

/*
 * fill_pages - n values of 4 KB under "<prefix>:<i>", one write each: how
 * many writes failed; *named (if not NULL) counts the failures whose
 * error names the key
 */
static int fill_pages(moat_store *st, const char *prefix, int n, uint32_t ttl, time_t t0,
                      int *named)
{
    char value[4096], key[32];
    int i, errors = 0;

    memset(value, 'v', sizeof value);
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s:%d", prefix, i);
        if (moat_store_set(st, key, value, sizeof value, ttl, t0) != STORE_OK) {
            errors++;
            if (named && strstr(moat_store_last_error(st), key) != NULL)
                (*named)++;
        }
    }
    return errors;
}

/*
 * grown_by_another_process - a child configured with an 8 MB map writes
 * "big:0".."big:599" past a smaller map's end; whether it managed
 */
static int grown_by_another_process(const moat_store_config *cfg, time_t t0)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        moat_store_config big = *cfg;

        big.map_size = 8UL * 1024 * 1024;
        _exit(fill_pages(moat_store_new(&big), "big", 600, 600, t0, NULL) == 0 ? 0 : 1);
    }
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

static void lmdb_full_map_is_an_error_reported_once(void **state)
{
    fixture *f = *state;
    moat_store_config small = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    int errors;

    snprintf(small.path, sizeof small.path, "%s/small", f->dir);
    small.map_size = 1024UL * 1024;
    st = moat_store_new(&small);
    log_lines = 0;
    moat_log_set_sink(count_lines);
    moat_log_once_reset();
    errors = fill_pages(st, "authlock:fill", 600, 3600, t0, NULL);
    moat_log_set_sink(NULL);
    assert_true(errors > 0);
    assert_int_equal(log_lines, 1);
    assert_non_null(strstr(moat_store_last_error(st), "MDB_MAP_FULL"));
    /* Once the entries have expired, a write sweeps them and succeeds. */
    assert_int_equal(moat_store_set(st, "after", "x", 1, 60, t0 + 7200), STORE_OK);
    moat_store_free(st);
}

/*
 * lmdb_full_map_gives_up_strangers_records_first - a flood of what strangers
 * create (autoreply's per-message history) fills a small map: the map
 * gives those up, never a block or a counter, and every write of a block
 * or a counter still succeeds; one error line says what went
 */
static void lmdb_full_map_gives_up_strangers_records_first(void **state)
{
    fixture *f = *state;
    moat_store_config small = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    char value[4096], key[64];
    uint64_t n = 0;
    int i, errors = 0;

    snprintf(small.path, sizeof small.path, "%s/flooded", f->dir);
    small.map_size = 1024UL * 1024;
    st = moat_store_new(&small);
    assert_int_equal(moat_store_set(st, "rcpt:block:192.0.2.9", "600", 3, 3600, t0), STORE_OK);
    memset(value, 'v', sizeof value);
    log_lines = 0;
    moat_log_set_sink(count_lines);
    moat_log_once_reset();
    for (i = 0; i < 1000; i++) {                       /* 4 MB into a 1 MB map */
        snprintf(key, sizeof key, "autoreply:never:%d@flood.test", i);
        errors += moat_store_set(st, key, value, sizeof value, 3600, t0) != STORE_OK;
    }
    for (i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "rcpt:ip:198.51.100.%d", i);
        errors += moat_store_counter_add(st, key, 3600, 1, t0, NULL) != STORE_OK;
    }
    moat_log_set_sink(NULL);
    assert_int_equal(errors, 0);                       /* not one write refused */
    assert_true(log_lines >= 1);                       /* "map ... is full: removed ..." */
    assert_int_equal(moat_store_get(st, "rcpt:block:192.0.2.9", NULL, 0, NULL, NULL, t0),
                     STORE_OK);
    assert_int_equal(moat_store_counter_get(st, "rcpt:ip:198.51.100.7", 3600, t0, &n), STORE_OK);
    assert_int_equal(n, 1);
    moat_store_free(st);
}

/*
 * lmdb_strangers_cannot_fill_the_reserve - records strangers create (here
 * sender-domain counters, whose class is not expendable) stop being stored
 * at 90 % of the map, with one error line, while AUTH counters, harvest
 * counters, blocks and offences are still created in the last tenth
 */
static void lmdb_strangers_cannot_fill_the_reserve(void **state)
{
    fixture *f = *state;
    moat_store_config small = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    char key[STORE_KEY_MAX + 1], pad[301];
    uint64_t n = 0;
    int i, errors = 0, created = 0;

    snprintf(small.path, sizeof small.path, "%s/reserve", f->dir);
    small.map_size = 1024UL * 1024;
    st = moat_store_new(&small);
    memset(pad, 'd', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    log_lines = 0;
    moat_log_set_sink(count_lines);
    for (i = 0; i < 6000; i++) {                       /* ~2.4 MB of keys into 1 MB */
        snprintf(key, sizeof key, "rcpt:sdom:%d.%s.test", i, pad);
        errors += moat_store_counter_add(st, key, 3600, 1, t0, &n) != STORE_OK;
    }
    assert_int_equal(errors, 0);                       /* refused quietly: STORE_OK */
    assert_int_equal(log_lines, 1);                    /* one line (a minute) */
    snprintf(key, sizeof key, "rcpt:sdom:%d.%s.test", 5999, pad);
    assert_int_equal(moat_store_counter_get(st, key, 3600, t0, &n), STORE_OK);
    assert_int_equal(n, 0);                            /* not stored */
    /* the reserve (25 pages of this map): new guessers' and harvesters' counters,
     * blocks, offences */
    for (i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "authlock:ip:198.51.100.%d", i);
        errors += moat_store_counter_add(st, key, 3600, 1, t0, NULL) != STORE_OK;
        snprintf(key, sizeof key, "rcpt:ip:203.0.113.%d", i);
        errors += moat_store_counter_add(st, key, 3600, 1, t0, NULL) != STORE_OK;
    }
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "authlock:block:ip:192.0.2.%d", i);
        errors += moat_store_set_new(st, key, "600", 3, 600, t0, &created) != STORE_OK;
        snprintf(key, sizeof key, "rcpt:offense:192.0.2.%d", i);
        errors += moat_store_set(st, key, "1", 1, 600, t0) != STORE_OK;
    }
    moat_log_set_sink(NULL);
    assert_int_equal(errors, 0);
    assert_int_equal(moat_store_counter_get(st, "authlock:ip:198.51.100.49", 3600, t0, &n),
                     STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(moat_store_get(st, "authlock:block:ip:192.0.2.19", NULL, 0, NULL, NULL, t0),
                     STORE_OK);
    assert_int_equal(moat_store_get(st, "rcpt:offense:192.0.2.19", NULL, 0, NULL, NULL, t0),
                     STORE_OK);
    moat_store_free(st);
}

/*
 * lmdb_a_source_creates_its_quota_of_records - the records one client
 * creates outside the protected classes stop at store { source_quota } a
 * day; updates of its records, its own counters and blocks, and other
 * clients go on
 */
static void lmdb_a_source_creates_its_quota_of_records(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    char key[64];
    uint64_t n = 0;
    int i, stored = 0;

    snprintf(cfg.path, sizeof cfg.path, "%s/quota", f->dir);
    cfg.source_quota = 10;
    st = moat_store_new(&cfg);
    log_lines = 0;
    moat_log_set_sink(count_lines);
    moat_store_source(st, "ip:192.0.2.1");
    for (i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "rcpt:sdom:d%d.test", i);
        assert_int_equal(moat_store_counter_add(st, key, 3600, 1, t0, NULL), STORE_OK);
        assert_int_equal(moat_store_distinct_add(st, "rcpt:dom:example.test", key, 3600, t0, NULL),
                         STORE_OK);
        snprintf(key, sizeof key, "rcpt:ip:192.0.2.%d", i);   /* protected */
        assert_int_equal(moat_store_counter_add(st, key, 3600, 1, t0, NULL), STORE_OK);
    }
    moat_log_set_sink(NULL);
    assert_int_equal(log_lines, 1);
    for (i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "rcpt:sdom:d%d.test", i);
        assert_int_equal(moat_store_counter_get(st, key, 3600, t0, &n), STORE_OK);
        stored += n == 1;
        snprintf(key, sizeof key, "rcpt:ip:192.0.2.%d", i);
        assert_int_equal(moat_store_counter_get(st, key, 3600, t0, &n), STORE_OK);
        assert_int_equal(n, 1);
    }
    assert_int_equal(stored, 5);                       /* 10 records: 5 counters, 5 members */
    /* what it has stored it still updates */
    assert_int_equal(moat_store_counter_add(st, "rcpt:sdom:d0.test", 3600, 1, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* another client has its own quota; a call for nobody has none */
    moat_store_source(st, "ip:192.0.2.2");
    assert_int_equal(moat_store_counter_add(st, "rcpt:sdom:other.test", 3600, 1, t0, NULL),
                     STORE_OK);
    assert_int_equal(moat_store_counter_get(st, "rcpt:sdom:other.test", 3600, t0, &n), STORE_OK);
    assert_int_equal(n, 1);
    moat_store_source(st, NULL);
    assert_int_equal(moat_store_counter_add(st, "rcpt:sdom:d29.test", 3600, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_counter_get(st, "rcpt:sdom:d29.test", 3600, t0, &n), STORE_OK);
    assert_int_equal(n, 1);
    /* a day later the first client may create again */
    moat_store_source(st, "ip:192.0.2.1");
    assert_int_equal(moat_store_counter_add(st, "rcpt:sdom:late.test", 90000, 1, t0 + 90000,
                                            NULL), STORE_OK);
    assert_int_equal(moat_store_counter_get(st, "rcpt:sdom:late.test", 90000, t0 + 90000, &n),
                     STORE_OK);
    assert_int_equal(n, 1);
    moat_store_free(st);
}

/* mount_tmpfs - a tmpfs of the given size on dir; 0, or -1 where mounting is not allowed */
static int mount_tmpfs(const char *dir, const char *size)
{
    char opts[32];

    snprintf(opts, sizeof opts, "size=%s", size);
    if (mkdir(dir, 0700) != 0)
        return -1;
    return mount("tmpfs", dir, "tmpfs", 0, opts);
}

/* allocated - the bytes of path that are backed by the file system, or -1 */
static long long allocated(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (long long)sb.st_blocks * 512 : -1;
}

static void lmdb_map_is_reserved_before_it_is_written(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    char mnt[128], data[300], buf[8];
    time_t t0 = time(NULL);
    long long reserved;
    store_status rc;

    snprintf(mnt, sizeof mnt, "%s/tmpfs", f->dir);
    if (mount_tmpfs(mnt, "64m") != 0)
        skip();   /* not allowed to mount here */
    snprintf(cfg.path, sizeof cfg.path, "%s/state", mnt);
    snprintf(data, sizeof data, "%s/data.mdb", cfg.path);
    cfg.map_size = 1024UL * 1024;
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_set(st, "first", "x", 1, 600, t0), STORE_OK);
    assert_true(allocated(data) >= 1024LL * 1024);
    assert_true(grown_by_another_process(&cfg, t0));
    /* the parent adopts the larger map, reserved before anyone wrote to it */
    assert_int_equal(moat_store_get(st, "big:599", buf, sizeof buf, NULL, NULL, t0), STORE_OK);
    rc = moat_store_set(st, "second", "x", 1, 600, t0);
    reserved = allocated(data);
    moat_store_free(st);
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    assert_int_equal(rc, STORE_OK);
    assert_true(reserved >= 8LL * 1024 * 1024);
}

static int reserve_lines;

static void count_reserve_lines(moat_log_level level, const char *line)
{
    (void)level;
    if (strstr(line, "cannot reserve") != NULL)
        reserve_lines++;
}

static void lmdb_full_disk_is_an_error_not_a_crash(void **state)
{
    fixture *f = *state;
    char mnt[128];
    pid_t pid;
    int status;

    snprintf(mnt, sizeof mnt, "%s/tmpfs-1m", f->dir);
    if (mount_tmpfs(mnt, "1m") != 0)
        skip();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A map larger than the disk cannot be reserved: writes go through
         * pwrite and fail, where writing the map would raise SIGBUS. */
        moat_store_config cfg = f->cfg;
        moat_store *st;
        time_t t0 = time(NULL);
        int errors, reported = 0;

        snprintf(cfg.path, sizeof cfg.path, "%s/state", mnt);
        cfg.map_size = 16UL * 1024 * 1024;
        moat_log_set_sink(count_reserve_lines);
        moat_log_once_reset();
        st = moat_store_new(&cfg);
        errors = fill_pages(st, "fill", 600, 3600, t0, &reported);   /* LMDB: EIO, short write */
        /* what was written before the disk filled is still there */
        if (moat_store_get(st, "fill:0", NULL, 0, NULL, NULL, t0) != STORE_OK)
            _exit(3);
        moat_store_free(st);
        _exit(errors > 0 && reported == errors && reserve_lines == 1 ? 0 : 2);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    assert_false(WIFSIGNALED(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* damaged_copies - how many data.mdb.damaged-* files dir holds */
static int damaged_copies(const char *dir)
{
    char pattern[256];
    glob_t g;
    int n;

    snprintf(pattern, sizeof pattern, "%s/data.mdb.damaged-*", dir);
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    n = (int)g.gl_pathc;
    globfree(&g);
    return n;
}

static void lmdb_damaged_file_is_moved_aside(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    char path[256], junk[8192];
    int fd;
    uint64_t n = 0;

    snprintf(cfg.path, sizeof cfg.path, "%s/damaged", f->dir);
    mkdir(cfg.path, 0750);
    snprintf(path, sizeof path, "%s/data.mdb", cfg.path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    log_lines = 0;
    moat_log_set_sink(count_lines);
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, time(NULL), &n), STORE_OK);
    assert_int_equal(n, 1);
    moat_log_set_sink(NULL);
    assert_int_equal(log_lines, 1);
    assert_int_equal(damaged_copies(cfg.path), 1);
    moat_store_free(st);
}

static void lmdb_damaged_environment_is_replaced(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    char path[256], junk[8192], buf[8];
    time_t t0 = time(NULL);
    uint64_t n = 0;
    int fd;

    snprintf(cfg.path, sizeof cfg.path, "%s/used", f->dir);
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_set(st, "old", "x", 1, 60, t0), STORE_OK);
    moat_store_free(st);
    /* both meta pages overwritten: LMDB cannot tell where the tree is */
    snprintf(path, sizeof path, "%s/data.mdb", cfg.path);
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
    close(fd);
    log_lines = 0;
    moat_log_set_sink(count_lines);
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_get(st, "old", buf, sizeof buf, NULL, NULL, t0), STORE_NOTFOUND);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    moat_log_set_sink(NULL);
    assert_int_equal(log_lines, 1);
    assert_int_equal(damaged_copies(cfg.path), 1);
    moat_store_free(st);
}

static void lmdb_map_grown_by_another_process_is_adopted(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    char buf[8];

    snprintf(cfg.path, sizeof cfg.path, "%s/grown", f->dir);
    cfg.map_size = 1024UL * 1024;
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_set(st, "first", "x", 1, 600, t0), STORE_OK);
    assert_true(grown_by_another_process(&cfg, t0));
    assert_int_equal(moat_store_get(st, "big:599", buf, sizeof buf, NULL, NULL, t0), STORE_OK);
    assert_int_equal(moat_store_set(st, "second", "x", 1, 600, t0), STORE_OK);
    moat_store_free(st);
}

static void lmdb_writers_sweep_as_they_go(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);
    uint64_t removed = 99;
    int i;

    snprintf(cfg.path, sizeof cfg.path, "%s/autosweep", f->dir);
    st = moat_store_new(&cfg);
    for (i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "short:%d", i);
        assert_int_equal(moat_store_set(st, key, "x", 1, 10, t0), STORE_OK);
    }
    assert_int_equal(moat_store_set(st, "long", "x", 1, 3600, t0), STORE_OK);
    /* a minute later, the next write also sweeps what has expired */
    assert_int_equal(moat_store_set(st, "later", "x", 1, 3600, t0 + 60), STORE_OK);
    assert_int_equal(moat_store_sweep(st, t0 + 60, &removed), STORE_OK);
    assert_int_equal(removed, 0);
    moat_store_free(st);
}

/* file_owner - uid of path without following a link; -1 if absent */
static long file_owner(const char *dir, const char *name)
{
    char path[256];
    struct stat sb;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &sb) == 0 ? (long)sb.st_uid : -1;
}

#define EXIM_UID 65534   /* stands for Debian-exim: any uid but root's */

static void lmdb_root_acts_as_the_directory_owner(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    char victim[256], link[256], content[16] = "";
    time_t t0 = time(NULL);
    uint64_t n;
    pid_t pid;
    int status, fd;

    if (geteuid() != 0)
        skip();
    assert_int_equal(chmod(f->dir, 0711), 0);
    snprintf(cfg.path, sizeof cfg.path, "%s/owned", f->dir);
    assert_int_equal(mkdir(cfg.path, 0750), 0);
    assert_int_equal(chown(cfg.path, EXIM_UID, EXIM_UID), 0);
    /* moatctl, as root, is the first to open the environment */
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "c", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(geteuid(), 0);
    assert_int_equal(file_owner(cfg.path, "data.mdb"), EXIM_UID);
    assert_int_equal(file_owner(cfg.path, "lock.mdb"), EXIM_UID);
    /* and Exim, as that user, can still write */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        moat_store *exim;
        if (setgid(EXIM_UID) != 0 || setuid(EXIM_UID) != 0)
            _exit(2);
        exim = moat_store_new(&cfg);
        _exit(moat_store_counter_add(exim, "c", 60, 1, t0, &n) == STORE_OK && n == 2 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    moat_store_free(st);

    /* A link planted in that directory cannot make root write elsewhere. */
    snprintf(victim, sizeof victim, "%s/victim", f->dir);
    fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "secret", 6), 6);
    close(fd);
    snprintf(cfg.path, sizeof cfg.path, "%s/planted", f->dir);
    assert_int_equal(mkdir(cfg.path, 0750), 0);
    assert_int_equal(chown(cfg.path, EXIM_UID, EXIM_UID), 0);
    snprintf(link, sizeof link, "%s/data.mdb", cfg.path);
    assert_int_equal(symlink(victim, link), 0);
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "c", 60, 1, t0, &n), STORE_ERROR);
    moat_store_free(st);
    fd = open(victim, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, content, sizeof content - 1), 6);
    close(fd);
    assert_string_equal(content, "secret");
    assert_int_equal(file_owner(f->dir, "victim"), 0);
}

static void lmdb_unwritable_directory_is_an_error(void **state)
{
    fixture *f = *state;
    moat_store_config cfg = f->cfg;
    moat_store *st;
    uint64_t n;

    snprintf(cfg.path, sizeof cfg.path, "/proc/moat-cannot-exist");
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, time(NULL), &n), STORE_ERROR);
    assert_non_null(strstr(moat_store_last_error(st), "/proc/moat-cannot-exist"));
    moat_store_free(st);
}

/* elapsed_ms - milliseconds since start */
static long elapsed_ms(const struct timeval *start)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_usec - start->tv_usec) / 1000;
}

/* production_timeouts - the store again with moat's default Redis timeouts,
 * for the tests that time them (setup_redis sizes them for a loaded machine) */
static void production_timeouts(fixture *f)
{
    moat_store_config defaults;

    moat_store_config_defaults(&defaults);
    f->cfg.connect_timeout_ms = defaults.connect_timeout_ms;
    f->cfg.command_timeout_ms = defaults.command_timeout_ms;
    moat_store_free(f->st);
    f->st = moat_store_new(&f->cfg);
}

static void redis_killed_then_back_reconnects(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    struct timeval start;
    uint64_t n;

    production_timeouts(f);
    assert_int_equal(moat_store_counter_add(f->st, "rk", 60, 1, t0, &n), STORE_OK);
    redis_fixture_signal(&f->redis, SIGKILL);
    gettimeofday(&start, NULL);
    assert_int_equal(moat_store_counter_add(f->st, "rk", 60, 1, t0, &n), STORE_ERROR);
    assert_true(elapsed_ms(&start) < 1000);
    assert_non_null(strstr(moat_store_last_error(f->st), "redis"));
    assert_int_equal(moat_store_counter_add(f->st, "rk", 60, 1, t0, &n), STORE_ERROR);
    assert_int_equal(redis_fixture_start(&f->redis), 0);
    assert_int_equal(moat_store_counter_add(f->st, "rk", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(n, 1);   /* a fresh server: the old count died with it */
}

static void redis_stalled_times_out(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    struct timeval start;
    uint64_t n;

    production_timeouts(f);
    assert_int_equal(moat_store_counter_add(f->st, "rs", 60, 1, t0, &n), STORE_OK);
    redis_fixture_signal(&f->redis, SIGSTOP);
    gettimeofday(&start, NULL);
    assert_int_equal(moat_store_counter_add(f->st, "rs", 60, 1, t0, &n), STORE_ERROR);
    assert_true(elapsed_ms(&start) < 1000);
    gettimeofday(&start, NULL);
    assert_int_equal(moat_store_counter_add(f->st, "rs", 60, 1, t0, &n), STORE_ERROR);
    assert_true(elapsed_ms(&start) < 1000);
    redis_fixture_signal(&f->redis, SIGCONT);
    assert_int_equal(moat_store_counter_add(f->st, "rs", 60, 1, t0, &n), STORE_OK);
    assert_true(n >= 2);
}

static void redis_keys_carry_prefix_and_ttl(void **state)
{
    fixture *f = *state;
    char cmd[256], out[64] = "";
    FILE *p;
    uint64_t n;

    moat_store_counter_add(f->st, "ttl:c", 120, 1, time(NULL), &n);
    moat_store_distinct_add(f->st, "ttl:s", "m", 120, time(NULL), &n);
    moat_store_set(f->st, "ttl:v", "x", 1, 120, time(NULL));
    snprintf(cmd, sizeof cmd,
             "for k in c s v; do redis-cli -p %d TTL '%sttl:'$k; done | sort -n | head -1",
             f->redis.port, f->cfg.redis_prefix);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_true(strtol(out, NULL, 10) > 0);
    assert_true(strtol(out, NULL, 10) <= 135);
}

/* redis_cli - the first line redis-cli prints for args (after -p port) */
static void redis_cli(const fixture *f, const char *args, char *out, size_t cap)
{
    char cmd[512];
    FILE *p;

    snprintf(cmd, sizeof cmd, "redis-cli -p %d %s 2>/dev/null", f->redis.port, args);
    out[0] = '\0';
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(out, (int)cap, p) == NULL)
        out[0] = '\0';
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

static void redis_reloads_scripts_the_server_forgot(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    char out[64];
    uint64_t n;

    assert_int_equal(moat_store_counter_add(f->st, "flush", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "flush:s", "a", 60, t0, &n), STORE_OK);
    redis_cli(f, "SCRIPT FLUSH", out, sizeof out);
    assert_string_equal(out, "OK");
    assert_int_equal(moat_store_counter_add(f->st, "flush", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_distinct_add(f->st, "flush:s", "b", 60, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
}

/*
 * A new connection sends no SCRIPT LOAD (four round trips in every Exim
 * process): moat names its scripts itself (their SHA1) and the server,
 * which has them, runs them by that name. A wrong name would cost a
 * NOSCRIPT and a SCRIPT LOAD here, which the command counts would show.
 */
static void redis_connections_load_no_script(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    char out[64], cmd[256], line[512];
    uint64_t n;
    int script_calls = 0, evalsha_calls = 0;
    FILE *p;

    /* the server has the scripts: this handle loaded those it lacked */
    assert_int_equal(moat_store_counter_add(f->st, "named", 60, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "named:s", "a", 60, t0, &n), STORE_OK);
    redis_cli(f, "CONFIG RESETSTAT", out, sizeof out);
    assert_string_equal(out, "OK");
    for (int i = 0; i < 3; i++) {
        moat_store *st = moat_store_new(&f->cfg);
        assert_non_null(st);
        assert_int_equal(moat_store_counter_add(st, "named", 60, 1, t0, &n), STORE_OK);
        assert_int_equal(n, (uint64_t)i + 2);
        assert_int_equal(moat_store_distinct_add(st, "named:s", "b", 60, t0, &n), STORE_OK);
        moat_store_free(st);
    }
    snprintf(cmd, sizeof cmd, "redis-cli -p %d INFO commandstats 2>/dev/null", f->redis.port);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p) != NULL) {
        if (strncmp(line, "cmdstat_script", 14) == 0)
            script_calls++;
        if (strncmp(line, "cmdstat_evalsha:", 16) == 0)
            evalsha_calls++;
    }
    pclose(p);
    assert_int_equal(evalsha_calls, 1);
    assert_int_equal(script_calls, 0);
}

static void redis_auth_database_and_unix_socket(void **state)
{
    fixture *f = *state;
    redis_fixture secured = {0};
    char sock[128], args[256], out[64], buf[8];
    const char *extra[] = {"--requirepass", "s3cret-pw", "--unixsocket", sock,
                           "--unixsocketperm", "700", NULL};
    moat_store_config cfg = f->cfg;
    moat_store *st;
    time_t t0 = time(NULL);

    (void)state;
    snprintf(secured.dir, sizeof secured.dir, "/tmp/moat-redis-XXXXXX");
    assert_non_null(mkdtemp(secured.dir));
    snprintf(sock, sizeof sock, "%s/redis.sock", secured.dir);
    secured.extra = extra;
    assert_int_equal(redis_fixture_start(&secured), 0);
    snprintf(cfg.redis_socket, sizeof cfg.redis_socket, "%s", sock);
    cfg.redis_db = 3;
    /* a wrong password: one clear line, and the password is not in it */
    snprintf(cfg.redis_password, sizeof cfg.redis_password, "wrong-pw");
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_set(st, "auth", "x", 1, 60, t0), STORE_ERROR);
    assert_non_null(strstr(moat_store_last_error(st), "AUTH"));
    assert_non_null(strstr(moat_store_last_error(st), sock));
    assert_null(strstr(moat_store_last_error(st), "wrong-pw"));
    moat_store_free(st);
    /* the right one, as ACL user "default", into database 3 */
    snprintf(cfg.redis_password, sizeof cfg.redis_password, "s3cret-pw");
    snprintf(cfg.redis_username, sizeof cfg.redis_username, "default");
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_set(st, "auth", "x", 1, 60, t0), STORE_OK);
    assert_int_equal(moat_store_get(st, "auth", buf, sizeof buf, NULL, NULL, t0), STORE_OK);
    moat_store_free(st);
    snprintf(args, sizeof args, "-s %s -a s3cret-pw --no-auth-warning -n 3 EXISTS %sauth", sock,
             cfg.redis_prefix);
    redis_cli(f, args, out, sizeof out);
    assert_string_equal(out, "1");
    redis_fixture_stop(&secured);
}


static void a_batch_reads_its_own_writes_and_commits_them(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    moat_store *other = moat_store_new(&f->cfg);
    uint64_t n = 0;
    char buf[16];
    size_t len = 0;

    assert_int_equal(moat_store_batch_begin(f->st), STORE_OK);
    assert_int_equal(moat_store_counter_add(f->st, "b:c", 600, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_counter_add(f->st, "b:c", 600, 2, t0, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(moat_store_batch_begin(f->st), STORE_OK);   /* nested */
    assert_int_equal(moat_store_distinct_add(f->st, "b:s", "x", 600, t0, &n), STORE_OK);
    assert_int_equal(moat_store_distinct_add(f->st, "b:s", "y", 600, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_batch_end(f->st), STORE_OK);
    assert_int_equal(moat_store_set(f->st, "b:v", "val", 3, 600, t0), STORE_OK);
    assert_int_equal(moat_store_get(f->st, "b:v", buf, sizeof buf, &len, NULL, t0), STORE_OK);
    assert_int_equal(len, 3);
    assert_int_equal(moat_store_counter_get(f->st, "b:c", 600, t0, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(moat_store_batch_end(f->st), STORE_OK);
    /* committed: another handle sees every write */
    assert_int_equal(moat_store_counter_get(other, "b:c", 600, t0, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(moat_store_distinct_add(other, "b:s", NULL, 600, t0, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_get(other, "b:v", buf, sizeof buf, &len, NULL, t0), STORE_OK);
    assert_memory_equal(buf, "val", 3);
    assert_int_equal(moat_store_batch_end(f->st), STORE_ERROR);   /* no begin left */
    moat_store_free(other);
}

static void sixteen_processes_count_exactly_in_batches(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t total = 0;
    pid_t pids[WRITERS];
    int i, j;

    for (i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int failures = 0;
            for (j = 0; j < INCREMENTS / 4; j++) {
                failures += moat_store_batch_begin(f->st) != STORE_OK;
                failures += moat_store_counter_add(f->st, "fork:b1", 3600, 1, t0, NULL) != STORE_OK;
                failures += moat_store_counter_add(f->st, "fork:b2", 3600, 2, t0, NULL) != STORE_OK;
                failures += moat_store_batch_end(f->st) != STORE_OK;
            }
            _exit(failures ? 1 : 0);
        }
    }
    wait_for_writers(pids);
    assert_int_equal(moat_store_counter_get(f->st, "fork:b1", 3600, t0, &total), STORE_OK);
    assert_int_equal(total, WRITERS * (INCREMENTS / 4));
    assert_int_equal(moat_store_counter_get(f->st, "fork:b2", 3600, t0, &total), STORE_OK);
    assert_int_equal(total, 2 * WRITERS * (INCREMENTS / 4));
}

static void lmdb_a_batch_is_invisible_until_it_ends(void **state)
{
    fixture *f = *state;
    time_t t0 = time(NULL);
    uint64_t n = 0;
    int pipefd[2], status;
    char seen = '?';
    pid_t pid;

    assert_int_equal(moat_store_counter_add(f->st, "iso:c", 600, 1, t0, &n), STORE_OK);
    assert_int_equal(moat_store_batch_begin(f->st), STORE_OK);
    assert_int_equal(moat_store_counter_add(f->st, "iso:c", 600, 5, t0, &n), STORE_OK);
    assert_int_equal(n, 6);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {   /* a reader in another process: the committed count only */
        moat_store *st = moat_store_new(&f->cfg);
        uint64_t c = 0;
        char r = moat_store_counter_get(st, "iso:c", 600, t0, &c) == STORE_OK && c == 1 ? 'y'
                                                                                      : 'n';
        _exit(write(pipefd[1], &r, 1) == 1 ? 0 : 1);
    }
    assert_int_equal(read(pipefd[0], &seen, 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_int_equal(seen, 'y');
    assert_int_equal(moat_store_sweep(f->st, t0, NULL), STORE_ERROR);   /* refused inside */
    assert_int_equal(moat_store_batch_end(f->st), STORE_OK);
    assert_int_equal(moat_store_counter_get(f->st, "iso:c", 600, t0, &n), STORE_OK);
    assert_int_equal(n, 6);
}

static void lmdb_a_failed_batch_keeps_none_of_its_writes(void **state)
{
    fixture *f = *state;
    moat_store_config small = f->cfg;
    moat_store *st;
    size_t len;
    time_t t0 = time(NULL);
    int errors;

    snprintf(small.path, sizeof small.path, "%s/small-batch", f->dir);
    small.map_size = 1024UL * 1024;
    st = moat_store_new(&small);
    moat_log_set_sink(count_lines);
    assert_int_equal(moat_store_set(st, "kept", "k", 1, 3600, t0), STORE_OK);
    assert_int_equal(moat_store_batch_begin(st), STORE_OK);
    assert_int_equal(moat_store_set(st, "lost", "l", 1, 3600, t0), STORE_OK);
    errors = fill_pages(st, "authlock:fill", 600, 3600, t0, NULL);
    assert_true(errors > 0);
    assert_int_equal(moat_store_batch_end(st), STORE_ERROR);
    moat_log_set_sink(NULL);
    assert_int_equal(moat_store_get(st, "lost", NULL, 0, &len, NULL, t0), STORE_NOTFOUND);
    assert_int_equal(moat_store_get(st, "authlock:fill:0", NULL, 0, &len, NULL, t0),
                     STORE_NOTFOUND);
    assert_int_equal(moat_store_get(st, "kept", NULL, 0, &len, NULL, t0), STORE_OK);
    /* and the store goes on */
    assert_int_equal(moat_store_set(st, "after", "a", 1, 3600, t0), STORE_OK);
    moat_store_free(st);
}

/* tallies_only_grow - a tally adds, reads with 0, is listed by scan, and another kind reads 0 */
static void tallies_only_grow(void **state)
{
    fixture *f = *state;
    uint64_t n = 99, used = 0, limit = 0;
    time_t now = time(NULL);
    int i;

    assert_int_equal(moat_store_tally_add(f->st, "stats:t:a:b", 0, now, &n), STORE_OK);
    assert_int_equal(n, 0);
    for (i = 1; i <= 3; i++) {
        assert_int_equal(moat_store_tally_add(f->st, "stats:t:a:b", 1, now, &n), STORE_OK);
        assert_int_equal(n, (uint64_t)i);
    }
    /* no window: a year later the count is still there */
    assert_int_equal(moat_store_tally_add(f->st, "stats:t:a:b", 5, now + 300 * 86400, &n),
                     STORE_OK);
    assert_int_equal(n, 8);
    assert_int_equal(moat_store_tally_add(f->st, "stats:t:a:b", 0, now, &n), STORE_OK);
    assert_int_equal(n, 8);
    /* a value under the key: read as 0, never as a number */
    assert_int_equal(moat_store_set(f->st, "stats:t:value", "12345678", 8, 60, now), STORE_OK);
    assert_int_equal(moat_store_tally_add(f->st, "stats:t:value", 0, now, &n), STORE_OK);
    assert_int_equal(n, 0);
    /* the error of an earlier call survives a tally_note */
    assert_int_equal(moat_store_get(f->st, "", NULL, 0, NULL, NULL, now), STORE_ERROR);
    assert_int_equal(moat_store_tally_note(f->st, "stats:t:a:b", 1, now), STORE_OK);
    assert_string_equal(moat_store_last_error(f->st), "empty key");
    assert_int_equal(moat_store_usage(f->st, &used, &limit), STORE_OK);
    assert_true(used > 0);
}

/* redis_sentinels_down_is_an_error_naming_them - no sentinel answers: one clear error, fast */
static void redis_sentinels_down_is_an_error_naming_them(void **state)
{
    moat_store_config cfg;
    moat_store *st;
    uint64_t n;
    int p1 = free_tcp_port(), p2 = free_tcp_port();
    char want[128];

    (void)state;
    moat_store_config_defaults(&cfg);
    cfg.backend = STORE_BACKEND_REDIS;
    cfg.sentinel_count = 2;
    snprintf(cfg.sentinels[0].host, sizeof cfg.sentinels[0].host, "127.0.0.1");
    cfg.sentinels[0].port = p1;
    snprintf(cfg.sentinels[1].host, sizeof cfg.sentinels[1].host, "127.0.0.1");
    cfg.sentinels[1].port = p2;
    snprintf(cfg.master_name, sizeof cfg.master_name, "mx");
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, time(NULL), &n), STORE_ERROR);
    /* the last sentinel tried is named, the master name too; never a password */
    snprintf(want, sizeof want, "redis master mx: sentinel 127.0.0.1:%d: connect: ", p2);
    assert_non_null(strstr(moat_store_last_error(st), want));
    moat_store_free(st);
}

/* redis_sentinel_names_the_master - a real sentinel names a real master, which moat uses */
static void redis_sentinel_names_the_master(void **state)
{
    fixture *f = *state;
    redis_fixture sentinel = {0};
    char conf[128], line[128];
    const char *const extra[] = {"--sentinel", NULL};
    moat_store_config cfg;
    moat_store *st;
    uint64_t n = 0;
    FILE *fp;

    snprintf(sentinel.dir, sizeof sentinel.dir, "/tmp/moat-sentinel-XXXXXX");
    assert_non_null(mkdtemp(sentinel.dir));
    snprintf(conf, sizeof conf, "%s/sentinel.conf", sentinel.dir);
    fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp, "sentinel monitor mx 127.0.0.1 %d 1\n", f->redis.port);
    fclose(fp);
    sentinel.conf = conf;
    sentinel.extra = extra;
    assert_int_equal(redis_fixture_start(&sentinel), 0);
    cfg = f->cfg;
    cfg.sentinel_count = 1;
    snprintf(cfg.sentinels[0].host, sizeof cfg.sentinels[0].host, "127.0.0.1");
    cfg.sentinels[0].port = sentinel.port;
    snprintf(cfg.master_name, sizeof cfg.master_name, "mx");
    snprintf(cfg.redis_host, sizeof cfg.redis_host, "192.0.2.1");   /* not used */
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "via-sentinel", 60, 2, time(NULL), &n),
                     STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(moat_store_counter_get(f->st, "via-sentinel", 60, time(NULL), &n), STORE_OK);
    assert_int_equal(n, 2);
    moat_store_free(st);
    /* a master name the sentinel does not know */
    snprintf(cfg.master_name, sizeof cfg.master_name, "other");
    st = moat_store_new(&cfg);
    assert_int_equal(moat_store_counter_add(st, "k", 60, 1, time(NULL), &n), STORE_ERROR);
    snprintf(line, sizeof line, "sentinel 127.0.0.1:%d: does not know the master name",
             sentinel.port);
    assert_non_null(strstr(moat_store_last_error(st), line));
    moat_store_free(st);
    redis_fixture_stop(&sentinel);
}

#define BOTH(fn) cmocka_unit_test(fn)

int main(void)
{
    const struct CMUnitTest common[] = {
        BOTH(counter_counts_within_its_window),
        BOTH(counter_slides_slot_by_slot),
        BOTH(distinct_counts_members_once),
        BOTH(values_expire_and_delete),
        BOTH(get_first_finds_the_first_live_value),
        BOTH(delete_removes_sets_and_counters),
        BOTH(scan_lists_live_keys_by_prefix),
        BOTH(a_scan_callback_may_read_the_store),
        BOTH(keys_are_joined_and_cut_to_fit),
        BOTH(sweep_removes_only_expired),
        BOTH(bad_arguments_are_errors),
        BOTH(long_names_are_stored_by_their_digest),
        BOTH(a_key_of_another_kind_reads_as_absent),
        BOTH(descriptors_are_close_on_exec),
        BOTH(sixteen_processes_count_exactly),
        BOTH(value_add_and_swap_do_what_they_say),
        BOTH(read_modify_write_is_exact_across_processes),
        BOTH(a_batch_reads_its_own_writes_and_commits_them),
        BOTH(sixteen_processes_count_exactly_in_batches),
        BOTH(tallies_only_grow),
    };
    const struct CMUnitTest lmdb_only[] = {
        cmocka_unit_test(lmdb_full_map_is_an_error_reported_once),
        cmocka_unit_test(lmdb_full_map_gives_up_strangers_records_first),
        cmocka_unit_test(lmdb_strangers_cannot_fill_the_reserve),
        cmocka_unit_test(lmdb_a_source_creates_its_quota_of_records),
        cmocka_unit_test(lmdb_damaged_file_is_moved_aside),
        cmocka_unit_test(lmdb_damaged_environment_is_replaced),
        cmocka_unit_test(lmdb_map_grown_by_another_process_is_adopted),
        cmocka_unit_test(lmdb_map_is_reserved_before_it_is_written),
        cmocka_unit_test(lmdb_full_disk_is_an_error_not_a_crash),
        cmocka_unit_test(lmdb_writers_sweep_as_they_go),
        cmocka_unit_test(lmdb_root_acts_as_the_directory_owner),
        cmocka_unit_test(lmdb_unwritable_directory_is_an_error),
        cmocka_unit_test(lmdb_a_batch_is_invisible_until_it_ends),
        cmocka_unit_test(lmdb_a_failed_batch_keeps_none_of_its_writes),
    };
    const struct CMUnitTest redis_only[] = {
        cmocka_unit_test(redis_keys_carry_prefix_and_ttl),
        cmocka_unit_test(redis_reloads_scripts_the_server_forgot),
        cmocka_unit_test(redis_connections_load_no_script),
        cmocka_unit_test(redis_auth_database_and_unix_socket),
        cmocka_unit_test(redis_stalled_times_out),
        cmocka_unit_test(redis_killed_then_back_reconnects),
        cmocka_unit_test(redis_sentinels_down_is_an_error_naming_them),
        cmocka_unit_test(redis_sentinel_names_the_master),
    };
    int failed = 0;

    failed += _cmocka_run_group_tests("store/lmdb", common, sizeof common / sizeof common[0],
                                      setup_lmdb, teardown);
    failed += _cmocka_run_group_tests("store/lmdb-faults", lmdb_only,
                                      sizeof lmdb_only / sizeof lmdb_only[0], setup_lmdb, teardown);
    failed += _cmocka_run_group_tests("store/redis", common, sizeof common / sizeof common[0],
                                      setup_redis, teardown);
    failed += _cmocka_run_group_tests("store/redis-faults", redis_only,
                                      sizeof redis_only / sizeof redis_only[0], setup_redis,
                                      teardown);
    return failed ? 1 : 0;
}
