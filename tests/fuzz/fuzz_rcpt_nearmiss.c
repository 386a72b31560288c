/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_rcpt_nearmiss.c - libFuzzer harness for the banded edit distance
 * used on unknown local parts sent by the SMTP peer: it must agree with a
 * plain full-table computation (capped at limit + 1) and be symmetric; and
 * the shape filter in front of it must never turn away a pair that close.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcpt/nearmiss.h"

#define LEN_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* reference - optimal string alignment distance over the whole table */
static int reference(const char *a, const char *b)
{
    static int d[LEN_MAX + 1][LEN_MAX + 1];
    size_t la = strlen(a), lb = strlen(b), i, j;

    for (i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char a[LEN_MAX + 1], b[LEN_MAX + 1];
    const uint8_t *sep;
    size_t la, lb;
    int limit, want, got;

    if (size < 2)
        return 0;
    limit = data[0] % 4;
    data++;
    size--;
    sep = memchr(data, 0, size);
    if (sep == NULL)
        return 0;
    la = (size_t)(sep - data);
    lb = size - la - 1;
    if (la > LEN_MAX || lb > LEN_MAX || memchr(sep + 1, 0, lb) != NULL)
        return 0;
    memcpy(a, data, la);
    a[la] = '\0';
    memcpy(b, sep + 1, lb);
    b[lb] = '\0';
    want = reference(a, b);
    if (want > limit)
        want = limit + 1;
    got = edit_distance(a, b, limit);
    if (got != want || edit_distance(b, a, limit) != got)
        abort();
    if (want <= limit &&
        !nearmiss_shapes_allow(nearmiss_shape_of(a, la), nearmiss_shape_of(b, lb), limit))
        abort();
    return 0;
}
