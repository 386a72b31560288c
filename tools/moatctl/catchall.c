/*
 * catchall.c - moatctl catchall VERB: admin commands of the catchall module.
 */
#include <stdio.h>

#include "ctl.h"

int ctl_catchall(const ctl_env *env, int argc, char **argv)
{
    (void)env;
    (void)argc;
    (void)argv;
    fprintf(stderr, "moatctl catchall: no verbs yet\n");
    return CTL_USAGE;
}
