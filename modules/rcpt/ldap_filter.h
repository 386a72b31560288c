/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ldap_filter.h - building an LDAP search filter from a template and an
 * address the SMTP peer sent, with RFC 4515 escaping.
 */
#ifndef MOAT_RCPT_LDAP_FILTER_H
#define MOAT_RCPT_LDAP_FILTER_H

#include <stddef.h>

/* ldap_escape - RFC 4515 value escaping of in (* ( ) \ NUL); -1 if out is too small */
int ldap_escape(const char *in, size_t inlen, char *out, size_t cap);

/*
 * ldap_build_filter - expand template: %s the whole address, %u the local
 * part, %d the domain, %% a percent sign; every substitution escaped.
 * 0, or -1 when out is too small or the template has an unknown %x.
 */
int ldap_build_filter(const char *tmpl, const char *address, char *out, size_t cap);

#endif
