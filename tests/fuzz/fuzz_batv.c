/*
 * fuzz_batv.c - libFuzzer harness for what batv reads that others chose:
 * a key file's text (copied between MX hosts: any bytes, never out of
 * bounds, and what parses formats and parses back the same), and a
 * bounce's recipient (the RCPT address, tagged or not, any bytes) through
 * the secret lookup and the whole check on an LMDB store, whose verdict
 * always has an action and whose answer is never a 5xx other than 550.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batv/batv.h"
#include "batv/keys.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static moat_runtime *rt;
static char dir[] = "/tmp/moat-fuzz-batv-XXXXXX";

/* remove_dir - the state goes when the fuzzer ends normally (kept after a crash) */
static void remove_dir(void)
{
    char cmd[128];

    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_batv: cannot remove %s\n", dir);
}

static moat_runtime *runtime(void)
{
    char path[128], err[512];
    FILE *f;

    if (rt)
        return rt;
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_dir);
    snprintf(path, sizeof path, "%s/moat.conf", dir);
    f = fopen(path, "w");
    if (f == NULL)
        abort();
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 256M }\n"
               "batv { domains = {\"example.test\"} keys = \"%s/keys\" grace = 0 "
               "exempt = {\"x@lists.test\", \".partner.test\"} }\n", dir, dir);
    fclose(f);
    rt = moat_runtime_get(path, err, sizeof err);
    if (rt == NULL)
        abort();
    return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {"none", "valid", "invalid"};
    char *buf = malloc(size + 1), secret[BATV_SECRET_MAX + 1], out[4096], val[16];
    batv_keyring ring, again;
    moat_verdict v;
    const char *why = NULL;
    size_t len;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';

    if (batv_keys_parse((const char *)data, size, &ring) == 0) {
        len = batv_keys_format(&ring, "example.test", out, sizeof out);
        if (len == 0 || batv_keys_parse(out, len, &again) != 0 ||
            memcmp(&ring, &again, sizeof ring) != 0)
            abort();
        (void)batv_keys_secret(&ring, (int)(size % 12) - 1, 1800000000);
    }

    (void)batv_domain_ok(buf);
    (void)batv_exempt(runtime(), buf);
    (void)batv_secret(runtime(), buf, size ? (size % 2 ? "0" : "1") : "", 1800000000, secret,
                      sizeof secret);
    if (batv_check(runtime(), "192.0.2.7", buf, tags[size % 3], 1800000000, &v, &why) == 0) {
        if (!verdict_get(v.text, "action", val, sizeof val))
            abort();
        if (strcmp(val, "deny") == 0 &&
            (!verdict_get(v.text, "code", val, sizeof val) || strcmp(val, "550") != 0))
            abort();
    }
    free(buf);
    return 0;
}
