/*
 * clock.h - the benchmarks' one clock: nanoseconds on the monotonic clock.
 */
#ifndef MOAT_BENCH_CLOCK_H
#define MOAT_BENCH_CLOCK_H

#include <time.h>

static inline double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
