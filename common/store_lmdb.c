/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_lmdb.c - the embedded state store: one LMDB environment per host,
 * shared by every Exim process.
 *
 * Records are a 16-byte header (type, version, expiry) and a payload:
 *   counter  slot length, then MOAT_WINDOW_SLOTS (epoch, count) pairs;
 *   member   nothing: one record per set member, keyed "key\0member";
 *   value    the bytes;
 *   meta     the store's own bookkeeping, under keys that begin with a NUL
 *            byte (no caller's key can) and never expire.
 * Every write is one short transaction. Expired records read as absent;
 * writers take turns sweeping them (one bounded batch every
 * AUTO_SWEEP_INTERVAL seconds, whichever process comes first), and
 * moat_store_sweep removes all of them.
 *
 * State is soft (counters and caches), so commits skip fsync (MDB_NOSYNC):
 * a host crash may lose the last seconds of counts. An environment LMDB
 * cannot read is moved aside and started afresh rather than ever stopping
 * mail.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"

#define REC_COUNTER 1
#define REC_MEMBER 2
#define REC_VALUE 3
#define REC_META 4
#define REC_TALLY 5
#define REC_VERSION 1
#define MAX_READERS 1024
#define SWEEP_BATCH 10000          /* records examined per sweep transaction */
#define AUTO_SWEEP_INTERVAL 30     /* seconds between two writers' sweep batches */
#define AUTO_SWEEP_BATCH 5000

typedef struct rec_header {
    uint8_t type;
    uint8_t version;
    uint16_t reserved;
    uint32_t reserved2;
    int64_t expires;
} rec_header;

typedef struct counter_slot {
    uint32_t epoch;
    uint32_t count;
} counter_slot;

typedef struct counter_rec {
    rec_header h;
    uint32_t slot_len;
    uint32_t reserved;
    counter_slot slots[MOAT_WINDOW_SLOTS];
} counter_rec;

/* The sweep's bookkeeping: when the next batch is due, and where it resumes. */
typedef struct sweep_meta {
    rec_header h;
    int64_t due;
    uint32_t resume_len;
    uint32_t reserved;
    char resume[STORE_KEY_MAX + 2];
} sweep_meta;

static const char sweep_meta_key[] = "\0sweep";

typedef struct lmdb_state {
    MDB_env *env;
    MDB_dbi dbi;
    dev_t dev;     /* the data file this process opened: a damaged one is */
    ino_t ino;     /* moved aside only if nobody has replaced it already */
    int writemap;          /* writes go through the map (MDB_WRITEMAP); -1: a grown map
                              could not be reserved, so nothing may be written */
    int unreserved;        /* why the map could not be reserved (an errno), or 0 */
    size_t reserved;       /* with writemap: bytes of the file known to be reserved */
    MDB_txn *reader;       /* a read-only transaction kept for the next read */
    int reader_busy;       /* reader is in use (a scan's callback may read again) */
    MDB_txn *batch;        /* the write transaction of an open batch, or NULL */
    int batch_rc;          /* the first error inside it: the batch aborts */
    time_t batch_now;      /* the time of its last write, for the sweep's bookkeeping */
    char refused_class[64];  /* the class of the last record the reserve refused */
    const moat_store *st;    /* the handle of the call in progress (its source) */
    time_t now;              /* the time of the write in progress */
} lmdb_state;

/* is_damage - errors after which the data file cannot be trusted */
static int is_damage(int rc)
{
    return rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
           rc == MDB_PAGE_NOTFOUND;
}

static void file_path(char *buf, size_t cap, const moat_store *st, const char *name)
{
    snprintf(buf, cap, "%s/%s", st->cfg.path, name);
}

/*
 * lock_dir - serialise recovery between processes: flock on the directory
 * itself, so that only one of them moves a damaged file aside and the
 * others open the fresh one. -1 if the directory cannot be opened.
 */
static int lock_dir(const moat_store *st)
{
    int fd = open(st->cfg.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd);   /* releases the flock */
}

/* move_aside - rename the damaged data file, drop the lock file, say so once */
static void move_aside(moat_store *st)
{
    char from[4200], to[4300], lock[4200];

    file_path(from, sizeof from, st, "data.mdb");
    file_path(lock, sizeof lock, st, "lock.mdb");
    snprintf(to, sizeof to, "%s.damaged-%ld-%ld", from, (long)time(NULL), (long)getpid());
    if (rename(from, to) == 0)
        moat_log(MOAT_LOG_ERROR, "moat store: %s was unreadable; moved aside to %s, "
                 "starting with empty state", from, to);
    else if (errno != ENOENT)
        moat_log(MOAT_LOG_ERROR, "moat store: %s is unreadable and cannot be moved aside: %s",
                 from, strerror(errno));
    if (unlink(lock) != 0 && errno != ENOENT)
        moat_log(MOAT_LOG_ERROR, "moat store: cannot remove %s: %s", lock, strerror(errno));
}

/*
 * Acting as the directory's owner: moatctl runs as root, Exim as
 * Debian-exim. Files root created in Exim's directory would lock Exim out,
 * and root following a link planted there would write where it points; so
 * while it opens the environment, root takes the owner's identity.
 */
typedef struct identity {
    int switched;
    uid_t uid;
    gid_t gid;
} identity;

static int become_owner(moat_store *st, identity *id)
{
    struct stat sb;

    id->switched = 0;
    if (geteuid() != 0 || stat(st->cfg.path, &sb) != 0 || sb.st_uid == 0)
        return 0;
    id->uid = geteuid();
    id->gid = getegid();
    if (setegid(sb.st_gid) != 0 || seteuid(sb.st_uid) != 0) {
        int err = errno;
        if (setegid(id->gid) != 0)
            moat_log(MOAT_LOG_ERROR, "moat store: cannot restore gid %d", (int)id->gid);
        store_fail(st, "lmdb: cannot act as uid %d, the owner of %s: %s", (int)sb.st_uid,
                   st->cfg.path, strerror(err));
        return -1;
    }
    id->switched = 1;
    return 0;
}

static void become_self(const identity *id)
{
    if (id->switched && (seteuid(id->uid) != 0 || setegid(id->gid) != 0))
        moat_log(MOAT_LOG_ERROR, "moat store: cannot return to uid %d: %s", (int)id->uid,
                 strerror(errno));
}

/*
 * Writing through the map (MDB_WRITEMAP) costs a fraction of LMDB's default
 * (no private copies of the pages, no pwrite at commit), but a page of the
 * map that the file system cannot back when it is first written kills the
 * process with SIGBUS instead of returning ENOSPC, and that process is
 * Exim. So the map is written only where all of it is reserved on disk
 * beforehand: on ext2/3/4, XFS and tmpfs, whose fallocate reserves blocks
 * that later writes cannot fail on (copy-on-write file systems such as
 * btrfs and ZFS make no such promise), and only after fallocate succeeded.
 * Anywhere else, or when the space is not there, writes go through pwrite
 * as LMDB does by default, and a full disk is an error like any other.
 */
static int reservation_holds(const char *path)
{
    struct statfs sf;

    if (statfs(path, &sf) != 0)
        return 0;
    switch ((unsigned long)sf.f_type) {
    case 0xEF53UL:       /* ext2, ext3, ext4 */
    case 0x58465342UL:   /* XFS */
    case 0x01021994UL:   /* tmpfs */
        return 1;
    default:
        return 0;
    }
}

/* reserve - with writemap: back every byte of the map on disk; 0 or an errno */
static int reserve(lmdb_state *ls)
{
    MDB_envinfo info;
    struct stat sb;
    int fd, rc;

    if ((rc = mdb_env_info(ls->env, &info)) != 0 || (rc = mdb_env_get_fd(ls->env, &fd)) != 0)
        return rc;
    if (info.me_mapsize <= ls->reserved)
        return 0;
    if (fstat(fd, &sb) != 0)
        return errno;
    if ((uint64_t)sb.st_blocks * 512 < info.me_mapsize &&
        fallocate(fd, 0, 0, (off_t)info.me_mapsize) != 0)
        return errno;
    ls->reserved = info.me_mapsize;
    return 0;
}

/*
 * txn_begin - mdb_txn_begin, adopting a map another process grew (through
 * the map, the larger map is reserved first; when it cannot be, no write
 * begins and fail_rc closes the environment), clearing dead readers
 */
static int txn_begin(lmdb_state *ls, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(ls->env, NULL, flags, txn), dead = 0, again = 0;

    if (rc == MDB_MAP_RESIZED) {
        again = mdb_env_set_mapsize(ls->env, 0) == 0;
        if (again && ls->writemap > 0 && (ls->unreserved = reserve(ls)) != 0)
            ls->writemap = -1;
    } else if (rc == MDB_READERS_FULL) {
        again = mdb_reader_check(ls->env, &dead) == 0 && dead > 0;
    }
    if (again)
        rc = mdb_txn_begin(ls->env, NULL, flags, txn);
    if (rc == 0 && ls->writemap < 0 && !(flags & MDB_RDONLY)) {
        mdb_txn_abort(*txn);
        rc = ls->unreserved;
    }
    return rc;
}

/* env_open_once - one attempt at opening the environment, writing through the map or not */
static int env_open_once(moat_store *st, lmdb_state *ls, int writemap)
{
    MDB_txn *txn;
    struct stat sb;
    int rc, fd, dead = 0;

    ls->writemap = 0;
    ls->reserved = 0;
    ls->unreserved = 0;
    if ((rc = mdb_env_create(&ls->env)) != 0)
        return rc;
    mdb_env_set_mapsize(ls->env, st->cfg.map_size);
    mdb_env_set_maxreaders(ls->env, MAX_READERS);
    rc = mdb_env_open(ls->env, st->cfg.path,
                      MDB_NOTLS | MDB_NOSYNC | (writemap ? MDB_WRITEMAP : 0), 0640);
    if (rc == 0)
        rc = mdb_reader_check(ls->env, &dead);
    if (rc == 0 && (rc = mdb_env_get_fd(ls->env, &fd)) == 0) {
        /* LMDB 0.9.24 opens this one descriptor without O_CLOEXEC */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fstat(fd, &sb) == 0) {
            ls->dev = sb.st_dev;
            ls->ino = sb.st_ino;
        } else {
            rc = errno;
        }
    }
    if (rc == 0 && writemap && (rc = ls->unreserved = reserve(ls)) != 0) {
        moat_log_once("store:reserve", MOAT_LOG_WARN, "moat store: cannot reserve %zu bytes "
                      "for %s/data.mdb (%s); writing without the map, which is slower",
                      st->cfg.map_size, st->cfg.path, strerror(rc));
    }
    ls->writemap = writemap;
    /* The main database always exists: a read-only transaction opens it
     * without waiting for a writer (a batch may be holding the lock). */
    if (rc == 0)
        rc = txn_begin(ls, MDB_RDONLY, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &ls->dbi);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    if (rc != 0) {
        mdb_env_close(ls->env);
        ls->env = NULL;
    }
    return rc;
}

/* env_open_best - through the map where it can be reserved, else (or when reserving fails) not */
static int env_open_best(moat_store *st, lmdb_state *ls)
{
    int rc;

    if (!reservation_holds(st->cfg.path))
        return env_open_once(st, ls, 0);
    rc = env_open_once(st, ls, 1);
    return ls->unreserved ? env_open_once(st, ls, 0) : rc;
}

/*
 * open_env - open, and when the files are damaged let one process move them
 * aside while the others wait and then open the fresh environment.
 */
static int open_env(moat_store *st, lmdb_state *ls)
{
    int rc = env_open_best(st, ls), dir;

    if (!is_damage(rc))
        return rc;
    dir = lock_dir(st);
    rc = env_open_best(st, ls);   /* another process may have recovered meanwhile */
    if (is_damage(rc)) {
        move_aside(st);
        rc = env_open_best(st, ls);
    }
    unlock_dir(dir);
    return rc;
}

/* env - the open environment of this process, opening it on first use */
static lmdb_state *env(moat_store *st)
{
    lmdb_state *ls = st->impl;
    identity id;
    int rc;

    if (ls && ls->env) {
        ls->st = st;
        return ls;
    }
    if (ls == NULL) {
        ls = calloc(1, sizeof *ls);
        if (ls == NULL) {
            store_fail(st, "lmdb: out of memory");
            return NULL;
        }
        st->impl = ls;
    }
    ls->st = st;
    if (mkdir(st->cfg.path, 0750) != 0 && errno != EEXIST) {
        store_fail(st, "lmdb: cannot create %s: %s", st->cfg.path, strerror(errno));
        return NULL;
    }
    if (become_owner(st, &id) != 0)
        return NULL;
    rc = open_env(st, ls);
    become_self(&id);
    if (rc != 0) {
        store_fail(st, "lmdb: cannot open %s: %s", st->cfg.path, mdb_strerror(rc));
        return NULL;
    }
    return ls;
}

static void lmdb_drop(moat_store *st, int after_fork)
{
    lmdb_state *ls = st->impl;

    if (ls == NULL)
        return;
    /* After fork the environment belongs to the parent: leave it alone
     * (its descriptors are close-on-exec and the child soon _exits). */
    if (ls->batch && !after_fork)
        mdb_txn_abort(ls->batch);
    if (ls->reader && !after_fork)
        mdb_txn_abort(ls->reader);
    if (ls->env && !after_fork)
        mdb_env_close(ls->env);
    free(ls);
    st->impl = NULL;
}

/*
 * recover - after damage found mid-operation: move the data file aside
 * unless another process already has, and close ours; the next call opens
 * a fresh environment.
 */
static void recover(moat_store *st)
{
    lmdb_state *ls = st->impl;
    char path[4200];
    struct stat sb;
    identity id;
    int dir;

    if (ls == NULL || ls->env == NULL || become_owner(st, &id) != 0)
        return;
    file_path(path, sizeof path, st, "data.mdb");
    dir = lock_dir(st);
    if (stat(path, &sb) == 0 && sb.st_dev == ls->dev && sb.st_ino == ls->ino)
        move_aside(st);
    unlock_dir(dir);
    become_self(&id);
    lmdb_drop(st, 0);
}

/* fail_rc - turn an LMDB error into STORE_ERROR, giving up a damaged or failed environment */
static store_status fail_rc(moat_store *st, const char *what, const char *key, int rc)
{
    store_fail(st, "lmdb: %s %s: %s", what, key, mdb_strerror(rc));
    if (is_damage(rc))
        recover(st);
    else if (rc == MDB_PANIC || (st->impl && ((lmdb_state *)st->impl)->writemap < 0))
        lmdb_drop(st, 0);   /* this process's handle is unusable; the files are fine */
    if (rc == MDB_MAP_FULL && !st->quiet)   /* the next real write reports it */
        moat_log_once("store:mapfull", MOAT_LOG_ERROR,
                      "moat store: LMDB map of %s is full (map_size = %zu bytes): "
                      "raise store { map_size } or run moatctl store sweep",
                      st->cfg.path, st->cfg.map_size);
    return STORE_ERROR;
}

/* is_live - whether a record has not expired at now (meta records never do) */
static int is_live(const MDB_val *v, time_t now)
{
    rec_header h;

    if (v->mv_size < sizeof h)
        return 0;
    memcpy(&h, v->mv_data, sizeof h);
    return h.expires > now;
}

/*
 * sweep_batch - examine up to limit records from resume on, deleting the
 * expired ones; resume gets where to go on next time ("" after the last).
 */
static int sweep_batch(MDB_txn *txn, lmdb_state *ls, time_t now, char *resume,
                       uint32_t *resume_len, int limit, uint64_t *removed)
{
    MDB_cursor *cur;
    MDB_val k = {*resume_len, resume}, v;
    int rc, n = 0, op = *resume_len ? MDB_SET_RANGE : MDB_FIRST;

    if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
        return rc;
    *resume_len = 0;
    /* After mdb_cursor_del the cursor stands on the next record, which
     * MDB_NEXT then returns rather than skips. */
    for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (n++ >= limit) {
            if (k.mv_size <= STORE_KEY_MAX + 1) {
                memcpy(resume, k.mv_data, k.mv_size);
                *resume_len = (uint32_t)k.mv_size;
            }
            break;
        }
        if (is_live(&v, now))
            continue;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        (*removed)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* sweep_all - remove every expired record, in batches of short transactions */
static int sweep_all(lmdb_state *ls, time_t now, uint64_t *removed)
{
    char resume[STORE_KEY_MAX + 2];
    uint32_t resume_len = 0;
    int rc;

    *removed = 0;
    do {
        MDB_txn *txn;

        if ((rc = txn_begin(ls, 0, &txn)) != 0)
            return rc;
        if ((rc = sweep_batch(txn, ls, now, resume, &resume_len, SWEEP_BATCH, removed)) != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            return rc;
    } while (resume_len > 0);
    return 0;
}

/*
 * sweep_claim - in a writer's transaction: if the next sweep batch is due,
 * claim it (no other process will for AUTO_SWEEP_INTERVAL seconds): *claimed
 * = 1 and the bookkeeping in m. Returns an LMDB error (the transaction
 * cannot commit then).
 */
static int sweep_claim(MDB_txn *txn, lmdb_state *ls, time_t now, sweep_meta *m, int *claimed)
{
    MDB_val k = {sizeof sweep_meta_key - 1, (void *)sweep_meta_key}, v;
    int rc;

    *claimed = 0;
    if (mdb_get(txn, ls->dbi, &k, &v) == 0 && v.mv_size == sizeof *m) {
        memcpy(m, v.mv_data, sizeof *m);
        /* not due, unless a clock that went back left it far in the future */
        if (now < m->due && m->due <= (int64_t)now + AUTO_SWEEP_INTERVAL)
            return 0;
    } else {
        memset(m, 0, sizeof *m);
        m->h.type = REC_META;
        m->h.version = REC_VERSION;
        m->h.expires = INT64_MAX;
    }
    m->due = (int64_t)now + AUTO_SWEEP_INTERVAL;
    v.mv_data = m;
    v.mv_size = sizeof *m;
    if ((rc = mdb_put(txn, ls->dbi, &k, &v, 0)) == 0)
        *claimed = 1;
    return rc;
}

/* auto_sweep - one claimed batch; a failure is left to the next batch */
static void auto_sweep(lmdb_state *ls, time_t now, sweep_meta *m)
{
    MDB_val k = {sizeof sweep_meta_key - 1, (void *)sweep_meta_key}, v = {sizeof *m, m};
    uint64_t removed = 0;
    MDB_txn *txn;
    int rc;

    if (m->resume_len > STORE_KEY_MAX + 1)
        m->resume_len = 0;
    if (txn_begin(ls, 0, &txn) != 0)
        return;
    rc = sweep_batch(txn, ls, now, m->resume, &m->resume_len, AUTO_SWEEP_BATCH, &removed);
    if (rc == 0)
        rc = mdb_put(txn, ls->dbi, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc != 0)
        moat_log_once("store:autosweep", MOAT_LOG_WARN, "moat store: sweeping expired "
                      "entries failed: %s", mdb_strerror(rc));
}

/*
 * read_begin - a transaction to read in: the open batch's own (it sees the
 * batch's writes), or the process's read-only one. That one is reset
 * between reads and renewed for the next: it keeps its slot in the reader
 * table, so a read takes no lock and allocates nothing, and while reset it
 * holds back no old pages. A read inside a read (a scan's callback) gets
 * a transaction of its own. read_end ends what read_begin began.
 */
static int read_begin(lmdb_state *ls, MDB_txn **txn)
{
    int rc;

    if (ls->batch) {
        *txn = ls->batch;
        return ls->batch_rc;
    }
    if (ls->reader_busy)
        return txn_begin(ls, MDB_RDONLY, txn);
    if (ls->reader) {
        if (mdb_txn_renew(ls->reader) == 0) {
            *txn = ls->reader;
            ls->reader_busy = 1;
            return 0;
        }
        mdb_txn_abort(ls->reader);   /* a resized map, say: start afresh */
        ls->reader = NULL;
    }
    if ((rc = txn_begin(ls, MDB_RDONLY, txn)) == 0) {
        ls->reader = *txn;
        ls->reader_busy = 1;
    }
    return rc;
}

static void read_end(lmdb_state *ls, MDB_txn *txn)
{
    if (txn == ls->reader) {
        mdb_txn_reset(txn);
        ls->reader_busy = 0;
    } else if (txn != ls->batch) {
        mdb_txn_abort(txn);
    }
}

/*
 * write_txn - run fn in a write transaction; on a full map sweep expired
 * records once and try again. Now and then the writer also sweeps a batch.
 */
typedef int (*write_fn)(MDB_txn *txn, lmdb_state *ls, void *arg);

/*
 * What a full map gives up, least valuable first: records strangers create
 * and moat can do without - autoreply's per-message history and learnt
 * correspondents, near misses, cached directory and probe answers, then
 * the once-per-period memory of replies. Blocks, locks, offences, the
 * counters of attacks and the suspects that get no NDR stay.
 */
static const char *const expendable[] = {
    "autoreply:never:", "autoreply:got:", "autoreply:ours:", "autoreply:known:",
    "rcpt:near:", "rcpt:ldap:", "catchall:probe:", "autoreply:sent:",
};
#define EXPENDABLE_CLASSES (sizeof expendable / sizeof expendable[0])
/* Small transactions: LMDB reuses the pages one commit frees only after the
 * next commit, so the room made shows up while the eviction goes on. */
#define EVICT_BATCH 16

/* evict_class - delete every record under prefix, in short transactions; how many */
static int evict_class(lmdb_state *ls, const char *prefix, uint64_t *removed)
{
    size_t pl = strlen(prefix);
    int rc, n;

    do {
        MDB_txn *txn;
        MDB_cursor *cur;
        MDB_val k = {pl, (void *)prefix}, v;
        int op = MDB_SET_RANGE;

        if ((rc = txn_begin(ls, 0, &txn)) != 0)
            return rc;
        if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
        /* after mdb_cursor_del the cursor stands on the next record, which MDB_NEXT returns */
        for (n = 0; n < EVICT_BATCH && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
             op = MDB_NEXT, n++) {
            if (k.mv_size < pl || memcmp(k.mv_data, prefix, pl) != 0)
                break;
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            (*removed)++;
        }
        mdb_cursor_close(cur);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return rc;
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            return rc;
    } while (n == EVICT_BATCH);
    return 0;
}

/*
 * make_room - the map is full: drop expired records, then the expendable
 * classes one by one; *next is the class to give up next. 1 when something
 * was removed (try the write again), 0 when nothing is left to give up.
 */
static int make_room(lmdb_state *ls, time_t now, size_t *next)
{
    const char *path = "?";
    uint64_t removed = 0;

    (void)mdb_env_get_path(ls->env, &path);

    if (*next == 0 && sweep_all(ls, now, &removed) == 0 && removed > 0) {
        *next = 1;
        return 1;
    }
    for (*next = *next ? *next : 1; *next <= EXPENDABLE_CLASSES; (*next)++) {
        removed = 0;
        if (evict_class(ls, expendable[*next - 1], &removed) != 0)
            return 0;
        if (removed > 0) {
            moat_log(MOAT_LOG_ERROR, "moat store: LMDB map of %s is full: removed %llu "
                     "records under %s to keep blocks, locks and counters (raise store "
                     "{ map_size })", path, (unsigned long long)removed, expendable[*next - 1]);
            (*next)++;
            return 1;
        }
    }
    return 0;
}

#define RC_RESERVED (-30000)       /* not LMDB codes (those are -30799..-30780) */
#define RC_QUOTA (-30001)
#define REFUSED(rc) ((rc) == RC_RESERVED || (rc) == RC_QUOTA)
static void note_refused(lmdb_state *ls, time_t now, int why);

/*
 * write_txn - as said above; a write the reserve refuses (RC_RESERVED, see
 * refused) first gives up the expendable classes, then is left out (the
 * rest of a batch goes on) and RC_RESERVED returned; one past its
 * source's quota (RC_QUOTA) is left out at once.
 */
static int write_txn(lmdb_state *ls, time_t now, write_fn fn, void *arg)
{
    size_t next = 0, rnext = 1;
    int rc = 0;

    ls->now = now;
    if (ls->batch) {
        if (ls->batch_rc != 0)
            return ls->batch_rc;
        rc = fn(ls->batch, ls, arg);
        if (REFUSED(rc))
            note_refused(ls, now, rc);
        else if ((ls->batch_rc = rc) == 0)
            ls->batch_now = now;
        return rc;
    }

    for (;;) {
        MDB_txn *txn;
        sweep_meta m;
        int claimed = 0;

        if ((rc = txn_begin(ls, 0, &txn)) != 0)
            return rc;
        rc = fn(txn, ls, arg);
        if (rc == 0)
            rc = sweep_claim(txn, ls, now, &m, &claimed);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc == 0 && claimed)
            auto_sweep(ls, now, &m);
        if (rc == RC_RESERVED && make_room(ls, now, &rnext))
            continue;
        if (REFUSED(rc))
            note_refused(ls, now, rc);
        if (rc != MDB_MAP_FULL || !make_room(ls, now, &next))
            return rc;
    }
}

/*
 * The last tenth of the map is kept for what protects: when the pages in
 * use reach RESERVE_FROM of the map (the measure moatctl status shows), a
 * write that would create a record outside the protected classes - what
 * strangers create: autoreply's histories and reply caps, sender-domain
 * and domain-wide counts, near misses, caches - is not stored (the caller
 * is told STORE_OK; one error line a minute says so), after the expendable
 * classes have been given up. Updates of records that exist go on. So a
 * flood of hostile messages can fill the map only up to the reserve, and
 * the AUTH counters, the harvest counters, blocks and offences still have
 * room.
 */
#define RESERVE_FROM_NUM 9         /* 9/10 of the map */
#define RESERVE_FROM_DEN 10
#define RESERVE_LOG_INTERVAL 60

static const char *const protected_prefix[] = {
    "authlock:", "rcpt:ip:", "rcpt:net:", "rcpt:tp:", "rcpt:bip:", "rcpt:attack:",
    "rcpt:block:", "rcpt:offense:", "rcpt:ldap-down", "catchall:probes",
};
static const char reserve_log_key[] = "\0reserve-log";
static const char quota_log_key[] = "\0quota-log";

/* is_protected - whether key's record may use the reserve (blocks, locks, counters of attacks) */
static int is_protected(const MDB_val *key)
{
    const char *k = key->mv_data, *colon;
    size_t i, rest;

    if (key->mv_size == 0 || k[0] == '\0')
        return 1;                                      /* the store's own bookkeeping */
    for (i = 0; i < sizeof protected_prefix / sizeof protected_prefix[0]; i++) {
        size_t pl = strlen(protected_prefix[i]);
        if (key->mv_size >= pl && memcmp(k, protected_prefix[i], pl) == 0)
            return 1;
    }
    /* any module's blocks and offences (block.c: "<module>:block:", "<module>:offense:"),
     * right after the first ':' - never where a stranger's name could put it */
    colon = memchr(k, ':', key->mv_size);
    if (colon == NULL)
        return 0;
    rest = key->mv_size - (size_t)(colon + 1 - k);
    return (rest >= 6 && memcmp(colon + 1, "block:", 6) == 0) ||
           (rest >= 8 && memcmp(colon + 1, "offense:", 8) == 0);
}

/* in_reserve - whether the pages in use have reached the reserve (moatctl status's measure) */
static int in_reserve(MDB_txn *txn, lmdb_state *ls)
{
    MDB_envinfo info;
    MDB_stat ms;
    uint64_t used, pages;

    if (mdb_stat(txn, ls->dbi, &ms) != 0 || mdb_env_info(ls->env, &info) != 0 || !ms.ms_psize)
        return 0;
    used = (uint64_t)ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages + 2;
    pages = info.me_mapsize / ms.ms_psize;
    return used * RESERVE_FROM_DEN >= pages * RESERVE_FROM_NUM;
}

/* counter_sum - the count of c within the window ending at epoch now_epoch */
static uint64_t counter_sum(const counter_rec *c, uint32_t now_epoch)
{
    uint64_t total = 0;
    int i;

    for (i = 0; i < MOAT_WINDOW_SLOTS; i++)
        if (c->slots[i].epoch <= now_epoch && now_epoch - c->slots[i].epoch < MOAT_WINDOW_SLOTS)
            total += c->slots[i].count;
    return total;
}

#define QUOTA_WINDOW 86400

/*
 * quota_take - one more new record for the call's source, counted in a
 * ring under "\0q<source>" in the same transaction; *over: past the quota
 * (nothing counted). 0 or an LMDB error.
 */
static int quota_take(MDB_txn *txn, lmdb_state *ls, int *over)
{
    const moat_store *st = ls->st;
    char kbuf[STORE_MEMBER_SHORT + 3];
    size_t sl = strlen(st->source);
    uint32_t slot_len = store_slot_len(QUOTA_WINDOW), epoch;
    MDB_val k = {sl + 2, kbuf}, v;
    counter_rec c;
    counter_slot *slot;
    time_t now = ls->now;
    int rc;

    kbuf[0] = '\0';
    kbuf[1] = 'q';
    memcpy(kbuf + 2, st->source, sl);
    epoch = (uint32_t)(now / slot_len);
    memset(&c, 0, sizeof c);
    rc = mdb_get(txn, ls->dbi, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == 0 && v.mv_size == sizeof c)
        memcpy(&c, v.mv_data, sizeof c);
    if (c.h.type != REC_COUNTER || c.slot_len != slot_len || c.h.expires <= now) {
        memset(&c, 0, sizeof c);
        c.h.type = REC_COUNTER;
        c.h.version = REC_VERSION;
        c.slot_len = slot_len;
    }
    *over = counter_sum(&c, epoch) >= st->cfg.source_quota;
    if (*over)
        return 0;
    slot = &c.slots[epoch % MOAT_WINDOW_SLOTS];
    if (slot->epoch != epoch) {
        slot->epoch = epoch;
        slot->count = 0;
    }
    slot->count++;
    c.h.expires = (int64_t)now + QUOTA_WINDOW + slot_len;
    v.mv_data = &c;
    v.mv_size = sizeof c;
    return mdb_put(txn, ls->dbi, &k, &v, 0);
}

/*
 * refused - RC_RESERVED when writing key (of the class of key cls: a set's
 * key for its members) would create a record that may not use the
 * reserve, RC_QUOTA when its source has created its quota of records
 * today, else 0 (or an LMDB error). The lookup is paid only inside the
 * reserve or for a call with a source.
 */
static int refused(MDB_txn *txn, lmdb_state *ls, const MDB_val *cls, const MDB_val *key)
{
    MDB_val k = *key, v;
    size_t n, colons = 0;
    int full, rc, over = 0;

    if (is_protected(cls))
        return 0;
    full = in_reserve(txn, ls);
    if (!full && !(ls->st->source[0] && ls->st->cfg.source_quota))
        return 0;
    if (mdb_get(txn, ls->dbi, &k, &v) == 0)
        return 0;                                      /* an update */
    if (!full && ((rc = quota_take(txn, ls, &over)) != 0 || !over))
        return rc;                                     /* within the quota, or an LMDB error */
    /* for the log line: the class, the key up to its second ':' */
    for (n = 0; n < cls->mv_size && n < sizeof ls->refused_class - 1 && colons < 2; n++) {
        char c = ((const char *)cls->mv_data)[n];
        ls->refused_class[n] = c > 0x20 && c < 0x7f ? c : '?';
        colons += c == ':';
    }
    ls->refused_class[n] = '\0';
    return full ? RC_RESERVED : RC_QUOTA;
}

/* note_refused - the error line (why: RC_RESERVED, RC_QUOTA), at most once a minute for the host */
static void note_refused(lmdb_state *ls, time_t now, int why)
{
    MDB_val k = {sizeof reserve_log_key - 1, (void *)reserve_log_key}, v;
    struct { rec_header h; int64_t due; } m;

    if (why == RC_QUOTA) {
        k.mv_size = sizeof quota_log_key - 1;
        k.mv_data = (void *)quota_log_key;
    }
    const char *path = "?";
    MDB_txn *txn;
    int due = 1;

    if (ls->batch)
        txn = ls->batch;
    else if (txn_begin(ls, 0, &txn) != 0)
        return;
    if (mdb_get(txn, ls->dbi, &k, &v) == 0 && v.mv_size == sizeof m) {
        memcpy(&m, v.mv_data, sizeof m);
        due = now >= m.due || m.due > (int64_t)now + RESERVE_LOG_INTERVAL;
    }
    if (due) {
        memset(&m, 0, sizeof m);
        m.h.type = REC_META;
        m.h.version = REC_VERSION;
        m.h.expires = INT64_MAX;
        m.due = (int64_t)now + RESERVE_LOG_INTERVAL;
        v.mv_data = &m;
        v.mv_size = sizeof m;
        due = mdb_put(txn, ls->dbi, &k, &v, 0) == 0;
    }
    if (txn != ls->batch) {
        if (!due) {
            mdb_txn_abort(txn);
            return;
        }
        if (mdb_txn_commit(txn) != 0)
            return;
    }
    if (!due)
        return;
    (void)mdb_env_get_path(ls->env, &path);
    if (why == RC_QUOTA)
        moat_log(MOAT_LOG_WARN, "moat store: source %s has created its quota of %u new "
                 "records today: its new records (%s...) are not stored (store "
                 "{ source_quota })", ls->st->source, ls->st->cfg.source_quota,
                 ls->refused_class);
    else
        moat_log(MOAT_LOG_ERROR, "moat store: LMDB map of %s is %d%% full: new records that "
                 "strangers create (%s...) are not stored, to keep the rest for blocks, locks "
                 "and counters of attacks (raise store { map_size })", path,
                 100 * RESERVE_FROM_NUM / RESERVE_FROM_DEN, ls->refused_class);
}

struct counter_op {
    MDB_val key;
    uint32_t window_s;
    uint32_t n;
    time_t now;
    uint64_t total;
};

static int counter_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct counter_op *op = arg;
    uint32_t slot_len = store_slot_len(op->window_s);
    uint32_t epoch = (uint32_t)(op->now / slot_len);
    counter_slot *slot;
    counter_rec c;
    MDB_val v;
    int rc = mdb_get(txn, ls->dbi, &op->key, &v), why;

    if (rc == MDB_NOTFOUND && (why = refused(txn, ls, &op->key, &op->key)) != 0)
        return why;
    if (rc == 0 && v.mv_size == sizeof c) {
        memcpy(&c, v.mv_data, sizeof c);
        if (c.h.type != REC_COUNTER || c.slot_len != slot_len || c.h.expires <= op->now)
            memset(&c, 0, sizeof c);
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
        memset(&c, 0, sizeof c);
    } else {
        return rc;
    }
    c.h.type = REC_COUNTER;
    c.h.version = REC_VERSION;
    c.slot_len = slot_len;
    slot = &c.slots[epoch % MOAT_WINDOW_SLOTS];
    if (slot->epoch != epoch) {
        slot->epoch = epoch;
        slot->count = 0;
    }
    slot->count = slot->count > UINT32_MAX - op->n ? UINT32_MAX : slot->count + op->n;
    c.h.expires = (int64_t)op->now + op->window_s + slot_len;
    op->total = counter_sum(&c, epoch);
    v.mv_data = &c;
    v.mv_size = sizeof c;
    return mdb_put(txn, ls->dbi, &op->key, &v, 0);
}

/* counter_read - the window's count without a write transaction (n = 0) */
static int counter_read(lmdb_state *ls, MDB_val *key, uint32_t window_s, time_t now,
                        uint64_t *total)
{
    uint32_t slot_len = store_slot_len(window_s);
    MDB_txn *txn;
    MDB_val v;
    counter_rec c;
    int rc;

    *total = 0;
    if ((rc = read_begin(ls, &txn)) != 0)
        return rc;
    rc = mdb_get(txn, ls->dbi, key, &v);
    if (rc == 0 && v.mv_size == sizeof c) {
        memcpy(&c, v.mv_data, sizeof c);
        if (c.h.type == REC_COUNTER && c.slot_len == slot_len && c.h.expires > now)
            *total = counter_sum(&c, (uint32_t)(now / slot_len));
    }
    read_end(ls, txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static store_status lmdb_counter_add(moat_store *st, const char *key, uint32_t window_s,
                                     uint32_t n, time_t now, uint64_t *total)
{
    lmdb_state *ls = env(st);
    struct counter_op op = {{strlen(key), (void *)key}, window_s, n, now, 0};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if (n == 0) {
        rc = counter_read(ls, &op.key, window_s, now, total);
        return rc == 0 ? STORE_OK : fail_rc(st, "read", key, rc);
    }
    rc = write_txn(ls, now, counter_write, &op);
    if (REFUSED(rc))
        op.total = n;                                  /* not stored: the reserve, a quota */
    else if (rc != 0)
        return fail_rc(st, "count", key, rc);
    *total = op.total;
    return STORE_OK;
}

struct member_op {
    const char *key;
    const char *member;
    uint32_t window_s;
    time_t now;
    uint64_t max;
    uint64_t distinct;
};

/* member_key - "key\0member" into buf; its length */
static size_t member_key(char *buf, size_t cap, const char *key, const char *member)
{
    size_t kl = strlen(key), ml = member ? strlen(member) : 0;

    if (kl + 1 + ml > cap)
        return 0;
    memcpy(buf, key, kl);
    buf[kl] = '\0';
    if (ml)
        memcpy(buf + kl + 1, member, ml);
    return kl + 1 + ml;
}

/*
 * A set's count is kept beside it, so adding a member costs O(1) however
 * large the set (a cursor over 50,000 members took 1.7 ms): a ring like a
 * counter's, under "\0n<key>" (a meta key: never listed, never a caller's),
 * holding how many members were last added in each slot of the window.
 * Adding a member moves it from the slot of its previous addition (its
 * record's expiry says when that was) to the current one. A ring that is
 * missing, expired or of another slot length is rebuilt once from the
 * members' records. Like a counter, a member counts for 7/8 to 8/8 of the
 * window after its last addition; its record lives the whole window.
 */
#define SET_COUNT_TAG 'n'

/* count_key - "\0n<key>" into buf; its length */
static size_t count_key(char *buf, size_t cap, const char *key)
{
    size_t kl = strlen(key);

    if (kl + 2 > cap)
        return 0;
    buf[0] = '\0';
    buf[1] = SET_COUNT_TAG;
    memcpy(buf + 2, key, kl);
    return kl + 2;
}

/* ring_slot - the slot of c holding epoch, or NULL when it has rolled out */
static counter_slot *ring_slot(counter_rec *c, uint32_t epoch)
{
    counter_slot *slot = &c->slots[epoch % MOAT_WINDOW_SLOTS];

    return slot->epoch == epoch ? slot : NULL;
}

/* ring_add - one more member last added in epoch (now_epoch: the current one) */
static void ring_add(counter_rec *c, uint32_t epoch, uint32_t now_epoch)
{
    counter_slot *slot = &c->slots[epoch % MOAT_WINDOW_SLOTS];

    if (epoch > now_epoch || now_epoch - epoch >= MOAT_WINDOW_SLOTS)
        return;                                        /* outside the window */
    if (slot->epoch != epoch) {
        slot->epoch = epoch;
        slot->count = 0;
    }
    if (slot->count < UINT32_MAX)
        slot->count++;
}

/* added_epoch - the slot epoch of a member's last addition, from its record's expiry */
static uint32_t added_epoch(const rec_header *h, uint32_t window_s, uint32_t slot_len)
{
    int64_t added = h->expires - (int64_t)window_s;

    return added > 0 ? (uint32_t)(added / slot_len) : 0;
}

/*
 * ring_rebuild - the ring of key's set from its members' records (deleting
 * the expired ones when writable): once per set, after an upgrade or a
 * change of window
 */
static int ring_rebuild(MDB_txn *txn, lmdb_state *ls, const char *key, uint32_t window_s,
                        time_t now, int writable, counter_rec *c)
{
    char prefix[STORE_KEY_MAX + 2];
    size_t plen = member_key(prefix, sizeof prefix, key, NULL);
    uint32_t slot_len = store_slot_len(window_s), now_epoch = (uint32_t)(now / slot_len);
    MDB_cursor *cur;
    MDB_val k = {plen, prefix}, v;
    rec_header h;
    int rc, op = MDB_SET_RANGE;

    memset(c, 0, sizeof *c);
    c->h.type = REC_COUNTER;
    c->h.version = REC_VERSION;
    c->slot_len = slot_len;
    if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
        return rc;
    for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (is_live(&v, now)) {
            memcpy(&h, v.mv_data, sizeof h);
            ring_add(c, added_epoch(&h, window_s, slot_len), now_epoch);
        } else if (writable && (rc = mdb_cursor_del(cur, 0)) != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * ring_get - key's ring as stored, or (when missing, expired or of another
 * slot length) rebuilt from the members; 0 or an LMDB error
 */
static int ring_get(MDB_txn *txn, lmdb_state *ls, const char *key, MDB_val *ck,
                    uint32_t window_s, time_t now, int writable, counter_rec *c)
{
    MDB_val v;
    int rc = mdb_get(txn, ls->dbi, ck, &v);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == 0 && v.mv_size == sizeof *c) {
        memcpy(c, v.mv_data, sizeof *c);
        if (c->h.type == REC_COUNTER && c->slot_len == store_slot_len(window_s) &&
            c->h.expires > now)
            return 0;
    }
    return ring_rebuild(txn, ls, key, window_s, now, writable, c);
}

static int member_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct member_op *op = arg;
    char buf[STORE_KEY_MAX + 2], cbuf[STORE_KEY_MAX + 2];
    uint32_t slot_len = store_slot_len(op->window_s), epoch = (uint32_t)(op->now / slot_len);
    rec_header h = {REC_MEMBER, REC_VERSION, 0, 0, (int64_t)op->now + op->window_s}, old;
    MDB_val k = {member_key(buf, sizeof buf, op->key, op->member), buf}, v = {sizeof h, &h};
    MDB_val cls = {strlen(op->key), (void *)op->key};
    MDB_val ck = {count_key(cbuf, sizeof cbuf, op->key), cbuf}, cur;
    counter_rec c;
    counter_slot *slot;
    int rc, had = 0;

    if ((rc = refused(txn, ls, &cls, &k)) != 0)
        return rc;
    if ((rc = ring_get(txn, ls, op->key, &ck, op->window_s, op->now, 1, &c)) != 0)
        return rc;
    /* the member's previous addition, if its slot still counts it */
    if ((rc = mdb_get(txn, ls->dbi, &k, &cur)) == 0 && cur.mv_size >= sizeof old) {
        memcpy(&old, cur.mv_data, sizeof old);
        had = old.type == REC_MEMBER;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    if (had && (slot = ring_slot(&c, added_epoch(&old, op->window_s, slot_len))) != NULL &&
        slot->count > 0)
        slot->count--;
    ring_add(&c, epoch, epoch);
    c.h.expires = (int64_t)op->now + op->window_s + slot_len;
    op->distinct = counter_sum(&c, epoch);
    if (op->distinct > op->max)
        op->distinct = op->max;
    if ((rc = mdb_put(txn, ls->dbi, &k, &v, 0)) != 0)
        return rc;
    v.mv_data = &c;
    v.mv_size = sizeof c;
    return mdb_put(txn, ls->dbi, &ck, &v, 0);
}

/* set_count - the live members of key's set (up to max) without writing */
static int set_count(MDB_txn *txn, lmdb_state *ls, const char *key, uint32_t window_s,
                     time_t now, uint64_t max, uint64_t *count)
{
    char cbuf[STORE_KEY_MAX + 2];
    MDB_val ck = {count_key(cbuf, sizeof cbuf, key), cbuf};
    uint32_t slot_len = store_slot_len(window_s);
    counter_rec c;
    int rc = ring_get(txn, ls, key, &ck, window_s, now, 0, &c);

    if (rc != 0)
        return rc;
    *count = counter_sum(&c, (uint32_t)(now / slot_len));
    if (*count > max)
        *count = max;
    return 0;
}

static store_status lmdb_distinct_add(moat_store *st, const char *key, const char *member,
                                      uint32_t window_s, time_t now, uint64_t max,
                                      uint64_t *distinct)
{
    lmdb_state *ls = env(st);
    struct member_op op = {key, member, window_s, now, max, 0};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if (member == NULL) {
        MDB_txn *txn;
        if ((rc = read_begin(ls, &txn)) != 0)
            return fail_rc(st, "read", key, rc);
        rc = set_count(txn, ls, key, window_s, now, max, distinct);
        read_end(ls, txn);
        return rc == 0 ? STORE_OK : fail_rc(st, "read", key, rc);
    }
    rc = write_txn(ls, now, member_write, &op);
    if (REFUSED(rc))
        op.distinct = 1;                               /* not stored: the reserve, a quota */
    else if (rc != 0)
        return fail_rc(st, "add to", key, rc);
    *distinct = op.distinct;
    return STORE_OK;
}

static store_status lmdb_contains(moat_store *st, const char *key, const char *member,
                                  uint32_t window_s, time_t now)
{
    lmdb_state *ls = env(st);
    char buf[STORE_KEY_MAX + 2];
    MDB_val k = {member_key(buf, sizeof buf, key, member), buf}, v;
    MDB_txn *txn;
    rec_header h;
    int rc, live = 0;

    (void)window_s;   /* a member's record carries its own expiry */
    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "read", key, rc);
    rc = mdb_get(txn, ls->dbi, &k, &v);
    if (rc == 0 && v.mv_size >= sizeof h) {
        memcpy(&h, v.mv_data, sizeof h);
        live = h.type == REC_MEMBER && h.expires > now;
    }
    read_end(ls, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return fail_rc(st, "read", key, rc);
    return live ? STORE_OK : STORE_NOTFOUND;
}

struct value_op {
    MDB_val key;
    const void *value;
    size_t len;
    int64_t expires;
    time_t now;
    int created;
};

static int value_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct value_op *op = arg;
    rec_header h = {REC_VALUE, REC_VERSION, 0, 0, op->expires};
    MDB_val v = {sizeof h + op->len, NULL};
    int rc;

    if ((rc = refused(txn, ls, &op->key, &op->key)) != 0 ||
        (rc = mdb_put(txn, ls->dbi, &op->key, &v, MDB_RESERVE)) != 0)
        return rc;
    memcpy(v.mv_data, &h, sizeof h);
    if (op->len)
        memcpy((char *)v.mv_data + sizeof h, op->value, op->len);
    return 0;
}

/* value_write_new - value_write unless a live value is there already (same transaction) */
static int value_write_new(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct value_op *op = arg;
    MDB_val v;
    rec_header h;
    int rc = mdb_get(txn, ls->dbi, &op->key, &v);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == 0 && v.mv_size >= sizeof h) {
        memcpy(&h, v.mv_data, sizeof h);
        if (h.type == REC_VALUE && h.expires > op->now) {
            op->created = 0;
            return 0;
        }
    }
    op->created = 1;
    return value_write(txn, ls, op);
}

static store_status lmdb_set_new(moat_store *st, const char *key, const void *value, size_t len,
                                 uint32_t ttl_s, time_t now, int *created)
{
    lmdb_state *ls = env(st);
    struct value_op op = {{strlen(key), (void *)key}, value, len, (int64_t)now + ttl_s, now, 0};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    rc = write_txn(ls, now, value_write_new, &op);
    if (REFUSED(rc))
        rc = 0, op.created = 0;     /* not stored (reserve, quota): not begun, as if taken */
    *created = rc == 0 && op.created;
    return rc == 0 ? STORE_OK : fail_rc(st, "set", key, rc);
}

static store_status lmdb_set(moat_store *st, const char *key, const void *value, size_t len,
                             uint32_t ttl_s, time_t now)
{
    lmdb_state *ls = env(st);
    struct value_op op = {{strlen(key), (void *)key}, value, len, (int64_t)now + ttl_s, now, 0};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    rc = write_txn(ls, now, value_write, &op);
    return rc == 0 || REFUSED(rc) ? STORE_OK : fail_rc(st, "set", key, rc);
}

/* live_value - the payload of key's live value in txn (*found 0 when none); an LMDB error or 0 */
static int live_value(MDB_txn *txn, lmdb_state *ls, MDB_val *key, time_t now, MDB_val *payload,
                      int *found)
{
    MDB_val v;
    rec_header h;
    int rc = mdb_get(txn, ls->dbi, key, &v);

    *found = 0;
    if (rc != 0)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if (v.mv_size >= sizeof h) {
        memcpy(&h, v.mv_data, sizeof h);
        if (h.type == REC_VALUE && h.expires > now) {
            payload->mv_size = v.mv_size - sizeof h;
            payload->mv_data = (char *)v.mv_data + sizeof h;
            *found = 1;
        }
    }
    return 0;
}

struct add_op {
    struct value_op v;
    int64_t delta;
    int64_t result;
    char text[24];
};

/* value_add_write - the old number and the new, in one write transaction */
static int value_add_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct add_op *op = arg;
    MDB_val old;
    int found, rc = live_value(txn, ls, &op->v.key, op->v.now, &old, &found);

    if (rc != 0)
        return rc;
    op->result = store_clamp(found ? store_parse_number(old.mv_data, old.mv_size) : 0,
                             op->delta);
    op->v.len = (size_t)snprintf(op->text, sizeof op->text, "%lld", (long long)op->result);
    op->v.value = op->text;
    return value_write(txn, ls, &op->v);
}

static store_status lmdb_value_add(moat_store *st, const char *key, int64_t delta,
                                   uint32_t ttl_s, time_t now, int64_t *result)
{
    lmdb_state *ls = env(st);
    struct add_op op = {{{strlen(key), (void *)key}, NULL, 0, (int64_t)now + ttl_s, now, 0},
                        delta, 0, ""};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    rc = write_txn(ls, now, value_add_write, &op);
    if (rc != 0 && !REFUSED(rc))
        return fail_rc(st, "add to", key, rc);
    *result = op.result;
    return STORE_OK;
}

struct swap_op {
    struct value_op v;
    const void *old;
    size_t old_len;
};

/* swap_write - write only when the live value is old (or absent, old NULL) */
static int swap_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct swap_op *op = arg;
    MDB_val cur;
    int found, rc = live_value(txn, ls, &op->v.key, op->v.now, &cur, &found);

    if (rc != 0)
        return rc;
    op->v.created = op->old == NULL
                        ? !found
                        : found && cur.mv_size == op->old_len &&
                              (op->old_len == 0 || memcmp(cur.mv_data, op->old, op->old_len) == 0);
    return op->v.created ? value_write(txn, ls, &op->v) : 0;
}

static store_status lmdb_swap(moat_store *st, const char *key, const void *old, size_t old_len,
                              const void *value, size_t len, uint32_t ttl_s, time_t now,
                              int *swapped)
{
    lmdb_state *ls = env(st);
    struct swap_op op = {{{strlen(key), (void *)key}, value, len, (int64_t)now + ttl_s, now, 0},
                         old, old_len};
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    rc = write_txn(ls, now, swap_write, &op);
    if (rc != 0 && !REFUSED(rc))
        return fail_rc(st, "swap", key, rc);
    *swapped = op.v.created || REFUSED(rc);
    return STORE_OK;
}

static store_status lmdb_get(moat_store *st, const char *key, void *buf, size_t cap,
                             size_t *len, time_t *expires, time_t now)
{
    lmdb_state *ls = env(st);
    MDB_val k = {strlen(key), (void *)key}, v;
    MDB_txn *txn;
    rec_header h;
    int rc;
    store_status result = STORE_NOTFOUND;

    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "get", key, rc);
    rc = mdb_get(txn, ls->dbi, &k, &v);
    if (rc == 0 && v.mv_size >= sizeof h) {
        memcpy(&h, v.mv_data, sizeof h);
        if (h.type == REC_VALUE && h.expires > now) {
            *len = v.mv_size - sizeof h;
            *expires = (time_t)h.expires;
            if (cap)
                memcpy(buf, (char *)v.mv_data + sizeof h, *len < cap ? *len : cap);
            result = STORE_OK;
        }
    }
    read_end(ls, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return fail_rc(st, "get", key, rc);
    return result;
}

static store_status lmdb_get_first(moat_store *st, const char *const *keys, int n, int *which,
                                   time_t *expires, time_t now)
{
    lmdb_state *ls = env(st);
    MDB_txn *txn;
    MDB_val k, v;
    rec_header h;
    int rc = 0, i;

    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "get", keys[0], rc);
    *which = -1;
    for (i = 0; i < n; i++) {
        k.mv_size = strlen(keys[i]);
        k.mv_data = (void *)keys[i];
        rc = mdb_get(txn, ls->dbi, &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND)
            break;
        if (rc == 0 && v.mv_size >= sizeof h) {
            memcpy(&h, v.mv_data, sizeof h);
            if (h.type == REC_VALUE && h.expires > now) {
                *which = i;
                *expires = (time_t)h.expires;
                break;
            }
        }
        rc = 0;
    }
    read_end(ls, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return fail_rc(st, "get", keys[i], rc);
    return *which >= 0 ? STORE_OK : STORE_NOTFOUND;
}

static int del_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    const char *key = arg;
    char prefix[STORE_KEY_MAX + 2], cbuf[STORE_KEY_MAX + 2];
    size_t plen = member_key(prefix, sizeof prefix, key, NULL);
    MDB_val k = {strlen(key), (void *)key}, v, ck = {count_key(cbuf, sizeof cbuf, key), cbuf};
    MDB_cursor *cur;
    int op, rc = mdb_del(txn, ls->dbi, &k, NULL);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = mdb_del(txn, ls->dbi, &ck, NULL)) != 0 && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
        return rc;
    k.mv_data = prefix;
    k.mv_size = plen;
    for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static store_status lmdb_del(moat_store *st, const char *key)
{
    lmdb_state *ls = env(st);
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    rc = write_txn(ls, time(NULL), del_write, (void *)key);
    return rc == 0 ? STORE_OK : fail_rc(st, "delete", key, rc);
}

static store_status lmdb_scan(moat_store *st, const char *prefix, time_t now,
                              moat_store_scan_fn fn, void *arg)
{
    lmdb_state *ls = env(st);
    size_t plen = strlen(prefix);
    char last[STORE_KEY_MAX + 1] = "";
    MDB_val k = {plen, (void *)prefix}, v;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc, op = plen ? MDB_SET_RANGE : MDB_FIRST;

    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "scan", prefix, rc);
    if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0) {
        read_end(ls, txn);
        return fail_rc(st, "scan", prefix, rc);
    }
    for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        char name[STORE_KEY_MAX + 1];
        size_t n;

        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (!is_live(&v, now))
            continue;
        /* A set member is reported once, under its set's key; meta keys
         * (leading NUL) not at all. */
        n = strnlen(k.mv_data, k.mv_size < STORE_KEY_MAX ? k.mv_size : STORE_KEY_MAX);
        if (n == 0)
            continue;
        memcpy(name, k.mv_data, n);
        name[n] = '\0';
        if (strcmp(name, last) == 0)
            continue;
        memcpy(last, name, n + 1);
        if (fn(name, arg) != 0)
            break;
    }
    mdb_cursor_close(cur);
    read_end(ls, txn);
    return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : fail_rc(st, "scan", prefix, rc);
}

static store_status lmdb_sweep(moat_store *st, time_t now, uint64_t *removed)
{
    lmdb_state *ls = env(st);
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if (ls->batch)
        return store_fail(st, "lmdb: no sweep inside a batch");
    rc = sweep_all(ls, now, removed);
    return rc == 0 ? STORE_OK : fail_rc(st, "sweep", "", rc);
}

/* lmdb_batch_begin - open the write transaction the next calls share */
static store_status lmdb_batch_begin(moat_store *st)
{
    lmdb_state *ls = env(st);
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = txn_begin(ls, 0, &ls->batch)) != 0) {
        ls->batch = NULL;
        return fail_rc(st, "begin", "batch", rc);
    }
    ls->batch_rc = 0;
    ls->batch_now = 0;
    return STORE_OK;
}

/*
 * lmdb_batch_end - commit the batch's writes at once (or, after an error
 * inside it, none of them), with the sweep's bookkeeping of a single write.
 */
static store_status lmdb_batch_end(moat_store *st)
{
    lmdb_state *ls = st->impl;
    MDB_txn *txn;
    sweep_meta m;
    size_t next = 0;
    int rc, claimed = 0;

    if (ls == NULL || ls->batch == NULL)
        return STORE_OK;   /* never opened, or dropped after damage */
    txn = ls->batch;
    ls->batch = NULL;
    rc = ls->batch_rc;
    if (rc == 0 && ls->batch_now != 0)
        rc = sweep_claim(txn, ls, ls->batch_now, &m, &claimed);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc == 0 && claimed)
        auto_sweep(ls, ls->batch_now, &m);
    /* A full map: this batch is lost; make room for the next writes (an
     * expired record or an expendable class, and once more). */
    if (rc == MDB_MAP_FULL && make_room(ls, ls->batch_now ? ls->batch_now : time(NULL), &next))
        (void)make_room(ls, ls->batch_now ? ls->batch_now : time(NULL), &next);
    if (rc != 0 && ls->batch_rc == rc && rc != MDB_MAP_FULL)
        return STORE_ERROR;                            /* reported when it happened */
    return rc == 0 ? STORE_OK : fail_rc(st, "commit", "batch", rc);
}

struct tally_op {
    MDB_val key;
    uint64_t n;
    time_t now;
    uint64_t total;
};

/* tally_write - add n to a tally record (another kind of record under the key starts it at 0) */
static int tally_write(MDB_txn *txn, lmdb_state *ls, void *arg)
{
    struct tally_op *op = arg;
    rec_header h;
    uint64_t count = 0;
    unsigned char rec[sizeof h + sizeof count];
    MDB_val v;
    int rc = mdb_get(txn, ls->dbi, &op->key, &v);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == 0 && v.mv_size == sizeof rec) {
        memcpy(&h, v.mv_data, sizeof h);
        if (h.type == REC_TALLY && h.expires > op->now)
            memcpy(&count, (char *)v.mv_data + sizeof h, sizeof count);
    }
    count = count > UINT64_MAX - op->n ? UINT64_MAX : count + op->n;
    op->total = count;
    memset(&h, 0, sizeof h);
    h.type = REC_TALLY;
    h.version = REC_VERSION;
    h.expires = (int64_t)op->now + STORE_TALLY_TTL;
    memcpy(rec, &h, sizeof h);
    memcpy(rec + sizeof h, &count, sizeof count);
    v.mv_data = rec;
    v.mv_size = sizeof rec;
    return mdb_put(txn, ls->dbi, &op->key, &v, 0);
}

static store_status lmdb_tally_add(moat_store *st, const char *key, uint64_t n, time_t now,
                                   uint64_t *total)
{
    lmdb_state *ls = env(st);
    struct tally_op op = {{strlen(key), (void *)key}, n, now, 0};
    MDB_txn *txn;
    MDB_val v;
    rec_header h;
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if (n > 0) {
        rc = write_txn(ls, now, tally_write, &op);
        if (rc != 0)
            return fail_rc(st, "tally", key, rc);
        *total = op.total;
        return STORE_OK;
    }
    *total = 0;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "read", key, rc);
    rc = mdb_get(txn, ls->dbi, &op.key, &v);
    if (rc == 0 && v.mv_size == sizeof h + sizeof *total) {
        memcpy(&h, v.mv_data, sizeof h);
        if (h.type == REC_TALLY && h.expires > now)
            memcpy(total, (char *)v.mv_data + sizeof h, sizeof *total);
    }
    read_end(ls, txn);
    return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : fail_rc(st, "read", key, rc);
}

/* lmdb_usage - the pages in use (data and the two meta pages) against the map's size */
static store_status lmdb_usage(moat_store *st, uint64_t *used, uint64_t *limit)
{
    lmdb_state *ls = env(st);
    MDB_envinfo info;
    MDB_stat ms;
    MDB_txn *txn;
    int rc;

    if (ls == NULL)
        return STORE_ERROR;
    if ((rc = read_begin(ls, &txn)) != 0)
        return fail_rc(st, "stat", "", rc);
    rc = mdb_stat(txn, ls->dbi, &ms);
    read_end(ls, txn);
    if (rc == 0)
        rc = mdb_env_info(ls->env, &info);
    if (rc != 0)
        return fail_rc(st, "stat", "", rc);
    *used = (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages + 2) *
            ms.ms_psize;
    *limit = (uint64_t)info.me_mapsize;
    return STORE_OK;
}

const store_ops store_lmdb_ops = {
    "lmdb",
    lmdb_drop,
    lmdb_counter_add,
    lmdb_distinct_add,
    lmdb_contains,
    lmdb_set,
    lmdb_set_new,
    lmdb_value_add,
    lmdb_swap,
    lmdb_get,
    lmdb_get_first,
    lmdb_del,
    lmdb_scan,
    lmdb_sweep,
    lmdb_batch_begin,
    lmdb_batch_end,
    lmdb_tally_add,
    lmdb_usage,
};
