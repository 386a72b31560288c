/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_rcpt_directory.c - libFuzzer harness for the recipient list format
 * (the file source, alias maps, the input of moatctl rcpt compile).
 * Whatever the input: every kept entry is a lower-case address that parses
 * again, entries are sorted so each is found by binary search,
 * its domain is covered, and every skipped domain is valid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "rcpt/addrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    addrlist list;
    char err[256];
    FILE *f;
    size_t i;

    moat_log_set_level(MOAT_LOG_ERROR);
    if (size == 0)
        return 0;
    f = fmemopen((void *)data, size, "r");
    if (f == NULL)
        return 0;
    memset(&list, 0, sizeof list);
    if (addrlist_load_stream(&list, f, "fuzz", err, sizeof err) == 0) {
        for (i = 0; i < list.count; i++) {
            const char *e = list.entries[i], *at = strrchr(e, '@');
            moat_addr a;
            const char *why;
            char lower[ADDR_TEXT_MAX + 1];

            addr_lower(e, lower, sizeof lower);
            if (strcmp(lower, e) != 0 || at == NULL || addr_parse(e, &a, &why) != 0)
                abort();
            if (i > 0 && strcmp(list.entries[i - 1], e) > 0)
                abort();
            if (addrlist_find(&list, e) < 0 || !addrlist_covers(&list, at + 1))
                abort();
        }
        for (i = 0; i < list.nskipped; i++)
            if (!addr_domain_valid(list.skipped[i]) || !addrlist_skips(&list, list.skipped[i]))
                abort();
    }
    fclose(f);
    addrlist_free(&list);
    return 0;
}
