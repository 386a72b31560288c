/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema.c - the authlock section of moat.conf (docs/authlock.md explains
 * each option and where its default comes from).
 */
#include "config.h"

#include <stdio.h>

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

static int check_positive(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 1000000);
}

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

static void authlock_setup(cfg_t *root)
{
    static const char *const positive[] = {
        "ip_threshold", "net_threshold", "asn_threshold", "spray_threshold",
        "user_threshold", "user_familiar_threshold", "distributed_ips", "distributed_asns",
        "send_floor", "send_multiplier", "repeat_after",
    };
    static const char *const durations[] = {
        "block_time", "block_max", "repeat_block", "user_lock_time", "send_lock_time",
        "familiar_ttl", "repeat_window",
    };
    char name[64];
    size_t i;

    for (i = 0; i < sizeof positive / sizeof positive[0]; i++) {
        snprintf(name, sizeof name, "authlock|%s", positive[i]);
        cfg_set_validate_func(root, name, check_positive);
    }
    for (i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        snprintf(name, sizeof name, "authlock|%s", durations[i]);
        cfg_set_validate_func(root, name, check_duration);
    }
    cfg_set_validate_func(root, "authlock|window", check_window);
    cfg_set_validate_func(root, "authlock|send_reject_floor", check_count);
    cfg_set_validate_func(root, "authlock|send_reject_percent", check_percent);
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
