/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * directory_ldap.h - the LDAP / Active Directory directory source, with a
 * positive and a negative cache in the state store and serve-stale when
 * LDAP is down.
 */
#ifndef MOAT_RCPT_DIRECTORY_LDAP_H
#define MOAT_RCPT_DIRECTORY_LDAP_H

#include <confuse.h>
#include <time.h>

#include "runtime.h"

/* ldap_directory_lookup - RCPT_DIR_* for the lower-cased address */
int ldap_directory_lookup(moat_runtime *rt, cfg_t *ldap_section, const char *address,
                          time_t now);

#endif
