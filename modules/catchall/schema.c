/*
 * schema.c - the catchall section of moat.conf.
 */
#include "config.h"

static cfg_opt_t catchall_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_END()
};

const moat_schema catchall_schema = {
    .name = "catchall",
    .opts = catchall_opts,
};
