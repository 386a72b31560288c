/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory_ldap.c - recipient lookups in LDAP / Active Directory.
 *
 * One connection per process, opened on first use (simple bind, optional
 * StartTLS with its own CA file, network and search timeouts, the URIs
 * tried in order). A connection that dropped while idle is reopened once.
 *
 * Answers are cached in the store under "rcpt:ldap:<address>" as
 * "<1|0> <fresh-until>" (positive and negative answers with their own
 * TTLs), kept for the TTL + stale_max: a fresh entry is served without
 * asking LDAP; when LDAP fails, a stale positive is served (a stale
 * negative only with stale_negative = true: a user created since must not
 * be refused); with neither, the answer is TEMPFAIL (defer), never accept
 * and never reject.
 *
 * After a failure, "rcpt:ldap-down" in the store tells every Exim process
 * (and, with Redis, every MX host) to leave LDAP alone for retry_after, so
 * a dead server costs one timeout, not one per connection.
 */
#define LDAP_DEPRECATED 0
#include "directory_ldap.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ldap_filter.h"
#include "log.h"
#include "rcpt.h"
#include "store_keys.h"

#define LDAP_DOWN_KEY rcpt_key_prefix(RCPT_KEY_LDAP_DOWN)

static LDAP *conn;
static pid_t conn_pid;
static time_t down_until;   /* this process's copy of the shared marker */

/* read_password - the bind password from its file (first line) */
static int read_password(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    out[0] = '\0';
    if (fd < 0)
        return -1;
    n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static void drop_conn(void)
{
    if (conn && conn_pid == getpid())
        ldap_unbind_ext_s(conn, NULL, NULL);
    conn = NULL;
}

/* connect_ldap - open and bind; NULL with a logged reason on failure */
static LDAP *connect_ldap(cfg_t *sec)
{
    char uris[2048] = "", pw[256];
    const char *binddn = moat_cfg_str(sec, "bind_dn");
    const char *pwfile = moat_cfg_str(sec, "password_file");
    struct timeval tv = {moat_cfg_int(sec, "timeout"), 0};
    struct berval cred;
    int version = LDAP_VERSION3, rc;
    unsigned i;
    LDAP *ld = NULL;

    if (conn && conn_pid == getpid())
        return conn;
    conn = NULL;
    for (i = 0; i < moat_cfg_count(sec, "uri"); i++) {
        size_t used = strlen(uris);
        snprintf(uris + used, sizeof uris - used, "%s%s", used ? " " : "",
                 moat_cfg_nstr(sec, "uri", i));
    }
    if ((rc = ldap_initialize(&ld, uris)) != LDAP_SUCCESS) {
        moat_log(MOAT_LOG_ERROR, "moat rcpt: ldap %s: %s", uris, ldap_err2string(rc));
        return NULL;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    if (moat_cfg_bool(sec, "starttls")) {
        const char *ca = moat_cfg_str(sec, "tls_ca_file");
        int newctx = 0;
        if (ca && *ca) {
            ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca);
            ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
        }
        if ((rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS)
            goto fail;
    }
    if (pwfile && *pwfile && read_password(pwfile, pw, sizeof pw) != 0) {
        moat_log(MOAT_LOG_ERROR, "moat rcpt: ldap: cannot read %s: %s", pwfile, strerror(errno));
        ldap_unbind_ext_s(ld, NULL, NULL);
        return NULL;
    }
    if (binddn && *binddn) {
        cred.bv_val = pw;
        cred.bv_len = strlen(pw);
        rc = ldap_sasl_bind_s(ld, binddn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
        memset(pw, 0, sizeof pw);
        if (rc != LDAP_SUCCESS)
            goto fail;
    }
    conn = ld;
    conn_pid = getpid();
    return conn;

fail:
    moat_log(MOAT_LOG_ERROR, "moat rcpt: ldap %s: %s", uris, ldap_err2string(rc));
    ldap_unbind_ext_s(ld, NULL, NULL);
    return NULL;
}

/* ask_ldap - RCPT_DIR_FOUND/NOTFOUND, or TEMPFAIL when LDAP could not answer */
static int ask_ldap(cfg_t *sec, const char *address)
{
    char filter[2048];
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    struct timeval tv = {moat_cfg_int(sec, "timeout"), 0};
    LDAPMessage *res = NULL;
    LDAP *ld;
    int rc, found, reused;

    if (ldap_build_filter(moat_cfg_str(sec, "filter"), address, filter, sizeof filter) != 0) {
        moat_log_once("rcpt:ldapfilter", MOAT_LOG_ERROR,
                      "moat rcpt: ldap filter template cannot be expanded for %s", address);
        return RCPT_DIR_TEMPFAIL;
    }
    reused = conn != NULL && conn_pid == getpid();
    if ((ld = connect_ldap(sec)) == NULL)
        return RCPT_DIR_TEMPFAIL;
    rc = ldap_search_ext_s(ld, moat_cfg_str(sec, "base"), LDAP_SCOPE_SUBTREE, filter, attrs, 1,
                           NULL, NULL, &tv, 1, &res);
    if (reused && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR)) {
        /* The server closed an idle connection (or restarted): one fresh try. */
        if (res)
            ldap_msgfree(res);
        res = NULL;
        drop_conn();
        if ((ld = connect_ldap(sec)) == NULL)
            return RCPT_DIR_TEMPFAIL;
        rc = ldap_search_ext_s(ld, moat_cfg_str(sec, "base"), LDAP_SCOPE_SUBTREE, filter, attrs,
                               1, NULL, NULL, &tv, 1, &res);
    }
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        moat_log(MOAT_LOG_ERROR, "moat rcpt: ldap search %s: %s", filter, ldap_err2string(rc));
        if (res)
            ldap_msgfree(res);
        drop_conn();
        return RCPT_DIR_TEMPFAIL;
    }
    found = ldap_count_entries(ld, res) > 0 || rc == LDAP_SIZELIMIT_EXCEEDED;
    ldap_msgfree(res);
    return found ? RCPT_DIR_FOUND : RCPT_DIR_NOTFOUND;
}

/* ldap_known_down - whether a recent failure (of any process) says not to try LDAP now */
static int ldap_known_down(moat_store *st, time_t now)
{
    char val[32];
    size_t len = 0;

    if (now < down_until)
        return 1;
    if (moat_store_get(st, LDAP_DOWN_KEY, val, sizeof val, &len, NULL, now) == STORE_OK) {
        down_until = now + 1;   /* re-read the marker at most once a second */
        return 1;
    }
    return 0;
}

/* ldap_mark_down - after a failure: nobody asks LDAP for retry_after seconds */
static void ldap_mark_down(moat_store *st, cfg_t *sec, time_t now)
{
    long retry = moat_cfg_int(sec, "retry_after");

    if (retry <= 0)
        return;
    down_until = now + retry;
    (void)moat_store_set(st, LDAP_DOWN_KEY, "1", 1, (uint32_t)retry, now);
}

int ldap_directory_lookup(moat_runtime *rt, cfg_t *sec, const char *address, time_t now)
{
    char key[600], val[64];
    int cached = -1, answer;
    long fresh_until = 0;
    uint32_t ttl;

    rcpt_key(key, sizeof key, RCPT_KEY_LDAP, address);
    if (moat_store_get_str(rt->store, key, val, sizeof val, NULL, now) == STORE_OK) {
        char *end;
        if ((val[0] == '0' || val[0] == '1') && val[1] == ' ') {
            fresh_until = strtol(val + 2, &end, 10);
            if (end != val + 2 && *end == '\0')
                cached = val[0] == '1';
        }
    }
    if (cached >= 0 && now < fresh_until)
        return cached ? RCPT_DIR_FOUND : RCPT_DIR_NOTFOUND;
    answer = ldap_known_down(rt->store, now) ? RCPT_DIR_TEMPFAIL : ask_ldap(sec, address);
    if (answer == RCPT_DIR_TEMPFAIL) {
        if (now >= down_until)
            ldap_mark_down(rt->store, sec, now);
        if (cached == 1 || (cached == 0 && moat_cfg_bool(sec, "stale_negative"))) {
            moat_log_once("rcpt:ldapstale", MOAT_LOG_WARN,
                          "moat rcpt: ldap unavailable, serving cached answers (first: %s)",
                          address);
            return cached ? RCPT_DIR_FOUND : RCPT_DIR_NOTFOUND;
        }
        return RCPT_DIR_TEMPFAIL;
    }
    if (down_until) {
        down_until = 0;
        (void)moat_store_del(rt->store, LDAP_DOWN_KEY);
    }
    ttl = (uint32_t)moat_cfg_int(sec, answer == RCPT_DIR_FOUND ? "cache_positive" : "cache_negative");
    snprintf(val, sizeof val, "%d %ld", answer == RCPT_DIR_FOUND, (long)(now + ttl));
    if (ttl > 0)
        (void)moat_store_set(rt->store, key, val, strlen(val),
                             ttl + (uint32_t)moat_cfg_int(sec, "stale_max"), now);
    return answer;
}
