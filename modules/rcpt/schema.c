/*
 * schema.c - the rcpt section of moat.conf.
 */
#include "config.h"

static cfg_opt_t rcpt_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_END()
};

const moat_schema rcpt_schema = {
    .name = "rcpt",
    .opts = rcpt_opts,
};
