/*
 * rcpt.c - moatctl rcpt VERB: admin commands of the rcpt module.
 */
#include <stdio.h>

#include "ctl.h"

int ctl_rcpt(const ctl_env *env, int argc, char **argv)
{
    (void)env;
    (void)argc;
    (void)argv;
    fprintf(stderr, "moatctl rcpt: no verbs yet\n");
    return CTL_USAGE;
}
