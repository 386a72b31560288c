/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * coverage.c - coverage builds only (make coverage, -DMOAT_COVERAGE):
 * libmoat's own moat_coverage_dump. libmoat.so.0 carries its own copy of
 * libgcov (linked -Bsymbolic), so its counters are written only by its own
 * __gcov_dump; tests/coverage/exit_shim.c calls this, and each module's
 * (common/exim_glue.c), before an Exim process ends through _exit().
 * Empty in every other build.
 */
#ifdef MOAT_COVERAGE
#include "api.h"

extern void __gcov_dump(void);
MOAT_API void moat_coverage_dump(void);

void moat_coverage_dump(void)
{
    __gcov_dump();
}
#else
typedef int moat_coverage_unused;   /* ISO C wants something in a translation unit */
#endif
