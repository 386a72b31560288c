/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gate.c - the outbound gate: may this auto-reply or NDR leave?
 *
 * What leaves is sorted first (gate_kind): personal mail (recorded: its
 * destinations become known correspondents), notifications (a robot's
 * own mail, not an answer: not ours to stop), replies (Auto-Submitted:
 * auto-replied, responder markers, Exchange's OOF) and reports (NDRs and
 * other DSNs, and anything else from the null sender). Replies and
 * reports then pass the rules in gate_reason, cheapest first; the first
 * that says no discards the message for every recipient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "autoreply.h"
#include "log.h"

typedef enum { KIND_PERSONAL, KIND_NOTIFICATION, KIND_REPLY, KIND_REPORT } out_kind;

static const char *const kind_names[] = {"personal", "notification", "reply", "report"};

static out_kind gate_kind(const header_block *hb, const classify_result *c, const char *sender)
{
    if (c->report != MIME_REPORT_NONE)
        return KIND_REPORT;
    if (classify_marked_answer(hb, c) ||
        (c->automatic && headers_get(hb, "In-Reply-To", 0) != NULL))
        return KIND_REPLY;
    if (*sender == '\0')
        return KIND_REPORT;            /* a bounce in no standard form, or an answer from <> */
    if (c->reasons & (1u << AR_AUTO_SUBMITTED))
        return KIND_NOTIFICATION;
    return KIND_PERSONAL;
}

typedef struct gate {
    moat_runtime *rt;
    const autoreply_config *cfg;
    const header_block *hb;
    out_kind kind;
    const char *responder;
    time_t now;
    const char **why;
    const char *reason;        /* the first refusal */
    char dest[320];            /* the destination it concerns */
    int answers_never;         /* In-Reply-To/References name a never-answer message: -1 unknown */
} gate;

/* local_postmaster - whether dest is postmaster at one of local_domains */
static int local_postmaster(const autoreply_config *cfg, const char *dest)
{
    const char *at = strrchr(dest, '@');

    return at && (size_t)(at - dest) == 10 && strncasecmp(dest, "postmaster", 10) == 0 &&
           autoreply_local_domain(cfg, dest);
}

/* gate_reason - why an automatic message must not go to dest: a reason, NULL, or "" on a fault */
static const char *gate_reason(gate *g, const char *dest)
{
    moat_store *st = g->rt->store;
    const autoreply_config *cfg = g->cfg;
    uint64_t to_address = 0, to_domain = 0;
    int r;

#define ASK(expr, reason) do { if ((r = (expr)) < 0) return ""; if (r > 0) return reason; } while (0)
    /* Our own postmaster gets everything (RFC 5321 4.5.1): Exim's notices
     * (freeze_tell, errors_copy, moat's own alerts) go there, and mail that
     * stays here is backscatter to no one. */
    if (local_postmaster(cfg, dest))
        return NULL;
    if (g->kind == KIND_REPLY) {
        if (*dest == '\0')
            return "null_destination";
        if (robot_address(dest))
            return "robot_destination";
        if (noreply_address(dest))
            return "noreply_destination";
    }
    ASK(history_has(st, HIST_SUSPECT, dest, NULL, g->now, g->why), "suspect_destination");
    if (g->answers_never < 0 &&
        (g->answers_never = autoreply_refers_to(st, g->hb, HIST_NEVER, g->now, g->why)) < 0)
        return "";
    if (g->answers_never > 0)
        return "answer_to_never";
    if (g->kind == KIND_REPLY) {
        ASK(history_has(st, HIST_BOUNCED, dest, NULL, g->now, g->why), "destination_bounced");
        if (!autoreply_local_domain(cfg, dest)) {
            if (cfg->external == EXTERNAL_NONE)
                return "external_none";
            if (cfg->external == EXTERNAL_KNOWN)
                ASK(!history_has(st, HIST_KNOWN, dest, NULL, g->now, g->why),
                    "external_unknown");
        }
        ASK(history_has(st, HIST_GOT, g->responder, dest, g->now, g->why), "ping_pong");
        ASK(history_has(st, HIST_SENT, g->responder, dest, g->now, g->why), "already_answered");
    }
    /* Last, as it counts: the server-wide caps across all responders. */
    if (history_count(st, dest, cfg->cap_window, g->now, &to_address, &to_domain, g->why) != 0)
        return "";
    if (cfg->cap_address > 0 && to_address > cfg->cap_address)
        return "destination_cap";
    if (cfg->cap_domain > 0 && to_domain > cfg->cap_domain)
        return "domain_cap";
#undef ASK
    return NULL;
}

static int check_one(const char *dest, void *arg)
{
    gate *g = arg;
    const char *reason = gate_reason(g, dest);

    if (reason == NULL)
        return 0;
    g->reason = reason;
    snprintf(g->dest, sizeof g->dest, "%s", dest);
    return *reason ? 1 : -1;
}

/*
 * record_sent - remember the reply to dest, in one step with the check: of
 * two replies to one destination leaving at once, the second finds the
 * first's record and is discarded (1)
 */
static int record_sent(const char *dest, void *arg)
{
    gate *g = arg;
    int r = history_mark_new(g->rt->store, HIST_SENT, g->responder, dest, kind_names[g->kind],
                             g->cfg->period, g->now, g->why);

    if (r == 0) {
        g->reason = "already_answered";
        snprintf(g->dest, sizeof g->dest, "%s", dest);
    }
    return r < 0 ? -1 : r == 0;
}

static int record_known(const char *dest, void *arg)
{
    gate *g = arg;

    if (autoreply_local_domain(g->cfg, dest))
        return 0;
    return history_mark(g->rt->store, HIST_KNOWN, dest, NULL, "our users wrote to it",
                        g->cfg->known_ttl, g->now, g->why) != 0 ? -1 : 0;
}

int autoreply_outbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                       const char **why)
{
    autoreply_config cfg;
    header_block hb;
    classify_input in;
    classify_result c;
    char responder[320] = "", id[1000], ffrom[320 * 4 + 1], fto[1024];
    const char *sender = m->sender ? m->sender : "", *fv;
    gate g;
    int r, rc = -1;

    autoreply_config_load(rt, &cfg);
    if (headers_parse(&hb, m->headers, m->headers_len) != 0) {
        *why = "out of memory";
        return -1;
    }
    in = cfg.rules;
    in.envelope_sender = sender;
    in.recipients = m->recipients ? m->recipients : "";
    autoreply_classify(&hb, &in, &c);
    if ((fv = headers_get(&hb, "From", 0)) == NULL || !header_address(fv, responder, sizeof responder))
        snprintf(responder, sizeof responder, "%s", sender);
    g = (gate){rt, &cfg, &hb, gate_kind(&hb, &c, sender), responder, m->now, why, NULL, "", -1};
    verdict_init(v, "accept");
    verdict_add(v, "kind", kind_names[g.kind]);

    if (g.kind == KIND_PERSONAL || g.kind == KIND_NOTIFICATION) {
        if (g.kind == KIND_PERSONAL && autoreply_each_recipient(in.recipients, record_known, &g))
            goto done;
        rc = autoreply_classify_append(rt, m, v, why);
        goto done;
    }
    r = autoreply_each_recipient(in.recipients, check_one, &g);
    /* It leaves: remember it, so repeats and answers to it are known. */
    if (r == 0 && g.kind == KIND_REPLY)
        r = autoreply_each_recipient(in.recipients, record_sent, &g);
    if (r < 0)
        goto done;
    if (r > 0) {
        verdict_init(v, "discard");
        verdict_add(v, "kind", kind_names[g.kind]);
        verdict_add(v, "reason", g.reason);
        moat_log(MOAT_LOG_INFO, "moat autoreply: action=discard reason=%s kind=%s from=<%s> "
                 "to=<%s>", g.reason, kind_names[g.kind],
                 moat_log_field(responder, ffrom, sizeof ffrom),
                 moat_log_field(g.dest, fto, sizeof fto));
        rc = 0;
        goto done;
    }
    autoreply_message_id(&hb, id);
    if (id[0] && history_mark(rt->store, HIST_OURS, id, NULL, kind_names[g.kind],
                              2 * cfg.period, m->now, why) != 0)
        goto done;
    verdict_add(v, "reason", g.kind == KIND_REPLY ? "reply_allowed" : "report_allowed");
    if (autoreply_classify_append(rt, m, v, why) != 0)
        goto done;
    moat_log(MOAT_LOG_INFO, "moat autoreply: action=accept reason=%s from=<%s> to=<%s>",
             g.kind == KIND_REPLY ? "reply_allowed" : "report_allowed",
             moat_log_field(responder, ffrom, sizeof ffrom),
             moat_log_field(in.recipients, fto, sizeof fto));
    rc = 0;
done:
    headers_free(&hb);
    return rc;
}
