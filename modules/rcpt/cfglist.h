/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfglist.h - membership in the rcpt section's lists of networks and
 * addresses (moat.conf).
 */
#ifndef MOAT_RCPT_CFGLIST_H
#define MOAT_RCPT_CFGLIST_H

#include "config.h"

/* rcpt_in_cidr_list - whether ip matches one of the CIDRs of option opt of sec */
int rcpt_in_cidr_list(cfg_t *sec, const char *opt, const char *ip);

/* rcpt_in_address_list - whether key (a lower-cased address) matches "addr", "@domain" or "domain" */
int rcpt_in_address_list(cfg_t *sec, const char *opt, const char *key);

#endif
