/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pwhash.h - a short keyed hash of a failed password, so that the same
 * wrong password retried counts once. HMAC-SHA256 with a per-install
 * secret, truncated to 64 bits: never the password, never reversible
 * without the secret, never logged.
 */
#ifndef MOAT_AUTHLOCK_PWHASH_H
#define MOAT_AUTHLOCK_PWHASH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

#define PWHASH_HEX 17   /* 16 hex digits and a NUL */
#define PWHASH_SECRET_LEN 32

/*
 * pwhash_secret - the per-install secret from path, created (32 random
 * bytes, mode 0600) on first use; 0, or -1 with err.
 */
int pwhash_secret(const char *path, unsigned char *secret, size_t len, char *err, size_t errlen);

/* pwhash - hex of HMAC-SHA256(secret, user NUL password), first 8 bytes */
void pwhash(const unsigned char *secret, size_t secret_len, const char *user,
            const char *password, char out[PWHASH_HEX]);

/*
 * pwhash_install_secret - this process's copy of the secret at path (read
 * or created once per process); NULL, with one log line per process, when
 * it cannot be had: every wrong password then counts.
 */
const unsigned char *pwhash_install_secret(const char *path);

/*
 * pwhash_repeated - whether this wrong password of user already failed from
 * ip within the window (and remember it if not): 1/0, -1 on a store error.
 * Kept as a set "authlock:pw:<user>:<ip>" of truncated keyed hashes.
 */
int pwhash_repeated(moat_store *st, const unsigned char *secret, const char *user,
                    const char *ip, const char *password, uint32_t window, time_t now);

#endif
