/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exit_shim.c - make coverage: preloaded into Exim (LD_PRELOAD), so that
 * the moat modules of every Exim process write their gcov data before the
 * process ends.
 *
 * gcov writes a shared object's counters from an exit handler; Exim ends
 * its session, delivery and helper processes with _exit(), which runs no
 * handler, so without this every SMTP session's coverage would be lost.
 * This library takes _exit() and exit(), asks each loaded object for
 * moat_coverage_dump (exported, in builds with -DMOAT_COVERAGE, by each
 * module - common/exim_glue.c - and by libmoat.so.0 - common/coverage.c:
 * each carries its own libgcov), calls it, and then ends the process as
 * asked. The umask is 0 while the data is written: processes of root and
 * of the Exim user add to the same .gcda files.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* dump_one - moat_coverage_dump of one loaded object, if it has one */
static int dump_one(struct dl_phdr_info *info, size_t size, void *data)
{
    void *handle;
    void (*dump)(void);

    (void)size;
    (void)data;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
        return 0;
    if ((handle = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY)) == NULL)
        return 0;
    *(void **)&dump = dlsym(handle, "moat_coverage_dump");
    if (dump != NULL)
        dump();
    dlclose(handle);
    return 0;
}

static void dump_all(void)
{
    mode_t old = umask(0);

    dl_iterate_phdr(dump_one, NULL);
    umask(old);
}

void _exit(int status)
{
    dump_all();
    syscall(SYS_exit_group, status);
    for (;;)
        ;
}

void exit(int status)
{
    void (*real_exit)(int);

    dump_all();
    *(void **)&real_exit = dlsym(RTLD_NEXT, "exit");
    real_exit(status);
    for (;;)
        ;
}
