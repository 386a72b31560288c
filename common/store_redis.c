/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_redis.c - the shared state store: Redis or Valkey through hiredis,
 * for several MX hosts that must see the same counters.
 *
 * Counters are hashes of slot epoch -> count, sets are sorted sets scored
 * by time, values are strings; every key gets a TTL, every multi-step
 * update is one Lua script (atomic on the server). Connect and command
 * timeouts are short; after any failure the connection is dropped and the
 * next call reconnects, so a Redis outage costs each call at most one
 * timeout and never a retry loop.
 *
 * With Sentinel (sentinels + master_name), each connection begins by asking
 * the sentinels, in order, for the master's address, and checks with ROLE
 * that the server there is the master: a failover is followed at the next
 * connection, which every failure (refused, timeout, READONLY) brings.
 * TLS when the build's hiredis has hiredis_ssl (MOAT_HIREDIS_SSL).
 */
#include "store_internal.h"

#include <fcntl.h>
#include <hiredis.h>
#include <openssl/evp.h>
#ifdef MOAT_HIREDIS_SSL
#include <hiredis_ssl.h>
#endif
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

/*
 * KEYS[1] counter; ARGV slot_len, epoch, n, slots, ttl. Returns the window's
 * count. A key of another kind, or with another slot length, counts as absent.
 */
static const char counter_script[] =
    "local k, len, cur, n, slots, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]),"
    " tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "if redis.call('TYPE', k).ok ~= 'hash' or redis.call('HGET', k, 'len') ~= len then\n"
    "  if n == 0 then return 0 end\n"
    "  redis.call('DEL', k)\n"
    "  redis.call('HSET', k, 'len', len)\n"
    "end\n"
    "if n > 0 then redis.call('HINCRBY', k, cur, n) end\n"
    "local all = redis.call('HGETALL', k)\n"
    "local total = 0\n"
    "for i = 1, #all, 2 do\n"
    "  if all[i] ~= 'len' then\n"
    "    local e = tonumber(all[i])\n"
    "    if e <= cur - slots then\n"
    "      if n > 0 then redis.call('HDEL', k, all[i]) end\n"
    "    elseif e <= cur then total = total + tonumber(all[i + 1]) end\n"
    "  end\n"
    "end\n"
    "if n > 0 then redis.call('EXPIRE', k, ttl) end\n"
    "return total\n";

/* KEYS[1] set; ARGV now, window, member (absent: read only). Returns the live count. */
static const char distinct_script[] =
    "local k, now, win = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local t = redis.call('TYPE', k).ok\n"
    "if t ~= 'zset' and t ~= 'none' then\n"
    "  if not ARGV[3] then return 0 end\n"
    "  redis.call('DEL', k)\n"
    "end\n"
    "if ARGV[3] then\n"
    "  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)\n"
    "  redis.call('ZADD', k, now, ARGV[3])\n"
    "  redis.call('EXPIRE', k, win)\n"
    "  return redis.call('ZCARD', k)\n"
    "end\n"
    "return redis.call('ZCOUNT', k, '(' .. (now - win), '+inf')\n";

/*
 * Values: KEYS[1]; ARGV now, server ttl, the 8-byte expiry to store. A live
 * value is a string of at least 8 bytes whose expiry is after now.
 */
#define LIVE_VALUE_LUA \
    "local function live(k, now)\n" \
    "  local v = redis.pcall('GET', k)\n" \
    "  if type(v) ~= 'string' or #v < 8 then return nil end\n" \
    "  local e = 0\n" \
    "  for i = 1, 8 do e = e * 256 + string.byte(v, i) end\n" \
    "  if e <= now then return nil end\n" \
    "  return string.sub(v, 9)\n" \
    "end\n" \
    "local function put(k, ttl, body)\n" \
    "  if ttl <= 0 then redis.call('DEL', k)\n" \
    "  else redis.call('SET', k, ARGV[3] .. body, 'EX', ttl) end\n" \
    "end\n"

/* value_add: ARGV[4] the delta. Returns the sum (within +-(2^53 - 1), exact in Lua). */
static const char add_script[] =
    LIVE_VALUE_LUA
    "local k, now, ttl, max = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 9007199254740991\n"
    "local body, n = live(k, now), 0\n"
    "if body and #body <= 19 and string.match(body, '^%-?%d+$') then n = tonumber(body) end\n"
    "n = math.max(-max, math.min(max, math.max(-max, math.min(max, n)) + tonumber(ARGV[4])))\n"
    "put(k, ttl, string.format('%d', n))\n"
    "return n\n";

/* swap: ARGV[4] '0' (only when no live value) or '1' (only when it is ARGV[5]), ARGV[6] new */
static const char swap_script[] =
    LIVE_VALUE_LUA
    "local k, now, ttl = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local body = live(k, now)\n"
    "if ARGV[4] == '0' then\n"
    "  if body then return 0 end\n"
    "elseif body ~= ARGV[5] then return 0 end\n"
    "put(k, ttl, ARGV[6])\n"
    "return 1\n";

#define EVAL_ARGS_MAX 6

typedef struct redis_state {
    redisContext *ctx;
    char counter_sha[41];
    char distinct_sha[41];
    char where[300];       /* the server, for error lines: host:port or the socket */
    char add_sha[41];
    char swap_sha[41];
} redis_state;

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

/*
 * A write to a socket the server has closed raises SIGPIPE, which would kill
 * a process that does not ignore it: around each command it is blocked, and
 * one the command raised is discarded.
 */
typedef struct pipe_guard {
    sigset_t saved;
    int was_pending;
} pipe_guard;

static void pipe_guard_begin(pipe_guard *g)
{
    sigset_t block, pending;

    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    sigprocmask(SIG_BLOCK, &block, &g->saved);
}

static void pipe_guard_end(const pipe_guard *g)
{
    static const struct timespec no_wait = {0, 0};
    sigset_t pipe, pending;

    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigtimedwait(&pipe, NULL, &no_wait);
    }
    sigprocmask(SIG_SETMASK, &g->saved, NULL);
}

/* command - redisCommand under the SIGPIPE guard */
static redisReply *command(redisContext *ctx, const char *fmt, ...)
{
    pipe_guard g;
    va_list ap;
    void *r;

    pipe_guard_begin(&g);
    va_start(ap, fmt);
    r = redisvCommand(ctx, fmt, ap);
    va_end(ap);
    pipe_guard_end(&g);
    return r;
}

/* command_argv - redisCommandArgv under the SIGPIPE guard */
static redisReply *command_argv(redisContext *ctx, int argc, const char **argv,
                                const size_t *lens)
{
    pipe_guard g;
    void *r;

    pipe_guard_begin(&g);
    r = redisCommandArgv(ctx, argc, argv, lens);
    pipe_guard_end(&g);
    return r;
}

/* wrong_type - a reply saying the key holds another kind of data */
static int wrong_type(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) == 0;
}

static void redis_drop(moat_store *st, int after_fork)
{
    redis_state *rs = st->impl;

    (void)after_fork;   /* closing the child's copy of the socket leaves the parent's intact */
    if (rs == NULL)
        return;
    if (rs->ctx)
        redisFree(rs->ctx);
    free(rs);
    st->impl = NULL;
}

/* broken - forget the connection after a failure; the next call reconnects */
static store_status broken(moat_store *st, const char *what, redisReply *reply)
{
    redis_state *rs = st->impl;
    const char *why = reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                    : rs && rs->ctx && rs->ctx->err ? rs->ctx->errstr
                                                    : "unexpected reply";

    if (rs && rs->where[0])
        store_fail(st, "redis %s: %s: %s", rs->where, what, why);
    else if (st->cfg.redis_socket[0])
        store_fail(st, "redis %s: %s: %s", st->cfg.redis_socket, what, why);
    else
        store_fail(st, "redis %s:%d: %s: %s", st->cfg.redis_host, st->cfg.redis_port, what,
                   why);
    if (reply)
        freeReplyObject(reply);
    redis_drop(st, 0);
    return STORE_ERROR;
}

/* load_script - SCRIPT LOAD body into sha */
static int load_script(moat_store *st, const char *body, char *sha)
{
    redis_state *rs = st->impl;
    redisReply *r = command(rs->ctx, "SCRIPT LOAD %s", body);

    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len != 40) {
        broken(st, "SCRIPT LOAD", r);
        return -1;
    }
    memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return 0;
}

/*
 * script_sha - the name Redis gives body (the hex SHA1 of its text), found
 * here: a new connection then loads no script (four round trips in every
 * Exim process that uses the store); a server that lacks one answers the
 * first EVALSHA with NOSCRIPT, and eval_len loads it then. 0, or -1 when
 * this libcrypto has no SHA1 (the caller loads the script instead).
 */
static int script_sha(const char *body, char *sha)
{
    static const char hex[] = "0123456789abcdef";
    static EVP_MD *sha1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (sha1 == NULL && (sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
        return -1;
    if (EVP_Digest(body, strlen(body), md, &mdlen, sha1, NULL) != 1 || mdlen != 20)
        return -1;
    for (size_t i = 0; i < mdlen; i++) {
        sha[2 * i] = hex[md[i] >> 4];
        sha[2 * i + 1] = hex[md[i] & 15];
    }
    sha[40] = '\0';
    return 0;
}

/* name_script - body's name into sha: computed, or else loaded; 0, or -1 */
static int name_script(moat_store *st, const char *body, char *sha)
{
    return script_sha(body, sha) == 0 ? 0 : load_script(st, body, sha);
}

#ifdef MOAT_HIREDIS_SSL
static redisSSLContext *tls_ctx;   /* one per process, kept for its life */
#endif

/*
 * open_ctx - a connection to host:port (or the unix socket), close-on-exec,
 * with the command timeout and, when configured, TLS; NULL with *why set
 * (a static text, or ctx_err filled from the failed context)
 */
static redisContext *open_ctx(const moat_store *st, const char *host, int port,
                              const char *socket, const char **why, char *ctx_err, size_t cap)
{
    struct timeval ctv = ms_to_tv(st->cfg.connect_timeout_ms);
    struct timeval rtv = ms_to_tv(st->cfg.command_timeout_ms);
    redisContext *ctx = socket && *socket ? redisConnectUnixWithTimeout(socket, ctv)
                                          : redisConnectWithTimeout(host, port, ctv);

    *why = "connect: out of memory";
    if (ctx == NULL)
        return NULL;
    if (ctx->err) {
        snprintf(ctx_err, cap, "connect: %s", ctx->errstr);
        *why = ctx_err;
        redisFree(ctx);
        return NULL;
    }
    if (fcntl(ctx->fd, F_SETFD, FD_CLOEXEC) != 0 || redisSetTimeout(ctx, rtv) != REDIS_OK) {
        *why = "socket options";
        redisFree(ctx);
        return NULL;
    }
#ifdef MOAT_HIREDIS_SSL
    if (st->cfg.redis_tls) {
        redisSSLContextError e = REDIS_SSL_CTX_NONE;

        if (tls_ctx == NULL) {
            redisInitOpenSSL();
            tls_ctx = redisCreateSSLContext(
                st->cfg.tls_ca_file[0] ? st->cfg.tls_ca_file : NULL, NULL,
                st->cfg.tls_cert_file[0] ? st->cfg.tls_cert_file : NULL,
                st->cfg.tls_key_file[0] ? st->cfg.tls_key_file : NULL,
                st->cfg.tls_server_name[0] ? st->cfg.tls_server_name : NULL, &e);
        }
        if (tls_ctx == NULL) {
            snprintf(ctx_err, cap, "TLS set-up: %s", redisSSLContextGetError(e));
            *why = ctx_err;
            redisFree(ctx);
            return NULL;
        }
        if (redisInitiateSSLWithContext(ctx, tls_ctx) != REDIS_OK) {
            snprintf(ctx_err, cap, "TLS: %s", ctx->errstr);
            *why = ctx_err;
            redisFree(ctx);
            return NULL;
        }
    }
#else
    if (st->cfg.redis_tls) {
        *why = "TLS: this build has no TLS for Redis (hiredis without hiredis_ssl)";
        redisFree(ctx);
        return NULL;
    }
#endif
    return ctx;
}

/* auth - AUTH [user] password on ctx when a password is set; the reply's error, or NULL */
static int auth(redisContext *ctx, const char *user, const char *password, redisReply **err)
{
    redisReply *r;

    *err = NULL;
    if (password[0] == '\0')
        return 0;
    r = user[0] ? command(ctx, "AUTH %s %s", user, password) : command(ctx, "AUTH %s", password);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        *err = r;
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/*
 * ask_sentinels - the master's address from the first sentinel that knows
 * it (SENTINEL get-master-addr-by-name); 0, or -1 with the store's error set
 */
static int ask_sentinels(moat_store *st, char *host, size_t cap, int *port)
{
    char last[200] = "no sentinel configured", ctx_err[160];
    int i;

    for (i = 0; i < st->cfg.sentinel_count; i++) {
        const char *sh = st->cfg.sentinels[i].host, *why;
        int sp = st->cfg.sentinels[i].port;
        redisContext *ctx = open_ctx(st, sh, sp, NULL, &why, ctx_err, sizeof ctx_err);
        redisReply *r = NULL;

        if (ctx == NULL) {
            snprintf(last, sizeof last, "sentinel %s:%d: %s", sh, sp, why);
            continue;
        }
        if (auth(ctx, st->cfg.sentinel_username, st->cfg.sentinel_password, &r) != 0) {
            snprintf(last, sizeof last, "sentinel %s:%d: AUTH: %.100s", sh, sp,
                     r ? r->str : ctx->errstr);
        } else if ((r = command(ctx, "SENTINEL get-master-addr-by-name %s",
                                st->cfg.master_name)) == NULL ||
                   r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                   r->element[0]->type != REDIS_REPLY_STRING ||
                   r->element[1]->type != REDIS_REPLY_STRING ||
                   r->element[0]->len == 0 || r->element[0]->len >= cap) {
            snprintf(last, sizeof last, "sentinel %s:%d: %.100s", sh, sp,
                     r == NULL                          ? ctx->errstr
                     : r->type == REDIS_REPLY_ERROR     ? r->str
                     : r->type == REDIS_REPLY_NIL       ? "does not know the master name"
                                                        : "unexpected reply");
        } else {
            long p = strtol(r->element[1]->str, NULL, 10);
            if (p > 0 && p < 65536) {
                memcpy(host, r->element[0]->str, r->element[0]->len + 1);
                *port = (int)p;
                freeReplyObject(r);
                redisFree(ctx);
                return 0;
            }
            snprintf(last, sizeof last, "sentinel %s:%d: a master port of '%.10s'", sh, sp,
                     r->element[1]->str);
        }
        if (r)
            freeReplyObject(r);
        redisFree(ctx);
    }
    store_fail(st, "redis master %s: %s", st->cfg.master_name, last);
    return -1;
}

/*
 * check_master - ROLE says "master" (a sentinel's answer may lag a
 * failover): 0, or -1 with the store's error set
 */
static int check_master(moat_store *st, redis_state *rs)
{
    redisReply *r = command(rs->ctx, "ROLE");
    int yes = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;

    if (!yes && r && r->type == REDIS_REPLY_ERROR)
        store_fail(st, "redis %s: ROLE: %.120s (the ACL user needs +role)", rs->where, r->str);
    else if (!yes && r == NULL)
        store_fail(st, "redis %s: ROLE: %s", rs->where, rs->ctx->errstr);
    else if (!yes)
        store_fail(st, "redis %s: named master of %s by a sentinel, but not a master (a "
                   "failover under way)", rs->where, st->cfg.master_name);
    if (r)
        freeReplyObject(r);
    return yes ? 0 : -1;
}

/* conn - the connection of this process, connecting on first use */
static redis_state *conn(moat_store *st)
{
    redis_state *rs = st->impl;
    char host[256], ctx_err[160];
    const char *why;
    int port = st->cfg.redis_port;
    redisReply *r;

    if (rs && rs->ctx)
        return rs;
    if (rs == NULL && (rs = st->impl = calloc(1, sizeof *rs)) == NULL) {
        store_fail(st, "redis: out of memory");
        return NULL;
    }
    snprintf(host, sizeof host, "%s", st->cfg.redis_host);
    if (st->cfg.sentinel_count > 0 && ask_sentinels(st, host, sizeof host, &port) != 0) {
        redis_drop(st, 0);
        return NULL;
    }
    if (st->cfg.sentinel_count == 0 && st->cfg.redis_socket[0])
        snprintf(rs->where, sizeof rs->where, "%s", st->cfg.redis_socket);
    else
        snprintf(rs->where, sizeof rs->where, "%s:%d", host, port);
    rs->ctx = open_ctx(st, host, port, st->cfg.sentinel_count ? NULL : st->cfg.redis_socket,
                       &why, ctx_err, sizeof ctx_err);
    if (rs->ctx == NULL) {
        store_fail(st, "redis %s: %s", rs->where, why);
        redis_drop(st, 0);
        return NULL;
    }
    if (auth(rs->ctx, st->cfg.redis_username, st->cfg.redis_password, &r) != 0) {
        broken(st, "AUTH", r);
        return NULL;
    }
    if (st->cfg.sentinel_count > 0 && check_master(st, rs) != 0) {
        redis_drop(st, 0);
        return NULL;
    }
    if (st->cfg.redis_db) {
        r = command(rs->ctx, "SELECT %d", st->cfg.redis_db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            broken(st, "SELECT", r);
            return NULL;
        }
        freeReplyObject(r);
    }
    /* the scripts are named when first run (eval_len): a connection that
     * runs none - most Exim processes - never starts libcrypto, whose
     * first digest costs millions of instructions (OpenSSL 3's providers) */
    rs->counter_sha[0] = rs->distinct_sha[0] = rs->add_sha[0] = rs->swap_sha[0] = '\0';
    return rs;
}

/* full_key - the configured prefix and key */
static void full_key(const moat_store *st, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", st->cfg.redis_prefix, key);
}

/*
 * eval_len - EVALSHA with one key and arguments of the given lengths (NULL:
 * C strings), reloading the script once if the server lost it
 */
static redisReply *eval_len(moat_store *st, const char *body, char *sha, const char *key,
                            int argc, const char **argv, const size_t *argl)
{
    redis_state *rs = st->impl;
    const char *args[4 + EVAL_ARGS_MAX];
    size_t lens[4 + EVAL_ARGS_MAX];
    redisReply *r;
    int i, attempt;

    args[0] = "EVALSHA";
    args[2] = "1";
    args[3] = key;
    if (argc > EVAL_ARGS_MAX)
        return NULL;
    if (sha[0] == '\0' && name_script(st, body, sha) != 0)
        return NULL;
    for (i = 0; i < argc; i++)
        args[4 + i] = argv[i];
    for (attempt = 0; attempt < 2; attempt++) {
        args[1] = sha;
        for (i = 0; i < 4 + argc; i++)
            lens[i] = i >= 4 && argl ? argl[i - 4] : strlen(args[i]);
        r = command_argv(rs->ctx, 4 + argc, args, lens);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
            attempt == 0) {
            freeReplyObject(r);
            if (load_script(st, body, sha) != 0)
                return NULL;
            continue;
        }
        return r;
    }
    return NULL;
}

static redisReply *eval(moat_store *st, const char *body, char *sha, const char *key,
                        int argc, const char **argv)
{
    return eval_len(st, body, sha, key, argc, argv, NULL);
}

static store_status redis_counter_add(moat_store *st, const char *key, uint32_t window_s,
                                      uint32_t n, time_t now, uint64_t *total)
{
    redis_state *rs = conn(st);
    uint32_t slot_len = store_slot_len(window_s);
    char k[STORE_KEY_MAX + 80], a_len[16], a_cur[24], a_n[16], a_slots[8], a_ttl[16];
    const char *argv[5] = {a_len, a_cur, a_n, a_slots, a_ttl};
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    snprintf(a_len, sizeof a_len, "%u", slot_len);
    snprintf(a_cur, sizeof a_cur, "%lld", (long long)(now / slot_len));
    snprintf(a_n, sizeof a_n, "%u", n);
    snprintf(a_slots, sizeof a_slots, "%d", MOAT_WINDOW_SLOTS);
    snprintf(a_ttl, sizeof a_ttl, "%u", window_s + slot_len);
    r = eval(st, counter_script, rs->counter_sha, k, 5, argv);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return broken(st, "counter", r);
    *total = r->integer > 0 ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_distinct_add(moat_store *st, const char *key, const char *member,
                                       uint32_t window_s, time_t now, uint64_t max,
                                       uint64_t *distinct)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80], a_now[24], a_win[16];
    const char *argv[3] = {a_now, a_win, member};
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    snprintf(a_now, sizeof a_now, "%lld", (long long)now);
    snprintf(a_win, sizeof a_win, "%u", window_s);
    r = eval(st, distinct_script, rs->distinct_sha, k, member ? 3 : 2, argv);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return broken(st, "set", r);
    *distinct = r->integer > 0 ? (uint64_t)r->integer : 0;
    if (*distinct > max)
        *distinct = max;
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_contains(moat_store *st, const char *key, const char *member,
                                   uint32_t window_s, time_t now)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80];
    redisReply *r;
    store_status result = STORE_NOTFOUND;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    r = command(rs->ctx, "ZSCORE %s %s", k, member);
    if (wrong_type(r)) {
        freeReplyObject(r);
        return STORE_NOTFOUND;
    }
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return broken(st, "ZSCORE", r);
    if (r->type == REDIS_REPLY_STRING && strtoll(r->str, NULL, 10) > (long long)now - window_s)
        result = STORE_OK;
    freeReplyObject(r);
    return result;
}

/*
 * Values carry their absolute expiry in front (8 bytes, big-endian), so a
 * reader gets the expiry the writer set whatever the clocks of the MX hosts.
 */
/* redis_put - SET the value (NX: only when absent); *created says whether it was set */
static store_status redis_put(moat_store *st, const char *key, const void *value, size_t len,
                              uint32_t ttl_s, time_t now, int nx, int *created)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80];
    unsigned char *buf;
    int64_t expires = (int64_t)now + ttl_s, server_ttl;
    redisReply *r;
    int i;

    *created = 0;
    if (rs == NULL)
        return STORE_ERROR;
    if ((buf = malloc(len + 8)) == NULL)
        return store_fail(st, "redis: out of memory");
    for (i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)expires >> (56 - 8 * i));
    if (len)
        memcpy(buf + 8, value, len);
    full_key(st, key, k, sizeof k);
    /* The key lives until the absolute expiry by this host's clock. */
    server_ttl = expires - (int64_t)time(NULL);
    if (server_ttl > 0 && nx)
        r = command(rs->ctx, "SET %s %b NX EX %lld", k, buf, len + 8, (long long)server_ttl);
    else if (server_ttl > 0)
        r = command(rs->ctx, "SET %s %b EX %lld", k, buf, len + 8, (long long)server_ttl);
    else
        r = command(rs->ctx, nx ? "EXISTS %s" : "DEL %s", k);
    free(buf);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return broken(st, "SET", r);
    *created = r->type == REDIS_REPLY_STATUS;          /* "OK"; NX on a live key: nil */
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_set(moat_store *st, const char *key, const void *value, size_t len,
                              uint32_t ttl_s, time_t now)
{
    int created;

    return redis_put(st, key, value, len, ttl_s, now, 0, &created);
}

static store_status redis_set_new(moat_store *st, const char *key, const void *value,
                                  size_t len, uint32_t ttl_s, time_t now, int *created)
{
    return redis_put(st, key, value, len, ttl_s, now, 1, created);
}

/* value_head - the 8-byte big-endian expiry a value starts with, and the server's ttl for it */
static long long value_head(time_t now, uint32_t ttl_s, char head[8])
{
    int64_t expires = (int64_t)now + ttl_s;
    int i;

    for (i = 0; i < 8; i++)
        head[i] = (char)(unsigned char)((uint64_t)expires >> (56 - 8 * i));
    return (long long)(expires - (int64_t)time(NULL));   /* lives until then by this clock */
}

static store_status redis_value_add(moat_store *st, const char *key, int64_t delta,
                                    uint32_t ttl_s, time_t now, int64_t *result)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80], a_now[24], a_ttl[24], head[8], a_delta[24];
    const char *argv[4] = {a_now, a_ttl, head, a_delta};
    size_t argl[4];
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    snprintf(a_now, sizeof a_now, "%lld", (long long)now);
    snprintf(a_ttl, sizeof a_ttl, "%lld", value_head(now, ttl_s, head));
    snprintf(a_delta, sizeof a_delta, "%lld", (long long)delta);
    argl[0] = strlen(a_now);
    argl[1] = strlen(a_ttl);
    argl[2] = sizeof head;
    argl[3] = strlen(a_delta);
    r = eval_len(st, add_script, rs->add_sha, k, 4, argv, argl);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return broken(st, "add", r);
    *result = r->integer;
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_swap(moat_store *st, const char *key, const void *old, size_t old_len,
                               const void *value, size_t len, uint32_t ttl_s, time_t now,
                               int *swapped)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80], a_now[24], a_ttl[24], head[8];
    const char *argv[6] = {a_now, a_ttl, head, old ? "1" : "0", old ? old : "", value};
    size_t argl[6];
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    snprintf(a_now, sizeof a_now, "%lld", (long long)now);
    snprintf(a_ttl, sizeof a_ttl, "%lld", value_head(now, ttl_s, head));
    argl[0] = strlen(a_now);
    argl[1] = strlen(a_ttl);
    argl[2] = sizeof head;
    argl[3] = 1;
    argl[4] = old ? old_len : 0;
    argl[5] = len;
    r = eval_len(st, swap_script, rs->swap_sha, k, 6, argv, argl);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return broken(st, "swap", r);
    *swapped = r->integer == 1;
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_get(moat_store *st, const char *key, void *buf, size_t cap,
                              size_t *len, time_t *expires, time_t now)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80];
    uint64_t exp = 0;
    redisReply *r;
    int i;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    r = command(rs->ctx, "GET %s", k);
    if (wrong_type(r)) {
        freeReplyObject(r);
        return STORE_NOTFOUND;
    }
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return broken(st, "GET", r);
    if (r->type != REDIS_REPLY_STRING || r->len < 8) {
        freeReplyObject(r);
        return STORE_NOTFOUND;
    }
    for (i = 0; i < 8; i++)
        exp = exp << 8 | (unsigned char)r->str[i];
    if ((int64_t)exp <= (int64_t)now) {
        freeReplyObject(r);
        return STORE_NOTFOUND;
    }
    *expires = (time_t)exp;
    *len = r->len - 8;
    if (cap)
        memcpy(buf, r->str + 8, *len < cap ? *len : cap);
    freeReplyObject(r);
    return STORE_OK;
}

static store_status redis_get_first(moat_store *st, const char *const *keys, int n, int *which,
                                    time_t *expires, time_t now)
{
    redis_state *rs = conn(st);
    char k[STORE_GET_FIRST_MAX][STORE_KEY_MAX + 80];
    const char *argv[STORE_GET_FIRST_MAX + 1] = {"MGET"};
    size_t argl[STORE_GET_FIRST_MAX + 1] = {4};
    uint64_t exp;
    redisReply *r, *e;
    int i, j;

    if (rs == NULL)
        return STORE_ERROR;
    for (i = 0; i < n; i++) {
        full_key(st, keys[i], k[i], sizeof k[i]);
        argv[i + 1] = k[i];
        argl[i + 1] = strlen(k[i]);
    }
    r = command_argv(rs->ctx, n + 1, argv, argl);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n)
        return broken(st, "MGET", r);
    *which = -1;
    for (i = 0; i < n && *which < 0; i++) {
        /* (a key of another type answers nil to MGET: not a value) */
        e = r->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len < 8)
            continue;
        for (exp = 0, j = 0; j < 8; j++)
            exp = exp << 8 | (unsigned char)e->str[j];
        if ((int64_t)exp > (int64_t)now) {
            *which = i;
            *expires = (time_t)exp;
        }
    }
    freeReplyObject(r);
    return *which >= 0 ? STORE_OK : STORE_NOTFOUND;
}

static store_status redis_del(moat_store *st, const char *key)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80];
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    r = command(rs->ctx, "DEL %s", k);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return broken(st, "DEL", r);
    freeReplyObject(r);
    return STORE_OK;
}

/* prefix_pattern - a SCAN MATCH pattern for every key that begins with in */
static void prefix_pattern(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; *in && n + 4 < cap; in++) {
        if (strchr("*?[]\\", *in))
            out[n++] = '\\';
        out[n++] = *in;
    }
    out[n++] = '*';
    out[n] = '\0';
}

static store_status redis_scan(moat_store *st, const char *prefix, time_t now,
                               moat_store_scan_fn fn, void *arg)
{
    redis_state *rs = conn(st);
    char full[STORE_KEY_MAX + 80], pattern[2 * (STORE_KEY_MAX + 80) + 2];
    char cursor[32] = "0";
    size_t plen = strlen(st->cfg.redis_prefix);

    (void)now;   /* Redis expires keys itself */
    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, prefix, full, sizeof full);
    prefix_pattern(full, pattern, sizeof pattern);
    do {
        redisReply *r = command(rs->ctx, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        size_t i;

        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY)
            return broken(st, "SCAN", r);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (i = 0; i < r->element[1]->elements; i++) {
            const char *name = r->element[1]->element[i]->str;
            if (strlen(name) >= plen && fn(name + plen, arg) != 0) {
                freeReplyObject(r);
                return STORE_OK;
            }
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return STORE_OK;
}

static store_status redis_sweep(moat_store *st, time_t now, uint64_t *removed)
{
    (void)st;
    (void)now;
    *removed = 0;   /* every key carries a TTL: Redis sweeps itself */
    return STORE_OK;
}

/* redis_batch - nothing to group: each call is its own round trip */
static store_status redis_batch(moat_store *st)
{
    (void)st;
    return STORE_OK;
}

/*
 * redis_tally_add - INCRBY and EXPIRE sent together (one round trip); a
 * read is a GET. A key holding something else reads as 0 and is not added to.
 */
static store_status redis_tally_add(moat_store *st, const char *key, uint64_t n, time_t now,
                                    uint64_t *total)
{
    redis_state *rs = conn(st);
    char k[STORE_KEY_MAX + 80];
    redisReply *r = NULL, *r2 = NULL;
    pipe_guard g;
    int ok;

    (void)now;
    *total = 0;
    if (rs == NULL)
        return STORE_ERROR;
    full_key(st, key, k, sizeof k);
    if (n == 0) {
        r = command(rs->ctx, "GET %s", k);
        if (r == NULL || (r->type == REDIS_REPLY_ERROR && !wrong_type(r)))
            return broken(st, "GET", r);
        if (r->type == REDIS_REPLY_STRING)
            *total = strtoull(r->str, NULL, 10);
        freeReplyObject(r);
        return STORE_OK;
    }
    pipe_guard_begin(&g);
    ok = redisAppendCommand(rs->ctx, "INCRBY %s %llu", k, (unsigned long long)n) == REDIS_OK &&
         redisAppendCommand(rs->ctx, "EXPIRE %s %ld", k, STORE_TALLY_TTL) == REDIS_OK &&
         redisGetReply(rs->ctx, (void **)&r) == REDIS_OK &&
         redisGetReply(rs->ctx, (void **)&r2) == REDIS_OK;
    pipe_guard_end(&g);
    if (r2)
        freeReplyObject(r2);
    if (ok && r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ERR", 3) == 0) {
        freeReplyObject(r);                            /* not a number: another kind of key */
        return STORE_OK;
    }
    if (!ok || r == NULL || r->type != REDIS_REPLY_INTEGER)
        return broken(st, "INCRBY", r);
    *total = r->integer > 0 ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    return STORE_OK;
}

/* info_field - the number after "name:" in an INFO reply, 0 when absent */
static uint64_t info_field(const char *info, const char *name)
{
    size_t nl = strlen(name);
    const char *p;

    for (p = info; (p = strstr(p, name)) != NULL; p += nl)
        if ((p == info || p[-1] == '\n') && p[nl] == ':')
            return strtoull(p + nl + 1, NULL, 10);
    return 0;
}

/* redis_usage - INFO memory: used_memory against maxmemory (0: no limit) */
static store_status redis_usage(moat_store *st, uint64_t *used, uint64_t *limit)
{
    redis_state *rs = conn(st);
    redisReply *r;

    if (rs == NULL)
        return STORE_ERROR;
    r = command(rs->ctx, "INFO memory");
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        return broken(st, "INFO", r);
    *used = info_field(r->str, "used_memory");
    *limit = info_field(r->str, "maxmemory");
    freeReplyObject(r);
    return STORE_OK;
}

const store_ops moat_backend_redis_v1 = {
    "redis",
    redis_drop,
    redis_counter_add,
    redis_distinct_add,
    redis_contains,
    redis_set,
    redis_set_new,
    redis_value_add,
    redis_swap,
    redis_get,
    redis_get_first,
    redis_del,
    redis_scan,
    redis_sweep,
    redis_batch,
    redis_batch,
    redis_tally_add,
    redis_usage,
};
