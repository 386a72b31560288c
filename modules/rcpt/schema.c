/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema.c - the rcpt section of moat.conf (docs/rcpt.md explains each option).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

static int parse_source(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "exim|file|cdb|ldap");
}

static int parse_fetched_unknown(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "drop|quarantine");
}

/* fetched mail (fetchmail, getmail): who injects it, and where unknown recipients go */
static cfg_opt_t fetched_opts[] = {
    CFG_STR_LIST("hosts", 0, CFGF_NONE),
    CFG_STR_LIST("users", 0, CFGF_NONE),
    MOAT_CFG_ENUM("unknown", 0, parse_fetched_unknown),
    CFG_STR("quarantine", "", CFGF_NONE),
    CFG_END()
};

static int parse_own_policy(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "off|mark|reject|spf");
}

static cfg_opt_t own_domain_opts[] = {
    MOAT_CFG_ENUM("policy", 0, parse_own_policy),
    CFG_END()
};

/* our own domains in mail from outside, unauthenticated (owndomain.c) */
static cfg_opt_t own_opts[] = {
    MOAT_CFG_ENUM("policy", 0, parse_own_policy),   /* every local domain without a section */
    CFG_SEC("domain", own_domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_STR_LIST("exempt_hosts", 0, CFGF_NONE),
    CFG_STR_LIST("exempt_senders", 0, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t ldap_opts[] = {
    CFG_STR_LIST("uri", 0, CFGF_NONE),
    CFG_STR("bind_dn", "", CFGF_NONE),
    CFG_STR("password_file", "", CFGF_NONE),
    CFG_STR("base", "", CFGF_NONE),
    CFG_STR("filter", "(|(mail=%s)(proxyAddresses=smtp:%s))", CFGF_NONE),
    CFG_BOOL("starttls", cfg_false, CFGF_NONE),
    CFG_STR("tls_ca_file", "", CFGF_NONE),
    MOAT_CFG_DURATION("timeout", 2),
    MOAT_CFG_DURATION("cache_positive", 86400),
    MOAT_CFG_DURATION("cache_negative", 3600),
    MOAT_CFG_DURATION("stale_max", 7L * 86400),
    CFG_BOOL("stale_negative", cfg_false, CFGF_NONE),
    MOAT_CFG_DURATION("retry_after", 10),
    CFG_END()
};

static cfg_opt_t rcpt_opts[] = {
    MOAT_MODULE_OPTS,
    /* where valid recipients are known */
    MOAT_CFG_ENUM("source", 0, parse_source),
    CFG_STR("file", "/etc/moat/recipients", CFGF_NONE),
    CFG_STR("cdb", "/var/lib/moat/recipients.cdb", CFGF_NONE),
    CFG_STR("aliases", "", CFGF_NONE),
    CFG_SEC("ldap", ldap_opts, CFGF_NONE),
    CFG_SEC("fetched", fetched_opts, CFGF_NONE),
    CFG_SEC("own_domains", own_opts, CFGF_NONE),
    /* harvest detection */
    MOAT_CFG_DURATION("window", 3600),
    CFG_INT("ip_threshold", 10, CFGF_NONE),
    CFG_INT("net_threshold", 30, CFGF_NONE),
    CFG_INT("sender_domain_threshold", 30, CFGF_NONE),
    CFG_BOOL("count_bounces", cfg_false, CFGF_NONE),
    CFG_INT("bounce_threshold", 3, CFGF_NONE),
    CFG_INT("v4_prefix", 24, CFGF_NONE),
    CFG_INT("v6_prefix", 64, CFGF_NONE),
    MOAT_CFG_DURATION("block_time", 3600),
    MOAT_CFG_DURATION("block_max", 86400),
    MOAT_CFG_DURATION("repeat_window", 7L * 86400),
    CFG_INT("domain_attack_threshold", 100, CFGF_NONE),
    MOAT_CFG_DURATION("domain_attack_window", 3600),
    CFG_INT("domain_attack_divisor", 2, CFGF_NONE),
    /* tarpit */
    MOAT_CFG_DURATION("tarpit_base", 1),
    MOAT_CFG_DURATION("tarpit_max", 15),
    CFG_INT("session_max_invalid", 10, CFGF_NONE),
    CFG_INT("tarpit_concurrency", 4, CFGF_NONE),
    CFG_BOOL("block_at_connect", cfg_false, CFGF_NONE),
    /* exemptions */
    CFG_STR_LIST("exempt_networks", 0, CFGF_NONE),
    CFG_STR_LIST("exempt_senders", 0, CFGF_NONE),
    CFG_STR_LIST("exempt_recipients", 0, CFGF_NONE),
    CFG_STR_LIST("dead_recipients", 0, CFGF_NONE),
    /* near-miss report */
    CFG_INT("near_miss_distance", 2, CFGF_NONE),
    CFG_END()
};

static int check_distance(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, 3);
}

/* check_window - a counting window: a minute at least (0 would count nothing), 30 days at most */
static int check_window(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 60, 30L * 86400);
}

/* check_duration - a block: a second at least, a year at most */
static int check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 365L * 86400);
}

/* check_ldap_timeout - an LDAP wait: 0 would fail every search ("Bad parameter"), 1s..5m */
static int check_ldap_timeout(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 300);
}

/* check_ldap_ttl - a cache or pause: 0 = none, at most a year (ttl + stale_max fit 32 bits) */
static int check_ldap_ttl(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 0, 365L * 86400);
}

static void rcpt_setup(cfg_t *root)
{
    static const char *const positive[] = {
        "ip_threshold", "net_threshold", "sender_domain_threshold",
        "domain_attack_threshold", "domain_attack_divisor", "session_max_invalid",
        "bounce_threshold", "tarpit_concurrency",
    };
    static const char *const ldap_ttls[] = {
        "ldap|cache_positive", "ldap|cache_negative", "ldap|stale_max", "ldap|retry_after",
    };
    static const char *const networks[] = {
        "exempt_networks", "fetched|hosts", "own_domains|exempt_hosts",
    };

    MOAT_CFG_VALIDATE_ALL(root, "rcpt", positive, moat_cfg_check_positive);
    MOAT_CFG_VALIDATE_ALL(root, "rcpt", ldap_ttls, check_ldap_ttl);
    MOAT_CFG_VALIDATE_ALL(root, "rcpt", networks, moat_cfg_check_networks);
    cfg_set_validate_func(root, "rcpt|window", check_window);
    cfg_set_validate_func(root, "rcpt|domain_attack_window", check_window);
    cfg_set_validate_func(root, "rcpt|block_time", check_duration);
    cfg_set_validate_func(root, "rcpt|block_max", check_duration);
    cfg_set_validate_func(root, "rcpt|repeat_window", check_duration);
    cfg_set_validate_func(root, "rcpt|v4_prefix", moat_cfg_check_v4_prefix);
    cfg_set_validate_func(root, "rcpt|v6_prefix", moat_cfg_check_v6_prefix);
    cfg_set_validate_func(root, "rcpt|near_miss_distance", check_distance);
    cfg_set_validate_func(root, "rcpt|ldap|timeout", check_ldap_timeout);
}

static int rcpt_check_section(cfg_t *sec, char *err, size_t errlen)
{
    if (cfg_getint(sec, "block_time") > cfg_getint(sec, "block_max")) {
        snprintf(err, errlen, "block_time is longer than block_max");
        return -1;
    }
    cfg_t *fetched = cfg_getsec(sec, "fetched");
    const char *q;

    if (cfg_getint(sec, "source") == 3 && cfg_size(cfg_getsec(sec, "ldap"), "uri") == 0) {
        snprintf(err, errlen, "source = ldap needs ldap { uri = ... }");
        return -1;
    }
    if (fetched == NULL)
        return 0;
    q = cfg_getstr(fetched, "quarantine");
    if (cfg_getint(fetched, "unknown") == 1 &&
        (q == NULL || strchr(q, '@') == NULL || strpbrk(q, " \t:,<>\"") != NULL)) {
        snprintf(err, errlen, "fetched { unknown = quarantine } needs quarantine = an address "
                              "(local@domain)");
        return -1;
    }
    return 0;
}

const moat_schema rcpt_schema = {
    .name = "rcpt",
    .opts = rcpt_opts,
    .setup = rcpt_setup,
    .check = rcpt_check_section,
};
