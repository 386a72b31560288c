/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_autoreply_reply.c - libFuzzer harness for everything that carries
 * bytes of an inbound message into a reply moat writes: whatever the
 * header, the composed reply has each header line printable US-ASCII, no
 * line over 998, no bare CR, no field added by the input (only the eleven
 * moat writes, each once), and a decoded subject that is valid UTF-8
 * without control characters; the addressed test and the sender check
 * finish in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/encoded_words.h"
#include "autoreply/headers.h"
#include "autoreply/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const written[] = {
    "From", "To", "Subject", "In-Reply-To", "References", "Auto-Submitted",
    "X-Auto-Response-Suppress", "Precedence", "MIME-Version", "Content-Type",
    "Content-Transfer-Encoding",
};

/* check_header - the composed header: known fields once each, clean lines */
static void check_header(const char *msg, size_t len)
{
    unsigned seen = 0;
    size_t i = 0, k;

    while (i < len) {
        const char *nl = memchr(msg + i, '\n', len - i);
        size_t n;

        if (nl == NULL)
            abort();                                   /* every line ends */
        n = (size_t)(nl - (msg + i));
        if (n == 0)
            return;                                    /* the body follows */
        if (n > 998)
            abort();
        for (k = 0; k < n; k++)
            if ((unsigned char)msg[i + k] < 0x20 || (unsigned char)msg[i + k] >= 0x7f)
                abort();
        if (msg[i] != ' ') {
            for (k = 0; k < sizeof written / sizeof written[0]; k++) {
                size_t wl = strlen(written[k]);
                if (n > wl && strncmp(msg + i, written[k], wl) == 0 && msg[i + wl] == ':')
                    break;
            }
            if (k == sizeof written / sizeof written[0] || (seen & (1u << k)))
                abort();
            seen |= 1u << k;
        }
        i += n + 1;
    }
    abort();                                           /* no end of header */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const user[] = {"bob@example.test", "sales@example.test"};
    char text[1024];
    header_block hb;
    char *msg, *sender;
    size_t len, i;

    if (headers_parse(&hb, (const char *)data, size) != 0)
        return 0;
    msg = reply_compose(&hb, "bob@example.test", "friend@remote.test", "away\r\nback soon",
                        &len);
    if (msg == NULL || strlen(msg) != len)
        abort();
    check_header(msg, len);
    free(msg);
    (void)reply_addressed(&hb, user, 2);
    ew_decode(headers_get(&hb, "Subject", 0), text, sizeof text);
    if (!ew_utf8_valid(text, strlen(text)))
        abort();
    for (i = 0; text[i]; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            abort();
    headers_free(&hb);
    /* the input as an envelope sender: accepted only when it is plain */
    if ((sender = malloc(size + 1)) != NULL) {
        memcpy(sender, data, size);
        sender[size] = '\0';
        if (reply_sender_problem(sender) == NULL)
            for (i = 0; sender[i]; i++)
                if ((unsigned char)sender[i] <= 0x20 || (unsigned char)sender[i] >= 0x7f ||
                    strchr("\"(),:;<>[\\]", sender[i]) != NULL)
                    abort();
        free(sender);
    }
    return 0;
}
