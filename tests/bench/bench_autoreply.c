/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_autoreply.c - per-message cost of the autoreply module for a
 * 30-header message (22 folded Received: fields and the usual others):
 * parsing alone, parsing + classification, and the full inbound path
 * (classification, the reply-to-ours lookup, records) and the outbound
 * gate for an auto-reply, both on an LMDB store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "autoreply/autoreply.h"
#include "autoreply/classify.h"
#include "autoreply/headers.h"
#include "runtime.h"
#include "measure.h"

#define CALLS 20000

int main(void)
{
    char text[16384], reply[512], dir[] = "/tmp/moat-bench-autoreply-XXXXXX", path[128],
         err[512], rcpt[64];
    size_t n = 0;
    int i, fields = 0, calls = case_calls(CALLS);
    header_block hb;
    classify_input in;
    classify_result r;
    autoreply_message m;
    moat_runtime *rt;
    moat_verdict v;
    const char *why;
    FILE *f;
    double t0;

    for (i = 0; i < 22; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "Received: from relay%d.remote.test (relay%d.remote.test [192.0.2.%d])\r\n"
                              "\tby mx.example.test with esmtps id %08x; Mon, 23 Nov 2026\r\n",
                              i, i, i, i * 7919);
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "From: Carol <carol@remote.test>\r\nTo: bob@example.test\r\n"
                          "Subject: the quarterly figures\r\nMessage-ID: <q1@remote.test>\r\n"
                          "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
                          "DKIM-Signature: v=1; a=rsa-sha256; d=remote.test; s=s1;\r\n\tbh=abc\r\n\r\n");
    if (headers_parse(&hb, text, n) == 0)
        fields = (int)hb.count;
    headers_free(&hb);
    printf("bench autoreply message: %d header fields, %zu bytes\n", fields, n);

    t0 = case_start();
    for (i = 0; i < calls; i++) {
        if (headers_parse(&hb, text, n) != 0)
            return 2;
        headers_free(&hb);
    }
    case_report("autoreply", "parse-30-headers", t0, calls);

    classify_input_defaults(&in);
    in.envelope_sender = "carol@remote.test";
    in.recipients = "bob@example.test";
    in.spam_score = "1.2";
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        if (headers_parse(&hb, text, n) != 0)
            return 2;
        autoreply_classify(&hb, &in, &r);
        headers_free(&hb);
    }
    case_report("autoreply", "classify-30-headers", t0, calls);

    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 2;
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 64M }\n"
               "autoreply { local_domains = {\"example.test\"} cap_address = 0 cap_domain = 0 }\n",
            dir);
    fclose(f);
    if ((rt = moat_runtime_get(path, err, sizeof err)) == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    m = (autoreply_message){text, n, "carol@remote.test", "bob@example.test", "1.2", "", 0,
                            time(NULL)};
    t0 = case_start();
    for (i = 0; i < calls; i++)
        if (autoreply_inbound(rt, &m, &v, &why) != 0)
            return 2;
    case_report("autoreply", "inbound-30-headers-lmdb", t0, calls);

    /* the gate for an auto-reply, each to a new destination (it is recorded) */
    snprintf(reply, sizeof reply, "From: bob@example.test\r\nAuto-Submitted: auto-replied\r\n"
             "In-Reply-To: <q1@remote.test>\r\nMessage-ID: <r@example.test>\r\n\r\n");
    t0 = case_start();
    for (i = 0; i < calls; i++) {
        snprintf(rcpt, sizeof rcpt, "friend%d@remote.test", i);
        m = (autoreply_message){reply, strlen(reply), "", rcpt, "", "", 0, time(NULL)};
        if (autoreply_outbound(rt, &m, &v, &why) != 0)
            return 2;
    }
    case_report("autoreply", "outbound-reply-lmdb", t0, calls);
    moat_runtime_reset();
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
