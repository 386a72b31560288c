/*
 * enable.c - moatctl enable|disable|status MODULE (placeholder until the
 * Debian integration lands).
 */
#include <stdio.h>

#include "ctl.h"

int ctl_enable(const ctl_env *env, int argc, char **argv)
{
    (void)env; (void)argc; (void)argv;
    fprintf(stderr, "moatctl enable: not yet available\n");
    return CTL_USAGE;
}

int ctl_disable(const ctl_env *env, int argc, char **argv)
{
    (void)env; (void)argc; (void)argv;
    fprintf(stderr, "moatctl disable: not yet available\n");
    return CTL_USAGE;
}

int ctl_status(const ctl_env *env, int argc, char **argv)
{
    (void)env; (void)argc; (void)argv;
    fprintf(stderr, "moatctl status: not yet available\n");
    return CTL_USAGE;
}
