/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rcpt.c - the RCPT-time decision: exemptions, blocks, directory verdict,
 * harvest counting, progressive tarpit, per-session cap, and the one log
 * line per decision.
 *
 * Answers (reason in the verdict and the log):
 *   accept  valid | not_covered | exempt_* (valid)
 *   deny    550 5.1.1 unknown_user (with delay=Ns) | dead_recipient
 *   defer   451 4.7.1 harvest_block (valid or not: the same answer)
 *           451 4.4.3 directory_unavailable (LDAP down, nothing cached;
 *                     or Exim's own verify = recipient deferred)
 *   drop    550 5.1.1 session_limit: the recipient is unknown and the session had
 *           too many of them; the connection is closed (Exim's drop answers 5xx
 *           only, and the client's MTA treats the lost session as temporary)
 *   accept  fetched_unknown: the client injects fetched mail (fetched { hosts }),
 *           which was accepted elsewhere already: a refusal would make fetchmail
 *           bounce it to the (forged) sender. Every answer to such a client says
 *           fetched=yes; the message is marked, and the last router drops the
 *           recipients nobody routes, or delivers them to the quarantine.
 * An unreadable file or CDB directory is moat's own fault: on_error answers.
 *
 * At connect (rcpt_connect, only with block_at_connect = true), a blocked
 * client is refused with 421 4.7.1 before it says anything.
 */
#include "rcpt.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cfglist.h"
#include "directory.h"
#include "harvest.h"
#include "log.h"
#include "nearmiss.h"
#include "net.h"
#include "stats.h"


/* Near misses are looked for only while a client has this many unknown recipients or fewer. */
#define NEAR_MISS_CLIENT_MAX 3

static const char *const action_names[] = {"accept", "deny", "defer", "drop"};

const char *rcpt_action_name(rcpt_action action)
{
    return action_names[action];
}

/*
 * log_decision - the one line per decision, readable by fail2ban. A good
 * recipient's line is a debug line: below that level it is only counted
 * (the metrics), never formatted - this runs for every RCPT.
 */
static void log_decision(const rcpt_request *req, const rcpt_outcome *o, int log_only)
{
    char extra[160] = "";
    char sender[ADDR_TEXT_MAX * 4 + 1], rcpt[ADDR_TEXT_MAX * 4 + 1];
    const char *action = rcpt_action_name(o->action);
    moat_log_level level = o->action == RCPT_ACCEPT && strcmp(o->reason, "fetched_unknown") != 0
                               ? MOAT_LOG_DEBUG : MOAT_LOG_INFO;
    size_t n = 0;

    if (!moat_log_wanted(level)) {
        moat_stats_count("rcpt", action, o->reason);
        return;
    }
    if (o->delay >= 0)
        n += (size_t)snprintf(extra + n, sizeof extra - n, " delay=%lds", o->delay);
    if (o->count >= 0)
        n += (size_t)snprintf(extra + n, sizeof extra - n, " count=%lld", o->count);
    if (o->bounce_count >= 0)
        n += (size_t)snprintf(extra + n, sizeof extra - n, " bounce_count=%lld", o->bounce_count);
    if (o->domain_attack)
        snprintf(extra + n, sizeof extra - n, " domain_attack=yes");
    moat_log(level, "moat rcpt: action=%s reason=%s ip=%s sender=<%s> rcpt=<%s>%s%s", action,
             o->reason, req->client_ip && *req->client_ip ? req->client_ip : "local",
             moat_log_field(req->sender, sender, sizeof sender),
             moat_log_field(req->recipient, rcpt, sizeof rcpt), extra,
             log_only ? " mode=log-only" : "");
}

/* answer - set o to a decision with nothing more to say than its reply */
static void answer(rcpt_outcome *o, rcpt_action action, const char *code, const char *xcode,
                   const char *reason, const char *text)
{
    *o = (rcpt_outcome){.action = action, .reason = reason, .code = code, .xcode = xcode,
                        .text = text, .delay = -1, .count = -1, .bounce_count = -1};
}

void rcpt_outcome_text(const rcpt_outcome *o, moat_verdict *v)
{
    verdict_init(v, rcpt_action_name(o->action));
    if (o->code) {
        verdict_add(v, "code", o->code);
        verdict_add(v, "xcode", o->xcode);
    }
    verdict_add(v, "reason", o->reason);
    if (o->text)
        verdict_add(v, "text", o->text);
    if (o->action == RCPT_ACCEPT && strcmp(o->reason, "log_only") == 0)
        verdict_add(v, "would", rcpt_action_name(o->would));
    if (o->listed)
        verdict_add(v, "listed", "yes");
    if (o->fetched)
        verdict_add(v, "fetched", "yes");
    if (o->tripped) {
        verdict_add(v, "tripped", o->tripped);
        verdict_addf(v, "block", "%lds", o->block_seconds);
    }
    if (o->delay >= 0)
        verdict_addf(v, "delay", "%lds", o->delay);
    if (o->bounce_count >= 0)
        verdict_add_int(v, "bounce_count", o->bounce_count);
    if (o->count >= 0)
        verdict_add_int(v, "count", o->count);
    if (o->domain_attack)
        verdict_add(v, "domain_attack", "yes");
}

/*
 * unparsable - what moat keys an address it cannot parse by (a quoted local
 * part with blanks or commas, "", one over 64 octets): the text lower-cased
 * and cut, its domain after the last '@'
 */
static void unparsable(const char *text, moat_addr *a, char *key, size_t cap)
{
    const char *at = strrchr(text, '@');
    size_t ll = at ? (size_t)(at - text) : strlen(text);

    addr_lower(text, key, cap);
    if (ll >= sizeof a->local)
        ll = sizeof a->local - 1;
    memcpy(a->local, text, ll);
    a->local[ll] = '\0';
    addr_lower(at ? at + 1 : "", a->domain, sizeof a->domain);
}

/* tarpit_seconds - the delay before answering the n-th invalid recipient */
static long tarpit_seconds(cfg_t *sec, uint64_t n)
{
    long base = moat_cfg_int(sec, "tarpit_base"), max = moat_cfg_int(sec, "tarpit_max");
    long d = base * (long)(n > 1000 ? 1000 : n);

    return d > max ? max : d;
}

/*
 * decide_fetched - a recipient of fetched mail: never refused, never
 * counted (a fetcher has no say in the recipients it is handed); only a
 * directory that cannot answer defers it, and the fetcher keeps the mail.
 */
static int decide_fetched(moat_runtime *rt, const rcpt_request *req, rcpt_outcome *o,
                          const char **why)
{
    int found = rcpt_directory_lookup(rt, req->recipient, req->exim_verify, req->now);

    if (found == RCPT_DIR_TEMPFAIL && !rcpt_directory_outage_defers(rt)) {
        *why = "the recipient directory cannot be read";
        return -1;
    }
    if (found == RCPT_DIR_TEMPFAIL)
        answer(o, RCPT_DEFER, "451", "4.4.3", "directory_unavailable",
               "Recipient verification is unavailable, try again later");
    else
        answer(o, RCPT_ACCEPT, NULL, NULL,
               found == RCPT_DIR_FOUND ? "valid" : found == RCPT_DIR_SKIP ? "not_covered"
                                                                           : "fetched_unknown",
               NULL);
    o->fetched = 1;
    return 0;
}

/* Which of the lists decide() consults on every RCPT are set, per configuration. */
typedef struct rcpt_lists {
    unsigned long generation;   /* the configuration's (moat_config.generation) */
    cfg_t *fetched;
    int fetched_hosts, exempt_networks, exempt_senders, exempt_recipients, dead_recipients;
} rcpt_lists;

/* lists_of - those of rt's configuration: looked at once, not for every RCPT */
static const rcpt_lists *lists_of(moat_runtime *rt, cfg_t *sec)
{
    static rcpt_lists l;

    if (l.generation != rt->config->generation) {
        l.generation = rt->config->generation;
        l.fetched = moat_cfg_sec(sec, "fetched");
        l.fetched_hosts = moat_cfg_count(l.fetched, "hosts") > 0;
        l.exempt_networks = moat_cfg_count(sec, "exempt_networks") > 0;
        l.exempt_senders = moat_cfg_count(sec, "exempt_senders") > 0;
        l.exempt_recipients = moat_cfg_count(sec, "exempt_recipients") > 0;
        l.dead_recipients = moat_cfg_count(sec, "dead_recipients") > 0;
    }
    return &l;
}

/* decide - the verdict, before log-only is applied */
static int decide(moat_runtime *rt, cfg_t *sec, const rcpt_request *req, rcpt_outcome *o,
                  const char **why)
{
    const rcpt_lists *lists = lists_of(rt, sec);
    char key[ADDR_TEXT_MAX + 1];
    moat_addr a;
    const char *perr = NULL;
    int exempt, found, r;
    harvest_state hs;
    long until = 0, delay;

    if (lists->fetched_hosts && rcpt_in_cidr_list(lists->fetched, "hosts", req->client_ip))
        return decide_fetched(rt, req, o, why);
    if (addr_parse(req->recipient, &a, &perr) != 0)
        unparsable(req->recipient, &a, key, sizeof key);
    else
        addr_key(&a, key, sizeof key);
    exempt = (req->auth_id && *req->auth_id) ||
             (lists->exempt_networks && rcpt_in_cidr_list(sec, "exempt_networks",
                                                          req->client_ip)) ||
             (lists->exempt_senders && rcpt_in_address_list(sec, "exempt_senders",
                                                            req->sender)) ||
             (lists->exempt_recipients && rcpt_in_address_list(sec, "exempt_recipients", key));

    if (!exempt && req->client_ip && *req->client_ip) {
        r = harvest_blocked(rt->store, sec, req->client_ip, req->now, &until);
        if (r < 0) {
            *why = moat_store_last_error(rt->store);
            return -1;
        }
        if (r > 0) {
            answer(o, RCPT_DEFER, "451", "4.7.1", "harvest_block",
                   "Too many invalid recipients from your address, try again later");
            return 0;
        }
    }
    if (lists->dead_recipients && rcpt_in_address_list(sec, "dead_recipients", key)) {
        answer(o, RCPT_DENY, "550", "5.1.1", "dead_recipient", "No such user here");
        return 0;
    }
    /* An address moat cannot parse is in no directory of moat's; only
     * Exim's own verification may know it. Otherwise it is an unknown
     * recipient like any other: counted, tarpitted, capped. */
    if (perr != NULL)
        found = req->exim_verify && strcmp(req->exim_verify, "yes") == 0 ? RCPT_DIR_FOUND
                                                                         : RCPT_DIR_NOTFOUND;
    else
        found = rcpt_directory_lookup_key(rt, &a, key, req->exim_verify, req->now);
    if (found == RCPT_DIR_FOUND) {
        answer(o, RCPT_ACCEPT, NULL, NULL, exempt ? "valid_exempt" : "valid", NULL);
        /* named by moat's own directory: the catchall snippet need not ask */
        o->listed = perr == NULL && rcpt_directory_own(rt);
        return 0;
    }
    if (found == RCPT_DIR_SKIP) {
        answer(o, RCPT_ACCEPT, NULL, NULL, "not_covered", NULL);
        return 0;
    }
    if (found == RCPT_DIR_TEMPFAIL && !rcpt_directory_outage_defers(rt)) {
        *why = "the recipient directory cannot be read";
        return -1;
    }
    if (found == RCPT_DIR_TEMPFAIL) {
        answer(o, RCPT_DEFER, "451", "4.4.3", "directory_unavailable",
               "Recipient verification is unavailable, try again later");
        return 0;
    }
    /* Unknown: refuse now, so that no bounce is ever generated. */
    if (exempt) {
        nearmiss_note(rt->store, rcpt_directory_file(rt), key,
                      (int)moat_cfg_int(sec, "near_miss_distance"), req->now);
        answer(o, RCPT_DENY, "550", "5.1.1", "unknown_user", "No such user here");
        return 0;
    }
    if (harvest_note(rt->store, sec, req->client_ip, req->sender, a.domain, a.local, req->now,
                     &hs) != 0) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    /* Typos come one at a time from ordinary senders; a client with a run
     * of unknown recipients, or a harvest of the domain, is guessing, and
     * bounces go to addresses someone else forged, not mistyped. */
    if (!hs.uncounted && hs.ip_count <= NEAR_MISS_CLIENT_MAX && !hs.blocked && !hs.under_attack)
        nearmiss_note(rt->store, rcpt_directory_file(rt), key,
                      (int)moat_cfg_int(sec, "near_miss_distance"), req->now);
    if (hs.blocked) {
        answer(o, RCPT_DEFER, "451", "4.7.1", "harvest_block",
               "Too many invalid recipients from your address, try again later");
        o->tripped = hs.tripped;
        o->block_seconds = hs.block_seconds;
        if (hs.block_seconds > 0)                      /* this session began it */
            moat_log(MOAT_LOG_INFO, "moat rcpt: action=block reason=harvest_%s ip=%s seconds=%ld "
                 "ip_count=%llu net_count=%llu sender_domain_count=%llu bounce_count=%llu "
                 "domain_attack=%s",
                 hs.tripped, req->client_ip, hs.block_seconds, (unsigned long long)hs.ip_count,
                 (unsigned long long)hs.net_count, (unsigned long long)hs.sdom_count,
                 (unsigned long long)hs.bounce_count, hs.under_attack ? "yes" : "no");
        return 0;
    }
    if (hs.held) {
        answer(o, RCPT_DEFER, "451", "4.7.1", "sender_domain_hold",
               "Too many invalid recipients from senders of your domain, try again later");
        return 0;
    }
    if (req->session_invalid + 1 >= moat_cfg_int(sec, "session_max_invalid")) {
        answer(o, RCPT_DROP, "550", "5.1.1", "session_limit",
               "No such user here; too many unknown recipients, closing connection");
        return 0;
    }
    delay = tarpit_seconds(sec, hs.uncounted ? hs.bounce_count : hs.ip_count);
    /* Each tarpit holds one of Exim's connection slots: a client gets a few
     * at once, and its other sessions are closed instead of delayed. */
    if (delay > 0 && (r = harvest_tarpit_begins(rt->store, sec, req->client_ip,
                                                req->session_invalid, req->now)) <= 0) {
        if (r < 0) {
            *why = moat_store_last_error(rt->store);
            return -1;
        }
        answer(o, RCPT_DROP, "550", "5.1.1", "tarpit_full",
               "No such user here; too many sessions from your address, closing connection");
        return 0;
    }
    answer(o, RCPT_DENY, "550", "5.1.1", "unknown_user", "No such user here");
    o->delay = delay;
    if (hs.uncounted)
        o->bounce_count = (long long)hs.bounce_count;
    else
        o->count = (long long)hs.ip_count;
    o->domain_attack = hs.under_attack;
    return 0;
}

/* apply_log_only - in log-only mode every answer becomes accept, keeping what it would have been */
static void apply_log_only(rcpt_outcome *o)
{
    rcpt_action would = o->action;
    const char *why = o->reason;

    answer(o, RCPT_ACCEPT, NULL, NULL, "log_only", NULL);
    o->would = would;
    o->would_reason = why;
}

/*
 * client_source - the records the client's recipients create (sender-domain
 * and domain-wide counts, near misses, caches) count against its quota
 * (store { source_quota }); its own counters and blocks are not limited
 */
static void client_source(moat_runtime *rt, const char *client_ip)
{
    char source[80] = "ip:";
    size_t n = client_ip ? strlen(client_ip) : 0;

    if (n == 0 || n >= sizeof source - 3) {
        moat_store_source(rt->store, NULL);
        return;
    }
    memcpy(source + 3, client_ip, n + 1);
    moat_store_source(rt->store, source);
}

int rcpt_judge(moat_runtime *rt, const rcpt_request *req, rcpt_outcome *o, const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");
    int log_only = moat_config_log_only(rt->config, "rcpt");
    char untagged[ADDR_TEXT_MAX + 1];
    rcpt_request plain;

    /* A tagged address is batv's to check; the recipient is the user's. */
    if (req->untag_prvs && addr_strip_prvs(req->recipient, untagged, sizeof untagged) == 1) {
        plain = *req;
        plain.recipient = untagged;
        req = &plain;
    }
    client_source(rt, req->client_ip);
    if (decide(rt, sec, req, o, why) != 0)
        return -1;
    log_decision(req, o, log_only);
    if (log_only)
        apply_log_only(o);
    return 0;
}

int rcpt_check(moat_runtime *rt, const rcpt_request *req, moat_verdict *v, const char **why)
{
    rcpt_outcome o;

    if (rcpt_judge(rt, req, &o, why) != 0)
        return -1;
    rcpt_outcome_text(&o, v);
    return 0;
}

int rcpt_connect(moat_runtime *rt, const char *client_ip, time_t now, moat_verdict *v,
                 const char **why)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");
    int log_only = moat_config_log_only(rt->config, "rcpt");
    rcpt_outcome o;
    long until = 0;
    int r;

    if (!moat_cfg_bool(sec, "block_at_connect") || client_ip == NULL || *client_ip == '\0' ||
        rcpt_in_cidr_list(sec, "exempt_networks", client_ip)) {
        answer(&o, RCPT_ACCEPT, NULL, NULL, "not_judged", NULL);
        rcpt_outcome_text(&o, v);
        return 0;
    }
    r = harvest_blocked(rt->store, sec, client_ip, now, &until);
    if (r < 0) {
        *why = moat_store_last_error(rt->store);
        return -1;
    }
    if (r == 0) {
        answer(&o, RCPT_ACCEPT, NULL, NULL, "not_blocked", NULL);
        rcpt_outcome_text(&o, v);
        return 0;
    }
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=defer reason=harvest_block ip=%s stage=connect "
             "until=%ld%s", client_ip, until, log_only ? " mode=log-only" : "");
    answer(&o, RCPT_DEFER, "421", "4.7.1", "harvest_block",
           "Too many invalid recipients from your address, try again later");
    if (log_only)
        apply_log_only(&o);
    rcpt_outcome_text(&o, v);
    if (!log_only)
        verdict_addf(v, "until", "%ld", until);
    return 0;
}

int rcpt_harvest_note_invalid(moat_runtime *rt, const char *client_ip, const char *sender,
                              const char *address, time_t now)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");
    harvest_state hs;
    moat_addr a;
    const char *why;

    if (addr_parse(address, &a, &why) != 0)
        return 0;
    client_source(rt, client_ip);
    if (harvest_note(rt->store, sec, client_ip, sender, a.domain, a.local, now, &hs) != 0)
        return -1;
    return hs.blocked;
}

int rcpt_client_blocked(moat_runtime *rt, const char *client_ip, time_t now)
{
    return harvest_blocked(rt->store, moat_config_module(rt->config, "rcpt"), client_ip, now,
                           NULL);
}

int rcpt_client_suspicious(moat_runtime *rt, const char *client_ip, time_t now)
{
    cfg_t *sec = moat_config_module(rt->config, "rcpt");
    int blocked = harvest_blocked(rt->store, sec, client_ip, now, NULL);
    long n;

    if (blocked != 0)
        return blocked;
    n = harvest_ip_count(rt->store, sec, client_ip, now);
    return n < 0 ? -1 : n > 0;
}

int rcpt_domain_under_attack(moat_runtime *rt, const char *domain, time_t now)
{
    char dom[ADDR_DOMAIN_MAX + 1];

    addr_lower(domain, dom, sizeof dom);
    return harvest_under_attack(rt->store, moat_config_module(rt->config, "rcpt"), dom, now);
}

int rcpt_unblock(moat_runtime *rt, const char *ip_or_net)
{
    return harvest_unblock(rt->store, moat_config_module(rt->config, "rcpt"), ip_or_net);
}

int rcpt_fetched_client(moat_runtime *rt, const char *client_ip)
{
    return client_ip && *client_ip &&
           rcpt_in_cidr_list(moat_cfg_sec(moat_config_module(rt->config, "rcpt"), "fetched"),
                             "hosts", client_ip);
}

int rcpt_fetched_user(moat_runtime *rt, const char *user)
{
    cfg_t *fetched = cfg_getsec(moat_config_module(rt->config, "rcpt"), "fetched");

    for (unsigned i = 0; user && *user && i < moat_cfg_count(fetched, "users"); i++)
        if (strcmp(moat_cfg_nstr(fetched, "users", i), user) == 0)
            return 1;
    return 0;
}

void rcpt_fetched_target(moat_runtime *rt, const char *recipient, const char *sender,
                         char *out, size_t outlen)
{
    cfg_t *fetched = cfg_getsec(moat_config_module(rt->config, "rcpt"), "fetched");
    const char *q = moat_cfg_str(fetched, "quarantine");
    char rbuf[ADDR_TEXT_MAX * 4 + 1], sbuf[ADDR_TEXT_MAX * 4 + 1], qbuf[ADDR_TEXT_MAX * 4 + 1];
    int quarantine = moat_cfg_int(fetched, "unknown") == 1 && q && *q &&
                     strcasecmp(q, recipient ? recipient : "") != 0;

    /* the quarantine address itself unknown: dropped, never a redirection loop */
    snprintf(out, outlen, "%s", quarantine ? q : ":blackhole:");
    moat_log(MOAT_LOG_INFO, "moat rcpt: action=%s reason=fetched_unknown sender=<%s> rcpt=<%s>%s%s%s",
             quarantine ? "quarantine" : "drop", moat_log_field(sender, sbuf, sizeof sbuf),
             moat_log_field(recipient, rbuf, sizeof rbuf), quarantine ? " to=<" : "",
             quarantine ? moat_log_field(q, qbuf, sizeof qbuf) : "", quarantine ? ">" : "");
}
