/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_catchall_smtp_reply.c - libFuzzer harness for the parser of what a
 * remote MX answers a probe: any bytes, never out of bounds, and every
 * reply it accepts has a code in 200..599 and used bytes within the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "catchall/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtp_reply r;
    size_t pos = 0;

    while (pos < size) {
        long used = smtp_reply_parse((const char *)data + pos, size - pos, &r);
        if (used <= 0)
            break;
        if (r.code < 200 || r.code > 599 || (size_t)used > size - pos)
            abort();
        pos += (size_t)used;
    }
    return 0;
}
