/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * autoreply.c - the inbound side: classify, stamp (through the verdict),
 * and remember what the outbound gate will need; and the delivery-failure
 * event. The gate itself is gate.c.
 */
#include "autoreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "log.h"

void autoreply_config_load(const moat_runtime *rt, autoreply_config *cfg)
{
    cfg_t *sec = moat_config_module(rt->config, "autoreply");
    long period = moat_cfg_int(sec, "period");
    unsigned i;

    if (period < AUTOREPLY_PERIOD_MIN || period > AUTOREPLY_PERIOD_MAX) {
        long clamped = period < AUTOREPLY_PERIOD_MIN ? AUTOREPLY_PERIOD_MIN : AUTOREPLY_PERIOD_MAX;
        moat_log_once("autoreply:period", MOAT_LOG_WARN,
                      "moat autoreply: period %lds is outside 1d..60d, using %lds", period,
                      clamped);
        period = clamped;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->period = (uint32_t)period;
    cfg->suspect_ttl = (uint32_t)moat_cfg_int(sec, "suspect_ttl");
    cfg->known_ttl = (uint32_t)moat_cfg_int(sec, "known_ttl");
    cfg->bounced_ttl = (uint32_t)moat_cfg_int(sec, "bounced_ttl");
    cfg->cap_window = (uint32_t)moat_cfg_int(sec, "cap_window");
    cfg->cap_address = (uint64_t)moat_cfg_int(sec, "cap_address");
    cfg->cap_domain = (uint64_t)moat_cfg_int(sec, "cap_domain");
    cfg->external = (int)moat_cfg_int(sec, "external");
    cfg->sec = sec;
    classify_input_defaults(&cfg->rules);
    cfg->rules.spam_threshold = cfg_getfloat(sec, "spam_threshold");
    cfg->rules.max_hops = (unsigned)moat_cfg_int(sec, "max_hops");
    cfg->rules.spf_mask = 0;
    for (i = 0; i < moat_cfg_count(sec, "spf_results"); i++)
        cfg->rules.spf_mask |= classify_spf_bit(moat_cfg_nstr(sec, "spf_results", i));
}

int autoreply_local_domain(const autoreply_config *cfg, const char *address)
{
    const char *at = strrchr(address, '@');
    unsigned i;

    for (i = 0; at && i < moat_cfg_count(cfg->sec, "local_domains"); i++)
        if (strcasecmp(moat_cfg_nstr(cfg->sec, "local_domains", i), at + 1) == 0)
            return 1;
    return 0;
}

typedef struct id_lookup {
    moat_store *st;
    hist_kind kind;
    time_t now;
    const char **why;
} id_lookup;

static int id_recorded(const char *id, void *arg)
{
    id_lookup *l = arg;

    return history_has(l->st, l->kind, id, NULL, l->now, l->why);
}

/*
 * autoreply_refers_to - whether In-Reply-To or References names a
 * Message-ID recorded as kind: 1, 0, or -1 on a store error.
 */
int autoreply_refers_to(moat_store *st, const header_block *hb, hist_kind kind, time_t now,
                        const char **why)
{
    id_lookup l = {st, kind, now, why};
    int r = header_each_msgid(headers_get(hb, "In-Reply-To", 0), id_recorded, &l);

    if (r == 0)
        r = header_each_msgid(headers_get(hb, "References", 0), id_recorded, &l);
    return r;
}

static int first_id(const char *id, void *arg)
{
    snprintf(arg, 1000, "%s", id);
    return 1;
}

/* autoreply_message_id - the message's own Message-ID, lower-cased, or "" */
void autoreply_message_id(const header_block *hb, char out[1000])
{
    out[0] = '\0';
    header_each_msgid(headers_get(hb, "Message-ID", 0), first_id, out);
}

/* each_recipient - fn for each address of a comma-separated list; stops on non-zero */
int autoreply_each_recipient(const char *list, int (*fn)(const char *addr, void *arg), void *arg)
{
    char addr[512];
    const char *p = list ? list : "";
    int r;

    while (*p) {
        size_t n;
        p += strspn(p, ", \t<");
        n = strcspn(p, ", \t>");
        if (n > 0 && n < sizeof addr) {
            memcpy(addr, p, n);
            addr[n] = '\0';
            if ((r = fn(addr, arg)) != 0)
                return r;
        }
        p += n;
        p += strspn(p, ">");
    }
    return 0;
}

typedef struct inbound {
    moat_runtime *rt;
    const autoreply_config *cfg;
    const char *responder;     /* the remote side of an automatic message */
    const char *from;
    int only_local;            /* record for local recipients only (mail leaving) */
    time_t now;
    const char **why;
} inbound;

/* record_got - remember that remote's auto-reply reached our local (ping-pong breaker) */
static int record_got(const char *local, void *arg)
{
    inbound *in = arg;

    if (in->only_local && !autoreply_local_domain(in->cfg, local))
        return 0;
    if (in->responder[0] &&
        history_mark(in->rt->store, HIST_GOT, local, in->responder, "auto-reply received",
                     in->cfg->period, in->now, in->why) != 0)
        return -1;
    if (in->from[0] && strcasecmp(in->from, in->responder) != 0 &&
        history_mark(in->rt->store, HIST_GOT, local, in->from, "auto-reply received",
                     in->cfg->period, in->now, in->why) != 0)
        return -1;
    return 0;
}

enum { RUN_RECORD = 1, RUN_APPEND = 2, RUN_LOG = 4 };

typedef struct sent_lookup {
    moat_store *st;
    char failed[320];
    time_t now;
    const char **why;
} sent_lookup;

/* answered - whether local sent an automatic answer to the failed address (1, 0, -1) */
static int answered(const char *local, void *arg)
{
    sent_lookup *sl = arg;

    return history_has(sl->st, HIST_SENT, local, sl->failed, sl->now, sl->why);
}

/*
 * record_inbound - remember what the gate needs of an inbound message c
 * (never-answer ids, suspects, auto-replies received, our replies that
 * bounced). 0 or -1 (why says why).
 */
static int record_inbound(moat_runtime *rt, const autoreply_config *cfg,
                          const autoreply_message *m, const header_block *hb,
                          const classify_result *c, const char *recipients, const char *sender,
                          const char *from, const char *reasons, int how, const char **why)
{
    char id[1000];
    const char *fv;

    autoreply_message_id(hb, id);
    if (classify_never(c) && id[0] &&
        history_mark(rt->store, HIST_NEVER, id, NULL, reasons, cfg->period, m->now, why) != 0)
        return -1;
    if (classify_suspect(c) && sender[0] &&
        history_mark(rt->store, HIST_SUSPECT, sender, NULL, reasons, cfg->suspect_ttl,
                     m->now, why) != 0)
        return -1;
    /* An auto-reply (not a report) from them to us: ours must not answer it. */
    if (c->automatic && c->report == MIME_REPORT_NONE) {
        inbound ib = {rt, cfg, sender[0] ? sender : from, from, (how & RUN_APPEND) != 0,
                      m->now, why};
        if (autoreply_each_recipient(recipients, record_got, &ib) != 0)
            return -1;
    }
    /* An NDR for an auto-reply of ours: stop answering the failed address -
     * when one of its recipients did answer that address (anyone who got
     * a reply can forge an NDR naming someone else). */
    if (c->report == MIME_REPORT_DSN && (c->reasons & (1u << AR_REPLY_TO_OURS)) &&
        (fv = headers_get(hb, "X-Failed-Recipients", 0)) != NULL) {
        sent_lookup sl = {rt->store, "", m->now, why};
        int r;

        if (!header_address(fv, sl.failed, sizeof sl.failed))
            return 0;
        if ((r = autoreply_each_recipient(recipients, answered, &sl)) < 0)
            return -1;
        if (r > 0 && history_mark(rt->store, HIST_BOUNCED, sl.failed, NULL,
                                  "our auto-reply bounced", cfg->bounced_ttl, m->now, why) != 0)
            return -1;
    }
    return 0;
}

/*
 * inbound_run - classify m; RUN_RECORD: remember what the gate needs;
 * RUN_APPEND: add the keys to v instead of starting it; RUN_LOG: one log
 * line for a never-answer message. 0; 1 when classified but RUN_RECORD
 * failed (why says why); -1 when not even classified.
 */
static int inbound_run(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                       int how, const char **why)
{
    const int record = how & RUN_RECORD;
    const char *at = m->sender ? strrchr(m->sender, '@') : NULL;
    char source[300];
    autoreply_config cfg;
    header_block hb;
    classify_input in;
    classify_result c;
    char reasons[512], from[320] = "", sender[320];
    const char *fv, *skipped = NULL;
    int r, unrecorded = 0;

    autoreply_config_load(rt, &cfg);
    /* what a message records counts against its sender domain's quota
     * (store { source_quota }) */
    snprintf(source, sizeof source, "from:%s", at ? at + 1 : "<>");
    for (r = 0; source[r]; r++)
        source[r] = (char)tolower((unsigned char)source[r]);
    moat_store_source(rt->store, source);
    if (headers_parse(&hb, m->headers, m->headers_len) != 0) {
        *why = "out of memory";
        return -1;
    }
    in = cfg.rules;
    in.envelope_sender = m->sender ? m->sender : "";
    in.recipients = m->recipients ? m->recipients : "";
    in.spam_score = m->spam_score ? m->spam_score : "";
    in.spf_result = m->spf_result ? m->spf_result : "";
    in.catchall_only = m->catchall_only;
    autoreply_classify(&hb, &in, &c);
    if ((r = autoreply_refers_to(rt->store, &hb, HIST_OURS, m->now, why)) < 0) {
        skipped = "reply_to_our_autoreply";           /* classified without the store */
        unrecorded = record;
        r = 0;
    }
    if (r > 0)
        c.reasons |= 1u << AR_REPLY_TO_OURS;
    classify_reasons_text(c.reasons, reasons, sizeof reasons);
    snprintf(sender, sizeof sender, "%s", in.envelope_sender);
    if ((fv = headers_get(&hb, "From", 0)) != NULL)
        header_address(fv, from, sizeof from);

    /* The classification needs no store: when recording fails the verdict
     * still stamps what must never be answered (1: classified, not recorded). */
    if (record && !unrecorded &&
        record_inbound(rt, &cfg, m, &hb, &c, in.recipients, sender, from, reasons, how, why) != 0)
        unrecorded = 1;
    if (!(how & RUN_APPEND))
        verdict_init(v, "accept");
    verdict_add(v, "class", classify_never(&c) ? "never" : "answerable");
    if (reasons[0])
        verdict_add(v, "reasons", reasons);
    if (classify_suspect(&c))
        verdict_add(v, "suspect", "yes");
    if (c.report != MIME_REPORT_NONE)
        verdict_add(v, "report", mime_report_name(c.report));
    if (classify_answer(&hb, &c) && sender[0]) {
        /* for batv: an auto-reply answers mail of ours only when we wrote
         * to its sender; known is left out when the store cannot say */
        int k = history_has(rt->store, HIST_KNOWN, sender, NULL, m->now, why);
        if (k == 0 && from[0] && strcasecmp(from, sender) != 0)
            k = history_has(rt->store, HIST_KNOWN, from, NULL, m->now, why);
        verdict_add(v, "automatic", "yes");
        if (k >= 0)
            verdict_add(v, "known", k ? "yes" : "no");
    }
    if (skipped != NULL)
        verdict_add(v, "skipped", skipped);
    if ((how & RUN_LOG) && classify_never(&c)) {
        char fsender[1024], frcpt[1024];
        moat_log(MOAT_LOG_INFO, "moat autoreply: class=never reasons=%s sender=<%s> rcpt=<%s>",
                 reasons, moat_log_field(sender, fsender, sizeof fsender),
                 moat_log_field(in.recipients, frcpt, sizeof frcpt));
    }
    headers_free(&hb);
    return unrecorded;
}

int autoreply_inbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                      const char **why)
{
    int rc = inbound_run(rt, m, v, RUN_RECORD | RUN_LOG, why);

    if (rc > 0) {        /* the verdict stands (a never-answer is still stamped) */
        moat_log(MOAT_LOG_ERROR, "moat autoreply: error: %s (classified, not recorded)",
                 *why ? *why : "store error");
        rc = 0;
    }
    return rc;
}

int autoreply_classify_append(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                              const char **why)
{
    return inbound_run(rt, m, v, RUN_RECORD | RUN_APPEND, why) != 0 ? -1 : 0;
}

int autoreply_classify_text(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                            const char **why)
{
    return inbound_run(rt, m, v, 0, why);
}

int autoreply_delivery_failed(moat_runtime *rt, const autoreply_message *m,
                              const char *recipient, moat_verdict *v, const char **why)
{
    autoreply_config cfg;
    header_block hb;
    classify_input in;
    classify_result c;
    int rc = 0;

    autoreply_config_load(rt, &cfg);
    verdict_init(v, "accept");
    if (headers_parse(&hb, m->headers, m->headers_len) != 0) {
        *why = "out of memory";
        return -1;
    }
    in = cfg.rules;
    in.envelope_sender = m->sender ? m->sender : "";
    autoreply_classify(&hb, &in, &c);
    /* Only our automatic answers: a failed personal message is its sender's business. */
    if (c.automatic && c.report == MIME_REPORT_NONE && recipient && *recipient) {
        rc = history_mark(rt->store, HIST_BOUNCED, recipient, NULL, "our auto-reply failed",
                          cfg.bounced_ttl, m->now, why);
        if (rc == 0) {
            verdict_add(v, "reason", "recorded_bounce");
            char fto[1024];
            moat_log(MOAT_LOG_INFO, "moat autoreply: action=record reason=autoreply_bounced "
                     "to=<%s>", moat_log_field(recipient, fto, sizeof fto));
        }
    }
    headers_free(&hb);
    return rc;
}

int autoreply_history(moat_runtime *rt, const char *address, history_fn fn, void *arg)
{
    return history_list(rt->store, address, time(NULL), fn, arg);
}
