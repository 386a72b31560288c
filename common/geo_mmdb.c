/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * geo_mmdb.c - the GeoIP backend (backends/geoip.so): libmaxminddb
 * lookups with per-process open files. Exim forks a
 * process per connection and each opens (maps) the files on first use; the
 * page cache is shared, so that costs little. Replace a database by
 * writing a new file and rename()ing it into place: a file rewritten in
 * place can be read half-written (libmaxminddb issue #322).
 */
#include "geo.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

typedef struct geo_db {
    char path[4096];
    MMDB_s mmdb;
    int open;
    ino_t ino;          /* of the file last tried, open or not */
    time_t mtime;
    time_t checked;     /* when path was last stat()ed */
} geo_db;

static geo_db dbs[2];

/*
 * db_for - the open database for path, (re)opened when new or replaced;
 * NULL if unusable. The file is stat()ed at most once a second; a file
 * that failed to open is tried again only once it changes.
 */
static MMDB_s *db_for(int slot, const char *path, time_t now)
{
    geo_db *g = &dbs[slot];
    struct stat sb;
    int rc, same_path;

    if (path == NULL || *path == '\0')
        return NULL;
    same_path = strcmp(g->path, path) == 0;
    if (same_path && g->checked == now)
        return g->open ? &g->mmdb : NULL;
    g->checked = now;
    if (stat(path, &sb) != 0) {
        if (g->open && same_path)
            return &g->mmdb;   /* removed under us: the mapped copy still answers */
        if (g->open) {
            MMDB_close(&g->mmdb);   /* another file's copy: not an answer for path */
            g->open = 0;
        }
        moat_log_once(path, MOAT_LOG_WARN,
                      "moat geo: %s is missing: geo rules are off until it appears", path);
        snprintf(g->path, sizeof g->path, "%s", path);
        g->ino = 0;
        return NULL;
    }
    if (same_path && sb.st_ino == g->ino && sb.st_mtime == g->mtime)
        return g->open ? &g->mmdb : NULL;
    if (g->open) {
        MMDB_close(&g->mmdb);
        g->open = 0;
    }
    snprintf(g->path, sizeof g->path, "%s", path);
    g->ino = sb.st_ino;
    g->mtime = sb.st_mtime;
    rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (rc != MMDB_SUCCESS) {
        moat_log_once(path, MOAT_LOG_WARN, "moat geo: cannot use %s: %s: geo rules are off",
                      path, MMDB_strerror(rc));
        return NULL;
    }
    g->open = 1;
    return &g->mmdb;
}

/*
 * numeric_address - ip, a numeric IPv4 or IPv6 address (as Exim gives
 * it), as a socket address; 0, or -1 when it is not one. inet_pton where
 * MMDB_lookup_string would call getaddrinfo twice per client.
 */
static int numeric_address(const char *ip, struct sockaddr_storage *ss)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

/* lookup - the record of the address in db; 1 when found */
static int lookup(MMDB_s *db, const struct sockaddr_storage *ss, MMDB_lookup_result_s *res)
{
    int rc = 0;

    *res = MMDB_lookup_sockaddr(db, (const struct sockaddr *)ss, &rc);
    return rc == MMDB_SUCCESS && res->found_entry;
}

/* country_of - the two-letter code under field/iso_code of a record; 1 when there */
static int country_of(MMDB_lookup_result_s *res, const char *field, geo_info *info)
{
    MMDB_entry_data_s data;

    if (MMDB_get_value(&res->entry, &data, field, "iso_code", NULL) != MMDB_SUCCESS ||
        !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
        return 0;
    memcpy(info->country, data.utf8_string, 2);
    info->country[2] = '\0';
    return 1;
}

static int mmdb_lookup(const char *country_db, const char *asn_db, const char *ip, time_t now,
                       geo_info *info)
{
    MMDB_s *cdb = db_for(0, country_db, now), *adb = db_for(1, asn_db, now);
    MMDB_lookup_result_s res;
    MMDB_entry_data_s data;
    struct sockaddr_storage ss;
    int found = 0;

    memset(info, 0, sizeof *info);
    if ((cdb == NULL && adb == NULL) || numeric_address(ip, &ss) != 0)
        return 0;
    if (cdb && lookup(cdb, &ss, &res) &&
        (country_of(&res, "country", info) || country_of(&res, "registered_country", info)))
        found = 1;
    if (adb && lookup(adb, &ss, &res)) {
        if (MMDB_get_value(&res.entry, &data, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
            data.has_data && data.type == MMDB_DATA_TYPE_UINT32) {
            info->asn = data.uint32;
            found = 1;
        }
        if (MMDB_get_value(&res.entry, &data, "autonomous_system_organization", NULL) ==
                MMDB_SUCCESS && data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING)
            snprintf(info->asn_org, sizeof info->asn_org, "%.*s",
                     (int)(data.data_size < 63 ? data.data_size : 63), data.utf8_string);
    }
    return found;
}

static int mmdb_available(const char *country_db, const char *asn_db, time_t now)
{
    return db_for(0, country_db, now) != NULL || db_for(1, asn_db, now) != NULL;
}

const geo_backend moat_backend_geoip_v1 = {mmdb_lookup, mmdb_available};
