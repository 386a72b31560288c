/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * classify.c - the inbound "do not answer" rules, one reason each.
 *
 * Every header test only ever adds a reason: a forged header can silence
 * an answer, never cause one. Envelope tests look at what an answer would
 * be sent to (RFC 3834 4: the envelope sender), header tests at what
 * robots write even when the envelope hides them.
 */
#include "classify.h"

#include "encoded_words.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const reason_names[AR_REASON_COUNT] = {
    [AR_NULL_SENDER] = "null_sender",
    [AR_ROBOT_SENDER] = "robot_sender",
    [AR_NOREPLY_SENDER] = "noreply_sender",
    [AR_ROBOT_FROM] = "robot_from",
    [AR_NOREPLY_FROM] = "noreply_from",
    [AR_AUTO_SUBMITTED] = "auto_submitted",
    [AR_PRECEDENCE] = "precedence",
    [AR_LIST] = "list",
    [AR_SUPPRESS] = "auto_response_suppress",
    [AR_AUTOREPLY_MARKER] = "autoreply_marker",
    [AR_REPORT] = "report",
    [AR_SPAM] = "spam",
    [AR_VIRUS] = "virus",
    [AR_SPF_FAIL] = "spf_fail",
    [AR_HOPS] = "hops",
    [AR_X_LOOP] = "x_loop",
    [AR_SELF_SENT] = "self_sent",
    [AR_REPLY_TO_OURS] = "reply_to_our_autoreply",
    [AR_CATCHALL_ONLY] = "catchall_only",
    [AR_CHALLENGE_RESPONSE] = "challenge_response",
    [AR_AUTOREPLY_SUBJECT] = "autoreply_subject",
};

static const char *const spf_names[] = {
    "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "invalid",
};

const char *classify_reason_name(ar_reason r)
{
    return (unsigned)r < AR_REASON_COUNT ? reason_names[r] : "";
}

char *classify_reasons_text(uint32_t reasons, char *out, size_t cap)
{
    size_t n = 0;
    unsigned i;

    out[0] = '\0';
    for (i = 0; i < AR_REASON_COUNT; i++) {
        if (!(reasons & (1u << i)))
            continue;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
                              reason_names[i]);
    }
    if (n >= cap)
        out[cap - 1] = '\0';
    return out;
}

unsigned classify_spf_bit(const char *result)
{
    size_t i;

    for (i = 0; i < sizeof spf_names / sizeof spf_names[0]; i++)
        if (strcasecmp(result, spf_names[i]) == 0)
            return 1u << i;
    return 0;
}

void classify_input_defaults(classify_input *in)
{
    memset(in, 0, sizeof *in);
    in->envelope_sender = "";
    in->recipients = "";
    in->spam_score = "";
    in->spf_result = "";
    in->spam_threshold = 5.0;
    in->max_hops = 20;
    in->spf_mask = classify_spf_bit("fail");
}

/*
 * local_part_of - the local part of address, lower-cased, without
 * quotes and without a "+detail" subaddress; 0 if empty or too long.
 */
static int local_part_of(const char *address, char *out, size_t cap)
{
    const char *at = strrchr(address, '@');
    size_t len = at ? (size_t)(at - address) : strlen(address), n = 0, i;

    for (i = 0; i < len && address[i] != '+'; i++) {
        if (address[i] == '"')
            continue;
        if (n + 1 >= cap)
            return 0;
        out[n++] = (char)tolower((unsigned char)address[i]);
    }
    out[n] = '\0';
    return n > 0;
}

/* squeeze - local without the separators people vary: post_master, mailer.daemon */
static void squeeze(const char *local, char *out)
{
    size_t n = 0;

    for (; *local; local++)
        if (*local != '-' && *local != '_' && *local != '.')
            out[n++] = *local;
    out[n] = '\0';
}

int robot_address(const char *address)
{
    static const char *const exact[] = {
        "mailer-daemon", "mailerdaemon", "mailer", "postmaster", "listserv", "majordomo",
        "root", "daemon", "server", "nobody", "uucp", "fetchmail-daemon", "mdaemon",
        "bounce", "bounces", "autoreply", "auto-reply", "autoresponder", "auto-responder",
    };
    static const char *const prefixes[] = {"owner-", "bounce-", "bounces-", "mailer-daemon"};
    static const char *const suffixes[] = {"-request", "-owner", "-bounce", "-bounces",
                                           "-relay"};
    char local[128], squeezed[128];
    size_t i, ln, sl;

    if (!local_part_of(address, local, sizeof local))
        return 0;
    ln = strlen(local);
    squeeze(local, squeezed);
    for (i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(local, exact[i]) == 0 || strcmp(squeezed, exact[i]) == 0)
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

int noreply_address(const char *address)
{
    static const char *const words[] = {"noreply", "donotreply", "dontreply", "noresponse",
                                        "donotrespond"};
    char local[128], squeezed[128];
    size_t i;

    if (!local_part_of(address, local, sizeof local))
        return 0;
    squeeze(local, squeezed);                          /* no-reply, no_reply, no.reply */
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(squeezed, words[i]) != NULL)
            return 1;
    return 0;
}

/* auto_submitted - RFC 3834 5: present with any value but "no" (comments, parameters, case) */
static int auto_submitted(const header_block *hb)
{
    char kw[64];
    const char *v;
    size_t pos = 0;

    while ((v = headers_next(hb, "Auto-Submitted", &pos)) != NULL)
        if (strcmp(header_keyword(v, kw, sizeof kw), "no") != 0)
            return 1;                                  /* "" (malformed) counts as automatic */
    return 0;
}

/* suppress_list - MS-OXCMAIL 2.1.3.2.20: a comma list; All, OOF or AutoReply silence us */
static int suppress_list(const header_block *hb)
{
    char word[64];
    const char *v;
    hlex lx;
    htok t;
    size_t pos = 0;

    while ((v = headers_next(hb, "X-Auto-Response-Suppress", &pos)) != NULL) {
        hlex_init(&lx, v, ",;");
        while ((t = hlex_next(&lx, word, sizeof word)).kind != HTOK_END)
            if ((t.kind == HTOK_ATOM || t.kind == HTOK_QUOTED) &&
                (strcasecmp(word, "All") == 0 || strcasecmp(word, "OOF") == 0 ||
                 strcasecmp(word, "AutoReply") == 0 || strcmp(word, "-1") == 0))
                return 1;
    }
    return 0;
}

/* list_message - any List-* field, and the pre-RFC 2369 list managers' own */
static int list_message(const header_block *hb)
{
    return headers_with_prefix(hb, "List-") != NULL || headers_get(hb, "Mailing-List", 0) ||
           headers_get(hb, "X-Mailing-List", 0) || headers_get(hb, "X-BeenThere", 0);
}

/* starts_word - the value's first word is word, any case (X-Spam-Flag: YES, ...) */
static int starts_word(const char *v, const void *word)
{
    char kw[32];

    return v && strcasecmp(header_keyword(v, kw, sizeof kw), (const char *)word) == 0;
}

/* starts_with - the value begins with prefix, any case */
static int starts_with(const char *v, const void *prefix)
{
    return strncasecmp(v, (const char *)prefix, strlen((const char *)prefix)) == 0;
}

/*
 * any_field - whether any of the message's name fields passes test: a
 * field can only add a reason, so a harmless first one (Precedence:
 * normal, X-Spam-Flag: NO) never hides the next
 */
static int any_field(const header_block *hb, const char *name,
                     int (*test)(const char *value, const void *arg), const void *arg)
{
    size_t pos = 0;
    const char *v;

    while ((v = headers_next(hb, name, &pos)) != NULL)
        if (test(v, arg))
            return 1;
    return 0;
}

/* autoreply_marker - what responders and robots stamp besides Auto-Submitted */
static int autoreply_marker(const header_block *hb)
{
    static const char *const names[] = {
        "X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From",
        "X-Mail-Autoreply", "X-Autogenerated", "X-MS-Exchange-Inbox-Rules-Loop", "X-Cron-Env",
    };
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (headers_get(hb, names[i], 0) != NULL)
            return 1;
    /* iCloud's vacation replies carry no Auto-Submitted, only this; FirstClass */
    return any_field(hb, "X-Apple-Action", starts_with, "vacation") ||
           any_field(hb, "X-FC-MachineGenerated", starts_with, "true");
}

/* rspamd's "default: True [12.1 / 15.0]" */
static int rspamd_result(const char *v, const void *arg)
{
    (void)arg;
    return strncasecmp(v, "default: true", 13) == 0;
}

/* spam_stars - SpamAssassin's X-Spam-Level: one star per point, *arg the threshold */
static int spam_stars(const char *v, const void *arg)
{
    double threshold = *(const double *)arg;

    return threshold > 0 && strspn(v, "*") >= (size_t)threshold;
}

/* exchange_scl - Exchange's spam confidence level: 5 and up is junk */
static int exchange_scl(const char *v, const void *arg)
{
    (void)arg;
    return strtol(v, NULL, 10) >= 5;
}

/* forefront_spam - Forefront's verdict: SFV:SPM or SFV:BLK */
static int forefront_spam(const char *v, const void *arg)
{
    (void)arg;
    return strstr(v, "SFV:SPM") != NULL || strstr(v, "SFV:BLK") != NULL;
}

static int present(const char *v, const void *arg)
{
    (void)v;
    (void)arg;
    return 1;
}

/* spam_headers - the verdicts of SpamAssassin, rspamd, Barracuda, DSPAM, Exchange (any field) */
static int spam_headers(const header_block *hb, double threshold)
{
    return any_field(hb, "X-Spam-Flag", starts_word, "yes") ||
           any_field(hb, "X-Spam-Status", starts_word, "yes") ||
           any_field(hb, "X-Spam", starts_word, "yes") ||
           any_field(hb, "X-Spam-Verdict", starts_word, "spam") ||
           any_field(hb, "X-Barracuda-Spam-Status", starts_word, "yes") ||
           any_field(hb, "X-DSPAM-Result", starts_word, "spam") ||
           any_field(hb, "X-Rspamd-Action", starts_word, "reject") ||
           any_field(hb, "X-Rspamd-Action", starts_word, "add") ||      /* "add header" */
           any_field(hb, "X-Spamd-Result", rspamd_result, NULL) ||
           any_field(hb, "X-Spam-Level", spam_stars, &threshold) ||
           any_field(hb, "X-MS-Exchange-Organization-SCL", exchange_scl, NULL) ||
           any_field(hb, "X-Forefront-Antispam-Report", forefront_spam, NULL);
}

static int virus_headers(const header_block *hb)
{
    return any_field(hb, "X-Virus-Status", starts_word, "infected") ||
           any_field(hb, "X-Virus-Flag", starts_word, "yes") ||
           any_field(hb, "X-Virus-Found", present, NULL);
}

/* in_list - whether address is one of the comma/blank-separated addresses, any case */
static int in_list(const char *list, const char *address)
{
    size_t al = strlen(address);
    const char *p = list;

    if (al == 0)
        return 0;
    while (p && *p) {
        size_t n;
        p += strspn(p, ", \t");
        n = strcspn(p, ", \t");
        if (n == al && strncasecmp(p, address, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

typedef struct address_test {
    int robots;
    uint32_t *r;
} address_test;

/*
 * test_address - robot or noreply test on one address of a From/Sender/
 * Reply-To field; what robots write without a domain counts too:
 * "<>", "<MAILER-DAEMON>", a lone "MAILER-DAEMON".
 */
static int test_address(const char *addr, int has_at, void *arg)
{
    const address_test *t = arg;

    if (t->robots && (robot_address(addr) || (!has_at && *addr == '\0')))
        *t->r |= 1u << AR_ROBOT_FROM;
    if (noreply_address(addr))
        *t->r |= 1u << AR_NOREPLY_FROM;
    return 0;
}

/* address_field - robot or noreply test on every address of every field called name */
static void address_field(const header_block *hb, const char *name, int robots, uint32_t *r)
{
    address_test t = {robots, r};
    const char *v;
    size_t pos = 0;

    while ((v = headers_next(hb, name, &pos)) != NULL) {
        if (*v == '\0' && robots)
            *r |= 1u << AR_ROBOT_FROM;                 /* "From:" with nothing */
        header_each_address(v, test_address, &t);
    }
}

/*
 * challenge_response - the requests of challenge-response systems, by the
 * headers each one stamps (TMDA, Bluebottle, cPanel's BoxTrapper, ASK,
 * Spamazoid, ExiSpam): answering them confirms the forged sender
 */
static int challenge_response(const header_block *hb)
{
    static const char *const names[] = {"X-Bluebottle-Request", "X-Boxtrapper", "X-AskVersion",
                                        "X-Spamazoid-MD", "X-ExiSpam", "X-Spamlion"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (headers_get(hb, names[i], 0) != NULL)
            return 1;
    return any_field(hb, "X-Delivery-Agent", starts_with, "TMDA");
}

/*
 * autoreply_subject - out-of-office replies known only by their Subject:
 * Lotus Notes ("AUTO: Smith, John is out of the office"), Exchange and
 * Outlook in the languages they ship, other responders' own words. The
 * subject is decoded first (RFC 2047); only the start of it is compared.
 */
static int autoreply_subject(const header_block *hb)
{
    static const char *const prefixes[] = {
        "auto:", "automatic reply", "auto reply", "auto-reply", "autoreply", "auto response",
        "auto-response", "autoresponse", "out of office", "out of the office",
        "abwesenheitsnotiz", "automatische antwort", "abwesend:",
        "r\xc3\xa9ponse automatique", "reponse automatique", "absent du bureau",
        "respuesta autom\xc3\xa1tica", "respuesta automatica", "fuera de la oficina",
        "risposta automatica", "fuori ufficio", "automatisch antwoord", "afwezig:",
        "resposta autom\xc3\xa1tica", "resposta automatica", "automatiskt svar",
        "automatisk svar", "automatisk besked", "automaattinen vastaus",
        "automatyczna odpowied\xc5\xba", "automatick\xc3\xa1 odpov\xc4\x9b\xc4\x8f",
        "automatikus v\xc3\xa1lasz", "otomatik yan\xc4\xb1t",
        /* one phrase in three pieces: NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
        "\xd0\x90\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbc\xd0\xb0\xd1\x82\xd0\xb8"   /* ru: */
        "\xd1\x87\xd0\xb5\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9 "                 /* "automatic */
        "\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82",                        /* answer" */
        "\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94",                   /* ja */
        "\xe8\x87\xaa\xe5\x8a\xa8\xe7\xad\x94\xe5\xa4\x8d",                   /* zh-Hans */
        "\xe8\x87\xaa\xe5\x8b\x95\xe5\x9b\x9e\xe8\xa6\x86",                   /* zh-Hant */
    };
    char text[128];
    const char *v = headers_get(hb, "Subject", 0);
    size_t i;

    if (v == NULL || ew_decode(v, text, sizeof text) == 0)
        return 0;
    for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncasecmp(text, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/*
 * complaint_report - a feedback report that is not ARF: Hotmail's and
 * Outlook.com's JMRP ("complaint about message from 192.0.2.1",
 * multipart/mixed, X-HmXmrOriginalRecipient)
 */
static int complaint_report(const header_block *hb)
{
    const char *subject = headers_get(hb, "Subject", 0);

    return headers_get(hb, "X-HmXmrOriginalRecipient", 0) != NULL ||
           (subject && strncasecmp(subject, "complaint about message from ", 29) == 0);
}

/* exchange_oof - Exchange's and Outlook's out-of-office reply, by its marks */
static int exchange_oof(const header_block *hb)
{
    const char *subject = headers_get(hb, "Subject", 0);

    if (headers_get(hb, "X-MS-Exchange-Inbox-Rules-Loop", 0) != NULL)
        return 1;
    return subject && headers_get(hb, "X-Auto-Response-Suppress", 0) != NULL &&
           (strncasecmp(subject, "Automatic reply:", 16) == 0 ||
            strncasecmp(subject, "Out of Office", 13) == 0);
}

/* auto_replied - Auto-Submitted: auto-replied (RFC 3834 5.2), comments and case aside */
static int auto_replied(const header_block *hb)
{
    char kw[64];
    const char *v;
    size_t pos = 0;

    while ((v = headers_next(hb, "Auto-Submitted", &pos)) != NULL)
        if (strcmp(header_keyword(v, kw, sizeof kw), "auto-replied") == 0)
            return 1;
    return 0;
}

/* classify_marked_answer - marked as an automatic answer to other mail: RFC 3834's
 * auto-replied, a responder's mark, Exchange's out-of-office, Precedence: auto_reply */
int classify_marked_answer(const header_block *hb, const classify_result *c)
{
    return auto_replied(hb) || (c->reasons & (1u << AR_AUTOREPLY_MARKER)) || exchange_oof(hb) ||
           any_field(hb, "Precedence", starts_word, "auto_reply");
}

/* classify_answer - an automatic answer to other mail, as batv judges it: marked as
 * one, a challenge-response request, or an auto-reply subject on a reply (In-Reply-To);
 * never a list's message, a report, or mail that is only automatic (a robot sender,
 * Auto-Submitted: auto-generated, a subject alone) */
int classify_answer(const header_block *hb, const classify_result *c)
{
    if (c->report != MIME_REPORT_NONE || (c->reasons & (1u << AR_LIST)))
        return 0;
    return classify_marked_answer(hb, c) || (c->reasons & (1u << AR_CHALLENGE_RESPONSE)) ||
           ((c->reasons & (1u << AR_AUTOREPLY_SUBJECT)) &&
            headers_get(hb, "In-Reply-To", 0) != NULL);
}

void autoreply_classify(const header_block *hb, const classify_input *in, classify_result *out)
{
    const char *sender = in->envelope_sender ? in->envelope_sender : "";
    const char *recipients = in->recipients ? in->recipients : "";
    uint32_t r = 0;
    char addr[320];
    const char *v;
    char *end;
    double score;

    memset(out, 0, sizeof *out);
    /* The envelope: where an answer would go. */
    if (*sender == '\0')
        r |= 1u << AR_NULL_SENDER;
    else if (robot_address(sender))
        r |= 1u << AR_ROBOT_SENDER;
    if (*sender && noreply_address(sender))
        r |= 1u << AR_NOREPLY_SENDER;
    /* Who wrote it, by its own account. */
    address_field(hb, "From", 1, &r);
    address_field(hb, "Sender", 1, &r);
    address_field(hb, "Reply-To", 0, &r);
    if (auto_submitted(hb))
        r |= 1u << AR_AUTO_SUBMITTED;
    if (any_field(hb, "Precedence", starts_word, "bulk") ||
        any_field(hb, "Precedence", starts_word, "junk") ||
        any_field(hb, "Precedence", starts_word, "list"))
        r |= 1u << AR_PRECEDENCE;
    if (any_field(hb, "Precedence", starts_word, "auto_reply")) {
        r |= 1u << AR_PRECEDENCE;
        out->automatic = 1;
    }
    if (list_message(hb))
        r |= 1u << AR_LIST;
    if (suppress_list(hb))
        r |= 1u << AR_SUPPRESS;
    if (autoreply_marker(hb))
        r |= 1u << AR_AUTOREPLY_MARKER;
    if (challenge_response(hb))
        r |= 1u << AR_CHALLENGE_RESPONSE;
    if (autoreply_subject(hb))
        r |= 1u << AR_AUTOREPLY_SUBJECT;
    out->report = mime_report_kind(headers_get(hb, "Content-Type", 0));
    if (out->report == MIME_REPORT_NONE && complaint_report(hb))
        out->report = MIME_REPORT_ARF;
    if (out->report != MIME_REPORT_NONE || headers_get(hb, "X-Failed-Recipients", 0) ||
        headers_get(hb, "X-MS-Exchange-Message-Is-Ndr", 0)) {
        r |= 1u << AR_REPORT;
        if (out->report == MIME_REPORT_NONE)
            out->report = MIME_REPORT_DSN;
    }
    /* What the filters said. */
    if (spam_headers(hb, in->spam_threshold))
        r |= 1u << AR_SPAM;
    if (in->spam_score && *in->spam_score) {
        score = strtod(in->spam_score, &end);
        if (end != in->spam_score && score >= in->spam_threshold)
            r |= 1u << AR_SPAM;
    }
    if (virus_headers(hb))
        r |= 1u << AR_VIRUS;
    if (in->spf_result && *in->spf_result && (classify_spf_bit(in->spf_result) & in->spf_mask))
        r |= 1u << AR_SPF_FAIL;
    /* Loops. */
    if (in->max_hops > 0 && headers_count(hb, "Received") > in->max_hops)
        r |= 1u << AR_HOPS;
    if (headers_get(hb, "X-Loop", 0) != NULL)
        r |= 1u << AR_X_LOOP;
    if ((*sender && in_list(recipients, sender)) ||
        ((v = headers_get(hb, "From", 0)) != NULL && header_address(v, addr, sizeof addr) &&
         in_list(recipients, addr)))
        r |= 1u << AR_SELF_SENT;
    if (in->catchall_only)
        r |= 1u << AR_CATCHALL_ONLY;
    out->reasons = r;
    if (r & ((1u << AR_AUTO_SUBMITTED) | (1u << AR_AUTOREPLY_MARKER) | (1u << AR_REPORT) |
             (1u << AR_NULL_SENDER) | (1u << AR_ROBOT_SENDER) | (1u << AR_ROBOT_FROM) |
             (1u << AR_CHALLENGE_RESPONSE) | (1u << AR_AUTOREPLY_SUBJECT)))
        out->automatic = 1;
}
