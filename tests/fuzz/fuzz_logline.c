/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_logline.c - libFuzzer harness for the log line parser moatctl report
 * runs over Exim's mainlog (common/logline.c: Exim's prefix, then moat's
 * fields): any bytes, no NUL needed;
 * every field found must lie inside the parser's buffer and be a C string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"
#include "stats.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    moat_logline l;
    char key[STORE_KEY_MAX];
    int i;

    long at = logline_exim_prefix((const char *)data, size);

    if (at > (long)size)
        abort();
    if (at > 0)
        (void)logline_parse((const char *)data + at, size - (size_t)at, &l);
    if (logline_parse((const char *)data, size, &l) != 0)
        return 0;
    if (l.nfields < 0 || l.nfields > LOGLINE_FIELDS_MAX)
        abort();
    for (i = 0; i < l.nfields; i++) {
        if (l.key[i] < l.buf || l.value[i] < l.buf ||
            l.value[i] + strlen(l.value[i]) >= l.buf + sizeof l.buf)
            abort();
        if (logline_get(&l, l.key[i]) == NULL)
            abort();
    }
    (void)moat_stats_key(key, sizeof key, l.module, logline_get(&l, "action"),
                         logline_get(&l, "reason"));
    return 0;
}
