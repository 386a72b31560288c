/*
 * autoreply.c - the inbound records and the outbound gate.
 *
 * Store keys (prefix autoreply:): never:<message-id> (an inbound message
 * classified never-answer), suspect:<sender> (spam or forged: no NDR to
 * it), got:<responder>|<from> (we received an auto-reply from <from> to our
 * <responder>: the ping-pong breaker), bounced:<address> (a reply of ours to
 * it bounced), sent:<responder>|<destination> (once per period), ours:<id>
 * (Message-IDs of our replies), known:<address> (our users wrote to it),
 * cap:a:<address> and cap:d:<domain> (server-wide counters).
 */
#include "autoreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "log.h"

#define ID_MAX 256

typedef struct gate {
    moat_runtime *rt;
    cfg_t *sec;
    time_t now;
    const char **why;
} gate;

static void classify_input_for(cfg_t *sec, const autoreply_message *m, classify_input *in)
{
    memset(in, 0, sizeof *in);
    in->envelope_sender = m->sender ? m->sender : "";
    in->recipients = m->recipients ? m->recipients : "";
    in->spam_score = m->spam_score;
    in->spf_result = m->spf_result;
    in->catchall_only = m->catchall_only;
    in->spam_threshold = cfg_getfloat(sec, "spam_threshold");
    in->max_hops = (int)cfg_getint(sec, "max_hops");
}

/* put - set a store flag; 0 or -1 */
static int put(const gate *g, const char *fmt, const char *a, const char *b, long ttl)
{
    char key[STORE_KEY_MAX + 1];

    snprintf(key, sizeof key, fmt, a, b);
    if (moat_store_set(g->rt->store, key, "1", 1, (uint32_t)ttl, g->now) != STORE_OK) {
        *g->why = moat_store_last_error(g->rt->store);
        return -1;
    }
    return 0;
}

/* has - whether a store flag is set: 1, 0, or -1 on a store error */
static int has(const gate *g, const char *fmt, const char *a, const char *b)
{
    char key[STORE_KEY_MAX + 1];
    store_status s;

    snprintf(key, sizeof key, fmt, a, b);
    s = moat_store_get(g->rt->store, key, NULL, 0, NULL, NULL, g->now);
    if (s == STORE_ERROR) {
        *g->why = moat_store_last_error(g->rt->store);
        return -1;
    }
    return s == STORE_OK;
}

/* message_ids - each <id> in a Message-ID / In-Reply-To / References value */
static int each_id(const char *value, int (*fn)(const char *id, void *arg), void *arg)
{
    const char *p = value;

    while (p && (p = strchr(p, '<')) != NULL) {
        const char *end = strchr(p, '>');
        char id[ID_MAX];
        size_t n;
        int r;

        if (end == NULL)
            break;
        n = (size_t)(end - p - 1);
        if (n > 0 && n < sizeof id) {
            memcpy(id, p + 1, n);
            id[n] = '\0';
            addr_lower(id, id, sizeof id);
            if ((r = fn(id, arg)) != 0)
                return r;
        }
        p = end + 1;
    }
    return 0;
}

static int is_ours(const char *id, void *arg)
{
    return has(arg, "autoreply:ours:%s%s", id, "");
}

static int is_never(const char *id, void *arg)
{
    return has(arg, "autoreply:never:%s%s", id, "");
}

/* references_match - 1 if In-Reply-To or References names an id for which fn says 1 */
static int references_match(const header_block *hb, int (*fn)(const char *, void *), gate *g)
{
    int r = each_id(headers_get(hb, "In-Reply-To", 0), fn, g);

    if (r == 0)
        r = each_id(headers_get(hb, "References", 0), fn, g);
    return r;
}

static void verdict_for(moat_verdict *v, const classify_result *c)
{
    verdict_init(v, "accept");
    verdict_add(v, "class", c->never ? "never" : "answerable");
    if (c->reasons[0])
        verdict_add(v, "reasons", c->reasons);
}

void autoreply_classify_text(moat_runtime *rt, const autoreply_message *m, moat_verdict *v)
{
    header_block *hb = malloc(sizeof *hb);
    classify_input in;
    classify_result c;

    if (hb == NULL) {
        verdict_init(v, "accept");
        return;
    }
    headers_parse(m->headers, m->headers_len, hb);
    classify_input_for(moat_config_module(rt->config, "autoreply"), m, &in);
    autoreply_classify(hb, &in, &c);
    verdict_for(v, &c);
    free(hb);
}

/* first_recipient - the first address of a comma-separated list, lower-cased */
static void first_recipient(const char *list, char *out, size_t cap)
{
    size_t n = strcspn(list ? list : "", ", ");

    if (n >= cap)
        n = cap - 1;
    memcpy(out, list ? list : "", n);
    out[n] = '\0';
    addr_lower(out, out, cap);
}

int autoreply_inbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                      const char **why)
{
    gate g = {rt, moat_config_module(rt->config, "autoreply"), m->now, why};
    long period = cfg_getint(g.sec, "period");
    header_block *hb = malloc(sizeof *hb);
    classify_input in;
    classify_result c;
    char sender[ADDR_TEXT_MAX + 1], rcpt[ADDR_TEXT_MAX + 1];
    const char *v_id, *v_failed;
    int r, rc = -1;

    if (hb == NULL) {
        *why = "out of memory";
        return -1;
    }
    headers_parse(m->headers, m->headers_len, hb);
    classify_input_for(g.sec, m, &in);
    autoreply_classify(hb, &in, &c);
    addr_lower(m->sender ? m->sender : "", sender, sizeof sender);
    first_recipient(m->recipients, rcpt, sizeof rcpt);

    r = references_match(hb, is_ours, &g);
    if (r < 0)
        goto done;
    if (r > 0) {
        size_t n = strlen(c.reasons);
        snprintf(c.reasons + n, sizeof c.reasons - n, "%sreply_to_our_autoreply", n ? "," : "");
        c.never = 1;
    }
    /* Remember what the outbound gate will need. */
    if (c.never && (v_id = headers_get(hb, "Message-ID", 0)) != NULL) {
        char id[ID_MAX] = "";
        const char *lt = strchr(v_id, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (lt && gt && gt > lt + 1 && (size_t)(gt - lt - 1) < sizeof id) {
            memcpy(id, lt + 1, (size_t)(gt - lt - 1));
            id[gt - lt - 1] = '\0';
            addr_lower(id, id, sizeof id);
            if (put(&g, "autoreply:never:%s%s", id, "", period) != 0)
                goto done;
        }
    }
    if (c.suspect && sender[0] &&
        put(&g, "autoreply:suspect:%s%s", sender, "", cfg_getint(g.sec, "suspect_ttl")) != 0)
        goto done;
    if (c.automatic && !c.report && sender[0] == '\0' && rcpt[0]) {
        char from[ADDR_TEXT_MAX + 1];
        const char *fv = headers_get(hb, "From", 0);
        if (fv && header_address(fv, from, sizeof from) &&
            put(&g, "autoreply:got:%s|%s", rcpt, from, period) != 0)
            goto done;
    } else if (c.automatic && !c.report && sender[0] && rcpt[0] &&
               put(&g, "autoreply:got:%s|%s", rcpt, sender, period) != 0) {
        goto done;
    }
    /* An NDR naming a destination we auto-replied to: stop answering it. */
    if (c.report && (v_failed = headers_get(hb, "X-Failed-Recipients", 0)) != NULL) {
        char failed[ADDR_TEXT_MAX + 1];
        if (header_address(v_failed, failed, sizeof failed) &&
            references_match(hb, is_ours, &g) >= 0 &&
            put(&g, "autoreply:bounced:%s%s", failed, "", period) != 0)
            goto done;
    }
    verdict_for(v, &c);
    if (c.never)
        moat_log(MOAT_LOG_INFO, "moat autoreply: action=suppress reasons=%s sender=<%s> rcpt=<%s>",
                 c.reasons, sender, rcpt);
    rc = 0;
done:
    free(hb);
    return rc;
}

/* local_domain - whether the destination's domain is one of ours */
static int local_domain(cfg_t *sec, const char *address)
{
    const char *at = strrchr(address, '@');
    unsigned i;

    for (i = 0; at && i < cfg_size(sec, "local_domains"); i++)
        if (strcasecmp(cfg_getnstr(sec, "local_domains", i), at + 1) == 0)
            return 1;
    return 0;
}

/* over_cap - count one automatic message to dest; 1 when a server-wide cap is exceeded */
static int over_cap(const gate *g, const char *dest)
{
    char key[STORE_KEY_MAX + 1];
    const char *at = strrchr(dest, '@');
    uint32_t window = (uint32_t)cfg_getint(g->sec, "cap_window");
    uint64_t n = 0, d = 0;

    snprintf(key, sizeof key, "autoreply:cap:a:%s", dest);
    if (moat_store_counter_add(g->rt->store, key, window, 1, g->now, &n) != STORE_OK)
        goto fail;
    snprintf(key, sizeof key, "autoreply:cap:d:%s", at ? at + 1 : dest);
    if (moat_store_counter_add(g->rt->store, key, window, 1, g->now, &d) != STORE_OK)
        goto fail;
    return n > (uint64_t)cfg_getint(g->sec, "cap_address") ||
           d > (uint64_t)cfg_getint(g->sec, "cap_domain");
fail:
    *g->why = moat_store_last_error(g->rt->store);
    return -1;
}

/* gate_one - why an automatic message from responder to dest must not leave, or NULL */
static const char *gate_one(gate *g, const header_block *hb, const classify_result *c,
                            const char *responder, const char *dest, int *fault)
{
    int ext = (int)cfg_getint(g->sec, "external"), r;

    *fault = 0;
#define CHECK(expr, reason) do { r = (expr); if (r < 0) { *fault = 1; return NULL; } \
                                 if (r > 0) return reason; } while (0)
    if (dest[0] == '\0' || robot_address(dest))
        return "robot_destination";
    CHECK(has(g, "autoreply:suspect:%s%s", dest, ""), "suspect_destination");
    CHECK(has(g, "autoreply:bounced:%s%s", dest, ""), "destination_bounced");
    CHECK(references_match(hb, is_never, g), "answer_to_never");
    if (!c->report) {
        if (!local_domain(g->sec, dest)) {
            if (ext == 2)
                return "external_none";
            if (ext == 1)
                CHECK(!has(g, "autoreply:known:%s%s", dest, ""), "external_unknown");
        }
        CHECK(has(g, "autoreply:got:%s|%s", responder, dest), "ping_pong");
        CHECK(has(g, "autoreply:sent:%s|%s", responder, dest), "already_answered");
    }
    CHECK(over_cap(g, dest), "destination_cap");
#undef CHECK
    return NULL;
}

int autoreply_outbound(moat_runtime *rt, const autoreply_message *m, moat_verdict *v,
                       const char **why)
{
    gate g = {rt, moat_config_module(rt->config, "autoreply"), m->now, why};
    long period = cfg_getint(g.sec, "period");
    header_block *hb = malloc(sizeof *hb);
    classify_input in;
    classify_result c;
    char responder[ADDR_TEXT_MAX + 1] = "", dest[ADDR_TEXT_MAX + 1];
    const char *fv, *reason = NULL, *p;
    int fault = 0, rc = -1;

    if (hb == NULL) {
        *why = "out of memory";
        return -1;
    }
    headers_parse(m->headers, m->headers_len, hb);
    classify_input_for(g.sec, m, &in);
    autoreply_classify(hb, &in, &c);
    verdict_init(v, "accept");
    if (!c.automatic && m->sender && m->sender[0]) {
        /* Personal mail: its destinations become known correspondents. */
        for (p = m->recipients; p && *p; p += strcspn(p, ", ")) {
            p += strspn(p, ", ");
            first_recipient(p, dest, sizeof dest);
            if (dest[0] && put(&g, "autoreply:known:%s%s", dest, "", cfg_getint(g.sec, "known_ttl")))
                goto done;
        }
        verdict_add(v, "reason", "personal");
        rc = 0;
        goto done;
    }
    if (!c.automatic && (m->sender == NULL || m->sender[0] == '\0'))
        c.automatic = 1;   /* a null sender is automatic by definition (RFC 5321 4.5.5) */
    if ((fv = headers_get(hb, "From", 0)) == NULL || !header_address(fv, responder, sizeof responder))
        addr_lower(m->sender ? m->sender : "", responder, sizeof responder);
    for (p = m->recipients; p && *p && reason == NULL; p += strcspn(p, ", ")) {
        p += strspn(p, ", ");
        first_recipient(p, dest, sizeof dest);
        if (dest[0] == '\0')
            continue;
        reason = gate_one(&g, hb, &c, responder, dest, &fault);
        if (fault)
            goto done;
    }
    if (reason) {
        verdict_init(v, "discard");
        verdict_add(v, "reason", reason);
        moat_log(MOAT_LOG_INFO, "moat autoreply: action=discard reason=%s from=<%s> to=<%s> "
                 "kind=%s", reason, responder, dest, c.report ? "report" : "auto-reply");
        rc = 0;
        goto done;
    }
    /* It leaves: remember it, so that answers to it and repeats are known. */
    for (p = m->recipients; p && *p; p += strcspn(p, ", ")) {
        p += strspn(p, ", ");
        first_recipient(p, dest, sizeof dest);
        if (dest[0] && !c.report && put(&g, "autoreply:sent:%s|%s", responder, dest, period))
            goto done;
    }
    if ((fv = headers_get(hb, "Message-ID", 0)) != NULL) {
        const char *lt = strchr(fv, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        char id[ID_MAX];
        if (lt && gt && gt > lt + 1 && (size_t)(gt - lt - 1) < sizeof id) {
            memcpy(id, lt + 1, (size_t)(gt - lt - 1));
            id[gt - lt - 1] = '\0';
            addr_lower(id, id, sizeof id);
            if (put(&g, "autoreply:ours:%s%s", id, "", 2 * period) != 0)
                goto done;
        }
    }
    verdict_add(v, "reason", c.report ? "report_allowed" : "autoreply_allowed");
    moat_log(MOAT_LOG_INFO, "moat autoreply: action=accept reason=%s from=<%s> to=<%s>",
             c.report ? "report_allowed" : "autoreply_allowed", responder, m->recipients);
    rc = 0;
done:
    free(hb);
    return rc;
}

typedef struct history_scan {
    moat_runtime *rt;
    const char *address;
    autoreply_history_fn fn;
    void *arg;
} history_scan;

static int history_key(const char *key, void *arg)
{
    history_scan *h = arg;
    time_t expires = 0;
    size_t len;

    if (strstr(key, h->address) == NULL)
        return 0;
    if (moat_store_get(h->rt->store, key, NULL, 0, &len, &expires, time(NULL)) != STORE_OK &&
        strncmp(key, "autoreply:cap:", 14) != 0)
        return 0;
    return h->fn(key + strlen("autoreply:"), h->address, expires, h->arg);
}

int autoreply_history(moat_runtime *rt, const char *address, autoreply_history_fn fn, void *arg)
{
    char lower[ADDR_TEXT_MAX + 1];
    history_scan h = {rt, lower, fn, arg};

    addr_lower(address, lower, sizeof lower);
    return moat_store_scan(rt->store, "autoreply:", time(NULL), history_key, &h) == STORE_OK
               ? 0 : -1;
}
