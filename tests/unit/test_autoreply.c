/*
 * test_autoreply.c - the header parser and the classifier on a corpus of
 * messages (tests/unit/corpus/autoreply: folded and unfolded headers, CRLF
 * and LF, odd case), and the outbound gate on a real LMDB store.
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
#include "runtime.h"

#ifndef CORPUS
#define CORPUS "tests/unit/corpus/autoreply"
#endif

typedef struct expectation {
    const char *file;
    const char *sender;
    int never;
    const char *reason;   /* must appear in the reasons ("" = none at all) */
} expectation;

static const expectation corpus[] = {
    {"personal.eml", "carol@remote.test", 0, ""},
    {"auto-submitted-comment.eml", "bob@remote.test", 1, "auto_submitted"},
    {"auto-submitted-no.eml", "x@remote.test", 0, ""},
    {"list-folded.eml", "list@remote.test", 1, "list"},
    {"report-odd-case.eml", "", 1, "report"},
    {"suppress-oof.eml", "a@remote.test", 1, "x_auto_response_suppress"},
    {"suppress-dr-only.eml", "a@remote.test", 0, ""},
    {"spam-flag.eml", "a@remote.test", 1, "spam"},
    {"noreply-from.eml", "orders@shop.test", 1, "robot_from"},
    {"precedence-bulk.eml", "a@remote.test", 1, "precedence"},
    {"x-loop.eml", "a@remote.test", 1, "x_loop"},
};

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    FILE *f;
    char *buf = malloc(65536);

    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, 65535, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void corpus_classifies(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        header_block *hb = malloc(sizeof *hb);
        classify_input in = {corpus[i].sender, "bob@example.test", "", "", 0, 5.0, 25};
        classify_result r;
        size_t len;
        char *text = slurp(corpus[i].file, &len);

        headers_parse(text, len, hb);
        autoreply_classify(hb, &in, &r);
        if (r.never != corpus[i].never || (corpus[i].reason[0] &&
                                           strstr(r.reasons, corpus[i].reason) == NULL) ||
            (!corpus[i].reason[0] && r.reasons[0]))
            fail_msg("%s: never=%d reasons=%s", corpus[i].file, r.never, r.reasons);
        free(text);
        free(hb);
    }
}

static void parser_unfolds_and_finds(void **state)
{
    const char *text = "Subject: a\r\n b\r\nList-Id:\t<x>\r\nfrom: <A@B.test>\r\n"
                       "Received: 1\r\nReceived: 2\r\n\r\nList-Post: body\r\n";
    header_block *hb = malloc(sizeof *hb);
    char out[64];

    (void)state;
    headers_parse(text, strlen(text), hb);
    assert_string_equal(headers_get(hb, "subject", 0), "a b");
    assert_string_equal(headers_get(hb, "LIST-ID", 0), "<x>");
    assert_int_equal(headers_count(hb, "Received"), 2);
    assert_null(headers_get(hb, "List-Post", 0));   /* that was the body */
    assert_true(header_address(headers_get(hb, "From", 0), out, sizeof out));
    assert_string_equal(out, "a@b.test");
    assert_string_equal(header_token(" Auto-Replied (a (nested) comment) ; x=y", out, sizeof out),
                        "auto-replied");
    assert_true(header_param("multipart/report; report-type=\"Delivery-Status\"", "report-type",
                             out, sizeof out));
    assert_string_equal(out, "delivery-status");
    free(hb);
}

static void robots_are_recognised(void **state)
{
    (void)state;
    assert_true(robot_address("MAILER-DAEMON@x.test"));
    assert_true(robot_address("owner-list@x.test"));
    assert_true(robot_address("list-request@x.test"));
    assert_true(robot_address("no-reply@x.test"));
    assert_false(robot_address("alice@x.test"));
    assert_false(robot_address("replyguy@x.test"));
}

static void envelope_rules(void **state)
{
    header_block *hb = malloc(sizeof *hb);
    classify_result r;
    classify_input in = {"", "bob@example.test", "6.5", "fail", 1, 5.0, 2};
    const char *text = "Received: a\nReceived: b\nReceived: c\nFrom: x@y.test\n\n";

    (void)state;
    headers_parse(text, strlen(text), hb);
    autoreply_classify(hb, &in, &r);
    assert_non_null(strstr(r.reasons, "null_sender"));
    assert_non_null(strstr(r.reasons, "spam"));
    assert_non_null(strstr(r.reasons, "spf_fail"));
    assert_non_null(strstr(r.reasons, "hops"));
    assert_non_null(strstr(r.reasons, "catchall_only"));
    assert_true(r.suspect);
    in.envelope_sender = "bob@example.test";
    in.spam_score = "";
    in.spf_result = "pass";
    in.catchall_only = 0;
    in.max_hops = 25;
    autoreply_classify(hb, &in, &r);
    assert_string_equal(r.reasons, "self_sent");
    free(hb);
}

static moat_runtime *runtime(const char *dir)
{
    char path[128], err[512];
    FILE *f;
    moat_runtime *rt;

    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" }\n"
               "autoreply { local_domains = {\"example.test\"} cap_address = 3 }\n", dir);
    fclose(f);
    moat_runtime_reset();
    rt = moat_runtime_get(path, err, sizeof err);
    assert_non_null(rt);
    return rt;
}

static const char *gate(moat_runtime *rt, const char *headers, const char *sender,
                        const char *rcpt, time_t now, char *reason)
{
    static char action[16];
    autoreply_message m = {headers, strlen(headers), sender, rcpt, "", "", 0, now};
    moat_verdict v;
    const char *why;

    assert_int_equal(autoreply_outbound(rt, &m, &v, &why), 0);
    verdict_get(v.text, "action", action, sizeof action);
    reason[0] = '\0';
    verdict_get(v.text, "reason", reason, 48);
    return action;
}

static void outbound_gate(void **state)
{
    char dir[] = "/tmp/moat-autoreply-XXXXXX", reason[48], cmd[128];
    const char *reply = "From: bob@example.test\nAuto-Submitted: auto-replied\n"
                        "Message-ID: <r1@example.test>\n\n";
    const char *in_ooo = "From: carol@remote.test\nAuto-Submitted: auto-replied\n\n";
    moat_runtime *rt;
    autoreply_message m;
    moat_verdict v;
    const char *why;
    time_t t = 1800000000;

    (void)state;
    assert_non_null(mkdtemp(dir));
    rt = runtime(dir);
    /* once per period */
    assert_string_equal(gate(rt, reply, "", "dave@remote.test", t, reason), "accept");
    assert_string_equal(gate(rt, reply, "", "dave@remote.test", t + 60, reason), "discard");
    assert_string_equal(reason, "already_answered");
    assert_string_equal(gate(rt, reply, "", "dave@remote.test", t + 8 * 86400, reason), "accept");
    /* never to robots */
    assert_string_equal(gate(rt, reply, "", "noreply@remote.test", t, reason), "discard");
    assert_string_equal(reason, "robot_destination");
    /* ping-pong: carol's auto-reply to bob came in; bob's must not answer it */
    m = (autoreply_message){in_ooo, strlen(in_ooo), "", "bob@example.test", "", "", 0, t};
    assert_int_equal(autoreply_inbound(rt, &m, &v, &why), 0);
    assert_string_equal(gate(rt, reply, "", "carol@remote.test", t, reason), "discard");
    assert_string_equal(reason, "ping_pong");
    /* personal mail is never stopped */
    assert_string_equal(gate(rt, "From: bob@example.test\n\n", "bob@example.test",
                             "erin@remote.test", t, reason), "accept");
    assert_string_equal(reason, "personal");
    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_classifies),
        cmocka_unit_test(parser_unfolds_and_finds),
        cmocka_unit_test(robots_are_recognised),
        cmocka_unit_test(envelope_rules),
        cmocka_unit_test(outbound_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
