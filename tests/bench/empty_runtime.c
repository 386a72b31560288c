/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * empty_runtime.c - a shared object that needs nothing and does nothing,
 * linked by two empty ${dlfunc} objects (empty_dlfunc.c built against it)
 * for make bench's "design floor": the shape of moat in an Exim process
 * (module objects sharing one runtime library) with none of its weight -
 * no dependency, no configuration, no store, no work.
 */
int moat_bench_runtime(void);

int moat_bench_runtime(void)
{
    return 0;
}
