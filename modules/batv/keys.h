/*
 * keys.h - batv's secrets: one key file per domain, created on first use,
 * rotated by moatctl, copied as it is to every MX host of the domain.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * <keys>/<domain>.key, mode 0640, owned by the Exim user:
 *
 *   # moat batv keys for example.test ...
 *   since 1764700000
 *   key 3 1764700000 9f0c...        (current: key number, created, secret)
 *   key 2 1764000000 51aa...        (previous, valid for BATV_PREVIOUS_VALID
 *                                    after the current one was created)
 *
 * The key number is BATV's K digit (0-9); the secret is what Exim's
 * ${prvs} and ${prvscheck} are given. "since" is when signing began for
 * the domain (the start of the grace period).
 */
#ifndef MOAT_BATV_KEYS_H
#define MOAT_BATV_KEYS_H

#include <stddef.h>
#include <time.h>

#define BATV_SECRET_MAX 128                 /* hex characters */
#define BATV_SECRET_BYTES 32
/* Exim's tags carry the day they expire, 7 days ahead; a tag made just
 * before a rotation stays checkable until that day ends: 8 days. */
#define BATV_PREVIOUS_VALID (8L * 86400)

typedef struct batv_key {
    int num;                                /* 0..9, -1 = none */
    time_t created;
    char secret[BATV_SECRET_MAX + 1];
} batv_key;

typedef struct batv_keyring {
    time_t since;
    batv_key current;
    batv_key previous;                      /* num -1 when there is none */
} batv_keyring;

/* batv_keys_parse - a key file's text into ring; 0, or -1 when it is not one */
int batv_keys_parse(const char *text, size_t len, batv_keyring *ring);

/* batv_keys_format - ring as a key file for domain into buf; its length, 0 if it does not fit */
size_t batv_keys_format(const batv_keyring *ring, const char *domain, char *buf, size_t cap);

/* batv_domain_ok - whether domain is safe as a file name (a DNS name, no "/" or "..") */
int batv_domain_ok(const char *domain);

/*
 * batv_keys_load - the domain's ring from dir; with create, a new one
 * (key 0, since = now) when there is none yet, made atomically so that
 * concurrent processes agree on one secret. 0, 1 when absent (and not
 * created), -1 on an error (*why says what).
 */
int batv_keys_load(const char *dir, const char *domain, int create, time_t now,
                   batv_keyring *ring, const char **why);

/* batv_keys_rotate - a new current key, the old current one kept as previous; 0 or -1 */
int batv_keys_rotate(const char *dir, const char *domain, time_t now, batv_keyring *ring,
                     const char **why);

/*
 * batv_keys_secret - the secret for key number num at now: the current
 * key's, or the previous key's while it is still valid; NULL otherwise.
 */
const char *batv_keys_secret(const batv_keyring *ring, int num, time_t now);

#endif
