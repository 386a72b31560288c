/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory_cdb.c - the CDB backend (backends/cdb.so, with tinycdb):
 * lookups in, and compilation of, the CDB directory. The file is opened
 * once per process and reopened when it is replaced.
 */
#include "directory_cdb.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrlist.h"
#include "rcpt.h"

static struct {
    char path[4096];
    int fd;
    ino_t ino;
    time_t mtime;
    time_t checked;
    struct cdb db;
    int open;
} cache = {.fd = -1};

/* reopen - (re)open path when it is new or was replaced */
static int reopen(const char *path, time_t now, char *err, size_t errlen)
{
    struct stat sb;
    int fd;

    if (cache.open && strcmp(cache.path, path) == 0 && cache.checked == now)
        return 0;
    cache.checked = now;
    if (stat(path, &sb) != 0) {
        if (cache.open && strcmp(cache.path, path) == 0)
            return 0;   /* keep serving the file we have open */
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (cache.open && strcmp(cache.path, path) == 0 && sb.st_ino == cache.ino &&
        sb.st_mtime == cache.mtime)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return cache.open && strcmp(cache.path, path) == 0 ? 0 : -1;
    }
    if (cache.open) {
        cdb_free(&cache.db);
        close(cache.fd);
        cache.open = 0;
    }
    if (cdb_init(&cache.db, fd) != 0) {
        snprintf(err, errlen, "%s is not a CDB file", path);
        close(fd);
        return -1;
    }
    cache.fd = fd;
    cache.ino = sb.st_ino;
    cache.mtime = sb.st_mtime;
    snprintf(cache.path, sizeof cache.path, "%s", path);
    cache.open = 1;
    return 0;
}

static int has(const char *key)
{
    return cdb_find(&cache.db, key, (unsigned)strlen(key)) > 0;
}

static int cdb_lookup(const char *path, const char *address, const char *domain, time_t now,
                      char *err, size_t errlen)
{
    char key[600];

    if (reopen(path, now, err, errlen) != 0)
        return RCPT_DIR_TEMPFAIL;
    if (has(address))
        return RCPT_DIR_FOUND;
    snprintf(key, sizeof key, "*@%s", domain);
    if (has(key))
        return RCPT_DIR_SKIP;
    snprintf(key, sizeof key, "@%s", domain);
    return has(key) ? RCPT_DIR_NOTFOUND : RCPT_DIR_SKIP;
}

/*
 * keep_access - the new file fd takes the owner, group and mode of the file it
 * replaces (dst), or of the list it is made from (src) when it is the first:
 * whoever read the list (Exim's user) reads the CDB, whatever the umask of
 * the root shell that compiled it. Another user than root keeps the owner.
 */
static int keep_access(int fd, const char *src, const char *dst)
{
    struct stat st;

    if (stat(dst, &st) != 0 && stat(src, &st) != 0)
        return -1;
    if (fchown(fd, geteuid() == 0 ? st.st_uid : (uid_t)-1, st.st_gid) != 0 &&
        geteuid() == 0)
        return -1;
    return fchmod(fd, st.st_mode & 0777);
}

static long cdb_compile(const char *src, const char *dst, char *err, size_t errlen)
{
    addrlist list;
    struct cdb_make cm;
    char tmp[4200], key[600];
    size_t i;
    int fd, failed = 0;

    memset(&list, 0, sizeof list);
    if (addrlist_refresh(&list, src, 0, err, errlen) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dst, (int)getpid());
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        addrlist_free(&list);
        return -1;
    }
    if (keep_access(fd, src, dst) != 0) {
        snprintf(err, errlen, "cannot give %s the owner and mode of %s: %s", dst,
                 access(dst, F_OK) == 0 ? dst : src, strerror(errno));
        close(fd);
        unlink(tmp);
        addrlist_free(&list);
        return -1;
    }
    cdb_make_start(&cm, fd);
    for (i = 0; i < list.count && !failed; i++)
        failed = cdb_make_add(&cm, list.entries[i], (unsigned)strlen(list.entries[i]), "", 0);
    for (i = 0; i < list.ncovered && !failed; i++) {
        snprintf(key, sizeof key, "@%s", list.covered[i]);
        failed = cdb_make_add(&cm, key, (unsigned)strlen(key), "", 0);
    }
    for (i = 0; i < list.nskipped && !failed; i++) {
        snprintf(key, sizeof key, "*@%s", list.skipped[i]);
        failed = cdb_make_add(&cm, key, (unsigned)strlen(key), "", 0);
    }
    if (!failed)
        failed = cdb_make_finish(&cm);
    if (!failed)
        failed = fsync(fd);
    close(fd);
    if (failed || rename(tmp, dst) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", dst, strerror(errno));
        unlink(tmp);
        addrlist_free(&list);
        return -1;
    }
    i = list.count;
    addrlist_free(&list);
    return (long)i;
}

const cdb_backend moat_backend_cdb_v1 = {cdb_lookup, cdb_compile};
