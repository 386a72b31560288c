/*
 * enable.c - moatctl enable MODULE, disable MODULE, status: turn one
 * module on or off in Debian's Exim configuration and in moat.conf, and
 * show where each module stands.
 *
 * enable/disable change two things and keep them in step: the module's
 * MOAT_ENABLE_<MODULE> macro in the moat block (exim_debian.c) and its
 * "enabled" line in moat.conf (conf_edit.c). The new Exim configuration is
 * built into a temporary file and checked by Exim (-bV and a -bh session)
 * before update-exim4.conf installs it; if it does not check, both files
 * are put back as they were and nothing reaches the running Exim.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf_edit.h"
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

/* switch_module - the body of enable (on = 1) and disable (on = 0) */
static int switch_module(const ctl_env *env, int argc, char **argv, int on)
{
    const char *verb = on ? "enable" : "disable";
    char names[DEB_MAX_MODULES][32], err[MOAT_ERR_MAX], report[4096];
    char *old_conf = NULL, *new_conf = NULL, *old_macros = NULL;
    switch_opts o;
    deb_exim d;
    int count, was_in_exim = 0, conf_state, rc = CTL_PROBLEM, reloaded;

    if (parse_opts(argc, argv, &o, 1) != 0) {
        switch_usage(verb);
        return CTL_USAGE;
    }
    if (!known_module(o.module)) {
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
    conf_state = config_says(env->config_path, o.module, err, sizeof err);
    if (conf_state < 0 && on) {
        fprintf(stderr, "moatctl enable: %s\nfix moat.conf first (moatctl check-config)\n", err);
        return CTL_PROBLEM;
    }

    count = deb_read_enabled(&d, names, DEB_MAX_MODULES);
    for (int i = 0; i < count; i++)
        was_in_exim |= strcmp(names[i], o.module) == 0;
    if (was_in_exim == on && conf_state == on) {
        printf("%s: already %s\n", o.module, on ? "enabled" : "disabled");
        return CTL_OK;
    }

    /* moat.conf first: on failure below it is put back */
    if ((old_conf = file_read(env->config_path)) == NULL && !(errno == ENOENT && on)) {
        fprintf(stderr, "moatctl %s: %s: %s\n", verb, env->config_path, strerror(errno));
        goto out;
    }
    if (conf_state != on) {
        new_conf = conf_set_enabled(old_conf ? old_conf : "", o.module, on, err, sizeof err);
        if (new_conf == NULL) {
            fprintf(stderr, "moatctl %s: %s: %s\n", verb, env->config_path, err);
            goto out;
        }
        if (file_replace(env->config_path, new_conf, 0640) != 0) {
            fprintf(stderr, "moatctl %s: %s: %s\n", verb, env->config_path, strerror(errno));
            goto out;
        }
        if (on && config_says(env->config_path, o.module, err, sizeof err) != 1) {
            fprintf(stderr, "moatctl enable: moat.conf after the change: %s\n", err);
            goto restore;
        }
    }

    if (was_in_exim != on) {
        if ((old_macros = deb_macro_text(&d)) == NULL) {
            fprintf(stderr, "moatctl %s: out of memory\n", verb);
            goto restore;
        }
        count = new_set(names, count, o.module, on);
        if (deb_write_enabled(&d, names, count, err, sizeof err) != 0) {
            fprintf(stderr, "moatctl %s: %s\n", verb, err);
            goto restore;
        }
        if (deb_check(&d, report, sizeof report) != 0) {
            fprintf(stderr,
                    "moatctl %s: refused: with %s %s, the Exim configuration does not check:\n%s\n"
                    "(nothing was changed; see moat(7) for configurations that set their own ACLs)\n",
                    verb, o.module, on ? "on" : "off", report);
            goto restore;
        }
        if (deb_update(&d, report, sizeof report) != 0) {
            fprintf(stderr, "moatctl %s: update-exim4.conf failed:\n%s\n", verb, report);
            goto restore;
        }
    }

    printf("%s: %s (Exim: %s; moat.conf: enabled = %s)\n", o.module, on ? "enabled" : "disabled",
           d.macro_file, on ? "true" : "false");
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
    if (old_macros != NULL) {
        if (deb_restore(&d, old_macros) != 0)
            fprintf(stderr, "moatctl %s: could not restore %s: %s\n", verb, d.macro_file,
                    strerror(errno));
        else
            (void)deb_update(&d, report, sizeof report);
    }
    if (new_conf != NULL) {
        int put_back = old_conf != NULL ? file_replace(env->config_path, old_conf, 0640)
                                        : unlink(env->config_path);
        if (put_back != 0)
            fprintf(stderr, "moatctl %s: could not restore %s: %s\n", verb, env->config_path,
                    strerror(errno));
    }
out:
    free(old_conf);
    free(new_conf);
    free(old_macros);
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

typedef struct module_status {
    const char *name;
    int exim;        /* macro defined in the configuration Exim uses: 1, 0, -1 unknown */
    int block;       /* named in the moat block */
    int conf;        /* enabled in moat.conf: 1, 0, -1 moat.conf broken */
    int so;          /* the module file exists */
    const char *problem;
} module_status;

/* store_health - open the store and read one key; NULL when fine, else why */
static const char *store_health(const ctl_env *env, const char **backend)
{
    static char why[MOAT_ERR_MAX];
    moat_runtime *rt = moat_runtime_get(env->config_path, why, sizeof why);
    char buf[8];
    size_t len = 0;

    *backend = "-";
    if (rt == NULL)
        return why;
    *backend = moat_store_backend_name(rt->store);
    if (moat_store_get(rt->store, "moatctl:status", buf, sizeof buf, &len, NULL, time(NULL)) ==
        STORE_ERROR) {
        snprintf(why, sizeof why, "%s", moat_store_last_error(rt->store));
        return why;
    }
    return NULL;
}

int ctl_status(const ctl_env *env, int argc, char **argv)
{
    char names[DEB_MAX_MODULES][32], err[MOAT_ERR_MAX], conf_err[MOAT_ERR_MAX] = "";
    module_status st[DEB_MAX_MODULES];
    const char *store_err, *backend, *layout;
    switch_opts o;
    deb_exim d;
    int have_deb, count, problems = 0;
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
        if (m->exim == 1 && !m->so)
            m->problem = "enabled in Exim but its module file is missing";
        else if (m->exim == 1 && m->conf == 0)
            m->problem = "enabled in Exim but moat.conf says enabled = false";
        else if (m->exim != m->block && m->exim >= 0 && have_deb)
            m->problem = "Exim has not picked up the moat block yet (run update-exim4.conf)";
        if (m->problem)
            problems++;
    }
    if (cfg)
        moat_config_free(cfg);
    store_err = cfg ? store_health(env, &backend) : "moat.conf does not load";
    if (cfg == NULL)
        backend = "-";
    if (store_err)
        problems++;
    layout = !have_deb ? "not Debian's generated configuration" : d.split ? "split" : "unsplit";

    if (env->json) {
        printf("{\"exim_layout\":");
        ctl_json_string(stdout, layout);
        printf(",\"macro_file\":");
        ctl_json_string(stdout, have_deb ? d.macro_file : "");
        printf(",\"config\":");
        ctl_json_string(stdout, env->config_path);
        printf(",\"config_error\":");
        ctl_json_string(stdout, conf_err);
        printf(",\"store\":{\"backend\":");
        ctl_json_string(stdout, backend);
        printf(",\"ok\":%s,\"error\":", store_err ? "false" : "true");
        ctl_json_string(stdout, store_err ? store_err : "");
        printf("},\"modules\":[");
        for (i = 0; i < n; i++) {
            const module_status *m = &st[i];
            printf("%s{\"name\":", i ? "," : "");
            ctl_json_string(stdout, m->name);
            printf(",\"exim\":%s,\"moat_conf\":%s,\"module_file\":%s,\"active\":%s,\"problem\":",
                   m->exim < 0 ? "null" : m->exim ? "true" : "false",
                   m->conf < 0 ? "null" : m->conf ? "true" : "false",
                   m->so ? "true" : "false",
                   m->exim == 1 && m->conf == 1 && m->so ? "true" : "false");
            if (m->problem)
                ctl_json_string(stdout, m->problem);
            else
                printf("null");
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("exim config: %s%s%s%s\n", layout, have_deb ? " (" : "",
               have_deb ? d.macro_file : "", have_deb ? ")" : "");
        if (!have_deb)
            printf("  %s\n", err);
        if (cfg == NULL)
            printf("moat.conf: %s\n", conf_err);
        printf("store: %s %s%s\n", backend, store_err ? "error: " : "ok",
               store_err ? store_err : "");
        printf("%-10s %-5s %-9s %-11s %s\n", "module", "exim", "moat.conf", "module file",
               "state");
        for (i = 0; i < n; i++) {
            const module_status *m = &st[i];
            printf("%-10s %-5s %-9s %-11s %s\n", m->name,
                   m->exim < 0 ? "?" : m->exim ? "on" : "off",
                   m->conf < 0 ? "?" : m->conf ? "on" : "off", m->so ? "present" : "missing",
                   m->problem ? m->problem
                              : m->exim == 1 && m->conf == 1 ? "active" : "off");
        }
    }
    return problems ? CTL_PROBLEM : CTL_OK;
}
