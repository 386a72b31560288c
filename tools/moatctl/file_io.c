/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file_io.c - moatctl's whole-file reads and atomic replacements of the
 * Exim configuration files it owns or marks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"

char *file_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    size_t got = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return buf;
}

int file_replace(const char *path, const char *text, unsigned new_mode)
{
    char tmp[4096];
    struct stat st;
    int have_old = stat(path, &st) == 0;
    size_t len = strlen(text), done = 0;
    int fd, saved;

    if (snprintf(tmp, sizeof tmp, "%s.moatctl-new", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              have_old ? (st.st_mode & 07777) : new_mode);
    if (fd < 0)
        return -1;
    if (have_old && (fchown(fd, st.st_uid, st.st_gid) != 0 ||
                     fchmod(fd, st.st_mode & 07777) != 0))
        goto fail;
    if (!have_old && fchmod(fd, new_mode) != 0)
        goto fail;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}
