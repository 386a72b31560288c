/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * owndomain.c - mail in the name of our own domains from outside: which
 * domain's policy applies (its own domain "..." section, else the
 * section's policy for every local domain), the exemptions (forwarders by
 * host, lists and newsletter services by envelope sender), SPF for the
 * spf policy, and the verdict.
 */
#include "owndomain.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfglist.h"
#include "log.h"

enum { OWN_OFF = 0, OWN_MARK = 1, OWN_REJECT = 2, OWN_SPF = 3 };

static const char *const policy_names[] = {"off", "mark", "reject", "spf"};

/* domain_of - the part after the last '@' ("" when none) */
static const char *domain_of(const char *address)
{
    const char *at = address ? strrchr(address, '@') : NULL;

    return at ? at + 1 : "";
}

/* policy_for - the policy for domain: its own section, else the default for local domains */
static int policy_for(cfg_t *own, const char *domain, int local)
{
    unsigned n = cfg_size(own, "domain");

    if (domain[0] == '\0')
        return OWN_OFF;
    for (unsigned i = 0; i < n; i++) {
        cfg_t *d = cfg_getnsec(own, "domain", i);
        if (strcasecmp(cfg_title(d), domain) == 0)
            return (int)cfg_getint(d, "policy");
    }
    return local ? (int)moat_cfg_int(own, "policy") : OWN_OFF;
}

int rcpt_own_domain(moat_runtime *rt, const own_request *req, moat_verdict *v,
                    const char **why)
{
    cfg_t *own = cfg_getsec(moat_config_module(rt->config, "rcpt"), "own_domains");
    char key[ADDR_TEXT_MAX + 1], dom[ADDR_DOMAIN_MAX + 1], mark[ADDR_DOMAIN_MAX + 64];
    char sbuf[ADDR_TEXT_MAX * 4 + 1], fbuf[ADDR_TEXT_MAX * 4 + 1], dbuf[ADDR_DOMAIN_MAX * 4 + 1];
    char spf[16];
    int ps, pf, policy, envelope;

    (void)why;
    ps = policy_for(own, domain_of(req->sender), req->sender_local);
    pf = policy_for(own, domain_of(req->from), req->from_local);
    if (ps == OWN_OFF && pf == OWN_OFF) {
        verdict_init(v, "accept");
        verdict_add(v, "reason", "not_own");
        return 0;
    }
    addr_lower(req->sender ? req->sender : "", key, sizeof key);
    if (rcpt_in_cidr_list(own, "exempt_hosts", req->client_ip) ||
        rcpt_in_address_list(own, "exempt_senders", key)) {
        verdict_init(v, "accept");
        verdict_add(v, "reason", "own_domain_exempt");
        return 0;
    }
    /* the envelope first: it is what SPF speaks for */
    envelope = ps != OWN_OFF;
    policy = envelope ? ps : pf;
    addr_lower(envelope ? domain_of(req->sender) : domain_of(req->from), dom, sizeof dom);
    if (policy == OWN_SPF && envelope) {
        const char *spf = req->spf ? req->spf : "";
        /* Exim asks SPF only when this says so: one DNS lookup less per message */
        if (spf[0] == '\0') {
            verdict_init(v, "accept");
            verdict_add(v, "reason", "spf_needed");
            return 0;
        }
        if (strcmp(spf, "pass") == 0) {
            verdict_init(v, "accept");
            verdict_add(v, "reason", "own_domain_spf_pass");
            return 0;
        }
        /* our domain's SPF could not be read: never a 5xx for what may be our own mail */
        if (strcmp(spf, "temperror") == 0) {
            verdict_init(v, "defer");
            verdict_add(v, "code", "451");
            verdict_add(v, "xcode", "4.7.1");
            verdict_add(v, "reason", "spf_temperror");
            verdict_add(v, "text", "SPF of your domain cannot be checked now, try again later");
            return 0;
        }
    }
    if (policy == OWN_MARK) {
        snprintf(mark, sizeof mark, "forged domain=%s via=%s", dom, envelope ? "envelope" : "from");
        verdict_init(v, "accept");
        verdict_add(v, "reason", "own_domain_marked");
        verdict_add(v, "mark", mark);
    } else {
        verdict_init(v, "deny");
        verdict_add(v, "code", "550");
        verdict_add(v, "xcode", "5.7.1");
        verdict_add(v, "reason", "own_domain_forged");
        verdict_addf(v, "text", "Mail from %s is sent through its own servers, authenticated",
                     dom);
    }
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=%s reason=%s ip=%s sender=<%s> from=<%s> "
             "domain=%s via=%s policy=%s spf=%s", policy == OWN_MARK ? "mark" : "deny",
             policy == OWN_MARK ? "own_domain_marked" : "own_domain_forged",
             req->client_ip && *req->client_ip ? req->client_ip : "local",
             moat_log_field(req->sender, sbuf, sizeof sbuf),
             moat_log_field(req->from, fbuf, sizeof fbuf), moat_log_field(dom, dbuf, sizeof dbuf),
             envelope ? "envelope" : "from", policy_names[policy],
             moat_log_field(req->spf && *req->spf ? req->spf : "none", spf, sizeof spf));
    return 0;
}
