/*
 * pwhash.h - a short keyed hash of a failed password, so that the same
 * wrong password retried counts once. HMAC-SHA256 with a per-install
 * secret, truncated to 64 bits: never the password, never reversible
 * without the secret, never logged.
 */
#ifndef MOAT_AUTHLOCK_PWHASH_H
#define MOAT_AUTHLOCK_PWHASH_H

#include <stddef.h>

#define PWHASH_HEX 17   /* 16 hex digits and a NUL */

/*
 * pwhash_secret - the per-install secret from path, created (32 random
 * bytes, mode 0600) on first use; 0, or -1 with err.
 */
int pwhash_secret(const char *path, unsigned char *secret, size_t len, char *err, size_t errlen);

/* pwhash - hex of HMAC-SHA256(secret, user NUL password), first 8 bytes */
void pwhash(const unsigned char *secret, size_t secret_len, const char *user,
            const char *password, char out[PWHASH_HEX]);

#endif
