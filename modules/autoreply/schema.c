/*
 * schema.c - the autoreply section of moat.conf (docs/autoreply.md).
 */
#include "config.h"

#include <stdio.h>

static int parse_external(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "all|known|none");
}

static cfg_opt_t autoreply_opts[] = {
    MOAT_MODULE_OPTS,
    MOAT_CFG_DURATION("period", 7L * 86400),
    MOAT_CFG_ENUM("external", 0, parse_external),
    CFG_STR_LIST("local_domains", "{}", CFGF_NONE),
    CFG_INT("cap_address", 5, CFGF_NONE),
    CFG_INT("cap_domain", 50, CFGF_NONE),
    MOAT_CFG_DURATION("cap_window", 86400),
    CFG_FLOAT("spam_threshold", 5.0, CFGF_NONE),
    CFG_INT("max_hops", 25, CFGF_NONE),
    MOAT_CFG_DURATION("suspect_ttl", 3L * 86400),
    MOAT_CFG_DURATION("known_ttl", 365L * 86400),
    CFG_END()
};

static int autoreply_check_section(cfg_t *sec, char *err, size_t errlen)
{
    long period = cfg_getint(sec, "period");

    /* RFC 5230 and Pigeonhole: at least a day; at most 60 days */
    if (period < 86400 || period > 60L * 86400) {
        snprintf(err, errlen, "period: %lds is outside 1d..60d", period);
        return -1;
    }
    return 0;
}

const moat_schema autoreply_schema = {
    .name = "autoreply",
    .opts = autoreply_opts,
    .check = autoreply_check_section,
};
