/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pwhash.c - the keyed password hash and its secret file.
 */
#include "pwhash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "store_keys.h"

/* read_exact - len bytes of path into buf; 0 or -1 */
static int read_exact(const char *path, unsigned char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int pwhash_secret(const char *path, unsigned char *secret, size_t len, char *err, size_t errlen)
{
    char tmp[4200];
    int fd, attempt;

    if (read_exact(path, secret, len) == 0)
        return 0;
    if (getrandom(secret, len, 0) != (ssize_t)len) {
        snprintf(err, errlen, "no random bytes for %s: %s", path, strerror(errno));
        return -1;
    }
    /* Write a private temporary file, then link it into place: exactly one
     * process creates the secret, the others read the winner's. */
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write(fd, secret, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (link(tmp, path) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    unlink(tmp);
    for (attempt = 0; attempt < 3; attempt++)
        if (read_exact(path, secret, len) == 0)
            return 0;
    snprintf(err, errlen, "cannot read %s", path);
    return -1;
}

/*
 * keyed_mac - an HMAC-SHA256 context keyed with secret, kept between calls:
 * fetching the algorithm and keying it cost more than hashing a password.
 * NULL when OpenSSL cannot make one (the caller then hashes in one go).
 */
static EVP_MAC_CTX *keyed_mac(const unsigned char *secret, size_t secret_len)
{
    static EVP_MAC_CTX *ctx;
    static unsigned char keyed_with[64];
    static size_t keyed_len;
    OSSL_PARAM params[2];
    EVP_MAC *mac;

    if (ctx && keyed_len == secret_len && memcmp(keyed_with, secret, secret_len) == 0)
        return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 ? ctx : NULL;
    EVP_MAC_CTX_free(ctx);
    ctx = NULL;
    keyed_len = 0;
    if (secret_len > sizeof keyed_with || (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return NULL;
    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);   /* the context keeps its own reference */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_MAC_init(ctx, secret, secret_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
        return NULL;
    }
    memcpy(keyed_with, secret, secret_len);
    keyed_len = secret_len;
    return ctx;
}

void pwhash(const unsigned char *secret, size_t secret_len, const char *user,
            const char *password, char out[PWHASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char data[1024], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t ul = strlen(user), pl = strlen(password), n = 0, mdlen_z = 0, i;
    EVP_MAC_CTX *ctx;

    if (ul > 400)
        ul = 400;
    if (pl > sizeof data - ul - 1)
        pl = sizeof data - ul - 1;
    memcpy(data, user, ul);
    data[ul] = '\0';
    memcpy(data + ul + 1, password, pl);
    n = ul + 1 + pl;
    ctx = keyed_mac(secret, secret_len);
    if (ctx && EVP_MAC_update(ctx, data, n) == 1 &&
        EVP_MAC_final(ctx, md, &mdlen_z, sizeof md) == 1)
        mdlen = (unsigned int)mdlen_z;
    else
        HMAC(EVP_sha256(), secret, (int)secret_len, data, n, md, &mdlen);
    memset(data, 0, sizeof data);
    for (i = 0; i < 8; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[16] = '\0';
}

const unsigned char *pwhash_install_secret(const char *path)
{
    static unsigned char key[PWHASH_SECRET_LEN];
    static char loaded_from[4096];
    static int state;   /* 0 not tried, 1 loaded, -1 unavailable */
    char err[512];

    if (state != 0 && strcmp(loaded_from, path) == 0)
        return state == 1 ? key : NULL;
    snprintf(loaded_from, sizeof loaded_from, "%s", path);
    if (pwhash_secret(path, key, sizeof key, err, sizeof err) == 0) {
        state = 1;
        return key;
    }
    state = -1;
    moat_log_once("authlock:secret", MOAT_LOG_WARN,
                  "moat authlock: %s: every wrong password counts", err);
    return NULL;
}

int pwhash_repeated(moat_store *st, const unsigned char *secret, const char *user,
                    const char *ip, const char *password, uint32_t window, time_t now)
{
    char hash[PWHASH_HEX], key[STORE_KEY_MAX + 1];
    store_status seen;

    pwhash(secret, PWHASH_SECRET_LEN, user, password, hash);
    authlock_key_password(key, sizeof key, user, ip);
    seen = moat_store_distinct_contains(st, key, hash, window, now);
    /* Added again when seen: a phone retrying an old password keeps counting once. */
    if (seen == STORE_ERROR ||
        moat_store_distinct_add_max(st, key, hash, window, now, 1, NULL) != STORE_OK)
        return -1;
    return seen == STORE_OK;
}
