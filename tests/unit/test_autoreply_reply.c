/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_autoreply_reply.c - what moat writes into a generated reply, and
 * whether it writes one (issue 16): RFC 2047 decoding and encoding, the
 * envelope sender a reply may go to, RFC 5230 4.5's "addressed" test with
 * group, route and robot address forms, the threading headers, the whole
 * composed message, and the classifier's header walks staying linear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoreply/classify.h"
#include "autoreply/encoded_words.h"
#include "autoreply/headers.h"
#include "autoreply/reply.h"

static char decoded[4096];

static const char *dec(const char *value)
{
    ew_decode(value, decoded, sizeof decoded);
    return decoded;
}

static void decodes_encoded_words(void **state)
{
    (void)state;
    assert_string_equal(dec("=?utf-8?Q?Gr=C3=BC=C3=9Fe?="), "Grüße");
    assert_string_equal(dec("=?UTF-8?B?R3LDvMOfZQ==?="), "Grüße");
    assert_string_equal(dec("=?iso-8859-1?q?R=E9ponse?= automatique"), "Réponse automatique");
    /* blanks between adjacent encoded words vanish, others stay */
    assert_string_equal(dec("=?utf-8?Q?a?= \t =?utf-8?Q?b?= c =?utf-8?Q?d?="), "ab c d");
    /* RFC 2231 language, underscores, lower-case hex */
    assert_string_equal(dec("=?utf-8*de?Q?a_b=c3=a4?="), "a bä");
    /* not encoded words: left as text */
    assert_string_equal(dec("=?utf-8?X?abc?= =?broken"), "=?utf-8?X?abc?= =?broken");
    /* an unknown charset keeps ASCII */
    assert_string_equal(dec("=?x-no-such-charset?Q?ok=E9?="), "ok?");
    /* raw UTF-8 kept, raw Latin-1 (Windows-1252) read as such */
    assert_string_equal(dec("K\xc3\xb6ln"), "Köln");
    assert_string_equal(dec("K\xf6ln \x80"), "Köln €");
}

static void decoding_leaves_no_control_character(void **state)
{
    const unsigned char *p;

    (void)state;
    /* encoded CR LF cannot end or add a header line */
    assert_string_equal(dec("=?us-ascii?Q?hi=0D=0ABcc:_victim@evil.test?="),
                        "hi Bcc: victim@evil.test");
    assert_string_equal(dec("a\r\nb\tc\x1b[31m\x7f d"), "a b c [31m d");
    /* C1 controls, bidi overrides and zero-width characters */
    assert_string_equal(dec("=?utf-8?Q?x=C2=85y=E2=80=AEz=E2=80=8Bw?="), "x yzw");
    /* a NUL byte inside an encoded word */
    assert_string_equal(dec("=?utf-8?Q?a=00b?="), "a b");
    ew_decode("=?utf-8?B?AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9/gIGCg4Q=?=", decoded,
              sizeof decoded);
    for (p = (const unsigned char *)decoded; *p; p++)
        assert_true(*p >= 0x20 && *p != 0x7f);
}

static void decoding_is_bounded_at_a_character(void **state)
{
    char small[8];

    (void)state;
    /* "Grüße" is 7 bytes: a 6-byte room cuts before "ß", never inside it */
    ew_decode("=?utf-8?Q?Gr=C3=BC=C3=9Fe?=", small, 6);
    assert_string_equal(small, "Grü");
    assert_true(ew_utf8_valid(small, strlen(small)));
    assert_false(ew_utf8_valid("\xc3", 1));
    assert_false(ew_utf8_valid("\xed\xa0\x80", 3));               /* a surrogate */
    assert_false(ew_utf8_valid("\xc0\xaf", 2));                   /* overlong */
}

/* header_lines_ok - every line within 78 (encoded words aside: 998) and printable ASCII */
static void header_lines_ok(const char *value, size_t used, size_t limit)
{
    size_t line = used;
    const char *p;

    for (p = value; *p; p++) {
        if (*p == '\n') {
            assert_true(p[1] == ' ');                  /* a fold, never a new field */
            line = 0;
            continue;
        }
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
        line++;
        assert_true(line <= limit);
    }
}

static void encodes_and_round_trips(void **state)
{
    char out[2048], text[600], back[2048];
    unsigned seed = 16;
    int round;

    (void)state;
    assert_true(ew_encode("Auto: Grüße", 9, out, sizeof out) > 0);
    assert_string_equal(out, "Auto: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
    assert_true(ew_encode("Auto: plain words only", 9, out, sizeof out) > 0);
    assert_string_equal(out, "Auto: plain words only");
    /* something that looks like an encoded word is encoded, not left to be decoded */
    assert_true(ew_encode("x =?utf-8?Q?y?=", 9, out, sizeof out) > 0);
    assert_null(strstr(out, " =?utf-8?Q?y?="));
    ew_decode(out, back, sizeof back);
    assert_string_equal(back, "x =?utf-8?Q?y?=");
    /* random UTF-8 text: encoded within the limits, decoded to itself */
    for (round = 0; round < 500; round++) {
        static const char *const pieces[] = {"a", "Z", "ü", "ß", "€", "日本", " ", "?", "=", "_",
                                             "\xf0\x9f\x98\x80", "longwordlongwordlongword"};
        size_t n = 0, k;
        int w;

        text[0] = '\0';
        for (w = 0; w < 40; w++) {
            const char *piece;
            seed = seed * 1103515245u + 12345u;
            piece = pieces[(seed >> 16) % 12];
            k = strlen(piece);
            if (n + k + 1 >= sizeof text)
                break;
            memcpy(text + n, piece, k + 1);
            n += k;
        }
        /* the decoder's view of the text: blanks collapsed, trimmed */
        ew_decode(text, back, sizeof back);
        strcpy(text, back);
        assert_true(ew_encode(text, 9, out, sizeof out) > 0);
        header_lines_ok(out, 9, 998);
        ew_decode(out, back, sizeof back);
        assert_string_equal(back, text);
    }
    /* too small a buffer is an error, not an overflow */
    assert_int_equal(ew_encode("Grüße Grüße Grüße", 9, out, 10), 0);
}

static void a_reply_goes_only_to_a_plain_sender(void **state)
{
    char longest[300];

    (void)state;
    assert_null(reply_sender_problem("friend@remote.test"));
    assert_null(reply_sender_problem("first.last+tag@mail.remote-host.test"));
    assert_string_equal(reply_sender_problem(""), "null_sender");
    assert_string_equal(reply_sender_problem("\"victim@evil.test,x\"@remote.test"),
                        "sender_not_plain");
    assert_string_equal(reply_sender_problem("a,b@remote.test"), "sender_not_plain");
    assert_string_equal(reply_sender_problem("j\xc3\xbcrgen@remote.test"), "sender_not_plain");
    assert_string_equal(reply_sender_problem("a..b@remote.test"), "sender_not_plain");
    assert_string_equal(reply_sender_problem("a@remote.test\nBcc: x@y"), "sender_not_plain");
    assert_string_equal(reply_sender_problem("a@remote.test\r\n"), "sender_domain_invalid");
    assert_string_equal(reply_sender_problem("a@[192.0.2.1]"), "sender_domain_invalid");
    assert_string_equal(reply_sender_problem("a@r\xc3\xa9seau.test"), "sender_domain_invalid");
    assert_string_equal(reply_sender_problem("postmaster"), "sender_unqualified");
    memset(longest, 'a', sizeof longest);
    strcpy(longest + 250, "@x.test");
    assert_string_equal(reply_sender_problem(longest), "sender_too_long");
}

/* addressed - whether the header text addresses one of the addresses */
static int addressed(const char *text, const char *const *addresses, size_t n)
{
    header_block hb;
    int r;

    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    r = reply_addressed(&hb, addresses, n);
    headers_free(&hb);
    return r;
}

static void personal_means_addressed(void **state)
{
    const char *bob[] = {"bob@example.test"};
    const char *carol[] = {"carol@example.test", "sales@example.test"};

    (void)state;
    assert_true(addressed("To: Bob <bob@example.test>\n\n", bob, 1));
    assert_true(addressed("To: x@remote.test\nCc: \"Smith, B\" <BOB@Example.Test>\n\n", bob, 1));
    assert_true(addressed("To: x@remote.test\nResent-Bcc: bob@example.test\n\n", bob, 1));
    assert_true(addressed("To: bob+lists@example.test\n\n", bob, 1));     /* subaddress */
    assert_true(addressed("To: team: a@x.test, Bob <bob@example.test>;\n\n", bob, 1));
    assert_true(addressed("To: <@relay.test,@r2.test:bob@example.test>\n\n", bob, 1));
    /* only Bcc'd (not in the header at all), a list, a group without members */
    assert_false(addressed("To: someone@remote.test\n\n", bob, 1));
    assert_false(addressed("To: undisclosed-recipients:;\n\n", bob, 1));
    assert_false(addressed("To: list@lists.test\nFrom: bob@example.test\n\n", bob, 1));
    assert_false(addressed("To: \"bob@example.test\" <other@remote.test>\n\n", bob, 1));
    assert_false(addressed("To: bobby@example.test, xbob@example.test\n\n", bob, 1));
    /* an alias counts only when it is one of the user's addresses */
    assert_false(addressed("To: sales@example.test\n\n", bob, 1));
    assert_true(addressed("To: sales@example.test\n\n", carol, 2));
}

typedef struct collected {
    char all[1024];
} collected;

static int collect(const char *addr, int has_at, void *arg)
{
    collected *c = arg;
    size_t n = strlen(c->all);

    snprintf(c->all + n, sizeof c->all - n, "%s%s%s", n ? "|" : "", has_at ? "" : "!", addr);
    return 0;
}

static void addresses_robots_write_without_a_domain(void **state)
{
    collected c;

    (void)state;
    memset(&c, 0, sizeof c);
    header_each_address("MAILER-DAEMON <>", collect, &c);
    assert_string_equal(c.all, "!");
    memset(&c, 0, sizeof c);
    header_each_address("Mail Delivery Subsystem <MAILER-DAEMON>", collect, &c);
    assert_string_equal(c.all, "!mailer-daemon");
    memset(&c, 0, sizeof c);
    header_each_address("MAILER-DAEMON", collect, &c);
    assert_string_equal(c.all, "!mailer-daemon");
    memset(&c, 0, sizeof c);
    header_each_address("John Smith", collect, &c);         /* a display name alone */
    assert_string_equal(c.all, "");
    memset(&c, 0, sizeof c);
    header_each_address("a@x.test, \"B, C\" <b@y.test> (note), g: c@z.test, d@w.test;, e@v.test",
                        collect, &c);
    assert_string_equal(c.all, "a@x.test|b@y.test|c@z.test|d@w.test|e@v.test");
    memset(&c, 0, sizeof c);
    header_each_address("<unclosed@x.test", collect, &c);
    assert_string_equal(c.all, "unclosed@x.test");
}

static void threading_keeps_clean_ids_and_the_thread_ends(void **state)
{
    char text[8192], out[REPLY_THREADING_MAX];
    size_t n;
    int i;
    header_block hb;

    (void)state;
    n = (size_t)snprintf(text, sizeof text, "Message-ID: <own@x.test>\nReferences:");
    for (i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "\n <id%d@x.test>", i);
    snprintf(text + n, sizeof text - n, "\n\n");
    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    reply_threading(&hb, out, sizeof out);
    headers_free(&hb);
    assert_string_equal(out, "In-Reply-To: <own@x.test>\nReferences: <id0@x.test>\n"
                             " <id20@x.test>\n <id21@x.test>\n <id22@x.test>\n <id23@x.test>\n"
                             " <id24@x.test>\n <id25@x.test>\n <id26@x.test>\n <id27@x.test>\n"
                             " <id28@x.test>\n <id29@x.test>\n <own@x.test>\n");
    /* In-Reply-To when there are no References; unclean ids are left out */
    snprintf(text, sizeof text, "Message-Id: =?us-ascii?Q?<x@r>=0ABcc:_v@e.test?=\n"
                                "In-Reply-To: <parent@x.test> <bad\x01id@x.test>\n\n");
    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    reply_threading(&hb, out, sizeof out);
    headers_free(&hb);
    assert_null(strstr(out, "Bcc"));
    assert_null(strstr(out, "bad"));
    assert_non_null(strstr(out, "References: <parent@x.test>\n"));
}

static void the_composed_reply_is_clean(void **state)
{
    char text[16384], body[3000], *msg, *line;
    const char *names[64];
    size_t len, n = 0, count = 0, i;
    header_block hb;

    (void)state;
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    snprintf(text, sizeof text, "Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe=0D=0ABcc:_v@e.test?=\n"
                                "Subject: second\nMessage-ID: <m@x.test>\n"
                                "Auto-Submitted: no\nTo: bob@example.test\n\n");
    assert_int_equal(headers_parse(&hb, text, strlen(text)), 0);
    msg = reply_compose(&hb, "bob@example.test", "friend@remote.test", body, &len);
    headers_free(&hb);
    assert_non_null(msg);
    assert_int_equal(strlen(msg), len);
    /* no line over 998; header names once each; no Bcc; the body's long line cut */
    for (line = msg; *line; ) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true((size_t)(nl - line) <= 998);
        if (n == 0 && nl == line)
            n = 1;                                     /* the end of the header */
        else if (n == 0 && *line != ' ') {
            char *colon = strchr(line, ':');
            assert_non_null(colon);
            *colon = '\0';
            for (i = 0; i < count; i++)
                assert_string_not_equal(names[i], line);
            names[count++] = line;
        }
        line = nl + 1;
    }
    for (i = 0; i < count; i++)
        assert_string_not_equal(names[i], "Bcc");
    assert_int_equal(count, 11);   /* From To Subject In-Reply-To References Auto-Submitted
                                      X-Auto-Response-Suppress Precedence MIME-Version
                                      Content-Type Content-Transfer-Encoding */
    free(msg);
}

/* cpu_of - process CPU seconds to classify a header of count copies of line */
static double cpu_of(const char *line, size_t count)
{
    size_t ll = strlen(line), i;
    char *text = malloc(ll * count + 2);
    classify_input in;
    classify_result r;
    header_block hb;
    struct timespec a, b;

    assert_non_null(text);
    for (i = 0; i < count; i++)
        memcpy(text + i * ll, line, ll);
    memcpy(text + count * ll, "\n", 2);
    classify_input_defaults(&in);
    in.envelope_sender = "x@remote.test";
    in.recipients = "bob@example.test";
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    assert_int_equal(headers_parse(&hb, text, ll * count + 1), 0);
    autoreply_classify(&hb, &in, &r);
    headers_free(&hb);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    free(text);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void repeated_fields_cost_linear_time(void **state)
{
    static const char *const lines[] = {"From:a\n", "Auto-Submitted:no\n",
                                        "X-Auto-Response-Suppress:DR\n", "To:b@x.test\n"};
    size_t i;

    (void)state;
    /* Ten times the fields: about ten times the time (a quadratic walk: a hundred). */
    for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        double small = cpu_of(lines[i], 12000), big = cpu_of(lines[i], 120000);
        if (small < 1e-4)
            small = 1e-4;
        assert_true(big / small < 40.0);
        assert_true(big < 1.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_encoded_words),
        cmocka_unit_test(decoding_leaves_no_control_character),
        cmocka_unit_test(decoding_is_bounded_at_a_character),
        cmocka_unit_test(encodes_and_round_trips),
        cmocka_unit_test(a_reply_goes_only_to_a_plain_sender),
        cmocka_unit_test(personal_means_addressed),
        cmocka_unit_test(addresses_robots_write_without_a_domain),
        cmocka_unit_test(threading_keeps_clean_ids_and_the_thread_ends),
        cmocka_unit_test(the_composed_reply_is_clean),
        cmocka_unit_test(repeated_fields_cost_linear_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
