/*
 * catchall.c - the RCPT-time catch-all policy.
 *
 * Answers: accept (explicit | not_catchall_domain | not_routed | catchall
 * under policy accept), warn with mark=yes (policy mark: the ACL marks the
 * message, and autoreply never answers it), deny 550 5.1.1
 * catchall_suspicious | catchall_under_attack.
 */
#include "catchall.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "rcpt/addrlist.h"
#include "rcpt/rcpt.h"

enum { POLICY_ACCEPT, POLICY_MARK, POLICY_REJECT_SUSPICIOUS, POLICY_REJECT_UNDER_ATTACK };

#define MAX_DOMAINS 32

static struct {
    char domain[256];
    addrlist list;
} explicit_lists[MAX_DOMAINS];

/* explicit_list - the loaded explicit-address file of a domain section (NULL if none) */
static const addrlist *explicit_list(cfg_t *dom, const char *domain, time_t now)
{
    const char *path = cfg_getstr(dom, "explicit");
    char err[512];
    int i;

    if (path == NULL || *path == '\0')
        return NULL;
    for (i = 0; i < MAX_DOMAINS; i++) {
        if (explicit_lists[i].domain[0] == '\0')
            snprintf(explicit_lists[i].domain, sizeof explicit_lists[i].domain, "%s", domain);
        if (strcmp(explicit_lists[i].domain, domain) != 0)
            continue;
        if (addrlist_refresh(&explicit_lists[i].list, path, now, err, sizeof err) != 0) {
            moat_log_once(path, MOAT_LOG_ERROR, "moat catchall: error: %s", err);
            return NULL;
        }
        return &explicit_lists[i].list;
    }
    return NULL;
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

static int is_explicit(cfg_t *dom, const moat_addr *a, time_t now)
{
    const addrlist *list = explicit_list(dom, a->domain, now);
    char key[ADDR_TEXT_MAX + 1], local[ADDR_LOCAL_MAX * 2 + 3];
    unsigned i;

    addr_key(a, key, sizeof key);
    for (i = 0; i < cfg_size(dom, "allow"); i++) {
        char pattern[ADDR_TEXT_MAX + 1];
        addr_lower(cfg_getnstr(dom, "allow", i), pattern, sizeof pattern);
        if (fnmatch(pattern, key, 0) == 0 || (strchr(pattern, '@') == NULL &&
                                              fnmatch(pattern, key, FNM_LEADING_DIR) == 0))
            return 1;
        /* a local-part pattern such as "sales-*" */
        addr_lower(a->local, local, sizeof local);
        if (strchr(pattern, '@') == NULL && fnmatch(pattern, local, 0) == 0)
            return 1;
    }
    if (list == NULL)
        return 0;
    if (addrlist_find(list, key) >= 0)
        return 1;
    base_local(a->local, local, sizeof local);
    snprintf(key, sizeof key, "%s@%s", local, a->domain);
    return strcmp(local, a->local) != 0 && addrlist_find(list, key) >= 0;
}

int catchall_explicit(moat_runtime *rt, const char *address, time_t now)
{
    cfg_t *sec = moat_config_module(rt->config, "catchall");
    moat_addr a;
    const char *why;
    cfg_t *dom;

    if (addr_parse(address, &a, &why) != 0)
        return 0;
    dom = cfg_gettsec(sec, "domain", a.domain);
    return dom ? is_explicit(dom, &a, now) : 1;
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

int catchall_rcpt(moat_runtime *rt, const catchall_request *req, moat_verdict *v,
                  const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "catchall"), *dom;
    moat_addr a;
    const char *perr;
    long policy;
    int r;

    if (addr_parse(req->recipient, &a, &perr) != 0 ||
        (dom = cfg_gettsec(sec, "domain", a.domain)) == NULL) {
        answer(v, "accept", "not_catchall_domain");
        return 0;
    }
    if (is_explicit(dom, &a, req->now)) {
        answer(v, "accept", "explicit");
        return 0;
    }
    if (req->exim_verify == NULL || strcmp(req->exim_verify, "yes") != 0) {
        answer(v, "accept", "not_routed");   /* Exim refuses it by itself */
        return 0;
    }
    /* Accepted only by the catch-all. */
    policy = cfg_getint(dom, "policy");
    if (cfg_getbool(dom, "count_as_invalid") && !(req->auth_id && *req->auth_id) &&
        rcpt_harvest_note_invalid(rt, req->client_ip, req->sender, req->recipient, req->now) < 0)
        goto store_error;
    if (policy == POLICY_REJECT_UNDER_ATTACK) {
        if ((r = rcpt_domain_under_attack(rt, a.domain, req->now)) < 0)
            goto store_error;
        if (r) {
            answer(v, "deny", "catchall_under_attack");
            goto decided;
        }
    } else if (policy == POLICY_REJECT_SUSPICIOUS) {
        r = req->sender == NULL || *req->sender == '\0'
                ? 1 : rcpt_client_suspicious(rt, req->client_ip, req->now);
        if (r < 0)
            goto store_error;
        if (r) {
            answer(v, "deny", "catchall_suspicious");
            goto decided;
        }
    }
    answer(v, policy == POLICY_ACCEPT ? "accept" : "warn", "catchall_only");
    verdict_add(v, "mark", "yes");
decided:
    moat_log(MOAT_LOG_INFO, "moat catchall: action=%s reason=%s ip=%s sender=<%s> rcpt=<%s>",
             strstr(v->text, "action=deny") ? "deny" : "mark",
             strstr(v->text, "under_attack") ? "catchall_under_attack"
             : strstr(v->text, "suspicious") ? "catchall_suspicious" : "catchall_only",
             req->client_ip, req->sender ? req->sender : "", req->recipient);
    if (moat_config_log_only(rt->config, "catchall") && strstr(v->text, "action=deny")) {
        answer(v, "warn", "log_only");
        verdict_add(v, "would", "deny");
        verdict_add(v, "mark", "yes");
    }
    return 0;

store_error:
    *why = moat_store_last_error(rt->store);
    return -1;
}
