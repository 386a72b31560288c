/*
 * fuzz_autoreply_headers.c - libFuzzer harness for the header block and
 * MIME-structure parsing that every inbound message goes through: whatever
 * the bytes, parsing and classification finish, stay in bounds, and
 * produce a reasons list of known words.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/classify.h"
#include "autoreply/headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static header_block hb;
    classify_input in = {"sender@remote.test", "bob@example.test", "", "", 0, 5.0, 25};
    classify_result r;
    char out[256];
    size_t i;

    headers_parse((const char *)data, size, &hb);
    if (hb.count > HEADERS_MAX_FIELDS)
        abort();
    for (i = 0; i < hb.count; i++) {
        if (strlen(hb.fields[i].value) >= HEADER_VALUE_MAX || hb.fields[i].name[0] == '\0')
            abort();
        header_token(hb.fields[i].value, out, sizeof out);
        header_param(hb.fields[i].value, "report-type", out, sizeof out);
        header_address(hb.fields[i].value, out, sizeof out);
    }
    autoreply_classify(&hb, &in, &r);
    if (r.never != (r.reasons[0] != '\0'))
        abort();
    return 0;
}
