/*
 * autoreply.c - moatctl autoreply VERB: admin commands of the autoreply module.
 */
#include <stdio.h>

#include "ctl.h"

int ctl_autoreply(const ctl_env *env, int argc, char **argv)
{
    (void)env;
    (void)argc;
    (void)argv;
    fprintf(stderr, "moatctl autoreply: no verbs yet\n");
    return CTL_USAGE;
}
