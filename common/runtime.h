/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime.h - what one process keeps between calls: the parsed moat.conf
 * and the state store handle.
 *
 * Exim forks a process per connection and keeps a dlopened module for the
 * life of that process, so the config is parsed once per process, and the
 * store is opened on first use (store.c reopens it after a fork).
 */
#ifndef MOAT_RUNTIME_H
#define MOAT_RUNTIME_H

#include "api.h"

#include <stddef.h>

#include "config.h"
#include "store.h"
#include "verdict.h"

typedef struct moat_runtime {
    moat_config *config;
    moat_store *store;
} moat_runtime;

/*
 * moat_runtime_get - the runtime for config_path, loaded on the first call
 * in this process. On a config error returns NULL and fills err; the error
 * is remembered, so a broken file costs one parse per process, not one per
 * call.
 */
MOAT_API moat_runtime *moat_runtime_get(const char *config_path, char *err, size_t errlen);

/*
 * moat_runtime_current - the runtime of the configuration an earlier call
 * of this process named (in an SMTP session, the MAIL ACL's), else that of
 * the installed default path: for the calls Exim makes on every RCPT,
 * which do not pay for naming the file again. NULL and err as
 * moat_runtime_get.
 */
MOAT_API moat_runtime *moat_runtime_current(char *err, size_t errlen);

/* moat_runtime_current_path - the path moat_runtime_current loads */
MOAT_API const char *moat_runtime_current_path(void);

/* moat_runtime_reset - forget the cached runtime (tests, moatctl) */
void moat_runtime_reset(void);

/*
 * moat_fault_verdict - the answer for our own failure: with on_error =
 * accept "action=accept reason=moat_error", with defer a 451 4.3.0; never
 * a 5xx. Logs why once per process and per module.
 */
MOAT_API void moat_fault_verdict(moat_verdict *v, moat_on_error on_error, const char *module,
                        const char *why);

#endif
