/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim_debian.h - moat's place in Debian's exim4-config: which modules'
 * MOAT_ENABLE_<MODULE> macros are defined, written where update-exim4.conf
 * reads them (split or unsplit configuration) with the guarded includes of
 * moat's routers and transports and authlock's authenticator wrappers,
 * checked with Exim itself (and that each module really runs) before Exim
 * uses them, and a reload of the running daemon.
 *
 * Every path is overridable, for tests and unusual installations:
 *   exim_dir  (--exim-dir, $MOAT_EXIM_DIR)        /etc/exim4
 *   snippets  (--snippets, $MOAT_SNIPPETS)         /usr/share/moat/exim
 *   libdir    (--libdir, $MOAT_LIBDIR)             /usr/lib/exim4/moat
 *   exim      ($MOAT_EXIM)                         /usr/sbin/exim4
 *   update    ($MOAT_UPDATE_EXIM4_CONF)            /usr/sbin/update-exim4.conf
 *   pidfile   ($MOAT_EXIM_PIDFILE)                 /run/exim4/exim.pid
 */
#ifndef MOATCTL_EXIM_DEBIAN_H
#define MOATCTL_EXIM_DEBIAN_H

#include <stddef.h>

#define DEB_MAX_MODULES 16
#define DEB_PATH_MAX 4096
#define DEB_BLOCK_BEGIN "# BEGIN moat (written by moatctl enable/disable; do not edit between these lines)"
#define DEB_BLOCK_END "# END moat"

typedef struct deb_exim {
    char exim_dir[DEB_PATH_MAX];
    char snippets[DEB_PATH_MAX];
    char libdir[DEB_PATH_MAX];
    char exim[DEB_PATH_MAX];
    char update[DEB_PATH_MAX];
    char pidfile[DEB_PATH_MAX];
    char moat_config[DEB_PATH_MAX]; /* absolute; written as MOAT_CONFIG when not the default */
    int split;                      /* dc_use_split_config */
    char macro_file[DEB_PATH_MAX];  /* where the moat block lives */
    int external_auth;              /* write MOAT_AUTHLOCK_EXTERNAL_AUTH (dovecot, cyrus_sasl) */
} deb_exim;

/*
 * deb_exim_init - defaults, environment, then the explicit options (NULL =
 * not given); reads update-exim4.conf.conf. 0, or -1 with err filled (for
 * example a hand-written exim4.conf that update-exim4.conf does not make).
 */
int deb_exim_init(deb_exim *d, const char *exim_dir, const char *snippets, const char *libdir,
                  const char *moat_config, char *err, size_t errlen);

/*
 * deb_read_enabled - the modules named in the moat block (lowercase, at
 * most DEB_MAX_MODULES of them, each up to 31 characters). Returns their
 * number, 0 when there is no block.
 */
int deb_read_enabled(const deb_exim *d, char names[][32], int max);

/* deb_macro_text - the current content of the macro file (malloc'd, "" if none) */
char *deb_macro_text(const deb_exim *d);

/*
 * deb_write_enabled - rewrite the moat block for exactly these modules and
 * the guarded includes of moat's routers and transports, and auth_text
 * (authlock's wrappers, auth_wrap; NULL or "" for none) in the
 * authenticators section, with the site's authenticators named in wrapped
 * (those auth_text replaces) between guard lines (.ifndef
 * MOAT_AUTHLOCK_WRAPS ... .endif) so that Exim reads them again when the
 * wrappers are gone (authlock disabled, package removed); no module
 * removes all of it (and, for the split configuration, the files).
 */
int deb_write_enabled(const deb_exim *d, char names[][32], int count, const char *auth_text,
                      char wrapped[][128], int nwrapped, char *err, size_t errlen);

/* Every file deb_write_enabled may change, as it was: to put back on failure. */
#define DEB_SNAP_MAX 32
typedef struct deb_snapshot {
    int n;
    char path[DEB_SNAP_MAX][DEB_PATH_MAX];
    char *text[DEB_SNAP_MAX];   /* NULL: the file did not exist */
} deb_snapshot;

int deb_snapshot_take(const deb_exim *d, deb_snapshot *s);
int deb_snapshot_restore(const deb_snapshot *s);
void deb_snapshot_free(deb_snapshot *s);

/*
 * deb_run - run argv (no shell) with stdin_text on its standard input
 * (NULL: /dev/null), standard output and error into out; as_exim: as the
 * Exim user (Debian-exim) when run by root, so that nothing it creates
 * (the modules' store files) is root's. The exit status, -1 if it could
 * not run.
 */
int deb_run(char *const argv[], const char *stdin_text, char *out, size_t outlen, int as_exim);

/*
 * deb_build - the configuration update-exim4.conf makes of the files now,
 * into conf (64 bytes) in a new temporary directory dir (32 bytes). 0,
 * 1 when the update command wrote nothing (tests), -1 with its output in
 * report. deb_build_cleanup removes both.
 */
int deb_build(const deb_exim *d, char dir[32], char conf[64], char *report, size_t reportlen);
void deb_build_cleanup(const char *dir, const char *conf);

/*
 * deb_probe - a short SMTP session (EHLO, MAIL, RCPT postmaster, DATA)
 * through conf's ACLs with exim -bh and ACL debugging, as the Exim user
 * (conf NULL: Exim's own configuration). The output, malloc'd.
 */
char *deb_probe(const deb_exim *d, const char *conf);

/*
 * deb_module_wired - whether conf (NULL: Exim's own) really runs module:
 * its ACL statements ran in probe (deb_probe), autoreply's gate is the
 * first router and acl_not_smtp is moat's, authlock's AUTH ACL is moat's.
 * 1 yes, 0 no (why says what is missing), -1 cannot tell (why says why).
 */
int deb_module_wired(const deb_exim *d, const char *conf, const char *probe, const char *module,
                     char *why, size_t whylen);

/*
 * auth_wrap - authlock's wrappers (auth_wrap.c) for the site's server
 * authenticators in conf: malloc'd text for the authenticators section,
 * "" when there is nothing to wrap; the names of the site's authenticators
 * it replaces in wrapped (*nwrapped, at most DEB_MAX_WRAPPED); *external set when the site checks
 * passwords outside Exim (dovecot, cyrus_sasl, gsasl). summary says, one
 * line each, what was wrapped. NULL on failure (summary says why).
 */
#define DEB_MAX_WRAPPED 16
char *auth_wrap(const deb_exim *d, const char *conf, int *external, char wrapped[][128],
                int *nwrapped, char *summary, size_t summarylen);

/*
 * deb_check - build the configuration into a temporary file with
 * update-exim4.conf, then ask Exim, as the Exim user: -bV (syntax, every
 * include), a short -bh session (every ACL the session reaches resolves
 * and runs), and for each of names whether it is really wired
 * (deb_module_wired). 0 when it checks; otherwise -1 with the complaint in
 * report.
 */
int deb_check(const deb_exim *d, char names[][32], int count, char *report, size_t reportlen);

/* deb_update - run update-exim4.conf for real; 0 or -1 with its output in report */
int deb_update(const deb_exim *d, char *report, size_t reportlen);

/* deb_reload - SIGHUP the running daemon; 1 reloaded, 0 not running, -1 error */
int deb_reload(const deb_exim *d);

/*
 * deb_exim_macro - whether the configuration Exim uses now (exim_config,
 * or Exim's default when NULL) defines macro: 1 yes, 0 no, -1 unknown.
 */
int deb_exim_macro(const deb_exim *d, const char *exim_config, const char *macro);

/*
 * Delivery events (exim_events.c): the smtp transports of Debian's
 * exim4-config (remote_smtp, remote_smtp_smarthost) with event_action =
 * MOAT_EVENT between marked lines, guarded by .ifdef MOAT_EVENT.
 *
 * deb_events_text - text with moat's event lines taken out and, when on,
 * put back into transport's definition after its driver line. *own set
 * (and nothing added) when the transport has an event_action of its own.
 * malloc'd; a copy when the transport is not there; NULL out of memory.
 */
char *deb_events_text(const char *text, const char *transport, int on, int *own);
/*
 * deb_write_events - the lines in (on) or out of the transports: the .rul
 * files of the split configuration, the unsplit template in place. 0, or
 * -1 with errno; report says which transports have an event_action of
 * their own (the admin adds MOAT_EVENT there).
 */
int deb_write_events(const deb_exim *d, int on, char *report, size_t reportlen);
/* deb_events_paths - the files deb_write_events may write (split: the .rul files); their number */
int deb_events_paths(const deb_exim *d, char paths[][DEB_PATH_MAX], int max);
/*
 * deb_events_wired - whether conf's (NULL: Exim's own) smtp transports of
 * Debian's call MOAT_EVENT: 1 yes, 0 no (why names the transport), -1
 * cannot tell.
 */
int deb_events_wired(const deb_exim *d, const char *conf, const char *module, char *why,
                     size_t whylen);

#endif
