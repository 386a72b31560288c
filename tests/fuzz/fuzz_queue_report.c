/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_queue_report.c - libFuzzer harness for moatctl queue's reader of
 * Exim's queue listing, whose senders and recipients came from the wire:
 * any bytes, never out of bounds, and the counts stay consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* moatctl's sources, which no library carries: build them in. */
#include "../../tools/moatctl/exim_queue.c"   /* NOLINT(bugprone-suspicious-include) */
#include "../../tools/moatctl/queue_report.c" /* NOLINT(bugprone-suspicious-include) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    queue_report r;

    if (queue_report_parse((const char *)data, size, 3600, &r) != 0)
        return 0;
    if (r.bounces > r.messages || r.frozen + r.held > r.messages || r.domains > r.recipients ||
        r.frozen_senders > QUEUE_TOP_MAX || r.held_senders > QUEUE_TOP_MAX ||
        r.oldest_seconds < 0)
        abort();
    return 0;
}
