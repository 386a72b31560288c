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

/* rcpt_directory_is_ldap - whether the source is LDAP (its outages defer; others are faults) */
int rcpt_directory_is_ldap(moat_runtime *rt);

#endif
