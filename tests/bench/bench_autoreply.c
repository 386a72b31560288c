/*
 * bench_autoreply.c - the per-message classification cost of a 30-header
 * message (parse + rules), and the full inbound path on an LMDB store.
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

#define CALLS 20000

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
    static header_block hb;
    char text[16384], dir[] = "/tmp/moat-bench-autoreply-XXXXXX", path[128], err[512];
    size_t n = 0;
    int i;
    classify_input in = {"carol@remote.test", "bob@example.test", "", "", 0, 5.0, 25};
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
    t0 = now_ns();
    for (i = 0; i < CALLS; i++) {
        headers_parse(text, n, &hb);
        autoreply_classify(&hb, &in, &r);
    }
    printf("bench autoreply %-22s %8.0f ns/call\n", "classify-30-headers", (now_ns() - t0) / CALLS);

    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 2;
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" }\n", dir);
    fclose(f);
    if ((rt = moat_runtime_get(path, err, sizeof err)) == NULL)
        return 2;
    m = (autoreply_message){text, n, "carol@remote.test", "bob@example.test", "", "", 0,
                            time(NULL)};
    t0 = now_ns();
    for (i = 0; i < CALLS; i++)
        autoreply_inbound(rt, &m, &v, &why);
    printf("bench autoreply %-22s %8.0f ns/call\n", "inbound-30-headers", (now_ns() - t0) / CALLS);
    moat_runtime_reset();
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
