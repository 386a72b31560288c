/*
 * schema.c - the batv section of moat.conf (docs/batv.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "batv/batv.h"
#include "batv/keys.h"

/* domain NAME { ... }: one domain's policy; grace -1 = the module's */
static cfg_opt_t domain_opts[] = {
    CFG_BOOL("sign", cfg_true, CFGF_NONE),
    CFG_BOOL("check", cfg_true, CFGF_NONE),
    CFG_BOOL("log_only", cfg_false, CFGF_NONE),
    MOAT_CFG_DURATION("grace", -1),
    CFG_STR("autoreplies", "", CFGF_NONE),   /* "" = the module's */
    CFG_END()
};

static cfg_opt_t batv_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_STR("keys", "/var/lib/moat/batv", CFGF_NONE),
    CFG_STR_LIST("domains", 0, CFGF_NONE),
    MOAT_CFG_DURATION("grace", 7L * 86400),
    CFG_STR_LIST("exempt", 0, CFGF_NONE),
    CFG_STR("autoreplies", "judge", CFGF_NONE),
    CFG_SEC("domain", domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()
};

static int batv_check_section(cfg_t *sec, char *err, size_t errlen)
{
    unsigned i;
    const char *keys = cfg_getstr(sec, "keys");

    if (keys == NULL || keys[0] != '/') {
        snprintf(err, errlen, "keys must be an absolute directory path");
        return -1;
    }
    if (cfg_getint(sec, "grace") < 0 || cfg_getint(sec, "grace") > 365L * 86400) {
        snprintf(err, errlen, "grace must be 0 (none) to 365d");
        return -1;
    }
    for (i = 0; i < cfg_size(sec, "domains"); i++)
        if (!batv_domain_ok(cfg_getnstr(sec, "domains", i))) {
            snprintf(err, errlen, "domains: \"%s\" is not a domain name",
                     cfg_getnstr(sec, "domains", i));
            return -1;
        }
    for (i = 0; i < cfg_size(sec, "domain"); i++) {
        cfg_t *d = cfg_getnsec(sec, "domain", i);
        if (!batv_domain_ok(cfg_title(d))) {
            snprintf(err, errlen, "domain \"%s\": not a domain name", cfg_title(d));
            return -1;
        }
        if (cfg_getint(d, "grace") > 365L * 86400) {
            snprintf(err, errlen, "domain \"%s\": grace must be 0 (none) to 365d", cfg_title(d));
            return -1;
        }
    }
    if (!batv_autoreplies_ok(cfg_getstr(sec, "autoreplies"), 0)) {
        snprintf(err, errlen, "autoreplies: \"%s\" is not judge or off",
                 cfg_getstr(sec, "autoreplies"));
        return -1;
    }
    for (i = 0; i < cfg_size(sec, "domain"); i++) {
        cfg_t *d = cfg_getnsec(sec, "domain", i);
        if (!batv_autoreplies_ok(cfg_getstr(d, "autoreplies"), 1)) {
            snprintf(err, errlen, "domain \"%s\": autoreplies: \"%s\" is not judge or off",
                     cfg_title(d), cfg_getstr(d, "autoreplies"));
            return -1;
        }
    }
    for (i = 0; i < cfg_size(sec, "exempt"); i++)
        if (cfg_getnstr(sec, "exempt", i)[0] == '\0') {
            snprintf(err, errlen, "exempt: an empty entry");
            return -1;
        }
    return 0;
}

const moat_schema batv_schema = {
    .name = "batv",
    .opts = batv_opts,
    .check = batv_check_section,
};
