/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enable.c - moatctl enable MODULE, disable MODULE, status: wire one module
 * into Debian's Exim configuration or take it out, and show where each
 * module stands.
 *
 * The enabled state is the moat block (exim_debian.c): files moatctl owns,
 * outside every dpkg conffile. moat.conf is the admin's alone and never
 * rewritten; a module whose section says enabled = false is wired but
 * answers accept, and enable says so. The new Exim configuration is built
 * into a temporary file and checked by Exim as the Exim user (-bV, a -bh
 * session, and that each enabled module's statements really run) before
 * update-exim4.conf installs it; if it does not check, every file is put
 * back as it was and nothing reaches the running Exim.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <lmdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exim_debian.h"

typedef struct switch_opts {
    const char *module;
    const char *exim_dir, *snippets, *libdir;
    int reload;
} switch_opts;

static void switch_usage(const char *verb)
{
    fprintf(stderr,
            "usage: moatctl [--config FILE] %s MODULE [--exim-dir DIR] [--snippets DIR]\n"
            "               [--libdir DIR] [--no-reload]\n"
            "modules:", verb);
    for (size_t i = 0; i < moat_schema_count; i++)
        fprintf(stderr, " %s", moat_schemas[i]->name);
    fputc('\n', stderr);
}

/* parse_opts - options shared by enable, disable and status; -1 on a bad one */
static int parse_opts(int argc, char **argv, switch_opts *o, int want_module)
{
    memset(o, 0, sizeof *o);
    o->reload = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--exim-dir") == 0 && i + 1 < argc)
            o->exim_dir = argv[++i];
        else if (strcmp(a, "--snippets") == 0 && i + 1 < argc)
            o->snippets = argv[++i];
        else if (strcmp(a, "--libdir") == 0 && i + 1 < argc)
            o->libdir = argv[++i];
        else if (strcmp(a, "--no-reload") == 0)
            o->reload = 0;
        else if (a[0] != '-' && want_module && o->module == NULL)
            o->module = a;
        else
            return -1;
    }
    return want_module && o->module == NULL ? -1 : 0;
}

static int known_module(const char *name)
{
    for (size_t i = 0; i < moat_schema_count; i++)
        if (strcmp(moat_schemas[i]->name, name) == 0)
            return 1;
    return 0;
}

/* new_set - names without module, plus module when on; returns the count */
static int new_set(char names[][32], int count, const char *module, int on)
{
    int i, n = 0, present = 0;

    for (i = 0; i < count; i++) {
        if (strcmp(names[i], module) == 0) {
            present = 1;
            if (!on)
                continue;
        }
        if (n != i)
            memcpy(names[n], names[i], 32);
        n++;
    }
    if (on && !present && n < DEB_MAX_MODULES)
        snprintf(names[n++], 32, "%s", module);
    return n;
}

/* config_says - the module's enabled option in moat.conf: 1, 0, or -1 if it does not load */
static int config_says(const char *path, const char *module, char *err, size_t errlen)
{
    moat_config *cfg = moat_config_load(path, err, errlen);
    int on;

    if (cfg == NULL)
        return -1;
    on = moat_config_enabled(cfg, module);
    moat_config_free(cfg);
    return on;
}

/*
 * wrappers_for - authlock's wrappers of the site's authenticators (malloc'd,
 * "" for none) and the names they replace: the files are first written
 * without authlock (the site's authenticators unguarded), the
 * configuration built from them read. NULL on failure with report filled.
 * summary says what was wrapped.
 */
static char *wrappers_for(deb_exim *d, char names[][32], int count, char wrapped[][128],
                          int *nwrapped, char *summary, size_t summarylen, char *report,
                          size_t reportlen)
{
    char dir[32], conf[64], others[DEB_MAX_MODULES][32], *text = NULL;
    int built, external = 0, n = 0;

    *nwrapped = 0;
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], "authlock") != 0)
            memcpy(others[n++], names[i], 32);
    if (deb_write_enabled(d, others, n, NULL, NULL, 0, report, reportlen) != 0)
        return NULL;
    built = deb_build(d, dir, conf, report, reportlen);
    if (built > 0)
        text = strdup("");
    else if (built == 0)
        text = auth_wrap(d, conf, &external, wrapped, nwrapped, summary, summarylen);
    if (built == 0 && text == NULL)
        snprintf(report, reportlen, "%s", summary);
    d->external_auth = external;
    deb_build_cleanup(dir, conf);
    return text;
}

#define REFRESH 2

/*
 * switch_module - the body of enable (on = 1), disable (on = 0) and refresh
 * (on = REFRESH: the modules enabled now written again, after exim4-config
 * changed the files moat's lines live in)
 */
static int switch_module(const ctl_env *env, int argc, char **argv, int on)
{
    const char *verb = on == REFRESH ? "refresh" : on ? "enable" : "disable";
    char names[DEB_MAX_MODULES][32], err[MOAT_ERR_MAX], report[8192], summary[4096] = "";
    char *auth_text = NULL, wrapped[DEB_MAX_WRAPPED][128];
    int nwrapped = 0;
    switch_opts o;
    deb_exim d;
    deb_snapshot snap;
    int count, conf_state, rc = CTL_PROBLEM, reloaded, with_authlock = 0;

    if (parse_opts(argc, argv, &o, on != REFRESH) != 0) {
        switch_usage(verb);
        return CTL_USAGE;
    }
    if (on != REFRESH && !known_module(o.module)) {
        fprintf(stderr, "moatctl %s: no module '%s'\n", verb, o.module);
        switch_usage(verb);
        return CTL_USAGE;
    }
    if (deb_exim_init(&d, o.exim_dir, o.snippets, o.libdir, env->config_path, err,
                      sizeof err) != 0) {
        fprintf(stderr, "moatctl %s: %s\n", verb, err);
        return CTL_PROBLEM;
    }
    /* A broken moat.conf would make the module answer per on_error only:
     * refuse to turn it on, but let it be turned off. */
    conf_state = on == REFRESH ? 1 : config_says(env->config_path, o.module, err, sizeof err);
    if (conf_state < 0 && on) {
        fprintf(stderr, "moatctl enable: %s\nfix moat.conf first (moatctl check-config)\n", err);
        return CTL_PROBLEM;
    }

    count = deb_read_enabled(&d, names, DEB_MAX_MODULES);
    if (on == REFRESH && count == 0) {
        printf("no module is enabled: nothing to refresh\n");
        return CTL_OK;
    }
    if (on != REFRESH)
        count = new_set(names, count, o.module, on);
    for (int i = 0; i < count; i++)
        with_authlock |= strcmp(names[i], "authlock") == 0;
    if (deb_snapshot_take(&d, &snap) != 0) {
        fprintf(stderr, "moatctl %s: reading Exim's configuration: %s\n", verb, strerror(errno));
        return CTL_PROBLEM;
    }
    /* authlock's wrappers, from the site's authenticators, at every change */
    if (with_authlock &&
        (auth_text = wrappers_for(&d, names, count, wrapped, &nwrapped, summary, sizeof summary,
                                  report, sizeof report)) == NULL) {
        fprintf(stderr, "moatctl %s: reading the site's authenticators:\n%s\n", verb, report);
        goto restore;
    }
    if (deb_write_enabled(&d, names, count, auth_text, wrapped, nwrapped, err, sizeof err) != 0) {
        fprintf(stderr, "moatctl %s: %s\n", verb, err);
        goto restore;
    }
    if (deb_check(&d, names, count, report, sizeof report) != 0) {
        fprintf(stderr,
                "moatctl %s: refused: with %s %s, the Exim configuration does not check:\n%s\n"
                "(nothing was changed; see moat(7) for configurations that set their own ACLs)\n",
                verb, o.module ? o.module : "the enabled modules", on ? "on" : "off", report);
        goto restore;
    }
    if (deb_update(&d, report, sizeof report) != 0) {
        fprintf(stderr, "moatctl %s: update-exim4.conf failed:\n%s\n", verb, report);
        goto restore;
    }

    if (on == REFRESH) {
        printf("refreshed:");
        for (int i = 0; i < count; i++)
            printf(" %s", names[i]);
        printf(" (Exim: %s%s)\n", d.macro_file,
               d.split ? " and conf.d/{router,transport,auth}/01_moat_*, transport/*.rul"
                       : " and marked lines in exim4.conf.template");
    } else {
        printf("%s: %s (Exim: %s%s)\n", o.module, on ? "enabled" : "disabled", d.macro_file,
               d.split ? " and conf.d/{router,transport,auth}/01_moat_*, transport/*.rul"
                       : " and marked lines in exim4.conf.template");
    }
    /* delivery events: moat's lines could not go where the admin has an event_action */
    for (int i = 0; i < count; i++) {
        char why[1024];
        if (deb_events_wired(&d, NULL, names[i], why, sizeof why) == 0)
            printf("warning: %s: %s\n", names[i], why);
    }
    if (with_authlock && (on || strcmp(o.module, "authlock") != 0))
        printf("authlock: the site's authenticators:\n%s", summary);
    if (on && conf_state == 0)
        printf("warning: moat.conf says enabled = false in its %s section: the module is wired "
               "but answers accept until you change that\n", o.module);
    if (o.reload) {
        reloaded = deb_reload(&d);
        if (reloaded > 0)
            printf("Exim reloaded\n");
        else if (reloaded == 0)
            printf("Exim is not running; the change applies when it starts\n");
        else
            fprintf(stderr, "moatctl %s: could not signal Exim (%s): reload it yourself\n", verb,
                    d.pidfile);
    }
    rc = CTL_OK;
    goto out;

restore:
    if (deb_snapshot_restore(&snap) != 0)
        fprintf(stderr, "moatctl %s: could not restore Exim's configuration files: %s\n", verb,
                strerror(errno));
    else
        (void)deb_update(&d, report, sizeof report);
out:
    deb_snapshot_free(&snap);
    free(auth_text);
    return rc;
}

int ctl_enable(const ctl_env *env, int argc, char **argv)
{
    return switch_module(env, argc, argv, 1);
}

int ctl_disable(const ctl_env *env, int argc, char **argv)
{
    return switch_module(env, argc, argv, 0);
}

int ctl_refresh(const ctl_env *env, int argc, char **argv)
{
    return switch_module(env, argc, argv, REFRESH);
}

typedef struct module_status {
    const char *name;
    int exim;        /* macro defined in the configuration Exim uses: 1, 0, -1 unknown */
    int block;       /* named in the moat block */
    int conf;        /* enabled in moat.conf: 1, 0, -1 moat.conf broken */
    int so;          /* the module file exists */
    int wired;       /* its statements really run: 1, 0, -1 cannot tell */
    int events_missing; /* wired, but Debian's smtp transports do not call MOAT_EVENT */
    char why[1024];  /* what is missing */
    const char *problem;
} module_status;

/* store_report - what a child, as the store's owner, found (sent through a pipe) */
typedef struct store_report {
    int ok;
    char backend[16];
    char error[MOAT_ERR_MAX];
    char owner[64];       /* of the store directory */
    unsigned mode;
    double map_used;      /* LMDB: share of the map in use, -1 unknown */
} store_report;

/* A map this full has begun, or is about to begin, giving up records (docs/store.md). */
#define MAP_NEARLY_FULL 0.9

/*
 * lmdb_use - share of the LMDB map in use (read-only), -1 when unknown:
 * the pages the data holds (branch, leaf, overflow) and the two meta
 * pages, not the high-water mark (pages freed below it are used again)
 */
static double lmdb_use(const char *dir)
{
    MDB_env *env;
    MDB_envinfo info;
    MDB_stat st;
    double used = -1;

    if (mdb_env_create(&env) != 0)
        return -1;
    if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0) == 0 &&
        mdb_env_info(env, &info) == 0 && mdb_env_stat(env, &st) == 0 && info.me_mapsize > 0)
        used = (double)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages + 2) *
               st.ms_psize / (double)info.me_mapsize;
    mdb_env_close(env);
    return used;
}

/*
 * store_health - open the store as Exim's processes would: in a child that
 * becomes the store directory's owner (ctl_become_store_owner), reads one
 * key, and reports the directory's owner and mode and the LMDB map use.
 */
static void store_health(const ctl_env *env, store_report *r)
{
    int fd[2];
    pid_t pid;

    memset(r, 0, sizeof *r);
    r->map_used = -1;
    snprintf(r->backend, sizeof r->backend, "-");
    if (pipe2(fd, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
        snprintf(r->error, sizeof r->error, "%s", strerror(errno));
        return;
    }
    if (pid == 0) {
        store_report c;
        moat_runtime *rt;
        struct stat sb;
        char buf[8];
        size_t len = 0;

        memset(&c, 0, sizeof c);
        c.map_used = -1;
        snprintf(c.backend, sizeof c.backend, "-");
        if (ctl_become_store_owner(env->config_path, c.error, sizeof c.error) == 0 &&
            (rt = moat_runtime_get(env->config_path, c.error, sizeof c.error)) != NULL) {
            const char *path = rt->config->store.path;
            snprintf(c.backend, sizeof c.backend, "%s", moat_store_backend_name(rt->store));
            if (stat(path, &sb) == 0) {
                const struct passwd *pw = getpwuid(sb.st_uid);
                const struct group *gr = getgrgid(sb.st_gid);
                snprintf(c.owner, sizeof c.owner, "%s:%s", pw ? pw->pw_name : "?",
                         gr ? gr->gr_name : "?");
                c.mode = sb.st_mode & 07777;
            }
            if (moat_store_get(rt->store, "moatctl:status", buf, sizeof buf, &len, NULL,
                               time(NULL)) == STORE_ERROR)
                snprintf(c.error, sizeof c.error, "%s", moat_store_last_error(rt->store));
            else
                c.ok = 1;
            if (rt->config->store.backend == STORE_BACKEND_LMDB)
                c.map_used = lmdb_use(path);
        }
        if (write(fd[1], &c, sizeof c) != (ssize_t)sizeof c)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], r, sizeof *r) != (ssize_t)sizeof *r)
        snprintf(r->error, sizeof r->error, "the store check did not report");
    close(fd[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* running_config - the configuration file Exim reads (exim -bP configure_file) */
static void running_config(const deb_exim *d, const char *exim_config, char *out, size_t outlen)
{
    char buf[DEB_PATH_MAX + 64], *argv[6];
    int n = 0;

    if (exim_config != NULL) {
        snprintf(out, outlen, "%s", exim_config);
        return;
    }
    argv[n++] = (char *)d->exim;
    argv[n++] = (char *)"-bP";
    argv[n++] = (char *)"configure_file";
    argv[n] = NULL;
    if (deb_run(argv, NULL, buf, sizeof buf, 0) == 0 && buf[0] == '/')
        snprintf(out, outlen, "%.*s", (int)strcspn(buf, "\n"), buf);
    else
        snprintf(out, outlen, "(unknown: %s cannot say)", d->exim);
}

int ctl_status(const ctl_env *env, int argc, char **argv)
{
    char names[DEB_MAX_MODULES][32], err[MOAT_ERR_MAX], conf_err[MOAT_ERR_MAX] = "";
    module_status st[DEB_MAX_MODULES];
    const char *layout;
    char *probe = NULL, exim_conf[DEB_PATH_MAX];
    store_report sr;
    switch_opts o;
    deb_exim d;
    int have_deb, count, problems = 0, any_on = 0;
    size_t i, n = moat_schema_count < DEB_MAX_MODULES ? moat_schema_count : DEB_MAX_MODULES;
    moat_config *cfg;

    if (parse_opts(argc, argv, &o, 0) != 0) {
        fprintf(stderr, "usage: moatctl [--config FILE] [--exim-config FILE] [--json] status "
                        "[--exim-dir DIR] [--libdir DIR]\n");
        return CTL_USAGE;
    }
    have_deb = deb_exim_init(&d, o.exim_dir, o.snippets, o.libdir, env->config_path, err,
                             sizeof err) == 0;
    if (!have_deb) {
        /* still report moat.conf, the modules and the store */
        memset(&d, 0, sizeof d);
        snprintf(d.libdir, sizeof d.libdir, "%s",
                 o.libdir ? o.libdir : getenv("MOAT_LIBDIR") ? getenv("MOAT_LIBDIR")
                                                            : "/usr/lib/exim4/moat");
        snprintf(d.snippets, sizeof d.snippets, "%s",
                 o.snippets ? o.snippets : getenv("MOAT_SNIPPETS") ? getenv("MOAT_SNIPPETS")
                                                                  : "/usr/share/moat/exim");
        snprintf(d.exim, sizeof d.exim, "%s",
                 getenv("MOAT_EXIM") ? getenv("MOAT_EXIM") : "/usr/sbin/exim4");
    }
    count = have_deb ? deb_read_enabled(&d, names, DEB_MAX_MODULES) : 0;
    cfg = moat_config_load(env->config_path, conf_err, sizeof conf_err);
    if (cfg == NULL)
        problems++;

    for (i = 0; i < n; i++) {
        module_status *m = &st[i];
        char macro[64], so[DEB_PATH_MAX + 40], upper[32];
        size_t k;
        struct stat sb;

        memset(m, 0, sizeof *m);
        m->name = moat_schemas[i]->name;
        for (k = 0; k < sizeof upper - 1 && m->name[k] != '\0'; k++)
            upper[k] = (char)(m->name[k] >= 'a' && m->name[k] <= 'z' ? m->name[k] - 32
                                                                     : m->name[k]);
        upper[k] = '\0';
        snprintf(macro, sizeof macro, "MOAT_ENABLE_%s", upper);
        m->exim = deb_exim_macro(&d, env->exim_config, macro);
        for (int j = 0; j < count; j++)
            m->block |= strcmp(names[j], m->name) == 0;
        m->conf = cfg ? moat_config_enabled(cfg, m->name) : -1;
        snprintf(so, sizeof so, "%s/%s.so", d.libdir, m->name);
        m->so = stat(so, &sb) == 0;
        m->wired = 0;
        if (m->exim == 1) {
            if (probe == NULL && !any_on)
                probe = deb_probe(&d, env->exim_config);
            any_on = 1;
            m->wired = deb_module_wired(&d, env->exim_config, probe, m->name, m->why,
                                        sizeof m->why);
        }
        if (m->exim == 1 && m->wired == 1 &&
            deb_events_wired(&d, env->exim_config, m->name, m->why, sizeof m->why) == 0)
            m->events_missing = 1;
        if (m->exim == 1 && !m->so)
            m->problem = "enabled in Exim but its module file is missing";
        else if (m->exim == 1 && (m->wired == 0 || m->events_missing))
            m->problem = m->why;
        else if (m->exim == 1 && m->conf == 0)
            m->problem = "wired in Exim but moat.conf says enabled = false";
        else if (m->exim != m->block && m->exim >= 0 && have_deb)
            m->problem = "Exim has not picked up the moat block yet (run update-exim4.conf)";
        if (m->problem)
            problems++;
    }
    free(probe);
    if (cfg)
        moat_config_free(cfg);
    store_health(env, &sr);
    if (!sr.ok || sr.map_used >= MAP_NEARLY_FULL)
        problems++;
    layout = !have_deb ? "not Debian's generated configuration" : d.split ? "split" : "unsplit";
    running_config(&d, env->exim_config, exim_conf, sizeof exim_conf);

    if (env->json) {
        printf("{\"exim_layout\":");
        ctl_json_string(stdout, layout);
        printf(",\"macro_file\":");
        ctl_json_string(stdout, have_deb ? d.macro_file : "");
        printf(",\"exim_config\":");
        ctl_json_string(stdout, exim_conf);
        printf(",\"config\":");
        ctl_json_string(stdout, env->config_path);
        printf(",\"config_error\":");
        ctl_json_string(stdout, conf_err);
        printf(",\"store\":{\"backend\":");
        ctl_json_string(stdout, sr.backend);
        printf(",\"ok\":%s,\"owner\":", sr.ok ? "true" : "false");
        ctl_json_string(stdout, sr.owner);
        printf(",\"mode\":\"%04o\",\"map_used\":", sr.mode);
        if (sr.map_used >= 0)
            printf("%.4f", sr.map_used);
        else
            printf("null");
        printf(",\"error\":");
        ctl_json_string(stdout, sr.error);
        printf("},\"modules\":[");
        for (i = 0; i < n; i++) {
            const module_status *m = &st[i];
            printf("%s{\"name\":", i ? "," : "");
            ctl_json_string(stdout, m->name);
            printf(",\"exim\":%s,\"wired\":%s,\"moat_conf\":%s,\"module_file\":%s,"
                   "\"active\":%s,\"problem\":",
                   m->exim < 0 ? "null" : m->exim ? "true" : "false",
                   m->wired < 0 ? "null" : m->wired ? "true" : "false",
                   m->conf < 0 ? "null" : m->conf ? "true" : "false",
                   m->so ? "true" : "false",
                   m->exim == 1 && m->wired != 0 && m->conf == 1 && m->so ? "true" : "false");
            if (m->problem)
                ctl_json_string(stdout, m->problem);
            else
                printf("null");
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("exim config: %s%s%s%s; Exim reads %s\n", layout, have_deb ? " (" : "",
               have_deb ? d.macro_file : "", have_deb ? ")" : "", exim_conf);
        if (!have_deb)
            printf("  %s\n", err);
        if (cfg == NULL)
            printf("moat.conf: %s\n", conf_err);
        printf("store: %s, opened as its owner %s (mode %04o)%s", sr.backend,
               sr.owner[0] ? sr.owner : "?", sr.mode, sr.ok ? ": ok" : ": error: ");
        if (!sr.ok)
            printf("%s", sr.error);
        if (sr.map_used >= 0)
            printf("; LMDB map %.1f%% used", sr.map_used * 100);
        if (sr.map_used >= MAP_NEARLY_FULL)
            printf(" - NEARLY FULL: moat gives up autoreply history and caches to keep blocks "
                   "and counters; raise store { map_size }");
        printf("\n%-10s %-5s %-6s %-9s %-11s %s\n", "module", "exim", "wired", "moat.conf",
               "module file", "state");
        for (i = 0; i < n; i++) {
            const module_status *m = &st[i];
            printf("%-10s %-5s %-6s %-9s %-11s %s\n", m->name,
                   m->exim < 0 ? "?" : m->exim ? "on" : "off",
                   m->exim != 1 ? "-" : m->wired < 0 ? "?" : m->wired ? "yes" : "NO",
                   m->conf < 0 ? "?" : m->conf ? "on" : "off", m->so ? "present" : "missing",
                   m->problem ? m->problem
                   : m->exim == 1 && m->conf == 1 ? (m->wired < 0 ? m->why : "active")
                                                  : "off");
        }
    }
    return problems ? CTL_PROBLEM : CTL_OK;
}
