/*
 * ctl.h - what every moatctl command shares: parsed global options, the
 * loaded config, output for people or --json for machines.
 *
 * Exit status: 0 fine, 1 found a problem, 2 usage or internal error.
 */
#ifndef MOATCTL_CTL_H
#define MOATCTL_CTL_H

#include <stdio.h>

#include "runtime.h"

#define CTL_OK 0
#define CTL_PROBLEM 1
#define CTL_USAGE 2

typedef struct ctl_env {
    const char *config_path;       /* --config, default /etc/moat/moat.conf */
    const char *exim_config;       /* --exim-config, NULL = the running Exim's own */
    int json;                      /* --json */
} ctl_env;

/* ctl_runtime - load the config (reporting errors on stderr); NULL on failure */
moat_runtime *ctl_runtime(const ctl_env *env);

/*
 * ctl_run_exim - run Exim (with --exim-config's file when given) with args;
 * its standard output and error in out. Returns the exit status, -1 if it
 * could not run.
 */
int ctl_run_exim(const ctl_env *env, const char *const *args, char *out, size_t cap);

/* ctl_json_string - print s as a JSON string literal */
void ctl_json_string(FILE *out, const char *s);

/* One function per command family; argv[0] is the verb. */
int ctl_check_config(const ctl_env *env, int argc, char **argv);
int ctl_rcpt(const ctl_env *env, int argc, char **argv);
int ctl_authlock(const ctl_env *env, int argc, char **argv);
int ctl_catchall(const ctl_env *env, int argc, char **argv);
int ctl_catchall_probe(const ctl_env *env, int argc, char **argv);
int ctl_autoreply(const ctl_env *env, int argc, char **argv);
int ctl_batv(const ctl_env *env, int argc, char **argv);
int ctl_enable(const ctl_env *env, int argc, char **argv);
int ctl_disable(const ctl_env *env, int argc, char **argv);
int ctl_status(const ctl_env *env, int argc, char **argv);
int ctl_store(const ctl_env *env, int argc, char **argv);

#endif
