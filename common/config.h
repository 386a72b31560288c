/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - moat.conf: libconfuse machinery shared by every module.
 *
 * The file has three common sections (store, geoip, log) and one section
 * per module. Each module declares its own section next to its code as a
 * moat_schema (modules/<name>/schema.c); modules/registry.c lists them, so
 * every consumer (each .so, moatctl) validates the whole file the same way.
 * Every module section has "enabled" and "on_error" (MOAT_MODULE_OPTS).
 *
 * Errors name the file, the line and the option, e.g.
 *   /etc/moat/moat.conf:12: rcpt: on_error: 'maybe' is not one of accept|defer
 */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include "api.h"

#include <confuse.h>
#include <stddef.h>

#include "store.h"

#define MOAT_CONFIG_DEFAULT_PATH "/etc/moat/moat.conf"
/* Not a file: every option at its default (moatctl, when the default file is missing). */
#define MOAT_CONFIG_BUILTIN "(built-in defaults)"
#define MOAT_ERR_MAX 512

typedef enum { MOAT_ON_ERROR_ACCEPT = 0, MOAT_ON_ERROR_DEFER = 1 } moat_on_error;

/* Options every module section has; put first in each module's opts. */
#define MOAT_MODULE_OPTS                                                    \
    CFG_BOOL("enabled", cfg_true, CFGF_NONE),                               \
    MOAT_CFG_ENUM("on_error", MOAT_ON_ERROR_ACCEPT, moat_cfg_parse_on_error), \
    MOAT_CFG_ENUM("mode", 0, moat_cfg_parse_mode)

/* A duration option: "90", "90s", "15m", "2h", "7d", "1w"; stored in seconds. */
#define MOAT_CFG_DURATION(name, default_seconds)                            \
    CFG_INT_CB(name, default_seconds, CFGF_NONE, moat_cfg_parse_duration)
/*
 * An enumerated option: the file says a word, the program reads its index
 * with cfg_getint. parser is a one-line function calling moat_cfg_parse_enum
 * with the words, e.g. "accept|mark|reject" (index 0, 1, 2). A wrong word is
 * reported with the line it is on.
 */
#define MOAT_CFG_ENUM(name, default_index, parser)                          \
    CFG_INT_CB(name, default_index, CFGF_NONE, parser)
/* A size option: "4096", "64k", "256M", "2G"; stored in bytes. */
#define MOAT_CFG_SIZE(name, default_bytes)                                  \
    CFG_INT_CB(name, default_bytes, CFGF_NONE, moat_cfg_parse_size)

typedef struct moat_schema {
    const char *name;     /* section name, e.g. "rcpt" */
    cfg_opt_t *opts;      /* its options, MOAT_MODULE_OPTS first, CFG_END() last */
    /* setup - optional: register value validators (cfg_set_validate_func) */
    void (*setup)(cfg_t *root);
    /* check - optional: cross-option checks after parsing; 0 = fine,
     * otherwise fill err ("option: why") and return -1 */
    int (*check)(cfg_t *section, char *err, size_t errlen);
} moat_schema;

/* The registry of every module's schema (modules/registry.c). */
extern const moat_schema *const moat_schemas[];
extern const size_t moat_schema_count;

typedef struct moat_geoip_config {
    char country_db[4096];   /* "" = geo rules off */
    char asn_db[4096];
} moat_geoip_config;

/* Up to this many module schemas in one configuration. */
#define MOAT_MODULES_MAX 16

/* A module's section and the settings every entry point reads, found once at load. */
typedef struct moat_module_settings {
    const char *name;        /* the schema's name */
    cfg_t *sec;
    int enabled;
    int log_only;            /* mode = log-only */
    moat_on_error on_error;
} moat_module_settings;

typedef struct moat_config {
    cfg_t *cfg;
    unsigned long generation;   /* this load's number in the process: caches of it key on it */
    moat_module_settings modules[MOAT_MODULES_MAX];
    size_t nmodules;
    char path[4096];
    moat_store_config store;
    moat_geoip_config geoip;
    int log_level;           /* moat_log_level */
    int stats;               /* log { count }: each decision line counted in the store */
} moat_config;

/* moat_config_load - parse and validate path against every registered schema
 * (path MOAT_CONFIG_BUILTIN: no file, every option at its default) */
moat_config *moat_config_load(const char *path, char *err, size_t errlen);

/* moat_config_load_with - the same, with an explicit schema list (tests) */
moat_config *moat_config_load_with(const char *path, const moat_schema *const *schemas,
                                   size_t nschemas, char *err, size_t errlen);

void moat_config_free(moat_config *config);

/*
 * moat_cfg_int, moat_cfg_sec, moat_cfg_bool, moat_cfg_str, moat_cfg_count,
 * moat_cfg_nint, moat_cfg_nstr - cfg_getint and friends for the paths that run on every
 * SMTP command: each option is found once and remembered (libconfuse finds
 * it by comparing names one by one). The memory is emptied whenever a
 * configuration is loaded or freed. An unknown name reads as 0 / NULL.
 */
long moat_cfg_int(cfg_t *sec, const char *name);
cfg_t *moat_cfg_sec(cfg_t *sec, const char *name);
int moat_cfg_bool(cfg_t *sec, const char *name);
const char *moat_cfg_str(cfg_t *sec, const char *name);
unsigned moat_cfg_count(cfg_t *sec, const char *name);
/* moat_cfg_titled - the section name "TITLE" of sec, the title compared without
 * case (domain "Example.org" is example.org's, as Exim lower-cases $domain) */
cfg_t *moat_cfg_titled(cfg_t *sec, const char *name, const char *title);
long moat_cfg_nint(cfg_t *sec, const char *name, unsigned i);
const char *moat_cfg_nstr(cfg_t *sec, const char *name, unsigned i);

/* moat_config_settings - a module's settings (NULL for a module not registered) */
MOAT_API const moat_module_settings *moat_config_settings(const moat_config *config,
                                                       const char *module);
/* moat_config_module - the section of one module (never NULL for a registered one) */
cfg_t *moat_config_module(const moat_config *config, const char *module);

MOAT_API int moat_config_enabled(const moat_config *config, const char *module);
MOAT_API moat_on_error moat_config_on_error(const moat_config *config, const char *module);
/* moat_config_log_only - 1 when the module's mode is log-only */
int moat_config_log_only(const moat_config *config, const char *module);

/*
 * moat_config_salvage_on_error - for a file that does not parse: find
 * "on_error = defer" inside the module's top-level section by a plain scan,
 * so an admin's choice to defer holds even when another part of the file is
 * broken. Returns the module's on_error, or MOAT_ON_ERROR_ACCEPT when the
 * file cannot be read or says nothing.
 */
MOAT_API moat_on_error moat_config_salvage_on_error(const char *path, const char *module);

/* Parsing callbacks and validators for schemas. */
int moat_cfg_parse_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int moat_cfg_parse_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
/* moat_cfg_parse_enum - parser body for MOAT_CFG_ENUM: *result = index of value in "a|b|c" */
int moat_cfg_parse_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result,
                        const char *choices);
int moat_cfg_parse_on_error(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int moat_cfg_parse_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
/*
 * moat_cfg_check_enum - validator body for a string option (cfg_set_validate_func):
 * value of opt must be one of "a|b|c". libconfuse runs validators when the
 * section closes, so prefer MOAT_CFG_ENUM, which reports the exact line.
 */
int moat_cfg_check_enum(cfg_t *cfg, cfg_opt_t *opt, const char *choices);
/* moat_cfg_check_range - validator body: int value of opt within [lo, hi] */
int moat_cfg_check_range(cfg_t *cfg, cfg_opt_t *opt, long lo, long hi);
/* moat_cfg_check_length - validator body: each string of opt at most max bytes */
int moat_cfg_check_length(cfg_t *cfg, cfg_opt_t *opt, size_t max);

/* Validators shared by several sections (cfg_set_validate_func). */
int moat_cfg_check_positive(cfg_t *cfg, cfg_opt_t *opt);    /* a count: 1..1000000 */
int moat_cfg_check_port(cfg_t *cfg, cfg_opt_t *opt);        /* 1..65535 */
int moat_cfg_check_v4_prefix(cfg_t *cfg, cfg_opt_t *opt);   /* a network: 8..32 */
int moat_cfg_check_v6_prefix(cfg_t *cfg, cfg_opt_t *opt);   /* a network: 16..128 */
/* moat_cfg_check_networks - each entry an address or CIDR (net_parse_cidr) */
int moat_cfg_check_networks(cfg_t *cfg, cfg_opt_t *opt);

/* moat_cfg_validate_each - set validator fn on section|name for each of names[0..n-1] */
void moat_cfg_validate_each(cfg_t *root, const char *section, const char *const *names,
                            size_t n, cfg_validate_callback_t fn);
/* MOAT_CFG_VALIDATE_ALL - the same for every name of the array names */
#define MOAT_CFG_VALIDATE_ALL(root, section, names, fn)                     \
    moat_cfg_validate_each(root, section, names, sizeof(names) / sizeof((names)[0]), fn)

/* moat_parse_duration - "15m" -> 900; 0 on success, -1 if malformed */
int moat_parse_duration(const char *text, long *seconds);
int moat_parse_size(const char *text, long *bytes);

#endif
