/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_autoreply_headers.c - libFuzzer harness for the header block every
 * inbound message goes through: whatever the bytes, parsing, the lexer
 * helpers and classification finish, stay in bounds, keep every field
 * NUL-terminated inside the arena, and name only known reasons.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/classify.h"
#include "autoreply/headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_id(const char *id, void *arg)
{
    if (strchr(id, '@') == NULL)
        abort();
    (*(size_t *)arg)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    header_block hb;
    classify_input in;
    classify_result r;
    char out[320], reasons[512];
    size_t i, ids = 0;

    if (headers_parse(&hb, (const char *)data, size) != 0)
        return 0;
    if (hb.count > size + 1)
        abort();
    for (i = 0; i < hb.count; i++) {
        if (hb.fields[i].name[0] == '\0' || strlen(hb.fields[i].value) != hb.fields[i].value_len)
            abort();
        header_keyword(hb.fields[i].value, out, sizeof out);
        if (header_address(hb.fields[i].value, out, sizeof out) && strchr(out, '@') == NULL)
            abort();
        header_each_msgid(hb.fields[i].value, count_id, &ids);
    }
    classify_input_defaults(&in);
    in.envelope_sender = "sender@remote.test";
    in.recipients = "bob@example.test";
    autoreply_classify(&hb, &in, &r);
    if (r.reasons >> AR_REASON_COUNT)
        abort();
    classify_reasons_text(r.reasons, reasons, sizeof reasons);
    if ((r.reasons != 0) != (reasons[0] != '\0'))
        abort();
    headers_free(&hb);
    return 0;
}
