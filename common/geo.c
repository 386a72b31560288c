/*
 * geo.c - libmaxminddb lookups with per-process open files.
 */
#include "geo.h"

#include <maxminddb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

typedef struct geo_db {
    char path[4096];
    MMDB_s mmdb;
    int open;
    ino_t ino;
    time_t mtime;
    time_t checked;
} geo_db;

static geo_db dbs[2];

/* db_for - the open database for path, (re)opened when new or replaced; NULL if unusable */
static MMDB_s *db_for(int slot, const char *path, time_t now)
{
    geo_db *g = &dbs[slot];
    struct stat sb;
    int rc;

    if (path == NULL || *path == '\0')
        return NULL;
    if (strcmp(g->path, path) == 0 && g->checked == now)
        return g->open ? &g->mmdb : NULL;
    g->checked = now;
    if (stat(path, &sb) != 0) {
        if (g->open)
            return &g->mmdb;   /* keep the copy we have */
        moat_log_once(path, MOAT_LOG_WARN,
                      "moat geo: %s is missing: geo rules are off until it appears", path);
        snprintf(g->path, sizeof g->path, "%s", path);
        return NULL;
    }
    if (g->open && strcmp(g->path, path) == 0 && sb.st_ino == g->ino && sb.st_mtime == g->mtime)
        return &g->mmdb;
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

/* lookup - the record of ip in db; 1 when found */
static int lookup(MMDB_s *db, const char *ip, MMDB_lookup_result_s *res)
{
    int gai = 0, rc = 0;

    *res = MMDB_lookup_string(db, ip, &gai, &rc);
    return gai == 0 && rc == MMDB_SUCCESS && res->found_entry;
}

int geo_lookup(const char *country_db, const char *asn_db, const char *ip, time_t now,
               geo_info *info)
{
    MMDB_s *cdb = db_for(0, country_db, now), *adb = db_for(1, asn_db, now);
    MMDB_lookup_result_s res;
    MMDB_entry_data_s data;
    int found = 0;

    memset(info, 0, sizeof *info);
    if (cdb && lookup(cdb, ip, &res) &&
        MMDB_get_value(&res.entry, &data, "country", "iso_code", NULL) == MMDB_SUCCESS &&
        data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size == 2) {
        memcpy(info->country, data.utf8_string, 2);
        info->country[2] = '\0';
        found = 1;
    }
    if (adb && lookup(adb, ip, &res)) {
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

int geo_available(const char *country_db, const char *asn_db, time_t now)
{
    return db_for(0, country_db, now) != NULL || db_for(1, asn_db, now) != NULL;
}
