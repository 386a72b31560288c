/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verdict.h - the one answer format every moat entry point returns.
 *
 * A verdict is a line of Exim key=value pairs, read in the ACL with
 * ${extract{key}{...}}:
 *
 *   action=deny code=550 xcode=5.1.1 reason=unknown_user text="No such user"
 *
 * The first key is always "action" (accept, deny, defer, drop, warn).
 * Keys are lower-case [a-z0-9_]; a value made only of [A-Za-z0-9._:/@+=-]
 * is written bare, anything else in double quotes with \" and \\ escaped
 * (Exim's escape processing reverses it). Control characters become spaces.
 * A verdict that would not fit is cut at a whole pair, never mid-value.
 */
#ifndef MOAT_VERDICT_H
#define MOAT_VERDICT_H

#include "api.h"

#include <stddef.h>

#define MOAT_VERDICT_MAX 2048

typedef struct moat_verdict {
    char text[MOAT_VERDICT_MAX];
    size_t len;
    int truncated;
} moat_verdict;

/* verdict_init - start a verdict with action=ACTION */
MOAT_API void verdict_init(moat_verdict *v, const char *action);

/* verdict_add - append key=value (quoted when needed); NULL value: nothing */
MOAT_API void verdict_add(moat_verdict *v, const char *key, const char *value);

/* verdict_addf - append key=printf(fmt, ...) */
void verdict_addf(moat_verdict *v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* verdict_add_int - append key=number */
void verdict_add_int(moat_verdict *v, const char *key, long long value);

/*
 * verdict_get - read key's value out of a verdict text (the same rules as
 * Exim's ${extract}); returns 1 and fills out, or 0 when absent.
 * Used by moatctl and the tests to read what the ACL would read, and by
 * the glue to tell whether the ACL has anything left to do.
 */
MOAT_API int verdict_get(const char *text, const char *key, char *out, size_t outlen);

#endif
