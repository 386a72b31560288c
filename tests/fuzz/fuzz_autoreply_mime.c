/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_autoreply_mime.c - libFuzzer harness for the MIME-structure parser:
 * Content-Type values with parameters, RFC 2231 extended and continued
 * parameters, comments and quoted strings. Outputs stay terminated and
 * within their buffers; a report kind is always one of the enum's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1), out[64];
    mime_type mt;
    mime_report k;

    if (value == NULL)
        return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    if (mime_content_type(value, &mt) && (mt.type[0] == '\0' || mt.subtype[0] == '\0'))
        abort();
    if (mime_param(value, "report-type", out, sizeof out) && strlen(out) >= sizeof out)
        abort();
    mime_param(value, "boundary", out, 8);
    k = mime_report_kind(value);
    if (k > MIME_REPORT_OTHER)
        abort();
    free(value);
    return 0;
}
