/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema.c - the catchall section of moat.conf (docs/catchall.md).
 */
#include "config.h"

static int parse_policy(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result,
                               "accept|mark|reject-suspicious|reject-under-attack");
}

static cfg_opt_t domain_opts[] = {
    MOAT_CFG_ENUM("policy", 1, parse_policy),
    CFG_STR("explicit", "", CFGF_NONE),
    CFG_STR_LIST("allow", 0, CFGF_NONE),
    CFG_BOOL("count_as_invalid", cfg_true, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t probe_opts[] = {
    CFG_STR("resolver", "", CFGF_NONE),
    CFG_INT("resolver_port", 53, CFGF_NONE),
    CFG_INT("port", 25, CFGF_NONE),
    CFG_STR("helo", "", CFGF_NONE),
    CFG_INT("probes", 2, CFGF_NONE),
    MOAT_CFG_DURATION("timeout", 10),
    MOAT_CFG_DURATION("session_budget", 5),
    MOAT_CFG_DURATION("ttl_catchall", 7L * 86400),
    MOAT_CFG_DURATION("ttl_not_catchall", 86400),
    MOAT_CFG_DURATION("ttl_inconclusive", 3600),
    CFG_INT("rate_per_minute", 20, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t catchall_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_SEC("domain", domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_SEC("probe", probe_opts, CFGF_NONE),
    CFG_END()
};

static int check_probes(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 2, 5);
}

/* check_wait - a probe's timeout or a session's budget: 0 would make every probe fail, 1s..5m */
static int check_wait(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 300);
}

/* check_rate - probes a minute, server-wide: -1 would read as no limit at all */
static int check_rate(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_range(cfg, opt, 1, 100000);
}

static void catchall_setup(cfg_t *root)
{
    cfg_set_validate_func(root, "catchall|probe|port", moat_cfg_check_port);
    cfg_set_validate_func(root, "catchall|probe|resolver_port", moat_cfg_check_port);
    cfg_set_validate_func(root, "catchall|probe|probes", check_probes);
    cfg_set_validate_func(root, "catchall|probe|timeout", check_wait);
    cfg_set_validate_func(root, "catchall|probe|session_budget", check_wait);
    cfg_set_validate_func(root, "catchall|probe|rate_per_minute", check_rate);
}

const moat_schema catchall_schema = {
    .name = "catchall",
    .opts = catchall_opts,
    .setup = catchall_setup,
};
