/*
 * schema.c - the autoreply section of moat.conf.
 */
#include "config.h"

static cfg_opt_t autoreply_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_END()
};

const moat_schema autoreply_schema = {
    .name = "autoreply",
    .opts = autoreply_opts,
};
