/*
 * authlock.c - moatctl authlock VERB: admin commands of the authlock module.
 */
#include <stdio.h>

#include "ctl.h"

int ctl_authlock(const ctl_env *env, int argc, char **argv)
{
    (void)env;
    (void)argc;
    (void)argv;
    fprintf(stderr, "moatctl authlock: no verbs yet\n");
    return CTL_USAGE;
}
