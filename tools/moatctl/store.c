/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c - moatctl store sweep: remove expired state (for cron).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

int ctl_store(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;
    uint64_t removed = 0;

    if (argc < 2 || strcmp(argv[1], "sweep") != 0) {
        fprintf(stderr, "usage: moatctl store sweep\n");
        return CTL_USAGE;
    }
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    if (moat_store_sweep(rt->store, time(NULL), &removed) != STORE_OK) {
        fprintf(stderr, "moatctl store sweep: %s\n", moat_store_last_error(rt->store));
        return CTL_PROBLEM;
    }
    if (env->json)
        printf("{\"removed\":%llu}\n", (unsigned long long)removed);
    else
        printf("removed %llu expired entries\n", (unsigned long long)removed);
    return CTL_OK;
}
