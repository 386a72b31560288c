/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_config.c - moatctl check-config [FILE]: validate moat.conf.
 */
#include <stdio.h>

#include "ctl.h"

int ctl_check_config(const ctl_env *env, int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : env->config_path;
    char err[MOAT_ERR_MAX];
    moat_config *c = moat_config_load(path, err, sizeof err);

    if (c == NULL) {
        if (env->json) {
            printf("{\"file\":");
            ctl_json_string(stdout, path);
            printf(",\"valid\":false,\"error\":");
            ctl_json_string(stdout, err);
            printf("}\n");
        } else {
            fprintf(stderr, "%s\n", err);
        }
        return CTL_PROBLEM;
    }
    if (env->json) {
        printf("{\"file\":");
        ctl_json_string(stdout, path);
        printf(",\"valid\":true}\n");
    } else {
        printf("%s: OK\n", path);
    }
    moat_config_free(c);
    return CTL_OK;
}
