/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.c - moatctl queue: a report over Exim's queue (placeholder).
 */
#include <stdio.h>

#include "ctl.h"

int ctl_queue(const ctl_env *env, int argc, char **argv)
{
    (void)env;
    (void)argc;
    (void)argv;
    fprintf(stderr, "moatctl queue: not yet\n");
    return CTL_USAGE;
}
