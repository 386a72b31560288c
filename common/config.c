/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c - loading and validating moat.conf with libconfuse.
 *
 * The root schema is assembled at load time from the common sections
 * (store, geoip, log) and the registered module schemas. libconfuse's
 * errors are captured (never printed: stderr is /dev/null inside Exim) and
 * returned as one line naming file, line and option.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

#define MAX_SECTIONS MOAT_MODULES_MAX
#define CONFIG_MAX_BYTES (1024L * 1024)

/* The first error libconfuse reports during one load (one load at a time). */
static char load_error[MOAT_ERR_MAX];
static const char *load_path;
static const cfg_opt_t *load_root;    /* the root options while a file is parsed */
static unsigned long loads;            /* configurations loaded by this process */

/* capture_error - libconfuse error callback: keep the first message */
/*
 * section_path - "catchall: probe" for a section nested in a module's
 * (libconfuse keeps no parent pointer: the parent is the one top-level
 * section whose options hold a section of that name), the name alone for a
 * top-level section, NULL for the root
 */
static const char *section_path(const cfg_t *cfg, char *out, size_t cap)
{
    const char *parent = NULL;
    size_t i, k;

    if (cfg == NULL || cfg->name == NULL || strcmp(cfg->name, "root") == 0)
        return NULL;
    for (i = 0; load_root && load_root[i].name; i++) {
        const cfg_opt_t *sub = load_root[i].subopts;
        if (load_root[i].type != CFGT_SEC || strcmp(load_root[i].name, cfg->name) == 0)
            continue;
        for (k = 0; sub && sub[k].name; k++)
            if (sub[k].type == CFGT_SEC && strcmp(sub[k].name, cfg->name) == 0)
                parent = parent ? "" : load_root[i].name;   /* "": more than one has it */
    }
    if (parent && *parent)
        snprintf(out, cap, "%s: %s%s%s%s", parent, cfg->name, cfg->title ? " \"" : "",
                 cfg->title ? cfg->title : "", cfg->title ? "\"" : "");
    else
        snprintf(out, cap, "%s%s%s%s", cfg->name, cfg->title ? " \"" : "",
                 cfg->title ? cfg->title : "", cfg->title ? "\"" : "");
    return out;
}

static void capture_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    char msg[MOAT_ERR_MAX], where[160];
    const char *file = load_path ? load_path                /* not libconfuse's "[buf]" */
                     : cfg && cfg->filename ? cfg->filename : "moat.conf";
    int line = cfg ? cfg->line : 0;
    const char *section = section_path(cfg, where, sizeof where);

    if (load_error[0])
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (line > 0)
        snprintf(load_error, sizeof load_error, "%s:%d: %s%s%s", file, line,
                 section ? section : "", section ? ": " : "", msg);
    else
        snprintf(load_error, sizeof load_error, "%s: %s%s%s", file,
                 section ? section : "", section ? ": " : "", msg);
}

int moat_parse_duration(const char *text, long *seconds)
{
    char *end;
    long n, mult = 1;

    if (text == NULL || !isdigit((unsigned char)*text))
        return -1;
    errno = 0;
    n = strtol(text, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case '\0': case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 7L * 86400; break;
    default: return -1;
    }
    if (*end && end[1] != '\0')
        return -1;
    if (n > 100L * 365 * 86400 / mult)
        return -1;
    *seconds = n * mult;
    return 0;
}

int moat_parse_size(const char *text, long *bytes)
{
    char *end;
    long n, mult = 1;

    if (text == NULL || !isdigit((unsigned char)*text))
        return -1;
    errno = 0;
    n = strtol(text, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case '\0': mult = 1; break;
    case 'k': case 'K': mult = 1024L; break;
    case 'm': case 'M': mult = 1024L * 1024; break;
    case 'g': case 'G': mult = 1024L * 1024 * 1024; break;
    default: return -1;
    }
    if (*end && end[1] != '\0')
        return -1;
    if (n > (1L << 44) / mult)
        return -1;
    *bytes = n * mult;
    return 0;
}

int moat_cfg_parse_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    long secs;

    if (moat_parse_duration(value, &secs) != 0) {
        cfg_error(cfg, "%s: '%s' is not a duration (e.g. 90s, 15m, 2h, 7d)", opt->name, value);
        return -1;
    }
    *(long *)result = secs;
    return 0;
}

int moat_cfg_parse_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    long bytes;

    if (moat_parse_size(value, &bytes) != 0) {
        cfg_error(cfg, "%s: '%s' is not a size (e.g. 64M, 1G)", opt->name, value);
        return -1;
    }
    *(long *)result = bytes;
    return 0;
}

int moat_cfg_parse_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result,
                        const char *choices)
{
    const char *p = choices;
    size_t vlen = strlen(value);
    long index = 0;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0) {
            *(long *)result = index;
            return 0;
        }
        index++;
        p += n + (bar ? 1 : 0);
    }
    cfg_error(cfg, "%s: '%s' is not one of %s", opt->name, value, choices);
    return -1;
}

int moat_cfg_parse_on_error(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "accept|defer");
}

int moat_cfg_parse_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "enforce|log-only");
}

static int parse_backend(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "lmdb|redis");
}

/* parse_level - the words are in moat_log_level order */
static int parse_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "error|warn|info|debug");
}

int moat_cfg_check_enum(cfg_t *cfg, cfg_opt_t *opt, const char *choices)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        const char *value = cfg_opt_getnstr(opt, i);
        const char *p = choices;
        size_t vlen = value ? strlen(value) : 0;
        int found = 0;

        while (value && *p) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n == vlen && strncmp(p, value, n) == 0)
                found = 1;
            p += n + (bar ? 1 : 0);
        }
        if (!found) {
            cfg_error(cfg, "%s: '%s' is not one of %s", opt->name, value ? value : "", choices);
            return -1;
        }
    }
    return 0;
}

int moat_cfg_check_range(cfg_t *cfg, cfg_opt_t *opt, long lo, long hi)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        long v = cfg_opt_getnint(opt, i);
        if (v < lo || v > hi) {
            cfg_error(cfg, "%s: %ld is outside %ld..%ld", opt->name, v, lo, hi);
            return -1;
        }
    }
    return 0;
}

int moat_cfg_check_length(cfg_t *cfg, cfg_opt_t *opt, size_t max)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        const char *v = cfg_opt_getnstr(opt, i);
        if (v && strlen(v) > max) {
            cfg_error(cfg, "%s: '%s' is %zu bytes, longer than the %zu allowed", opt->name, v,
                      strlen(v), max);
            return -1;
        }
    }
    return 0;
}

int moat_cfg_check_positive(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 1000000);
}

int moat_cfg_check_port(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 65535);
}

/* /0 would make every client one network: a few failures would lock out everyone */
int moat_cfg_check_v4_prefix(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 8, 32);
}

int moat_cfg_check_v6_prefix(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 16, 128);
}

int moat_cfg_check_networks(cfg_t *cfg, cfg_opt_t *opt)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        const char *v = cfg_opt_getnstr(opt, i);
        moat_cidr c;
        if (net_parse_cidr(v, &c) != 0) {
            cfg_error(cfg, "%s: '%s' is not an address or network (e.g. 192.0.2.0/24, "
                      "2001:db8::/32)", opt->name, v ? v : "");
            return -1;
        }
    }
    return 0;
}

void moat_cfg_validate_each(cfg_t *root, const char *section, const char *const *names,
                            size_t n, cfg_validate_callback_t fn)
{
    char name[128];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s|%s", section, names[i]);
        cfg_set_validate_func(root, name, fn);
    }
}

/* validate_db - a Redis database number (SELECT takes a 32-bit signed index) */
static int validate_db(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, INT32_MAX);
}

/* validate_prefix - what fits moat_store_config.redis_prefix: never silently cut */
static int validate_prefix(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_length(cfg, opt, sizeof ((moat_store_config *)0)->redis_prefix - 1);
}

static int validate_timeout_ms(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 60000);
}

static int validate_map_size(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1L << 20, 1L << 40);
}

/* source_quota: records one client may create a day outside the protected classes; 0 = off */
static int validate_source_quota(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, 100000000L);
}

static cfg_opt_t redis_opts[] = {
    CFG_STR("host", "127.0.0.1", CFGF_NONE),
    CFG_INT("port", 6379, CFGF_NONE),
    CFG_STR("socket", "", CFGF_NONE),
    CFG_STR("username", "", CFGF_NONE),
    CFG_STR("password_file", "", CFGF_NONE),
    CFG_INT("db", 0, CFGF_NONE),
    CFG_STR("prefix", "moat:", CFGF_NONE),
    CFG_INT("connect_timeout_ms", 50, CFGF_NONE),
    CFG_INT("command_timeout_ms", 100, CFGF_NONE),
    CFG_STR_LIST("sentinels", 0, CFGF_NONE),
    CFG_STR("master_name", "", CFGF_NONE),
    CFG_STR("sentinel_username", "", CFGF_NONE),
    CFG_STR("sentinel_password_file", "", CFGF_NONE),
    CFG_BOOL("tls", cfg_false, CFGF_NONE),
    CFG_STR("tls_ca_file", "", CFGF_NONE),
    CFG_STR("tls_cert_file", "", CFGF_NONE),
    CFG_STR("tls_key_file", "", CFGF_NONE),
    CFG_STR("tls_server_name", "", CFGF_NONE),
    CFG_END()
};

static cfg_opt_t store_opts[] = {
    MOAT_CFG_ENUM("backend", STORE_BACKEND_LMDB, parse_backend),
    CFG_STR("path", "/var/lib/moat", CFGF_NONE),
    MOAT_CFG_SIZE("map_size", 256L * 1024 * 1024),
    CFG_INT("source_quota", 5000, CFGF_NONE),
    CFG_SEC("redis", redis_opts, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t geoip_opts[] = {
    CFG_STR("country_db", "", CFGF_NONE),
    CFG_STR("asn_db", "", CFGF_NONE),
    CFG_END()
};

static cfg_opt_t log_opts[] = {
    MOAT_CFG_ENUM("level", MOAT_LOG_INFO, parse_level),
    CFG_BOOL("count", cfg_true, CFGF_NONE),
    CFG_END()
};

/* copy_str - bounded copy that always terminates */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* read_secret - first line of a file, without its newline */
static int read_secret(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/*
 * fill_sentinel - store { redis { sentinels, master_name, tls ... } }: each
 * sentinel a HOST:PORT (an address, or [v6]:port), a master name with them,
 * TLS only in a build whose hiredis has it (hiredis_ssl; not bookworm's)
 */
static int fill_sentinel(moat_config *c, cfg_t *redis, char *err, size_t errlen)
{
    moat_store_config *sc = &c->store;
    const char *spw = cfg_getstr(redis, "sentinel_password_file");
    unsigned i, n = cfg_size(redis, "sentinels");

    if (n > STORE_SENTINELS_MAX) {
        snprintf(err, errlen, "%s: store: redis: sentinels: at most %d", c->path,
                 STORE_SENTINELS_MAX);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *s = cfg_getnstr(redis, "sentinels", i);
        const char *colon = strrchr(s, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        size_t hl = colon ? (size_t)(colon - s) : 0;

        if (hl > 1 && s[0] == '[' && s[hl - 1] == ']') {
            s++;
            hl -= 2;
        }
        if (colon == NULL || hl == 0 || hl >= sizeof sc->sentinels[i].host || *end != '\0' ||
            port < 1 || port > 65535) {
            snprintf(err, errlen, "%s: store: redis: sentinels: '%s' is not HOST:PORT", c->path,
                     cfg_getnstr(redis, "sentinels", i));
            return -1;
        }
        memcpy(sc->sentinels[i].host, s, hl);
        sc->sentinels[i].host[hl] = '\0';
        sc->sentinels[i].port = (int)port;
    }
    sc->sentinel_count = (int)n;
    copy_str(sc->master_name, sizeof sc->master_name, cfg_getstr(redis, "master_name"));
    if ((n > 0) != (sc->master_name[0] != '\0')) {
        snprintf(err, errlen, "%s: store: redis: sentinels and master_name go together",
                 c->path);
        return -1;
    }
    copy_str(sc->sentinel_username, sizeof sc->sentinel_username,
             cfg_getstr(redis, "sentinel_username"));
    if (spw && *spw &&
        read_secret(spw, sc->sentinel_password, sizeof sc->sentinel_password, err, errlen) != 0)
        return -1;
    sc->redis_tls = cfg_getbool(redis, "tls") ? 1 : 0;
    copy_str(sc->tls_ca_file, sizeof sc->tls_ca_file, cfg_getstr(redis, "tls_ca_file"));
    copy_str(sc->tls_cert_file, sizeof sc->tls_cert_file, cfg_getstr(redis, "tls_cert_file"));
    copy_str(sc->tls_key_file, sizeof sc->tls_key_file, cfg_getstr(redis, "tls_key_file"));
    copy_str(sc->tls_server_name, sizeof sc->tls_server_name,
             cfg_getstr(redis, "tls_server_name"));
    if (sc->redis_tls && !moat_store_tls_available()) {
        snprintf(err, errlen, "%s: store: redis: tls = true, but this build of moat has no "
                 "TLS for Redis (its hiredis lacks hiredis_ssl, as on Debian bookworm): use a "
                 "unix socket or a TLS tunnel (stunnel, spiped), or a build on trixie",
                 c->path);
        return -1;
    }
    return 0;
}

/* fill_common - copy the store, geoip and log sections into the struct */
static int fill_common(moat_config *c, char *err, size_t errlen)
{
    cfg_t *store = cfg_getsec(c->cfg, "store");
    cfg_t *redis = cfg_getsec(store, "redis");
    cfg_t *geoip = cfg_getsec(c->cfg, "geoip");
    cfg_t *log = cfg_getsec(c->cfg, "log");
    const char *pwfile = cfg_getstr(redis, "password_file");
    moat_store_config *sc = &c->store;

    moat_store_config_defaults(sc);
    sc->backend = (store_backend)cfg_getint(store, "backend");
    copy_str(sc->path, sizeof sc->path, cfg_getstr(store, "path"));
    sc->map_size = (size_t)cfg_getint(store, "map_size");
    sc->source_quota = (uint32_t)cfg_getint(store, "source_quota");
    copy_str(sc->redis_host, sizeof sc->redis_host, cfg_getstr(redis, "host"));
    sc->redis_port = (int)cfg_getint(redis, "port");
    copy_str(sc->redis_socket, sizeof sc->redis_socket, cfg_getstr(redis, "socket"));
    copy_str(sc->redis_username, sizeof sc->redis_username, cfg_getstr(redis, "username"));
    sc->redis_db = (int)cfg_getint(redis, "db");
    copy_str(sc->redis_prefix, sizeof sc->redis_prefix, cfg_getstr(redis, "prefix"));
    sc->connect_timeout_ms = (int)cfg_getint(redis, "connect_timeout_ms");
    sc->command_timeout_ms = (int)cfg_getint(redis, "command_timeout_ms");
    if (pwfile && *pwfile &&
        read_secret(pwfile, sc->redis_password, sizeof sc->redis_password, err, errlen) != 0)
        return -1;
    if (fill_sentinel(c, redis, err, errlen) != 0)
        return -1;
    if (sc->backend == STORE_BACKEND_LMDB && sc->path[0] != '/') {
        snprintf(err, errlen, "%s: store: path: '%s' must be an absolute path", c->path, sc->path);
        return -1;
    }
    copy_str(c->geoip.country_db, sizeof c->geoip.country_db, cfg_getstr(geoip, "country_db"));
    copy_str(c->geoip.asn_db, sizeof c->geoip.asn_db, cfg_getstr(geoip, "asn_db"));
    c->log_level = (int)cfg_getint(log, "level");
    c->stats = cfg_getbool(log, "count") ? 1 : 0;
    return 0;
}

/* read_text - the whole file, NUL-terminated, in malloc'd memory */
static char *read_text(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    char *text = NULL;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "%s: not a regular file of at most %ld bytes", path,
                 CONFIG_MAX_BYTES);
        goto done;
    }
    text = malloc((size_t)sb.st_size + 1);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    while (n < sb.st_size) {
        ssize_t r = read(fd, text + n, (size_t)(sb.st_size - n));
        if (r < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            free(text);
            text = NULL;
            goto done;
        }
        if (r == 0)
            break;
        n += r;
    }
    text[n] = '\0';
    size_t upto = strlen(text);                        /* the parser would stop there */
    if (upto < (size_t)n) {
        int line = 1;
        for (size_t i = 0; i < upto; i++)
            line += text[i] == '\n';
        snprintf(err, errlen, "%s:%d: a NUL byte: not a text file", path, line);
        free(text);
        text = NULL;
    }
done:
    if (fd >= 0)
        close(fd);
    return text;
}

/*
 * prepare_text - replace #, // and slash-star comments by spaces, keeping
 * newlines and quoted strings (libconfuse 3.3 miscounts lines after a
 * comment; without comments its line numbers are exact), and refuse what
 * libconfuse would let pass: a comment or a section never closed (the
 * rest of the file silently swallowed or accepted). 0, or -1 with err.
 */
static int prepare_text(char *p, const char *path, char *err, size_t errlen)
{
    char quote = 0;
    int line = 1, depth = 0, opened = 0, comment = 0;

    for (; *p; p++) {
        if (*p == '\n')
            line++;
        if (quote) {
            if (*p == '\\' && p[1] && p[1] != '\n')
                p++;
            else if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p && *p != '\n')
                *p++ = ' ';
            if (*p == '\0')
                break;
            line++;
        } else if (p[0] == '/' && p[1] == '*') {
            comment = line;
            *p++ = ' ';
            *p = ' ';
            while (p[1] && !(p[1] == '*' && p[2] == '/')) {
                p++;
                if (*p == '\n')
                    line++;
                else
                    *p = ' ';
            }
            if (!p[1])
                break;
            p[1] = ' ';
            p[2] = ' ';
            p += 2;
            comment = 0;
        } else if (*p == '{') {
            if (depth++ == 0)
                opened = line;
        } else if (*p == '}' && depth > 0) {
            depth--;
        }
    }
    if (comment)
        snprintf(err, errlen, "%s:%d: a comment (/*) that is never closed", path, comment);
    else if (depth > 0)
        snprintf(err, errlen, "%s:%d: a section opened here is never closed", path, opened);
    else
        return 0;
    return -1;
}

/*
 * The options found so far, by section and by the address of the name the
 * caller asked with (a string literal nearly always; the option's own name
 * is compared too, so a reused buffer is never mistaken). Open addressing:
 * an entry is never evicted by another that hashes to its slot, so two
 * options asked for on every RCPT cannot keep displacing each other. Emptied
 * by moat_config_load_with and moat_config_free: no entry outlives its section.
 */
#define OPT_MEMO_BITS 9
#define OPT_MEMO_SLOTS (1u << OPT_MEMO_BITS)
#define OPT_MEMO_PROBES 16   /* slots looked at before asking libconfuse unremembered */

typedef struct opt_memo {
    const cfg_t *sec;
    const char *name;
    cfg_opt_t *opt;
} opt_memo;

static opt_memo opt_memory[OPT_MEMO_SLOTS];
static unsigned opt_remembered;   /* entries set since the memory was last emptied */

/* forget_options - empty the memory; a process that remembered nothing (its
 * first load) leaves its 12 KB untouched: each page written is a fault */
static void forget_options(void)
{
    if (opt_remembered == 0)
        return;
    memset(opt_memory, 0, sizeof opt_memory);
    opt_remembered = 0;
}

/* option - the option name of sec, remembered */
static cfg_opt_t *option(cfg_t *sec, const char *name)
{
    const uint64_t golden = 0x9E3779B97F4A7C15u;   /* Fibonacci hashing */
    uint64_t h;
    unsigned i, n;
    cfg_opt_t *opt;

    if (sec == NULL || name == NULL)
        return NULL;
    h = ((uint64_t)(uintptr_t)sec ^ (uint64_t)(uintptr_t)name * golden) * golden;
    i = (unsigned)(h >> (64 - OPT_MEMO_BITS));
    for (n = 0; n < OPT_MEMO_PROBES; n++, i = (i + 1) % OPT_MEMO_SLOTS) {
        opt_memo *m = &opt_memory[i];
        if (m->sec == NULL) {   /* not remembered yet: remembered here */
            if ((opt = cfg_getopt(sec, name)) != NULL) {
                *m = (opt_memo){sec, name, opt};
                opt_remembered++;
            }
            return opt;
        }
        if (m->sec == sec && m->name == name && strcmp(m->opt->name, name) == 0)
            return m->opt;
    }
    return cfg_getopt(sec, name);
}

long moat_cfg_int(cfg_t *sec, const char *name)
{
    return moat_cfg_nint(sec, name, 0);
}

int moat_cfg_bool(cfg_t *sec, const char *name)
{
    cfg_opt_t *opt = option(sec, name);
    return opt ? cfg_opt_getnbool(opt, 0) == cfg_true : 0;
}

const char *moat_cfg_str(cfg_t *sec, const char *name)
{
    return moat_cfg_nstr(sec, name, 0);
}

cfg_t *moat_cfg_sec(cfg_t *sec, const char *name)
{
    cfg_opt_t *opt = option(sec, name);
    return opt ? cfg_opt_getnsec(opt, 0) : NULL;
}

cfg_t *moat_cfg_titled(cfg_t *sec, const char *name, const char *title)
{
    cfg_opt_t *opt = option(sec, name);
    unsigned i, n = opt ? cfg_opt_size(opt) : 0;
    cfg_t *t;

    for (i = 0; title && i < n; i++)
        if ((t = cfg_opt_getnsec(opt, i)) != NULL && cfg_title(t) != NULL &&
            strcasecmp(cfg_title(t), title) == 0)
            return t;
    return NULL;
}

unsigned moat_cfg_count(cfg_t *sec, const char *name)
{
    cfg_opt_t *opt = option(sec, name);
    return opt ? cfg_opt_size(opt) : 0;
}

long moat_cfg_nint(cfg_t *sec, const char *name, unsigned i)
{
    cfg_opt_t *opt = option(sec, name);
    return opt ? cfg_opt_getnint(opt, i) : 0;
}

const char *moat_cfg_nstr(cfg_t *sec, const char *name, unsigned i)
{
    cfg_opt_t *opt = option(sec, name);
    return opt ? cfg_opt_getnstr(opt, i) : NULL;
}

moat_config *moat_config_load_with(const char *path, const moat_schema *const *schemas,
                                   size_t nschemas, char *err, size_t errlen)
{
    cfg_opt_t root[MAX_SECTIONS + 4];
    moat_config *c;
    char *text;
    size_t i, n = 0;
    int rc, unclosed;

    forget_options();
    if (nschemas > MAX_SECTIONS) {
        snprintf(err, errlen, "too many module schemas");
        return NULL;
    }
    root[n++] = (cfg_opt_t)CFG_SEC("store", store_opts, CFGF_NONE);
    root[n++] = (cfg_opt_t)CFG_SEC("geoip", geoip_opts, CFGF_NONE);
    root[n++] = (cfg_opt_t)CFG_SEC("log", log_opts, CFGF_NONE);
    for (i = 0; i < nschemas; i++)
        root[n++] = (cfg_opt_t)CFG_SEC(schemas[i]->name, schemas[i]->opts, CFGF_NONE);
    root[n] = (cfg_opt_t)CFG_END();

    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->generation = ++loads;
    copy_str(c->path, sizeof c->path, path);
    c->cfg = cfg_init(root, CFGF_NONE);
    if (c->cfg == NULL) {
        snprintf(err, errlen, "%s: cannot initialise the parser", path);
        free(c);
        return NULL;
    }
    cfg_set_error_function(c->cfg, capture_error);
    cfg_set_validate_func(c->cfg, "store|map_size", validate_map_size);
    cfg_set_validate_func(c->cfg, "store|source_quota", validate_source_quota);
    cfg_set_validate_func(c->cfg, "store|redis|port", moat_cfg_check_port);
    cfg_set_validate_func(c->cfg, "store|redis|db", validate_db);
    cfg_set_validate_func(c->cfg, "store|redis|prefix", validate_prefix);
    cfg_set_validate_func(c->cfg, "store|redis|connect_timeout_ms", validate_timeout_ms);
    cfg_set_validate_func(c->cfg, "store|redis|command_timeout_ms", validate_timeout_ms);
    for (i = 0; i < nschemas; i++) {
        if (schemas[i]->setup)
            schemas[i]->setup(c->cfg);
    }

    load_error[0] = '\0';
    if (strcmp(path, MOAT_CONFIG_BUILTIN) != 0)
        text = read_text(path, err, errlen);
    else if ((text = strdup("")) == NULL)
        snprintf(err, errlen, "out of memory");
    if (text == NULL)
        goto fail;
    unclosed = prepare_text(text, path, err, errlen);
    load_path = path;
    load_root = root;
    rc = cfg_parse_buf(c->cfg, text);
    load_path = NULL;
    load_root = NULL;
    free(text);
    if (rc != CFG_SUCCESS) {    /* libconfuse's own error is the more precise one */
        snprintf(err, errlen, "%s", load_error[0] ? load_error : "parse error");
        goto fail;
    }
    if (unclosed != 0)          /* what libconfuse let pass: err says what */
        goto fail;
    for (i = 0; i < nschemas; i++) {
        char why[MOAT_ERR_MAX] = "";
        if (schemas[i]->check &&
            schemas[i]->check(cfg_getsec(c->cfg, schemas[i]->name), why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s: %s", path, schemas[i]->name, why);
            goto fail;
        }
    }
    if (fill_common(c, err, errlen) != 0)
        goto fail;
    for (i = 0; i < nschemas; i++) {
        moat_module_settings *m = &c->modules[c->nmodules++];
        m->name = schemas[i]->name;
        m->sec = cfg_getsec(c->cfg, m->name);
        m->enabled = m->sec && cfg_getbool(m->sec, "enabled") == cfg_true;
        m->log_only = m->sec && cfg_getint(m->sec, "mode") == 1;
        m->on_error = m->sec && cfg_getint(m->sec, "on_error") == MOAT_ON_ERROR_DEFER
                          ? MOAT_ON_ERROR_DEFER : MOAT_ON_ERROR_ACCEPT;
    }
    return c;

fail:
    moat_config_free(c);
    return NULL;
}

moat_config *moat_config_load(const char *path, char *err, size_t errlen)
{
    return moat_config_load_with(path, moat_schemas, moat_schema_count, err, errlen);
}

void moat_config_free(moat_config *config)
{
    if (config == NULL)
        return;
    forget_options();
    if (config->cfg)
        cfg_free(config->cfg);
    memset(config->store.redis_password, 0, sizeof config->store.redis_password);
    memset(config->store.sentinel_password, 0, sizeof config->store.sentinel_password);
    free(config);
}

/* module_settings - the settings of a registered module, or NULL */
static const moat_module_settings *module_settings(const moat_config *config, const char *module)
{
    size_t i;

    for (i = 0; i < config->nmodules; i++) {
        const char *name = config->modules[i].name;
        if (name == module || (name[0] == module[0] && strcmp(name, module) == 0))
            return &config->modules[i];
    }
    return NULL;
}

cfg_t *moat_config_module(const moat_config *config, const char *module)
{
    const moat_module_settings *m = module_settings(config, module);
    return m ? m->sec : NULL;
}

const moat_module_settings *moat_config_settings(const moat_config *config, const char *module)
{
    return module_settings(config, module);
}

int moat_config_enabled(const moat_config *config, const char *module)
{
    const moat_module_settings *m = module_settings(config, module);
    return m ? m->enabled : 0;
}

moat_on_error moat_config_on_error(const moat_config *config, const char *module)
{
    const moat_module_settings *m = module_settings(config, module);
    return m ? m->on_error : MOAT_ON_ERROR_ACCEPT;
}

int moat_config_log_only(const moat_config *config, const char *module)
{
    const moat_module_settings *m = module_settings(config, module);
    return m ? m->log_only : 0;
}

/* next_token - the next word, brace or '=' of a config text, skipping comments */
static const char *next_token(const char *p, char *tok, size_t cap)
{
    size_t n = 0;

    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else {
            break;
        }
    }
    if (*p == '\0')
        return NULL;
    if (strchr("{}=,()", *p)) {
        tok[0] = *p;
        tok[1] = '\0';
        return p + 1;
    }
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        while (*p && *p != q) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < cap)
                tok[n++] = *p;
            p++;
        }
        if (*p)
            p++;
    } else {
        while (*p && !isspace((unsigned char)*p) && !strchr("{}=,()#\"'", *p)) {
            if (n + 1 < cap)
                tok[n++] = *p;
            p++;
        }
    }
    tok[n] = '\0';
    return p;
}

moat_on_error moat_config_salvage_on_error(const char *path, const char *module)
{
    char tok[256], prev[256] = "", key[256] = "", err[MOAT_ERR_MAX];
    char *text = read_text(path, err, sizeof err);    /* the whole file, as a load reads it */
    const char *p = text;
    moat_on_error result = MOAT_ON_ERROR_ACCEPT;
    int depth = 0, in_module = 0, after_eq = 0;

    if (text == NULL)
        return result;
    while ((p = next_token(p, tok, sizeof tok)) != NULL) {
        if (strcmp(tok, "{") == 0) {
            if (depth == 0 && strcmp(prev, module) == 0)
                in_module = 1;
            depth++;
        } else if (strcmp(tok, "}") == 0) {
            if (depth > 0 && --depth == 0)
                in_module = 0;
        } else if (strcmp(tok, "=") == 0) {
            snprintf(key, sizeof key, "%s", prev);
            after_eq = 1;
            continue;
        } else if (after_eq && in_module && depth == 1 && strcmp(key, "on_error") == 0) {
            result = strcmp(tok, "defer") == 0 ? MOAT_ON_ERROR_DEFER : MOAT_ON_ERROR_ACCEPT;
        }
        after_eq = 0;
        snprintf(prev, sizeof prev, "%s", tok);
    }
    free(text);
    return result;
}
