/* SPDX-License-Identifier: GPL-2.0-or-later */
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
    /* --config; without it the MOAT_CONFIG macro of --exim-config's file,
     * else /etc/moat/moat.conf, or MOAT_CONFIG_BUILTIN when that is missing */
    const char *config_path;
    const char *exim_config;       /* --exim-config, NULL = the running Exim's own */
    int json;                      /* --json */
    /* MOAT_LIBDIR and MOAT_SNIPPETS of --exim-config's file (NULL: not
     * given or not defined there): where status looks for the modules */
    const char *libdir;
    const char *snippets;
} ctl_env;

/*
 * ctl_exim_macro - the value of macro in the Exim configuration exim_config
 * (exim -C FILE -bP macro NAME) into out; 0, or -1 when it is not defined
 * or Exim cannot say.
 */
int ctl_exim_macro(const char *exim_config, const char *macro, char *out, size_t outlen);

/*
 * ctl_become_store_owner - run as root, become the owner of the store
 * directory moat.conf names (Debian-exim; effective ids), so that every
 * file moatctl creates there (LMDB's, authlock's secret) is one Exim can
 * use. A missing LMDB directory is created owned by the Exim user, mode
 * 0750 (what Exim's own processes would create), never as root. 0 (also
 * when not root, or the directory is root's), -1 with err when it cannot.
 */
int ctl_become_store_owner(const char *config_path, char *err, size_t errlen);

/* ctl_runtime - become the store's owner, load the config (errors on stderr); NULL on failure */
moat_runtime *ctl_runtime(const ctl_env *env);

/*
 * ctl_spawn_exim - start Exim (MOAT_EXIM, else /usr/sbin/exim4; with
 * --exim-config's file when given) with args, its standard input from
 * in_fd and output and error to out_fd (-1: as they are), as root again
 * when moatctl gave root up for the store. The child's pid, -1 on failure.
 */
pid_t ctl_spawn_exim(const ctl_env *env, const char *const *args, int in_fd, int out_fd);
/*
 * ctl_run_exim - run Exim (with --exim-config's file when given) with args;
 * its standard output and error in out. Returns the exit status, -1 if it
 * could not run.
 */
int ctl_run_exim(const ctl_env *env, const char *const *args, char *out, size_t cap);

/*
 * ctl_safe - s fit for a terminal: what came from the store (and so, often,
 * from an SMTP client: an AUTH user name, a sender, a probed domain) with
 * control characters, DEL, backslash, <, > and " as \xNN, so no escape
 * sequence reaches the admin's terminal and no value forges a line. Returns
 * one of a few rotating buffers: valid until the fourth call after.
 */
const char *ctl_safe(const char *s);

/*
 * ctl_ip_text - an IP address as moat keys it (net_format_ip: 2001:db8::5,
 * not 2001:0DB8:0:0::5) into buf; anything else (a network, a name) as given
 */
const char *ctl_ip_text(const char *s, char *buf, size_t cap);

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
int ctl_refresh(const ctl_env *env, int argc, char **argv);
int ctl_status(const ctl_env *env, int argc, char **argv);
int ctl_store(const ctl_env *env, int argc, char **argv);
int ctl_audit(const ctl_env *env, int argc, char **argv);   /* audit.c */
int ctl_queue(const ctl_env *env, int argc, char **argv);   /* queue.c */
int ctl_metrics(const ctl_env *env, int argc, char **argv);
int ctl_report(const ctl_env *env, int argc, char **argv);

#endif
