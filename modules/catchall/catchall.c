/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catchall.c - the RCPT-time catch-all policy.
 *
 * A recipient of a domain with a catchall { domain "..." } section is
 * explicit when an allow pattern, the section's explicit file or the rcpt
 * module's directory names it (plus-addressing: bob+news@ is bob@'s). A
 * recipient Exim routes that is not explicit was accepted only by the
 * catch-all, and the domain's policy decides.
 *
 * Answers: accept reason=explicit|not_catchall_domain|not_routed|
 * directory_unavailable|catchall_only (policy accept); warn mark=yes
 * reason=catchall_only (the ACL marks the message, autoreply never answers
 * it); deny 550 5.1.1 reason=catchall_suspicious|catchall_under_attack.
 * An explicit file that cannot be read is moat's fault (on_error), never
 * "everyone is catch-all only".
 */
#include "catchall.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "rcpt/addrlist.h"
#include "rcpt/rcpt.h"

enum { POLICY_ACCEPT, POLICY_MARK, POLICY_REJECT_SUSPICIOUS, POLICY_REJECT_UNDER_ATTACK };

/* the explicit lists this process loaded, one per domain section: no fixed limit */
static struct explicit_entry {
    char *domain;
    addrlist list;
} *explicit_lists;
static size_t explicit_count, explicit_cap;

/* explicit_slot - the list kept for a domain section, added on first use; NULL out of memory */
static addrlist *explicit_slot(const char *domain)
{
    struct explicit_entry *grown;
    size_t i, cap;

    for (i = 0; i < explicit_count; i++)
        if (strcmp(explicit_lists[i].domain, domain) == 0)
            return &explicit_lists[i].list;
    if (explicit_count == explicit_cap) {
        cap = explicit_cap ? explicit_cap * 2 : 16;
        if ((grown = realloc(explicit_lists, cap * sizeof *grown)) == NULL)
            return NULL;
        explicit_lists = grown;
        explicit_cap = cap;
    }
    memset(&explicit_lists[explicit_count], 0, sizeof explicit_lists[explicit_count]);
    if ((explicit_lists[explicit_count].domain = strdup(domain)) == NULL)
        return NULL;
    return &explicit_lists[explicit_count++].list;
}

/*
 * explicit_list - the loaded explicit-address file of a domain section:
 * 0 with *out (NULL when the section names none), -1 with err when the
 * file cannot be read (then nobody is known to be catch-all only).
 */
static int explicit_list(cfg_t *dom, time_t now, const addrlist **out, char *err,
                         size_t errlen)
{
    const char *path = moat_cfg_str(dom, "explicit");
    addrlist *list;

    *out = NULL;
    if (path == NULL || *path == '\0')
        return 0;
    /* the section's title: one entry per configured domain, whatever the mail */
    if ((list = explicit_slot(cfg_title(dom))) == NULL) {
        snprintf(err, errlen, "out of memory loading %s", path);
        return -1;
    }
    if (addrlist_refresh(list, path, now, err, errlen) != 0)
        return -1;
    *out = list;
    return 0;
}

/* base_local - "bob+news" -> "bob" (plus-addressing keeps a recipient explicit) */
static void base_local(const char *local, char *out, size_t cap)
{
    size_t n = strcspn(local, "+");

    if (n >= cap)
        n = cap - 1;
    memcpy(out, local, n);
    out[n] = '\0';
}

/* allowed - whether the address matches one of the section's allow patterns */
static int allowed(cfg_t *dom, const moat_addr *a, const char *key)
{
    char local[ADDR_LOCAL_MAX * 2 + 3], pattern[ADDR_TEXT_MAX + 1];
    unsigned i;

    addr_lower(a->local, local, sizeof local);
    for (i = 0; i < moat_cfg_count(dom, "allow"); i++) {
        addr_lower(moat_cfg_nstr(dom, "allow", i), pattern, sizeof pattern);
        /* "sales-*@example.com" against the address, "sales-*" against the local part */
        if (fnmatch(pattern, strchr(pattern, '@') ? key : local, 0) == 0)
            return 1;
    }
    return 0;
}

/*
 * known - whether key is explicit in the section's file or the rcpt
 * directory: 1 yes, 0 no, -1 the directory cannot say now (TEMPFAIL).
 */
static int known(moat_runtime *rt, const addrlist *list, const char *key, time_t now)
{
    int r;

    if (list && addrlist_find(list, key) >= 0)
        return 1;
    /* "" as Exim's verdict: a directory that is Exim's own routing says SKIP */
    r = rcpt_directory_lookup(rt, key, "", now);
    return r == RCPT_DIR_FOUND ? 1 : r == RCPT_DIR_TEMPFAIL ? -1 : 0;
}

/*
 * is_explicit - 1 explicit, 0 catch-all only, -1 the directory cannot say
 * now, -2 the explicit file cannot be read (err says why)
 */
static int is_explicit(moat_runtime *rt, cfg_t *dom, const moat_addr *a, time_t now,
                       char *err, size_t errlen)
{
    const addrlist *list;
    int unreadable = explicit_list(dom, now, &list, err, errlen) != 0;
    char key[ADDR_TEXT_MAX + 1], local[ADDR_LOCAL_MAX * 2 + 3];
    int r;

    addr_key(a, key, sizeof key);
    if (allowed(dom, a, key))
        return 1;
    if ((r = known(rt, list, key, now)) != 0)
        return r;
    base_local(a->local, local, sizeof local);
    if (strcmp(local, a->local) != 0 && local[0] != '\0') {
        snprintf(key, sizeof key, "%s@%s", local, a->domain);
        addr_lower(key, key, sizeof key);
        r = known(rt, list, key, now);
    }
    /* not found, but the file that names the people was never read */
    return r == 0 && unreadable ? -2 : r;
}

static void answer(moat_verdict *v, const char *action, const char *reason)
{
    verdict_init(v, action);
    verdict_add(v, "reason", reason);
    if (strcmp(action, "deny") == 0) {
        verdict_add(v, "code", "550");
        verdict_add(v, "xcode", "5.1.1");
        verdict_add(v, "text", "No such user here");
    }
}

/*
 * refusal - whether the policy refuses this catch-all-only recipient now:
 * the reason, NULL to accept it, or "" on a store failure.
 */
static const char *refusal(moat_runtime *rt, long policy, const catchall_request *req,
                           const char *domain)
{
    int r;

    if (policy == POLICY_REJECT_UNDER_ATTACK) {
        r = rcpt_domain_under_attack(rt, domain, req->now);
        return r < 0 ? "" : r ? "catchall_under_attack" : NULL;
    }
    if (policy == POLICY_REJECT_SUSPICIOUS) {
        /* a null sender to an address nobody has is backscatter at best */
        if (req->sender == NULL || *req->sender == '\0')
            return "catchall_suspicious";
        r = rcpt_client_suspicious(rt, req->client_ip, req->now);
        return r < 0 ? "" : r ? "catchall_suspicious" : NULL;
    }
    return NULL;
}

int catchall_rcpt(moat_runtime *rt, const catchall_request *req, moat_verdict *v,
                  const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "catchall"), *dom;
    int authenticated = req->auth_id && *req->auth_id;
    const char *perr, *refused = NULL;
    static char err[1024];   /* *why outlives the call */
    char fip[160], fsender[ADDR_TEXT_MAX * 4 + 1], frcpt[ADDR_TEXT_MAX * 4 + 1];
    moat_addr a;
    long policy;
    int r;

    if (addr_parse(req->recipient, &a, &perr) != 0 ||
        (dom = moat_cfg_titled(sec, "domain", a.domain)) == NULL) {
        answer(v, "accept", "not_catchall_domain");
        return 0;
    }
    if (req->exim_verify == NULL || strcmp(req->exim_verify, "yes") != 0) {
        answer(v, "accept", "not_routed");   /* Exim (or the rcpt module) refuses it */
        return 0;
    }
    r = is_explicit(rt, dom, &a, req->now, err, sizeof err);
    if (r == -2) {
        /* moat's own fault: on_error answers, nothing refused or counted */
        *why = err;
        return -1;
    }
    if (r != 0) {
        /* a directory outage must not refuse mail the catch-all takes */
        answer(v, "accept", r > 0 ? "explicit" : "directory_unavailable");
        return 0;
    }
    /* Accepted only by the catch-all. Judge before counting this one. */
    policy = moat_cfg_int(dom, "policy");
    if (!authenticated && (refused = refusal(rt, policy, req, a.domain)) != NULL &&
        *refused == '\0')
        goto store_error;
    if (!authenticated && moat_cfg_bool(dom, "count_as_invalid") &&
        rcpt_harvest_note_invalid(rt, req->client_ip, req->sender, req->recipient, req->now) < 0)
        goto store_error;
    if (refused && moat_config_log_only(rt->config, "catchall")) {
        answer(v, "warn", "log_only");
        verdict_add(v, "would", "deny");
        verdict_add(v, "mark", "yes");
    } else if (refused) {
        answer(v, "deny", refused);
    } else if (policy == POLICY_ACCEPT) {
        answer(v, "accept", "catchall_only");
    } else {
        answer(v, "warn", "catchall_only");
        verdict_add(v, "mark", "yes");
    }
    moat_log(MOAT_LOG_INFO, "moat catchall: action=%s reason=%s ip=%s sender=<%s> rcpt=<%s>%s",
             refused ? "deny" : policy == POLICY_ACCEPT ? "accept" : "mark",
             refused ? refused : "catchall_only",
             req->client_ip && *req->client_ip ? moat_log_field(req->client_ip, fip, sizeof fip)
                                               : "local",
             moat_log_field(req->sender, fsender, sizeof fsender),
             moat_log_field(req->recipient, frcpt, sizeof frcpt),
             refused && moat_config_log_only(rt->config, "catchall") ? " mode=log-only" : "");
    return 0;

store_error:
    *why = moat_store_last_error(rt->store);
    return -1;
}
