/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory.c - which recipients exist: Exim's own routing verdict, a text
 * file, a CDB file or LDAP, then the alias map of known misspellings.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "addrlist.h"
#include "backend.h"
#include "directory.h"
#include "directory_cdb.h"
#include "directory_ldap.h"
#include "log.h"
#include "rcpt.h"

enum { SOURCE_EXIM, SOURCE_FILE, SOURCE_CDB, SOURCE_LDAP };

static addrlist file_source;
static addrlist alias_map;

int cdb_directory_lookup(const char *path, const char *address, const char *domain,
                         time_t now, char *err, size_t errlen)
{
    const cdb_backend *b = moat_backend("cdb", err, errlen);

    return b ? b->lookup(path, address, domain, now, err, errlen) : RCPT_DIR_TEMPFAIL;
}

long cdb_directory_compile(const char *src, const char *dst, char *err, size_t errlen)
{
    const cdb_backend *b = moat_backend("cdb", err, errlen);

    return b ? b->compile(src, dst, err, errlen) : -1;
}

/* file_lookup - RCPT_DIR_* from the text file source */
static int file_lookup(cfg_t *sec, const char *key, const char *domain, time_t now)
{
    char err[512];

    if (addrlist_refresh(&file_source, moat_cfg_str(sec, "file"), now, err, sizeof err) != 0) {
        moat_log_once("rcpt:file", MOAT_LOG_ERROR, "moat rcpt: error: %s", err);
        return RCPT_DIR_TEMPFAIL;
    }
    if (addrlist_find_key(&file_source, key) >= 0)
        return RCPT_DIR_FOUND;
    if (addrlist_skips(&file_source, domain) || !addrlist_covers(&file_source, domain))
        return RCPT_DIR_SKIP;
    return RCPT_DIR_NOTFOUND;
}

/* alias_known - whether the address is a known misspelling (counts as valid) */
static int alias_known(cfg_t *sec, const char *key, time_t now)
{
    const char *path = moat_cfg_str(sec, "aliases");
    char err[512];

    if (path == NULL || *path == '\0')
        return 0;
    if (addrlist_refresh(&alias_map, path, now, err, sizeof err) != 0) {
        moat_log_once("rcpt:aliases", MOAT_LOG_WARN, "moat rcpt: %s", err);
        return 0;
    }
    return addrlist_find_key(&alias_map, key) >= 0;
}

int rcpt_directory_lookup(moat_runtime *rt, const char *address, const char *exim_verify,
                          time_t now)
{
    char key[ADDR_TEXT_MAX + 1];
    moat_addr a;
    const char *why;

    if (addr_parse(address, &a, &why) != 0)
        return RCPT_DIR_SKIP;
    addr_key(&a, key, sizeof key);
    return rcpt_directory_lookup_key(rt, &a, key, exim_verify, now);
}

int rcpt_directory_lookup_key(moat_runtime *rt, const moat_addr *parsed, const char *key,
                              const char *exim_verify, time_t now)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");
    char err[512];
    int found;

    switch (moat_cfg_int(sec, "source")) {
    case SOURCE_FILE:
        found = file_lookup(sec, key, parsed->domain, now);
        break;
    case SOURCE_CDB:
        found = cdb_directory_lookup(moat_cfg_str(sec, "cdb"), key, parsed->domain, now, err,
                                     sizeof err);
        if (found == RCPT_DIR_TEMPFAIL)
            moat_log_once("rcpt:cdb", MOAT_LOG_ERROR, "moat rcpt: error: %s", err);
        break;
    case SOURCE_LDAP:
        found = ldap_directory_lookup(rt, cfg_getsec(sec, "ldap"), key, now);
        break;
    default:
        found = exim_verify == NULL || *exim_verify == '\0' ? RCPT_DIR_SKIP
              : strcmp(exim_verify, "yes") == 0             ? RCPT_DIR_FOUND
              : strcmp(exim_verify, "defer") == 0           ? RCPT_DIR_TEMPFAIL
                                                            : RCPT_DIR_NOTFOUND;
        break;
    }
    if (found == RCPT_DIR_NOTFOUND && alias_known(sec, key, now))
        found = RCPT_DIR_FOUND;
    return found;
}

const addrlist *rcpt_directory_file(moat_runtime *rt)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");

    return moat_cfg_int(sec, "source") == SOURCE_FILE && file_source.loaded ? &file_source : NULL;
}

int rcpt_directory_own(moat_runtime *rt)
{
    return moat_cfg_int(moat_config_module(rt->config, "rcpt"), "source") != SOURCE_EXIM;
}

int rcpt_directory_outage_defers(moat_runtime *rt)
{
    long source = moat_cfg_int(moat_config_module(rt->config, "rcpt"), "source");

    return source == SOURCE_LDAP || source == SOURCE_EXIM;
}
