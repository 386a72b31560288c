/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * measure.h - how the benchmarks measure a case: wall-clock nanoseconds on
 * the monotonic clock and, when the bench runs under callgrind (run.py
 * does it once more for that), the instructions its calls execute.
 *
 * A case is case_calls() calls between case_start() and case_report().
 * Natively the callgrind requests are a few no-op instructions; under
 * callgrind the counts are zeroed at the start and dumped at the report,
 * described as "MODULE CASE CALLS". run.py runs each bench under callgrind
 * twice, the second time with MOAT_BENCH_CALLS_FACTOR=2, and divides the
 * difference: what a case does once (a first fetch, a first page) cancels.
 */
#ifndef MOAT_BENCH_MEASURE_H
#define MOAT_BENCH_MEASURE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_ZERO_STATS   /* valgrind's headers absent: instructions not counted */
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_ZERO_STATS do { } while (0)
#define CALLGRIND_DUMP_STATS_AT(desc) do { (void)(desc); } while (0)
#endif

static inline double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* case_calls - how many calls a case makes: fewer under valgrind, ~50 times slower */
static inline int case_calls(int calls)
{
    const char *factor = getenv("MOAT_BENCH_CALLS_FACTOR");
    int n = calls / 40 > 10 ? calls / 40 : 10;

    if (!RUNNING_ON_VALGRIND)
        return calls;
    return factor && atoi(factor) > 1 ? n * atoi(factor) : n;
}

/* case_start - the moment a case starts; under callgrind its counts start here */
static inline double case_start(void)
{
    CALLGRIND_ZERO_STATS;
    return now_ns();
}

/* case_report - "bench MODULE CASE NS ns/call"; under callgrind the counts are dumped too */
static inline void case_report(const char *module, const char *name, double t0, int calls)
{
    double ns = (now_ns() - t0) / calls;
    char desc[160];

    snprintf(desc, sizeof desc, "%s %s %d", module, name, calls);
    CALLGRIND_DUMP_STATS_AT(desc);
    printf("bench %s %-26s %8.0f ns/call\n", module, name, ns);
}

#endif
