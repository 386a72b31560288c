/*
 * schema.c - the authlock section of moat.conf.
 */
#include "config.h"

static cfg_opt_t authlock_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_END()
};

const moat_schema authlock_schema = {
    .name = "authlock",
    .opts = authlock_opts,
};
