/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory_cdb.h - the CDB directory source (tinycdb): a constant
 * database compiled from the text format by "moatctl rcpt compile".
 *
 * Keys: "local@domain" for each address, "@domain" for each covered
 * domain, "*@domain" for each domain not to judge; values are empty.
 */
#ifndef MOAT_RCPT_DIRECTORY_CDB_H
#define MOAT_RCPT_DIRECTORY_CDB_H

#include <stddef.h>
#include <time.h>

#include "api.h"

/* cdb_directory_lookup - RCPT_DIR_* for address (lower-cased local@domain) */
int cdb_directory_lookup(const char *path, const char *address, const char *domain,
                         time_t now, char *err, size_t errlen);

/*
 * cdb_directory_compile - build dst from the text list src (written to a
 * temporary file and renamed, so readers never see half a database);
 * returns the number of addresses, or -1 with err.
 */
long cdb_directory_compile(const char *src, const char *dst, char *err, size_t errlen);

/* What the CDB backend (directory_cdb.c: backends/cdb.so, with tinycdb)
 * does for the two above (directory.c), which load it on first use. */
typedef struct cdb_backend {
    int (*lookup)(const char *path, const char *address, const char *domain, time_t now,
                  char *err, size_t errlen);
    long (*compile)(const char *src, const char *dst, char *err, size_t errlen);
} cdb_backend;

extern MOAT_API const cdb_backend moat_backend_cdb_v1;

#endif
