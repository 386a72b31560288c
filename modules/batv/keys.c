/*
 * keys.c - batv key files: parse, format, create on first use, rotate.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAX 4096

int batv_domain_ok(const char *domain)
{
    size_t n = strlen(domain), i;

    if (n == 0 || n > 253 || domain[0] == '.' || strstr(domain, "..") != NULL)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)domain[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

/* hex_ok - s is 16..BATV_SECRET_MAX hex digits */
static int hex_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 16 || n > BATV_SECRET_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* parse_key - "N CREATED HEX" into k; 0 or -1 */
static int parse_key(const char *p, const char *end, batv_key *k)
{
    char num[24], *e;
    long long created;
    const char *hex;
    size_t hn, n;

    if (p >= end || *p < '0' || *p > '9' || p + 1 >= end || p[1] != ' ')
        return -1;
    k->num = *p - '0';
    p += 2;
    /* the text is not NUL-terminated: the number is copied out before strtoll */
    for (n = 0; p + n < end && isdigit((unsigned char)p[n]) && n < sizeof num - 1; n++)
        num[n] = p[n];
    num[n] = '\0';
    if (n == 0 || p + n >= end || p[n] != ' ')
        return -1;
    errno = 0;
    created = strtoll(num, &e, 10);
    if (errno || *e != '\0')
        return -1;
    k->created = (time_t)created;
    hex = p + n + 1;
    hn = (size_t)(end - hex);
    if (!hex_ok(hex, hn))
        return -1;
    memcpy(k->secret, hex, hn);
    k->secret[hn] = '\0';
    return 0;
}

int batv_keys_parse(const char *text, size_t len, batv_keyring *ring)
{
    const char *p = text, *end = text + len;
    int keys = 0, since = 0;

    memset(ring, 0, sizeof *ring);
    ring->current.num = ring->previous.num = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;

        if (le > p && le[-1] == '\r')
            le--;
        if (le == p || *p == '#') {
            /* blank line or comment */
        } else if ((size_t)(le - p) > 6 && strncmp(p, "since ", 6) == 0) {
            char num[24];
            size_t n = (size_t)(le - p - 6);
            char *e;
            long long v;
            if (n >= sizeof num || since)
                return -1;
            memcpy(num, p + 6, n);
            num[n] = '\0';
            errno = 0;
            v = strtoll(num, &e, 10);
            if (errno || *e != '\0' || v < 0 || !isdigit((unsigned char)num[0]))
                return -1;
            ring->since = (time_t)v;
            since = 1;
        } else if ((size_t)(le - p) > 4 && strncmp(p, "key ", 4) == 0) {
            if (keys >= 2 || parse_key(p + 4, le, keys ? &ring->previous : &ring->current) != 0)
                return -1;
            keys++;
        } else {
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    if (keys == 0)
        return -1;
    if (!since)
        ring->since = ring->current.created;
    if (keys == 2 && ring->previous.num == ring->current.num)
        return -1;
    return 0;
}

size_t batv_keys_format(const batv_keyring *ring, const char *domain, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "# moat batv keys for %s: the secret of Exim's ${prvs} tags.\n"
                     "# Copy this file as it is to every MX host of the domain (same\n"
                     "# path, owned by the Exim user, mode 0640); moatctl batv rotate.\n"
                     "since %lld\nkey %d %lld %s\n",
                     domain, (long long)ring->since, ring->current.num,
                     (long long)ring->current.created, ring->current.secret);
    size_t len;

    if (n < 0 || (size_t)n >= cap)
        return 0;
    len = (size_t)n;
    if (ring->previous.num >= 0) {
        n = snprintf(buf + len, cap - len, "key %d %lld %s\n", ring->previous.num,
                     (long long)ring->previous.created, ring->previous.secret);
        if (n < 0 || (size_t)n >= cap - len)
            return 0;
        len += (size_t)n;
    }
    return len;
}

/* new_secret - BATV_SECRET_BYTES random bytes as hex into k->secret; 0 or -1 */
static int new_secret(batv_key *k)
{
    unsigned char b[BATV_SECRET_BYTES];
    size_t i;

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    for (i = 0; i < sizeof b; i++)
        snprintf(k->secret + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* key_path - <dir>/<domain>.key (suffix appended) into buf; 0 or -1 */
static int key_path(const char *dir, const char *domain, const char *suffix, char *buf,
                    size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s.key%s", dir, domain, suffix);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/*
 * ensure_dir - dir exists (made 0750 when missing). Made by root, it is
 * given to the owner of its parent (/var/lib/moat: the Exim user), so a
 * root moatctl never leaves a directory Exim cannot write.
 */
static int ensure_dir(const char *dir)
{
    struct stat st;
    char parent[4096];
    char *slash;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return -1;
    if (geteuid() == 0 && strlen(dir) < sizeof parent) {
        memcpy(parent, dir, strlen(dir) + 1);
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            if (stat(parent, &st) == 0 && chown(dir, st.st_uid, st.st_gid) != 0)
                return -1;
        }
    }
    return 0;
}

/*
 * write_temp - ring into a new file next to the key file, mode 0640; when
 * root, owned by the owner of dir (the Exim user). Its path in tmp.
 */
static int write_temp(const char *dir, const char *domain, const batv_keyring *ring, char *tmp,
                      size_t cap)
{
    char text[KEYFILE_MAX], suffix[32];
    size_t len = batv_keys_format(ring, domain, text, sizeof text);
    struct stat st;
    int fd;

    snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
    if (len == 0 || key_path(dir, domain, suffix, tmp, cap) != 0)
        return -1;
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return -1;
    if (fchmod(fd, 0640) != 0 ||
        (geteuid() == 0 && stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) != 0) ||
        write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    return close(fd);
}

/* read_ring - the key file at path; 0, 1 when absent, -1 when unreadable or broken */
static int read_ring(const char *path, batv_keyring *ring, const char **why)
{
    char text[KEYFILE_MAX];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        *why = "batv: cannot open the key file";
        return -1;
    }
    n = read(fd, text, sizeof text);
    close(fd);
    if (n < 0 || (size_t)n >= sizeof text || batv_keys_parse(text, (size_t)n, ring) != 0) {
        *why = "batv: the key file is not a moat batv key file";
        return -1;
    }
    return 0;
}

int batv_keys_load(const char *dir, const char *domain, int create, time_t now,
                   batv_keyring *ring, const char **why)
{
    char path[4096], tmp[4096];
    int r;

    *why = NULL;
    if (!batv_domain_ok(domain) || key_path(dir, domain, "", path, sizeof path) != 0) {
        *why = "batv: the domain is not usable as a key file name";
        return -1;
    }
    r = read_ring(path, ring, why);
    if (r != 1 || !create)
        return r;
    memset(ring, 0, sizeof *ring);
    ring->since = now;
    ring->current.num = 0;
    ring->current.created = now;
    ring->previous.num = -1;
    if (new_secret(&ring->current) != 0) {
        *why = "batv: no random bytes for a new key";
        return -1;
    }
    if (ensure_dir(dir) != 0 || write_temp(dir, domain, ring, tmp, sizeof tmp) != 0) {
        *why = "batv: cannot write a key file in the keys directory";
        return -1;
    }
    /* link() never replaces: a process that lost the race reads the winner's key. */
    r = link(tmp, path);
    unlink(tmp);
    if (r != 0 && errno != EEXIST) {
        *why = "batv: cannot create the key file";
        return -1;
    }
    return r == 0 ? 0 : read_ring(path, ring, why) == 0 ? 0 : -1;
}

int batv_keys_rotate(const char *dir, const char *domain, time_t now, batv_keyring *ring,
                     const char **why)
{
    char path[4096], tmp[4096];
    batv_keyring old;
    int r = batv_keys_load(dir, domain, 1, now, &old, why);

    if (r != 0)
        return -1;
    *ring = old;
    ring->previous = old.current;
    ring->current.num = (old.current.num + 1) % 10;
    ring->current.created = now;
    if (new_secret(&ring->current) != 0) {
        *why = "batv: no random bytes for a new key";
        return -1;
    }
    if (key_path(dir, domain, "", path, sizeof path) != 0 ||
        write_temp(dir, domain, ring, tmp, sizeof tmp) != 0) {
        *why = "batv: cannot write a key file in the keys directory";
        return -1;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        *why = "batv: cannot replace the key file";
        return -1;
    }
    return 0;
}

const char *batv_keys_secret(const batv_keyring *ring, int num, time_t now)
{
    if (num < 0 || num > 9)
        return NULL;
    if (ring->current.num == num)
        return ring->current.secret;
    if (ring->previous.num == num && now - ring->current.created < BATV_PREVIOUS_VALID)
        return ring->previous.secret;
    return NULL;
}
