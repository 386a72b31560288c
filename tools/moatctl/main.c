/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - moatctl: the one admin command for moat.
 *
 *   moatctl [--config FILE] [--exim-config FILE] [--json] COMMAND [ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

typedef struct command {
    const char *name;
    int (*run)(const ctl_env *env, int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"check-config", ctl_check_config, "check-config [FILE]     validate moat.conf"},
    {"status", ctl_status, "status                  per module: wired or not; the store as Exim sees it"},
    {"enable", ctl_enable, "enable MODULE           wire a module into Debian's Exim configuration"},
    {"disable", ctl_disable, "disable MODULE          turn a module off"},
    {"refresh", ctl_refresh, "refresh                 write the enabled modules into Exim again"},
    {"store", ctl_store, "store sweep             remove expired state (for cron)"},
    {"rcpt", ctl_rcpt, "rcpt VERB ...           recipient verification and harvest blocking"},
    {"authlock", ctl_authlock, "authlock VERB ...       SMTP-AUTH lockout"},
    {"catchall", ctl_catchall, "catchall VERB ...       catch-all audit and probes"},
    {"autoreply", ctl_autoreply, "autoreply VERB ...      auto-reply classification and history"},
    {"batv", ctl_batv, "batv status|rotate      bounce address tags: keys and counters"},
    {"audit", ctl_audit, "audit [--no-probes]     configuration risks: errors_copy, AUTH on 25, ..."},
    {"queue", ctl_queue, "queue [--dnsbl] ...     Exim's queue: bounces, frozen, blocklists"},
    {"metrics", ctl_metrics, "metrics [--textfile F]  Prometheus metrics (node_exporter textfile)"},
    {"report", ctl_report, "report [--since 24h]    what moat did: blocks, locks, harvests, near misses"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: moatctl [--config FILE] [--exim-config FILE] [--json] COMMAND [ARGS]\n\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].summary);
    fprintf(out, "\nexit status: 0 fine, 1 a problem was found, 2 usage or internal error\n");
}

/*
 * find_config - which moat.conf, when --config did not say: the one the
 * Exim configuration given with --exim-config names (its MOAT_CONFIG macro,
 * as a demo's or a test's configuration does), else the default file, else
 * (the default file missing) every option at its default. Also the
 * configuration's MOAT_LIBDIR and MOAT_SNIPPETS, for status.
 */
static void find_config(ctl_env *env, int named)
{
    static char conf[4096], libdir[4096], snippets[4096];

    if (env->exim_config != NULL) {
        if (ctl_exim_macro(env->exim_config, "MOAT_LIBDIR", libdir, sizeof libdir) == 0)
            env->libdir = libdir;
        if (ctl_exim_macro(env->exim_config, "MOAT_SNIPPETS", snippets, sizeof snippets) == 0)
            env->snippets = snippets;
        if (!named && ctl_exim_macro(env->exim_config, "MOAT_CONFIG", conf, sizeof conf) == 0) {
            env->config_path = conf;
            return;
        }
    }
    if (!named && access(MOAT_CONFIG_DEFAULT_PATH, F_OK) != 0 && errno == ENOENT)
        env->config_path = MOAT_CONFIG_BUILTIN;
}

int main(int argc, char **argv)
{
    ctl_env env = {MOAT_CONFIG_DEFAULT_PATH, NULL, 0, NULL, NULL};
    int i = 1, named = 0;
    size_t c;

    /* Global options may come before the command or anywhere after it, up to "--". */
    for (int j = 1; j < argc && strcmp(argv[j], "--") != 0; j++) {
        if ((strcmp(argv[j], "--config") == 0 || strcmp(argv[j], "-c") == 0) && j + 1 < argc) {
            env.config_path = argv[j + 1];
            named = 1;
        } else if (strcmp(argv[j], "--exim-config") == 0 && j + 1 < argc) {
            env.exim_config = argv[j + 1];
        } else if (strcmp(argv[j], "--json") == 0) {
            env.json = 1;
            continue;
        } else {
            continue;
        }
        memmove(&argv[j], &argv[j + 2], (size_t)(argc - j - 1) * sizeof *argv);
        argc -= 2;
        j--;
    }
    for (int j = 1; j < argc && strcmp(argv[j], "--") != 0; j++)
        if (strcmp(argv[j], "--json") == 0) {
            memmove(&argv[j], &argv[j + 1], (size_t)(argc - j) * sizeof *argv);
            argc--;
            j--;
        }
    if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
        usage(i >= argc ? stderr : stdout);
        return i >= argc ? CTL_USAGE : CTL_OK;
    }
    /* Checked here, before anything runs Exim with it: Exim would write a
     * missing file's error to the system's paniclog. */
    if (env.exim_config != NULL && access(env.exim_config, R_OK) != 0) {
        fprintf(stderr, "moatctl: --exim-config %s: %s\n", env.exim_config, strerror(errno));
        return CTL_USAGE;
    }
    find_config(&env, named);
    for (c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].run(&env, argc - i, argv + i);
    fprintf(stderr, "moatctl: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return CTL_USAGE;
}
