/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema.c - the autoreply section of moat.conf (docs/autoreply.md).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int parse_external(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return moat_cfg_parse_enum(cfg, opt, value, result, "all|known|none");
}

/* user ADDRESS { addresses = {...} }: the other addresses mail for that user arrives at */
static cfg_opt_t user_opts[] = {
    CFG_STR_LIST("addresses", 0, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t autoreply_opts[] = {
    MOAT_MODULE_OPTS,
    MOAT_CFG_DURATION("period", 7L * 86400),
    MOAT_CFG_ENUM("external", 0, parse_external),
    CFG_STR_LIST("local_domains", 0, CFGF_NONE),
    CFG_INT("cap_address", 10, CFGF_NONE),
    CFG_INT("cap_domain", 200, CFGF_NONE),
    MOAT_CFG_DURATION("cap_window", 86400),
    CFG_FLOAT("spam_threshold", 5.0, CFGF_NONE),
    CFG_STR_LIST("spf_results", "{fail}", CFGF_NONE),
    CFG_INT("max_hops", 20, CFGF_NONE),
    MOAT_CFG_DURATION("suspect_ttl", 3L * 86400),
    MOAT_CFG_DURATION("bounced_ttl", 30L * 86400),
    MOAT_CFG_DURATION("known_ttl", 365L * 86400),
    CFG_SEC("user", user_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()
};

static int autoreply_check_section(cfg_t *sec, char *err, size_t errlen)
{
    static const char *const spf[] = {"pass", "fail", "softfail", "neutral", "none",
                                      "temperror", "permerror", "invalid"};
    unsigned i, k;

    if (cfg_getint(sec, "cap_address") < 0 || cfg_getint(sec, "cap_domain") < 0 ||
        cfg_getint(sec, "max_hops") < 0) {
        snprintf(err, errlen, "cap_address, cap_domain and max_hops must be 0 (off) or more");
        return -1;
    }
    if (cfg_getfloat(sec, "spam_threshold") <= 0) {
        snprintf(err, errlen, "spam_threshold must be above 0");
        return -1;
    }
    for (i = 0; i < cfg_size(sec, "spf_results"); i++) {
        const char *r = cfg_getnstr(sec, "spf_results", i);
        for (k = 0; k < sizeof spf / sizeof spf[0] && strcasecmp(r, spf[k]) != 0; k++)
            ;
        if (k == sizeof spf / sizeof spf[0]) {
            snprintf(err, errlen, "spf_results: \"%s\" is not an SPF result (fail, softfail, "
                     "permerror, ...)", r);
            return -1;
        }
    }
    for (i = 0; i < cfg_size(sec, "user"); i++) {
        cfg_t *u = cfg_getnsec(sec, "user", i);
        if (strchr(cfg_title(u), '@') == NULL) {
            snprintf(err, errlen, "user \"%s\": the title must be the user's address "
                     "(localpart@domain)", cfg_title(u));
            return -1;
        }
        for (k = 0; k < cfg_size(u, "addresses"); k++)
            if (strchr(cfg_getnstr(u, "addresses", k), '@') == NULL) {
                snprintf(err, errlen, "user \"%s\": addresses: \"%s\" is not an address",
                         cfg_title(u), cfg_getnstr(u, "addresses", k));
                return -1;
            }
    }
    /* period outside 1d..60d is clamped at run time (RFC 5230 4.1, Pigeonhole) */
    return 0;
}

const moat_schema autoreply_schema = {
    .name = "autoreply",
    .opts = autoreply_opts,
    .check = autoreply_check_section,
};
