/*
 * batv.c - batv's decisions: sign or not, the secret for a tag, and the
 * verdict for a bounce to one of our users.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "batv/batv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store_keys.h"

const char *batv_keys_dir(const moat_runtime *rt)
{
    return moat_cfg_str(moat_config_module(rt->config, "batv"), "keys");
}

/* domain_of - the part after the last '@' ("" when none) */
static const char *domain_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? at + 1 : "";
}

/* lower_domain - domain in lower case into out (Exim lower-cases $domain; key files are named so) */
static void lower_domain(const char *dom, char *out, size_t cap)
{
    size_t i;

    for (i = 0; i < cap - 1 && dom[i]; i++)
        out[i] = (char)((dom[i] >= 'A' && dom[i] <= 'Z') ? dom[i] + 32 : dom[i]);
    out[i] = '\0';
}

int batv_domain_policy(const moat_runtime *rt, const char *domain, batv_policy *p)
{
    cfg_t *sec = moat_config_module(rt->config, "batv");
    cfg_t *d = NULL;
    unsigned i;
    int listed = 0;

    if (domain[0] == '\0')
        return 0;
    for (i = 0; i < cfg_size(sec, "domain"); i++)
        if (strcasecmp(cfg_title(cfg_getnsec(sec, "domain", i)), domain) == 0)
            d = cfg_getnsec(sec, "domain", i);
    for (i = 0; !d && !listed && i < moat_cfg_count(sec, "domains"); i++)
        listed = strcasecmp(moat_cfg_nstr(sec, "domains", i), domain) == 0;
    if (!d && !listed)
        return 0;
    p->sign = d ? moat_cfg_bool(d, "sign") : 1;
    p->check = d ? moat_cfg_bool(d, "check") : 1;
    p->log_only = moat_config_log_only(rt->config, "batv") || (d && moat_cfg_bool(d, "log_only"));
    p->grace = moat_cfg_int(sec, "grace");
    if (d && moat_cfg_int(d, "grace") >= 0)
        p->grace = moat_cfg_int(d, "grace");
    p->autoreplies = strcmp(d && moat_cfg_str(d, "autoreplies")[0] ? moat_cfg_str(d, "autoreplies")
                                                                   : moat_cfg_str(sec, "autoreplies"),
                            "judge") == 0;
    return 1;
}

int batv_autoreplies_ok(const char *value, int may_inherit)
{
    return value != NULL && (strcmp(value, "judge") == 0 || strcmp(value, "off") == 0 ||
                             (may_inherit && value[0] == '\0'));
}

unsigned batv_domains(const moat_runtime *rt, const char **out, unsigned cap)
{
    cfg_t *sec = moat_config_module(rt->config, "batv");
    unsigned i, n = 0;

    for (i = 0; n < cap && i < moat_cfg_count(sec, "domains"); i++)
        out[n++] = moat_cfg_nstr(sec, "domains", i);
    for (i = 0; n < cap && i < cfg_size(sec, "domain"); i++) {
        const char *t = cfg_title(cfg_getnsec(sec, "domain", i));
        unsigned k;
        for (k = 0; k < n && strcasecmp(out[k], t) != 0; k++)
            ;
        if (k == n)
            out[n++] = t;
    }
    return n;
}

int batv_exempt(const moat_runtime *rt, const char *recipient)
{
    cfg_t *sec = moat_config_module(rt->config, "batv");
    const char *dom = domain_of(recipient);
    int whole = recipient[0] != '@';      /* "@domain": several recipients, no local part */
    unsigned i;

    for (i = 0; i < moat_cfg_count(sec, "exempt"); i++) {
        const char *e = moat_cfg_nstr(sec, "exempt", i);
        const char *eat = strchr(e, '@');
        if (e[0] == '.') {                                   /* .example.org: subdomains */
            size_t dl = strlen(dom), el = strlen(e);
            if (dl > el && strcasecmp(dom + dl - el, e) == 0)
                return 1;
        } else if (eat == NULL || eat == e) {                 /* domain or @domain */
            if (strcasecmp(eat ? e + 1 : e, dom) == 0)
                return 1;
        } else if (whole ? strcasecmp(e, recipient) == 0     /* user@domain */
                         : strcasecmp(eat + 1, dom) == 0) {
            return 1;
        }
    }
    return 0;
}

/* count - one more in a per-domain daily counter; a store fault is logged, not fatal */
static void count(moat_runtime *rt, batv_count what, const char *domain, time_t now)
{
    char key[STORE_KEY_MAX];

    batv_key_count(key, sizeof key, what, domain);
    if (moat_store_counter_add(rt->store, key, BATV_COUNTER_WINDOW, 1, now, NULL) == STORE_ERROR)
        moat_log_once("batv:count", MOAT_LOG_WARN, "moat batv: counters not kept: %s",
                      moat_store_last_error(rt->store));
}

int batv_sign(moat_runtime *rt, const char *return_path, const char *recipient, int ours,
              time_t now, batv_key *key, const char **reason, const char **why)
{
    const char *dom = domain_of(return_path);
    batv_policy p;
    batv_keyring ring;
    char lower[256];

    *why = NULL;
    if (return_path[0] == '\0') {
        *reason = "null_sender";
        return 0;
    }
    if (!ours) {
        *reason = "not_our_user";
        return 0;
    }
    if (strncasecmp(return_path, "prvs=", 5) == 0) {
        *reason = "already_signed";
        return 0;
    }
    if (!batv_domain_policy(rt, dom, &p) || !p.sign) {
        *reason = "not_signed_domain";
        return 0;
    }
    if (batv_exempt(rt, recipient)) {
        *reason = "exempt";
        return 0;
    }
    lower_domain(dom, lower, sizeof lower);
    if (batv_keys_load(batv_keys_dir(rt), lower, 1, now, &ring, why) != 0)
        return -1;
    *key = ring.current;
    *reason = "signed";
    count(rt, BATV_COUNT_SIGNED, lower, now);
    return 1;
}

int batv_secret(moat_runtime *rt, const char *address, const char *keynum, time_t now,
                char *out, size_t cap)
{
    const char *dom = domain_of(address), *why, *s;
    batv_policy p;
    batv_keyring ring;
    char lower[256];

    if (keynum[0] < '0' || keynum[0] > '9' || keynum[1] != '\0' ||
        !batv_domain_policy(rt, dom, &p) || !batv_domain_ok(dom))
        return -1;
    lower_domain(dom, lower, sizeof lower);
    if (batv_keys_load(batv_keys_dir(rt), lower, 0, now, &ring, &why) != 0)
        return -1;
    s = batv_keys_secret(&ring, keynum[0] - '0', now);
    if (s == NULL || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* local_part_is - whether rcpt's local part, less any prvs=TAG= prefix, is name */
static int local_part_is(const char *rcpt, const char *name)
{
    const char *at = strrchr(rcpt, '@');
    const char *lp = rcpt;
    size_t n = strlen(name);

    if (strncasecmp(lp, "prvs=", 5) == 0 && strchr(lp + 5, '=') != NULL &&
        (at == NULL || strchr(lp + 5, '=') < at))
        lp = strchr(lp + 5, '=') + 1;
    return at && (size_t)(at - lp) == n && strncasecmp(lp, name, n) == 0;
}

/* refuse - the deny verdict (or, log-only, the warn one) and its log line */
static void refuse(moat_verdict *v, const char *reason, int log_only, const char *ip,
                   const char *rcpt)
{
    const char *text = strcmp(reason, "bad_tag") == 0
        ? "Bounce to a forged or expired address tag (BATV), not sent by this user"
        : strcmp(reason, "unsigned_autoreply") == 0
        ? "Auto-reply to an unsigned address (BATV): answers mail this user did not send"
        : "Bounce to an unsigned address (BATV), not sent by this user";
    char fip[128], frcpt[600];

    moat_log(MOAT_LOG_INFO, "moat batv: action=%s reason=%s ip=%s rcpt=<%s>%s",
             log_only ? "warn" : "deny", reason, moat_log_field(ip, fip, sizeof fip),
             moat_log_field(rcpt, frcpt, sizeof frcpt), log_only ? " mode=log-only" : "");
    if (log_only) {
        verdict_init(v, "warn");
        verdict_add(v, "reason", reason);
        verdict_add(v, "log_only", "yes");
        return;
    }
    verdict_init(v, "deny");
    verdict_add(v, "code", "550");
    verdict_add(v, "xcode", "5.7.1");
    verdict_add(v, "reason", reason);
    verdict_add(v, "text", text);
}

/*
 * judge - batv_check and batv_check_autoreply: autoreply says which; an
 * auto-reply to a valid tag, or to a domain with autoreplies = off, passes
 */
static int judge(moat_runtime *rt, const char *client_ip, const char *rcpt, const char *tag,
                 int autoreply, time_t now, moat_verdict *v, const char **why)
{
    const char *dom = domain_of(rcpt);
    batv_policy p;
    batv_keyring ring;
    char lower[256], fip[128], frcpt[600];

    *why = NULL;
    if (!batv_domain_policy(rt, dom, &p) || !p.check || (autoreply && !p.autoreplies)) {
        verdict_init(v, "accept");
        verdict_add(v, "reason", "not_checked");
        return 0;
    }
    lower_domain(dom, lower, sizeof lower);
    if (strcmp(tag, "valid") == 0) {
        count(rt, BATV_COUNT_VALID, lower, now);
        verdict_init(v, "accept");
        verdict_add(v, "reason", "valid_tag");
        return 0;
    }
    if (local_part_is(rcpt, "postmaster")) {      /* RFC 5321 4.5.1: always reachable */
        verdict_init(v, "accept");
        verdict_add(v, "reason", "postmaster");
        return 0;
    }
    /*
     * No key file: nothing was ever signed for the domain here (signing
     * makes the key; or the file was not copied to this MX host), so no
     * tag can be judged and no bounce is refused. The key is made by
     * signing, not here: a check alone must not start the grace period of
     * a host whose transport never signs.
     */
    switch (batv_keys_load(batv_keys_dir(rt), lower, 0, now, &ring, why)) {
    case 0:
        break;
    case 1:
        moat_log_once("batv:nokey", MOAT_LOG_WARN,
                      "moat batv: no key file for %s in %s yet (nothing signed here): bounces "
                      "are not judged until mail is signed or the file is copied from the "
                      "signing host", lower, batv_keys_dir(rt));
        verdict_init(v, "accept");
        verdict_add(v, "reason", "no_key");
        return 0;
    default:
        return -1;
    }
    if (strcmp(tag, "invalid") == 0) {
        count(rt, p.log_only ? BATV_COUNT_LOGGED : BATV_COUNT_DENIED, lower, now);
        refuse(v, "bad_tag", p.log_only, client_ip, rcpt);
        return 0;
    }
    /* Unsigned: the grace period counts from when signing began (the key file's "since"). */
    if (p.grace > 0 && now - ring.since < p.grace) {
        count(rt, BATV_COUNT_GRACE, lower, now);
        moat_log(MOAT_LOG_INFO, "moat batv: action=accept reason=grace ip=%s rcpt=<%s>",
                 moat_log_field(client_ip, fip, sizeof fip),
                 moat_log_field(rcpt, frcpt, sizeof frcpt));
        verdict_init(v, "accept");
        verdict_add(v, "reason", "grace");
        return 0;
    }
    count(rt, p.log_only ? BATV_COUNT_LOGGED : BATV_COUNT_DENIED, lower, now);
    refuse(v, autoreply ? "unsigned_autoreply" : "unsigned_bounce", p.log_only, client_ip, rcpt);
    return 0;
}

int batv_check(moat_runtime *rt, const char *client_ip, const char *rcpt, const char *tag,
               time_t now, moat_verdict *v, const char **why)
{
    return judge(rt, client_ip, rcpt, tag, 0, now, v, why);
}

int batv_check_autoreply(moat_runtime *rt, const char *client_ip, const char *rcpt,
                         const char *tag, int known, time_t now, moat_verdict *v,
                         const char **why)
{
    if (known) {
        /* someone our users wrote to: their auto-reply answers real mail */
        *why = NULL;
        verdict_init(v, "accept");
        verdict_add(v, "reason", "known_correspondent");
        return 0;
    }
    return judge(rt, client_ip, rcpt, tag, 1, now, v, why);
}
