/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime.c - the per-process config and store, and the fault answer.
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"

static moat_runtime cached;
static char cached_path[4096];
static char cached_error[MOAT_ERR_MAX];
static int cached_state;   /* 0 = nothing, 1 = loaded, -1 = failed */

moat_runtime *moat_runtime_get(const char *config_path, char *err, size_t errlen)
{
    if (config_path == NULL || *config_path == '\0')
        config_path = MOAT_CONFIG_DEFAULT_PATH;
    if (cached_state != 0 && strcmp(cached_path, config_path) != 0)
        moat_runtime_reset();
    if (cached_state == 0) {
        snprintf(cached_path, sizeof cached_path, "%s", config_path);
        cached.config = moat_config_load(config_path, cached_error, sizeof cached_error);
        if (cached.config == NULL) {
            cached_state = -1;
        } else {
            moat_log_set_level((moat_log_level)cached.config->log_level);
            cached.store = moat_store_new(&cached.config->store);
            cached_state = 1;
            if (cached.store && cached.config->stats) {
                moat_stats_attach(cached.store);
                moat_log_set_tap(moat_stats_note);
            }
        }
    }
    if (cached_state < 0) {
        snprintf(err, errlen, "%s", cached_error);
        return NULL;
    }
    return &cached;
}

const char *moat_runtime_current_path(void)
{
    return cached_state != 0 ? cached_path : MOAT_CONFIG_DEFAULT_PATH;
}

moat_runtime *moat_runtime_current(char *err, size_t errlen)
{
    return moat_runtime_get(moat_runtime_current_path(), err, errlen);
}

void moat_runtime_reset(void)
{
    moat_log_set_tap(NULL);
    moat_stats_attach(NULL);
    moat_store_free(cached.store);
    moat_config_free(cached.config);
    memset(&cached, 0, sizeof cached);
    cached_state = 0;
    cached_path[0] = '\0';
    cached_error[0] = '\0';
}

void moat_fault_verdict(moat_verdict *v, moat_on_error on_error, const char *module,
                        const char *why)
{
    char key[64];

    snprintf(key, sizeof key, "fault:%s", module);
    moat_log_once(key, MOAT_LOG_ERROR, "moat %s: error: %s (answering per on_error=%s)",
                  module, why, on_error == MOAT_ON_ERROR_DEFER ? "defer" : "accept");
    if (on_error == MOAT_ON_ERROR_DEFER) {
        verdict_init(v, "defer");
        verdict_add(v, "code", "451");
        verdict_add(v, "xcode", "4.3.0");
        verdict_add(v, "reason", "moat_error");
        verdict_add(v, "text", "Temporary local problem, please try again later");
    } else {
        verdict_init(v, "accept");
        verdict_add(v, "reason", "moat_error");
    }
    verdict_add(v, "module", module);
}
