/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema.c - the authlock section of moat.conf (docs/authlock.md explains
 * each option and where its default comes from).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_refuse(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "defer|drop");
}

static cfg_opt_t domain_opts[] = {
    CFG_STR_LIST("allow_countries", 0, CFGF_NONE),
    CFG_STR_LIST("deny_countries", 0, CFGF_NONE),
    CFG_STR_LIST("allow_asns", 0, CFGF_NONE),
    CFG_STR_LIST("deny_asns", 0, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t asn_opts[] = {
    CFG_INT("threshold", 100, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t authlock_opts[] = {
    MOAT_MODULE_OPTS,
    MOAT_CFG_DURATION("window", 3600),
    CFG_INT("ip_threshold", 10, CFGF_NONE),
    CFG_INT("net_threshold", 30, CFGF_NONE),
    CFG_INT("asn_threshold", 100, CFGF_NONE),
    CFG_INT("spray_threshold", 5, CFGF_NONE),
    CFG_INT("user_threshold", 10, CFGF_NONE),
    CFG_INT("user_familiar_threshold", 30, CFGF_NONE),
    CFG_INT("distributed_ips", 5, CFGF_NONE),
    CFG_INT("distributed_asns", 5, CFGF_NONE),
    CFG_INT("v4_prefix", 24, CFGF_NONE),
    CFG_INT("v6_prefix", 64, CFGF_NONE),
    MOAT_CFG_DURATION("tarpit_base", 1),
    MOAT_CFG_DURATION("tarpit_max", 10),
    CFG_INT("tarpit_after", 3, CFGF_NONE),
    MOAT_CFG_DURATION("block_time", 600),
    MOAT_CFG_DURATION("block_max", 86400),
    MOAT_CFG_DURATION("repeat_window", 7L * 86400),
    CFG_INT("repeat_after", 5, CFGF_NONE),
    MOAT_CFG_DURATION("repeat_block", 7L * 86400),
    MOAT_CFG_DURATION("user_lock_time", 900),
    MOAT_CFG_DURATION("familiar_ttl", 90L * 86400),
    CFG_STR("secret_file", "", CFGF_NONE),
    CFG_BOOL("block_at_connect", cfg_false, CFGF_NONE),
    MOAT_CFG_ENUM("refuse", 0, parse_refuse),
    CFG_STR_LIST("allow_countries", 0, CFGF_NONE),
    CFG_STR_LIST("deny_countries", 0, CFGF_NONE),
    CFG_STR_LIST("allow_asns", 0, CFGF_NONE),
    CFG_STR_LIST("deny_asns", 0, CFGF_NONE),
    CFG_STR_LIST("exempt_networks", 0, CFGF_NONE),
    /* where AUTH belongs (issue 9): empty lists = everywhere */
    CFG_INT_LIST("auth_ports", 0, CFGF_NONE),
    CFG_STR_LIST("internal_networks", 0, CFGF_NONE),
    CFG_BOOL("auth_require_tls", cfg_false, CFGF_NONE),
    /* outbound containment (issue 9) */
    CFG_INT("send_floor", 100, CFGF_NONE),
    CFG_INT("send_multiplier", 5, CFGF_NONE),
    MOAT_CFG_DURATION("send_lock_time", 30L * 86400),
    /* recipients refused by remote servers: 0 = not counted */
    CFG_INT("send_reject_floor", 10, CFGF_NONE),
    CFG_INT("send_reject_percent", 30, CFGF_NONE),
    CFG_SEC("domain", domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_SEC("asn", asn_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()
};

static int check_percent(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, 100);
}

static int check_count(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, 1000000);
}

/* check_window - a counting window: a minute at least (0 would count nothing), 30 days at most */
static int check_window(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 60, 30L * 86400);
}

/* check_duration - a block or lock: a second at least, a year at most */
static int check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 365L * 86400);
}

/*
 * check_asns - each entry, or asn section title, "AS" (any case) and a
 * number 1..4294967295, as georules matches it ("AS%u", titles without case)
 */
static int check_asns(cfg_t *cfg, cfg_opt_t *opt)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        int title = opt->type == CFGT_SEC;
        const char *v = title ? cfg_title(cfg_opt_getnsec(opt, i)) : cfg_opt_getnstr(opt, i);
        const char *d = v && strncasecmp(v, "AS", 2) == 0 ? v + 2 : "";
        size_t n = strspn(d, "0123456789");

        if (n == 0 || d[n] != '\0' || d[0] == '0' || n > 10 || strtoull(d, NULL, 10) > UINT32_MAX) {
            cfg_error(cfg, "%s: '%s' is not an ASN (AS and its number, e.g. AS64500)", opt->name,
                      v ? v : "");
            return -1;
        }
    }
    return 0;
}

/* check_countries - each entry a two-letter ISO 3166 code (DE, fr), as the GeoIP data names them */
static int check_countries(cfg_t *cfg, cfg_opt_t *opt)
{
    unsigned int i;

    for (i = 0; i < cfg_opt_size(opt); i++) {
        const char *v = cfg_opt_getnstr(opt, i);
        if (v == NULL || strlen(v) != 2 || !isalpha((unsigned char)v[0]) ||
            !isalpha((unsigned char)v[1])) {
            cfg_error(cfg, "%s: '%s' is not a two-letter country code (e.g. DE)", opt->name,
                      v ? v : "");
            return -1;
        }
    }
    return 0;
}

static void authlock_setup(cfg_t *root)
{
    static const char *const positive[] = {
        "ip_threshold", "net_threshold", "asn_threshold", "spray_threshold",
        "user_threshold", "user_familiar_threshold", "distributed_ips", "distributed_asns",
        "send_floor", "send_multiplier", "repeat_after", "tarpit_after", "asn|threshold",
    };
    static const char *const durations[] = {
        "block_time", "block_max", "repeat_block", "user_lock_time", "send_lock_time",
        "familiar_ttl", "repeat_window",
    };
    static const char *const asns[] = {"allow_asns", "deny_asns", "domain|allow_asns",
                                       "domain|deny_asns", "asn"};
    static const char *const countries[] = {"allow_countries", "deny_countries",
                                            "domain|allow_countries", "domain|deny_countries"};
    static const char *const networks[] = {"exempt_networks", "internal_networks"};

    MOAT_CFG_VALIDATE_ALL(root, "authlock", positive, moat_cfg_check_positive);
    MOAT_CFG_VALIDATE_ALL(root, "authlock", durations, check_duration);
    MOAT_CFG_VALIDATE_ALL(root, "authlock", asns, check_asns);
    MOAT_CFG_VALIDATE_ALL(root, "authlock", countries, check_countries);
    MOAT_CFG_VALIDATE_ALL(root, "authlock", networks, moat_cfg_check_networks);
    cfg_set_validate_func(root, "authlock|window", check_window);
    cfg_set_validate_func(root, "authlock|send_reject_floor", check_count);
    cfg_set_validate_func(root, "authlock|send_reject_percent", check_percent);
    cfg_set_validate_func(root, "authlock|v4_prefix", moat_cfg_check_v4_prefix);
    cfg_set_validate_func(root, "authlock|v6_prefix", moat_cfg_check_v6_prefix);
    cfg_set_validate_func(root, "authlock|auth_ports", moat_cfg_check_port);
}

static int authlock_check_section(cfg_t *sec, char *err, size_t errlen)
{
    if (cfg_getint(sec, "block_time") > cfg_getint(sec, "block_max")) {
        snprintf(err, errlen, "block_time is longer than block_max");
        return -1;
    }
    if (cfg_getint(sec, "tarpit_base") > cfg_getint(sec, "tarpit_max")) {
        snprintf(err, errlen, "tarpit_base is longer than tarpit_max");
        return -1;
    }
    return 0;
}

const moat_schema authlock_schema = {
    .name = "authlock",
    .opts = authlock_opts,
    .setup = authlock_setup,
    .check = authlock_check_section,
};
