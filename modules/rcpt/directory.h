/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory.h - module-internal view of the directory sources (the public
 * lookup, rcpt_directory_lookup, is in rcpt.h).
 */
#ifndef MOAT_RCPT_DIRECTORY_H
#define MOAT_RCPT_DIRECTORY_H

#include "addrlist.h"
#include "runtime.h"

/* rcpt_directory_file - the loaded text source, for near-miss suggestions (NULL if none) */
const addrlist *rcpt_directory_file(moat_runtime *rt);

/*
 * rcpt_directory_outage_defers - whether RCPT_DIR_TEMPFAIL is an outage of
 * a directory service (LDAP down, Exim's routing deferred: answer 451) or,
 * for files, moat's own failure (answer per on_error).
 */
int rcpt_directory_outage_defers(moat_runtime *rt);

/*
 * rcpt_directory_own - whether the directory is moat's own (file, cdb,
 * ldap): an address it finds is listed, not merely routable by Exim
 */
int rcpt_directory_own(moat_runtime *rt);

#endif
