/*
 * common.c - moatctl helpers: loading the config, JSON strings.
 */
#include <stdio.h>

#include "ctl.h"

moat_runtime *ctl_runtime(const ctl_env *env)
{
    char err[MOAT_ERR_MAX];
    moat_runtime *rt = moat_runtime_get(env->config_path, err, sizeof err);

    if (rt == NULL)
        fprintf(stderr, "moatctl: %s\n", err);
    return rt;
}

void ctl_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
