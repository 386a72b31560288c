/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_autoreply.c - the autoreply module without Exim: the header parser
 * and lexer, MIME structure, the classifier on a corpus of messages
 * (tests/unit/corpus/autoreply/EXPECTED: folded and unfolded headers, CRLF
 * and LF, odd case, comments, RFC 2231 parameters), and the outbound gate
 * and its records on a real LMDB store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/autoreply.h"
#include "autoreply/classify.h"
#include "autoreply/headers.h"
#include "autoreply/history.h"
#include "autoreply/mime.h"
#include "runtime.h"
#include "runtime_fixture.h"

#ifndef CORPUS
#define CORPUS "tests/unit/corpus/autoreply"
#endif

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);

    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* classify_text - reasons of a header text for sender and bob@example.test */
static const char *classify_text(const char *text, size_t len, const classify_input *base,
                                 const char *sender, classify_result *r)
{
    static char reasons[512];
    header_block hb;
    classify_input in = *base;

    in.envelope_sender = sender;
    in.recipients = "bob@example.test";
    assert_int_equal(headers_parse(&hb, text, len), 0);
    autoreply_classify(&hb, &in, r);
    headers_free(&hb);
    return classify_reasons_text(r->reasons, reasons, sizeof reasons);
}

static void corpus_classifies(void **state)
{
    char line[512], file[128], sender[320], want[256], path[512];
    classify_input in;
    FILE *f = fopen(CORPUS "/EXPECTED", "r");
    int n = 0, bad = 0;

    (void)state;
    assert_non_null(f);
    classify_input_defaults(&in);
    while (fgets(line, sizeof line, f)) {
        classify_result r;
        const char *got;
        size_t len;
        char *text;

        if (line[0] == '#' || sscanf(line, "%127s %319s %255s", file, sender, want) != 3)
            continue;
        snprintf(path, sizeof path, "%s/%s", CORPUS, file);
        text = slurp(path, &len);
        got = classify_text(text, len, &in, strcmp(sender, "-") == 0 ? "" : sender, &r);
        if (strcmp(got, strcmp(want, "-") == 0 ? "" : want) != 0) {
            print_message("%s: want %s, got %s\n", file, want, got[0] ? got : "-");
            bad++;
        }
        free(text);
        n++;
    }
    fclose(f);
    assert_true(n >= 30);
    assert_int_equal(bad, 0);
}

static void parser_unfolds_crlf_and_lf(void **state)
{
    const char *text = "Subject: a\r\n b\r\n\tc\r\nList-Id:\t<x>  \r\nfrom : <A@B.test>\n"
                       "Received: 1\nReceived: 2\n\nList-Post: body\n";
    header_block hb;

    (void)state;
    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    assert_int_equal(hb.count, 5);
    assert_string_equal(headers_get(&hb, "subject", 0), "a b\tc");
    assert_string_equal(headers_get(&hb, "LIST-ID", 0), "<x>");
    assert_string_equal(headers_get(&hb, "From", 0), "<A@B.test>");   /* "from :" obsolete form */
    assert_int_equal(headers_count(&hb, "Received"), 2);
    assert_string_equal(headers_get(&hb, "Received", 1), "2");
    assert_null(headers_get(&hb, "Received", 2));
    assert_null(headers_get(&hb, "List-Post", 0));                     /* that was the body */
    assert_non_null(headers_with_prefix(&hb, "list-"));
    headers_free(&hb);
}

static void parser_survives_odd_input(void **state)
{
    const char *text = " orphan continuation\nFrom carol Mon Nov 23\nBad Name: x\n"
                       ": empty name\nX-Ok: 1\nX-No-Newline: last";
    char big[9000];
    header_block hb;

    (void)state;
    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    assert_int_equal(hb.count, 2);
    assert_int_equal(hb.malformed, 4);
    assert_string_equal(headers_get(&hb, "x-no-newline", 0), "last");
    headers_free(&hb);
    /* a NUL byte cannot cut a value short: it becomes a blank */
    assert_int_equal(headers_parse(&hb, "X-Nul: a\0b\n", 11), 0);
    assert_string_equal(headers_get(&hb, "X-Nul", 0), "a b");
    headers_free(&hb);
    assert_int_equal(headers_parse(&hb, "", 0), 0);
    assert_int_equal(hb.count, 0);
    headers_free(&hb);
    assert_int_equal(headers_parse(&hb, "\r\nX-Body: 1\r\n", 13), 0);
    assert_int_equal(hb.count, 0);
    headers_free(&hb);
    /* a long value is kept whole, not cut */
    memcpy(big, "X-Long: ", 8);
    memset(big + 8, 'a', sizeof big - 9);
    big[sizeof big - 1] = '\0';
    assert_int_equal(headers_parse(&hb, big, strlen(big)), 0);
    assert_int_equal(strlen(headers_get(&hb, "X-Long", 0)), sizeof big - 9);
    headers_free(&hb);
}

static void lexer_comments_and_quotes(void **state)
{
    char out[64];
    hlex lx;
    htok t;

    (void)state;
    assert_string_equal(header_keyword(" Auto-Replied (a (nested \\) comment)) ; x=y", out,
                                       sizeof out), "auto-replied");
    assert_string_equal(header_keyword("(only a comment)", out, sizeof out), "");
    assert_string_equal(header_keyword("\"quoted\"", out, sizeof out), "");
    assert_string_equal(header_keyword("(unclosed", out, sizeof out), "");
    hlex_init(&lx, "a \"b \\\" c\" ;d", HLEX_MIME);
    t = hlex_next(&lx, out, sizeof out);
    assert_int_equal(t.kind, HTOK_ATOM);
    t = hlex_next(&lx, out, sizeof out);
    assert_int_equal(t.kind, HTOK_QUOTED);
    assert_string_equal(out, "b \" c");
    t = hlex_next(&lx, out, sizeof out);
    assert_int_equal(t.kind, HTOK_SPECIAL);
    assert_int_equal(t.special, ';');
    hlex_init(&lx, "abcdefgh", HLEX_MIME);
    t = hlex_next(&lx, out, 4);
    assert_true(t.cut);
    assert_string_equal(out, "abc");
}

static void addresses_from_address_fields(void **state)
{
    static const struct { const char *value, *want; } cases[] = {
        {"Carol <Carol@Remote.TEST>", "carol@remote.test"},
        {"carol@remote.test (Carol)", "carol@remote.test"},
        {"\"Smith, <John@x.test>\" <john@y.test>", "john@y.test"},
        {"(comment <a@b.test>) real@c.test", "real@c.test"},
        {"Team: ann@t.test, bo@t.test;", "ann@t.test"},
        {"undisclosed-recipients:;", NULL},
        {"<@relay.test,@other.test:user@host.test>", "user@host.test"},
        {"\"no reply\"@shop.test", "no reply@shop.test"},
        {"just a name", NULL},
        {"", NULL},
    };
    char out[320];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int found = header_address(cases[i].value, out, sizeof out);
        if (cases[i].want == NULL)
            assert_false(found);
        else if (!found || strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got %s", cases[i].value, found ? out : "(none)");
    }
    /* an address longer than out is never cut before its @ (fuzz_autoreply_headers):
     * it is passed over for the next one */
    {
        char value[900];
        memset(value, 'x', 400);
        snprintf(value + 400, sizeof value - 400, "@long.test, next@short.test");
        assert_true(header_address(value, out, sizeof out));
        assert_string_equal(out, "next@short.test");
        value[400] = '\0';
        strcat(value, "@long.test");
        assert_false(header_address(value, out, sizeof out));
    }
}

static int collect_id(const char *id, void *arg)
{
    char *all = arg;

    strcat(all, id);
    strcat(all, " ");
    return 0;
}

static void message_ids(void **state)
{
    char all[512] = "";

    (void)state;
    header_each_msgid("<A1@x.test> (first)\r\n <b2@Y.test>\t<not-an-id> <c3@z.test>", collect_id,
                      all);
    assert_string_equal(all, "a1@x.test b2@y.test c3@z.test ");
}

static void mime_structure(void **state)
{
    mime_type mt;
    char out[128];

    (void)state;
    assert_true(mime_content_type(" Multipart/Report (a report); report-type=x", &mt));
    assert_string_equal(mt.type, "multipart");
    assert_string_equal(mt.subtype, "report");
    assert_false(mime_content_type("text", &mt));
    assert_false(mime_content_type("", &mt));
    assert_true(mime_param("text/plain; charset=\"UTF-8\"; format=flowed", "charset", out,
                           sizeof out));
    assert_string_equal(out, "UTF-8");
    assert_false(mime_param("text/plain; charset=\"UTF-8\"", "format", out, sizeof out));
    assert_true(mime_param("application/x; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun",
                           "title", out, sizeof out));
    assert_string_equal(out, "This is ***fun");
    assert_true(mime_param("application/x; title*1*=%20two; title*0*=us-ascii''one;"
                           " title=\"plain\"", "title", out, sizeof out));
    assert_string_equal(out, "one two");
    assert_true(mime_param("a/b; x=\"semi;colon\"; y=2", "y", out, sizeof out));
    assert_string_equal(out, "2");

    assert_int_equal(mime_report_kind("multipart/report; report-type=delivery-status"),
                     MIME_REPORT_DSN);
    assert_int_equal(mime_report_kind("multipart/report; report-type=global-delivery-status"),
                     MIME_REPORT_DSN);
    assert_int_equal(mime_report_kind("MULTIPART/REPORT; REPORT-TYPE=\"Disposition-Notification\""),
                     MIME_REPORT_MDN);
    assert_int_equal(mime_report_kind("multipart/report; report-type=feedback-report"),
                     MIME_REPORT_ARF);
    assert_int_equal(mime_report_kind("multipart/report; boundary=x"), MIME_REPORT_OTHER);
    assert_int_equal(mime_report_kind("message/delivery-status"), MIME_REPORT_DSN);
    assert_int_equal(mime_report_kind("message/rfc822"), MIME_REPORT_NONE);
    assert_int_equal(mime_report_kind("multipart/mixed; report-type=delivery-status"),
                     MIME_REPORT_NONE);
    assert_int_equal(mime_report_kind("text/plain"), MIME_REPORT_NONE);
    assert_int_equal(mime_report_kind(NULL), MIME_REPORT_NONE);
    assert_string_equal(mime_report_name(MIME_REPORT_MDN), "mdn");
}

static void robots_and_noreply(void **state)
{
    static const char *const robots[] = {
        "MAILER-DAEMON@x.test", "owner-list@x.test", "list-request@x.test",
        "list-bounces+bob=example.test@x.test", "bounces+123-abc@esp.test", "Postmaster@x.test",
        "\"majordomo\"@x.test", "news-relay@x.test",
    };
    static const char *const people[] = {"alice@x.test", "replyguy@x.test", "bob+lists@x.test",
                                         "requester@x.test", "", "@x.test"};
    static const char *const noreply[] = {"noreply@x.test", "No.Reply@x.test",
                                          "do_not_reply@x.test", "alerts-noreply@x.test",
                                          "DoNotReply@x.test", "noreply+tag@x.test"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof robots / sizeof robots[0]; i++)
        if (!robot_address(robots[i]))
            fail_msg("%s should be a robot", robots[i]);
    for (i = 0; i < sizeof people / sizeof people[0]; i++)
        if (robot_address(people[i]) || noreply_address(people[i]))
            fail_msg("%s should be a person", people[i]);
    for (i = 0; i < sizeof noreply / sizeof noreply[0]; i++)
        if (!noreply_address(noreply[i]))
            fail_msg("%s should be noreply", noreply[i]);
}

static void envelope_rules(void **state)
{
    const char *text = "Received: a\nReceived: b\nReceived: c\nFrom: x@y.test\n\n";
    classify_input in;
    classify_result r;

    (void)state;
    classify_input_defaults(&in);
    in.spam_score = "6.5";
    in.spf_result = "fail";
    in.catchall_only = 1;
    in.max_hops = 2;
    assert_string_equal(classify_text(text, strlen(text), &in, "", &r),
                        "null_sender,spam,spf_fail,hops,catchall_only");
    assert_true(classify_suspect(&r));
    /* a score below the threshold, softfail (not counted by default), hops off */
    in.spam_score = "4.9";
    in.spf_result = "softfail";
    in.catchall_only = 0;
    in.max_hops = 0;
    assert_string_equal(classify_text(text, strlen(text), &in, "x@y.test", &r), "");
    in.spf_mask |= classify_spf_bit("softfail");
    assert_string_equal(classify_text(text, strlen(text), &in, "x@y.test", &r), "spf_fail");
    /* garbage is not a score; the sender among the recipients is self-sent */
    in.spf_result = "";
    in.spam_score = "lots";
    assert_string_equal(classify_text(text, strlen(text), &in, "BOB@example.test", &r),
                        "self_sent");
    assert_int_equal(classify_spf_bit("nonsense"), 0);
}

static void reasons_text(void **state)
{
    char out[16];

    (void)state;
    assert_string_equal(classify_reasons_text((1u << AR_SPAM) | (1u << AR_LIST), out, sizeof out),
                        "list,spam");
    classify_reasons_text(0xffffffu, out, sizeof out);       /* cut, still terminated */
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_string_equal(classify_reason_name(AR_REPLY_TO_OURS), "reply_to_our_autoreply");
}

/* ------------------------------------------------------------ the gate */

typedef struct fixture {
    char dir[64];
    moat_runtime *rt;
} fixture;

static moat_runtime *runtime(fixture *fx, const char *extra)
{
    char path[128], text[16384];

    snprintf(path, sizeof path, "%s/moat.conf", fx->dir);
    assert_true((size_t)snprintf(text, sizeof text,
                                 "log { level = error }\n"
                                 "store { path = \"%s/state\" map_size = 16M }\n"
                                 "autoreply {\n local_domains = {\"example.test\"}\n %s\n}\n",
                                 fx->dir, extra) < sizeof text);
    fx->rt = fixture_runtime(path, text);
    return fx->rt;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    snprintf(fx->dir, sizeof fx->dir, "/tmp/moat-autoreply-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];

    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* out - the gate's action for headers from sender to rcpt; reason into reason */
static const char *out(moat_runtime *rt, const char *headers, const char *sender,
                       const char *rcpt, time_t now, char reason[48])
{
    static char action[16];
    autoreply_message m = {headers, strlen(headers), sender, rcpt, "", "", 0, now};
    moat_verdict v;
    const char *why = NULL;

    assert_int_equal(autoreply_outbound(rt, &m, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    reason[0] = '\0';
    verdict_get(v.text, "reason", reason, 48);
    return action;
}

/* in - classify and record an inbound message; the verdict text */
static const char *in(moat_runtime *rt, const char *headers, const char *sender,
                      const char *rcpt, const char *spam_score, time_t now)
{
    static moat_verdict v;
    autoreply_message m = {headers, strlen(headers), sender, rcpt, spam_score, "", 0, now};
    const char *why = NULL;

    assert_int_equal(autoreply_inbound(rt, &m, &v, &why), 0);
    return v.text;
}

#define REPLY(from, id) "From: " from "\nAuto-Submitted: auto-replied (vacation)\n" \
                        "Message-ID: <" id ">\nSubject: Auto: hi\n\n"
#define T0 ((time_t)1800000000)

static void gate_once_per_period(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    assert_string_equal(out(rt, REPLY("bob@example.test", "r1@example.test"), "",
                            "dave@remote.test", T0, reason), "accept");
    assert_string_equal(reason, "reply_allowed");
    assert_string_equal(out(rt, REPLY("bob@example.test", "r2@example.test"), "",
                            "Dave@Remote.test", T0 + 60, reason), "discard");
    assert_string_equal(reason, "already_answered");
    /* another responder is another pair */
    assert_string_equal(out(rt, REPLY("alice@example.test", "r3@example.test"), "",
                            "dave@remote.test", T0 + 60, reason), "accept");
    /* after the period (7 days by default) again */
    assert_string_equal(out(rt, REPLY("bob@example.test", "r4@example.test"), "",
                            "dave@remote.test", T0 + 7 * 86400 + 1, reason), "accept");
    /* a correspondent whose server tags its senders (BATV): one reply, not one a tag */
    assert_string_equal(out(rt, REPLY("bob@example.test", "r5@example.test"), "",
                            "prvs=0001abcdef=erin@remote.test", T0, reason), "accept");
    assert_string_equal(out(rt, REPLY("bob@example.test", "r6@example.test"), "",
                            "prvs=0002fedcba=erin@remote.test", T0 + 86400, reason), "discard");
    assert_string_equal(reason, "already_answered");
}

static void gate_never_to_robots(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    assert_string_equal(out(rt, REPLY("bob@example.test", "a@x"), "", "mailer-daemon@remote.test",
                            T0, reason), "discard");
    assert_string_equal(reason, "robot_destination");
    assert_string_equal(out(rt, REPLY("bob@example.test", "b@x"), "", "no-reply@remote.test", T0,
                            reason), "discard");
    assert_string_equal(reason, "noreply_destination");
    /* an NDR to a list's bounce address is how lists work: allowed */
    assert_string_equal(out(rt, "From: Mailer-Daemon@example.test\nContent-Type: multipart/report;"
                                " report-type=delivery-status\n\n", "",
                            "team-bounces+bob=example.test@lists.test", T0, reason), "accept");
    assert_string_equal(reason, "report_allowed");
}

static void gate_lets_notices_reach_our_postmaster(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];
    int i;

    /* Exim's freeze_tell notice, however many: the admin must hear of them */
    for (i = 0; i < 30; i++)
        assert_string_equal(out(rt, "From: Mail Delivery System <Mailer-Daemon@example.test>\n"
                                    "Subject: Message 1xVR97-0002AE-2K has been frozen\n"
                                    "Auto-Submitted: auto-generated\n\n", "",
                                "Postmaster@example.test", T0 + i, reason), "accept");
    /* someone else's postmaster is a robot like any other */
    assert_string_equal(out(rt, REPLY("bob@example.test", "p@x"), "", "postmaster@remote.test",
                            T0, reason), "discard");
    assert_string_equal(reason, "robot_destination");
}

static void gate_ping_pong(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    /* carol's auto-reply to bob came in (null sender: carol is in From:) */
    in(rt, "From: Carol <carol@remote.test>\nAuto-Submitted: auto-replied\n\n", "",
       "bob@example.test", "", T0);
    assert_string_equal(out(rt, REPLY("bob@example.test", "p1@x"), "", "carol@remote.test",
                            T0 + 5, reason), "discard");
    assert_string_equal(reason, "ping_pong");
}

static void gate_no_ndr_to_spammers(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    const char *ndr = "From: Mail Delivery System <Mailer-Daemon@example.test>\n"
                      "Auto-Submitted: auto-replied\nX-Failed-Recipients: broken@example.test\n"
                      "Content-Type: multipart/report; report-type=delivery-status; b=1\n\n";
    char reason[48];

    assert_non_null(strstr(in(rt, "From: victim@innocent.test\nMessage-ID: <s1@x>\n\n",
                              "victim@innocent.test", "broken@example.test", "12.5", T0),
                           "class=never reasons=spam suspect=yes"));
    assert_string_equal(out(rt, ndr, "", "victim@innocent.test", T0 + 1, reason), "discard");
    assert_string_equal(reason, "suspect_destination");
    /* a real sender still hears why */
    assert_string_equal(out(rt, ndr, "", "friend@remote.test", T0 + 1, reason), "accept");
}

static void gate_no_answer_to_never(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    in(rt, "From: a@remote.test\nPrecedence: bulk\nMessage-ID: <Bulk-1@remote.test>\n\n",
       "a@remote.test", "bob@example.test", "", T0);
    assert_string_equal(out(rt, "From: bob@example.test\nAuto-Submitted: auto-replied\n"
                                "In-Reply-To: <bulk-1@remote.test>\n\n", "", "a@remote.test",
                            T0 + 1, reason), "discard");
    assert_string_equal(reason, "answer_to_never");
}

static void gate_reply_to_our_reply(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    assert_string_equal(out(rt, REPLY("bob@example.test", "ours-1@example.test"), "",
                            "erin@remote.test", T0, reason), "accept");
    /* erin's responder answers without any marker, but names our reply */
    assert_non_null(strstr(in(rt, "From: erin@remote.test\nIn-Reply-To: <OURS-1@example.test>\n\n",
                              "erin@remote.test", "bob@example.test", "", T0 + 2),
                           "reasons=reply_to_our_autoreply"));
}

static void gate_caps_and_external(void **state)
{
    moat_runtime *rt = runtime(*state, "cap_address = 2\n external = known");
    char reason[48];

    /* bob wrote to frank: frank is known; gina is not */
    assert_string_equal(out(rt, "From: bob@example.test\nSubject: hi\n\n", "bob@example.test",
                            "frank@remote.test", T0, reason), "accept");
    assert_string_equal(out(rt, REPLY("bob@example.test", "k1@x"), "", "gina@remote.test", T0,
                            reason), "discard");
    assert_string_equal(reason, "external_unknown");
    assert_string_equal(out(rt, REPLY("alice@example.test", "k2@x"), "", "frank@remote.test", T0,
                            reason), "accept");
    assert_string_equal(out(rt, REPLY("bob@example.test", "k3@x"), "", "frank@remote.test", T0,
                            reason), "accept");
    assert_string_equal(out(rt, REPLY("carol@example.test", "k4@x"), "", "frank@remote.test", T0,
                            reason), "discard");
    assert_string_equal(reason, "destination_cap");
    /* local destinations are never external */
    runtime(*state, "external = none");
    assert_string_equal(out(rt = runtime(*state, "external = none"), REPLY("bob@example.test",
                            "k5@x"), "", "alice@example.test", T0, reason), "accept");
    assert_string_equal(out(rt, REPLY("bob@example.test", "k6@x"), "", "hank@remote.test", T0,
                            reason), "discard");
    assert_string_equal(reason, "external_none");
}

static void gate_bounced_destination(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    const char *reply = REPLY("bob@example.test", "b1@example.test");
    autoreply_message m = {reply, strlen(reply), "", "", "", "", 0, T0};
    moat_verdict v;
    const char *why = NULL;
    char reason[48];

    assert_int_equal(autoreply_delivery_failed(rt, &m, "ivan@remote.test", &v, &why), 0);
    assert_non_null(strstr(v.text, "reason=recorded_bounce"));
    assert_string_equal(out(rt, REPLY("alice@example.test", "b2@x"), "", "ivan@remote.test",
                            T0 + 10, reason), "discard");
    assert_string_equal(reason, "destination_bounced");
    /* a failed personal message records nothing */
    m.headers = "From: bob@example.test\n\n";
    m.headers_len = strlen(m.headers);
    m.sender = "bob@example.test";
    assert_int_equal(autoreply_delivery_failed(rt, &m, "judy@remote.test", &v, &why), 0);
    assert_null(strstr(v.text, "recorded_bounce"));
}

static void an_ndr_marks_only_where_the_reply_went(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48];

    /* bob's reply to dave leaves; an NDR naming another address (forged by
     * anyone who got a reply) marks nothing, one naming dave marks dave */
    assert_string_equal(out(rt, REPLY("bob@example.test", "o1@example.test"), "",
                            "dave@remote.test", T0, reason), "accept");
#define NDR(failed) "From: Mail Delivery System <mailer-daemon@remote.test>\n" \
                    "In-Reply-To: <o1@example.test>\nX-Failed-Recipients: " failed "\n" \
                    "Content-Type: multipart/report; report-type=delivery-status; b=1\n\n"
    in(rt, NDR("boss@partner.test"), "", "bob@example.test", "", T0 + 5);
    assert_string_equal(out(rt, REPLY("alice@example.test", "o2@example.test"), "",
                            "boss@partner.test", T0 + 10, reason), "accept");
    in(rt, NDR("dave@remote.test"), "", "bob@example.test", "", T0 + 15);
    assert_string_equal(out(rt, REPLY("alice@example.test", "o3@example.test"), "",
                            "dave@remote.test", T0 + 20, reason), "discard");
    assert_string_equal(reason, "destination_bounced");
#undef NDR
}

static void gate_sorts_what_leaves(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48], action[16];
    autoreply_message m;
    moat_verdict v;
    const char *why = NULL;
    const char *cron = "From: root@example.test\nAuto-Submitted: auto-generated\n\n";
    const char *oof = "From: Ann <ann@example.test>\nSubject: Automatic reply: lunch\n"
                      "X-Auto-Response-Suppress: All\n\n";

    m = (autoreply_message){cron, strlen(cron), "root@example.test", "ops@remote.test", "", "",
                            0, T0};
    assert_int_equal(autoreply_outbound(rt, &m, &v, &why), 0);
    assert_non_null(strstr(v.text, "kind=notification"));
    /* Exchange's OOF from a server behind us is a reply, sender or not */
    assert_string_equal(out(rt, oof, "ann@example.test", "ken@remote.test", T0, reason), "accept");
    assert_string_equal(out(rt, oof, "ann@example.test", "ken@remote.test", T0 + 1, reason),
                        "discard");
    assert_string_equal(reason, "already_answered");
    /* Precedence: auto_reply alone marks a reply too */
    assert_string_equal(out(rt, "From: lou@example.test\nPrecedence: auto_reply\n\n",
                            "lou@example.test", "max@remote.test", T0, reason), "accept");
    assert_string_equal(reason, "reply_allowed");
    (void)action;
}

static int count_record(const char *key, const char *note, time_t expires, void *arg)
{
    (void)note;
    (void)expires;
    if (strstr(key, "dave@remote.test") != NULL)
        (*(int *)arg)++;
    return 0;
}

static void history_lists_records(void **state)
{
    moat_runtime *rt = runtime(*state, "");
    char reason[48], key[STORE_KEY_MAX + 1], longaddr[700];
    int n = 0;

    out(rt, REPLY("bob@example.test", "h1@example.test"), "", "dave@remote.test", T0, reason);
    assert_int_equal(autoreply_history(rt, "DAVE@remote.test", count_record, &n), 0);
    assert_int_equal(n, 2);                        /* sent:bob|dave and cap:a:dave */
    /* an over-long subject becomes a hash, within the key limit */
    memset(longaddr, 'x', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    history_key(HIST_SENT, longaddr, longaddr, key, sizeof key);
    assert_true(strlen(key) <= STORE_KEY_MAX);
    assert_non_null(strstr(key, "autoreply:sent:#"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_classifies),
        cmocka_unit_test(parser_unfolds_crlf_and_lf),
        cmocka_unit_test(parser_survives_odd_input),
        cmocka_unit_test(lexer_comments_and_quotes),
        cmocka_unit_test(addresses_from_address_fields),
        cmocka_unit_test(message_ids),
        cmocka_unit_test(mime_structure),
        cmocka_unit_test(robots_and_noreply),
        cmocka_unit_test(envelope_rules),
        cmocka_unit_test(reasons_text),
        cmocka_unit_test_setup_teardown(gate_once_per_period, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_never_to_robots, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_lets_notices_reach_our_postmaster, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_ping_pong, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_no_ndr_to_spammers, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_no_answer_to_never, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_reply_to_our_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_caps_and_external, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_bounced_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ndr_marks_only_where_the_reply_went, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_sorts_what_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(history_lists_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
