/*
 * classify.c - the inbound "do not answer" rules.
 *
 * Reasons: null_sender, robot_sender, robot_from, noreply_sender,
 * auto_submitted, precedence, list, x_auto_response_suppress,
 * autoreply_marker, report, spam, spf_fail, hops, x_loop, self_sent,
 * catchall_only (and, added by autoreply.c with the store,
 * reply_to_our_autoreply).
 */
#include "classify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void add_reason(classify_result *r, const char *reason)
{
    size_t n = strlen(r->reasons);

    if (strstr(r->reasons, reason))
        return;
    snprintf(r->reasons + n, sizeof r->reasons - n, "%s%s", n ? "," : "", reason);
    r->never = 1;
}

int robot_address(const char *address)
{
    static const char *const exact[] = {
        "mailer-daemon", "postmaster", "nobody", "noreply", "no-reply", "no_reply",
        "donotreply", "do-not-reply", "do_not_reply", "bounce", "bounces", "listserv",
        "majordomo", "root", "daemon", "mailerdaemon", "autoreply", "auto-reply",
    };
    static const char *const prefixes[] = {"owner-", "bounce-", "bounces-", "noreply-",
                                           "no-reply-", "mailer-daemon"};
    static const char *const suffixes[] = {"-request", "-owner", "-bounces", "-noreply",
                                           "-no-reply"};
    const char *at = strrchr(address, '@');
    size_t ln = at ? (size_t)(at - address) : strlen(address), i, sl;
    char local[128];

    if (ln == 0 || ln >= sizeof local)
        return ln == 0;
    for (i = 0; i < ln; i++)
        local[i] = (char)tolower((unsigned char)address[i]);
    local[ln] = '\0';
    for (i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(local, exact[i]) == 0)
            return 1;
    for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(local, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        sl = strlen(suffixes[i]);
        if (ln > sl && strcmp(local + ln - sl, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

/* suppress_list - X-Auto-Response-Suppress asks for silence (All, OOF, AutoReply) */
static int suppress_list(const char *value)
{
    char buf[HEADER_VALUE_MAX];
    char *p, *save = NULL;

    snprintf(buf, sizeof buf, "%s", value);
    for (p = strtok_r(buf, ", \t", &save); p; p = strtok_r(NULL, ", \t", &save))
        if (strcasecmp(p, "All") == 0 || strcasecmp(p, "OOF") == 0 ||
            strcasecmp(p, "AutoReply") == 0 || strcmp(p, "-1") == 0)
            return 1;
    return 0;
}

/* spam_flagged - the verdict headers of SpamAssassin, rspamd and others */
static int spam_flagged(const header_block *hb)
{
    const char *v;
    char tok[32];

    if ((v = headers_get(hb, "X-Spam-Flag", 0)) && strncasecmp(v, "yes", 3) == 0)
        return 1;
    if ((v = headers_get(hb, "X-Spam-Status", 0)) && strncasecmp(v, "yes", 3) == 0)
        return 1;
    if ((v = headers_get(hb, "X-Spam", 0)) && strncasecmp(v, "yes", 3) == 0)
        return 1;
    if ((v = headers_get(hb, "X-Spam-Verdict", 0)) && strcasecmp(header_token(v, tok, sizeof tok), "spam") == 0)
        return 1;
    if ((v = headers_get(hb, "X-Virus-Status", 0)) && strncasecmp(v, "infected", 8) == 0)
        return 1;
    return 0;
}

/* recipient_is - whether address is one of the comma-separated recipients */
static int recipient_is(const char *recipients, const char *address)
{
    size_t al = strlen(address);
    const char *p = recipients;

    while (p && *p) {
        size_t n;
        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, ", ");
        if (n == al && strncasecmp(p, address, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

void autoreply_classify(const header_block *hb, const classify_input *in, classify_result *r)
{
    const char *v;
    char tok[64], addr[320], param[64];
    const char *sender = in->envelope_sender ? in->envelope_sender : "";

    memset(r, 0, sizeof *r);
    /* The envelope: the address an answer would go to (RFC 3834 4). */
    if (*sender == '\0')
        add_reason(r, "null_sender");
    else if (robot_address(sender))
        add_reason(r, "robot_sender");
    /* The headers, which robots set even when the envelope hides them. */
    if ((v = headers_get(hb, "From", 0)) && header_address(v, addr, sizeof addr) &&
        robot_address(addr))
        add_reason(r, "robot_from");
    if ((v = headers_get(hb, "Auto-Submitted", 0)) &&
        strcmp(header_token(v, tok, sizeof tok), "no") != 0 && tok[0]) {
        add_reason(r, "auto_submitted");
        r->automatic = 1;
    }
    if ((v = headers_get(hb, "Precedence", 0))) {
        header_token(v, tok, sizeof tok);
        if (!strcmp(tok, "bulk") || !strcmp(tok, "list") || !strcmp(tok, "junk") ||
            !strcmp(tok, "auto_reply")) {
            add_reason(r, "precedence");
            if (!strcmp(tok, "auto_reply"))
                r->automatic = 1;
        }
    }
    if (headers_has_prefix(hb, "List-"))
        add_reason(r, "list");
    if ((v = headers_get(hb, "X-Auto-Response-Suppress", 0)) && suppress_list(v))
        add_reason(r, "x_auto_response_suppress");
    if (headers_get(hb, "X-Autoreply", 0) || headers_get(hb, "X-Autorespond", 0) ||
        ((v = headers_get(hb, "X-Autogenerated", 0)) && strncasecmp(v, "reply", 5) == 0) ||
        headers_get(hb, "X-MS-Exchange-Inbox-Rules-Loop", 0)) {
        add_reason(r, "autoreply_marker");
        r->automatic = 1;
    }
    if ((v = headers_get(hb, "Content-Type", 0)) &&
        strcmp(header_token(v, tok, sizeof tok), "multipart/report") == 0 &&
        header_param(v, "report-type", param, sizeof param) &&
        (strcmp(param, "delivery-status") == 0 || strcmp(param, "disposition-notification") == 0)) {
        add_reason(r, "report");
        r->automatic = r->report = 1;
    }
    if (spam_flagged(hb) ||
        (in->spam_score && *in->spam_score &&
         strtod(in->spam_score, NULL) >= in->spam_threshold)) {
        add_reason(r, "spam");
        r->suspect = 1;
    }
    if (in->spf_result && strcasecmp(in->spf_result, "fail") == 0) {
        add_reason(r, "spf_fail");
        r->suspect = 1;
    }
    if (in->max_hops > 0 && headers_count(hb, "Received") > (size_t)in->max_hops)
        add_reason(r, "hops");
    if (headers_get(hb, "X-Loop", 0))
        add_reason(r, "x_loop");
    if (*sender && in->recipients && recipient_is(in->recipients, sender))
        add_reason(r, "self_sent");
    if (in->catchall_only)
        add_reason(r, "catchall_only");
}
