/*
 * exim_debian.h - moat's place in Debian's exim4-config: which modules'
 * MOAT_ENABLE_<MODULE> macros are defined, written where update-exim4.conf
 * reads them (split or unsplit configuration), checked with Exim itself
 * before Exim uses them, and a reload of the running daemon.
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
 * deb_write_enabled - rewrite the moat block for exactly these modules; no
 * module removes the block (and, for the split configuration, the file).
 */
int deb_write_enabled(const deb_exim *d, char names[][32], int count, char *err, size_t errlen);

/* deb_restore - put the macro file back as it was (old_text "" = absent) */
int deb_restore(const deb_exim *d, const char *old_text);

/*
 * deb_check - build the configuration into a temporary file with
 * update-exim4.conf, then ask Exim: -bV (syntax, every include) and a short
 * -bh session (every ACL the session reaches resolves and runs). 0 when
 * it checks; otherwise -1 with Exim's complaint in report.
 */
int deb_check(const deb_exim *d, char *report, size_t reportlen);

/* deb_update - run update-exim4.conf for real; 0 or -1 with its output in report */
int deb_update(const deb_exim *d, char *report, size_t reportlen);

/* deb_reload - SIGHUP the running daemon; 1 reloaded, 0 not running, -1 error */
int deb_reload(const deb_exim *d);

/*
 * deb_exim_macro - whether the configuration Exim uses now (exim_config,
 * or Exim's default when NULL) defines macro: 1 yes, 0 no, -1 unknown.
 */
int deb_exim_macro(const deb_exim *d, const char *exim_config, const char *macro);

#endif
