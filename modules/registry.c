/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c - every module's moat.conf section, so each consumer
 * validates the whole file alike. Add a module here and in the Makefile.
 */
#include "config.h"

extern const moat_schema rcpt_schema;
extern const moat_schema authlock_schema;
extern const moat_schema catchall_schema;
extern const moat_schema autoreply_schema;
extern const moat_schema batv_schema;

const moat_schema *const moat_schemas[] = {
    &rcpt_schema,
    &authlock_schema,
    &catchall_schema,
    &autoreply_schema,
    &batv_schema,
};

const size_t moat_schema_count = sizeof moat_schemas / sizeof moat_schemas[0];
