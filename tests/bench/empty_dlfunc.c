/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * empty_dlfunc.c - a ${dlfunc} entry point that does nothing: the floor of
 * make bench's connection rate. Exim forks a process per connection and
 * dlopens a module in each; what that alone costs a connection on the
 * machine (the loader walking Exim's forty-odd libraries, page faults of a
 * fresh process) is what no module can go below. Needs nothing but libc.
 *
 * make bench also builds it twice against empty_runtime.c's object (the
 * design floor: module objects sharing a runtime that weighs nothing) and
 * twice against libmoat.so.0 (moat's objects loaded, nothing of moat
 * called): see tests/bench/e2e.py's kinds.
 */
#define EMPTY_OK 0   /* local_scan.h's OK */

int moat_bench_empty(unsigned char **yield, int argc, unsigned char *argv[]);

int moat_bench_empty(unsigned char **yield, int argc, unsigned char *argv[])
{
    static unsigned char nothing[] = "";

    (void)argc;
    (void)argv;
    *yield = nothing;
    return EMPTY_OK;
}
