/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_authlock.c - libFuzzer harness for what an SMTP-AUTH client controls:
 * the username and password (split at the first NUL of the input) and the
 * client address, through the whole credential decision on an LMDB store,
 * and the user name again as the quit path's $authenticated_fail_id; and
 * what a remote server controls: the second part as a delivery event's
 * $event_data (its reply to RCPT), the first as the refused recipient.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authlock/authlock.h"
#include "authlock/rejects.h"
#include "log.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static moat_runtime *rt;
static char dir[] = "/tmp/moat-fuzz-authlock-XXXXXX";

/* remove_dir - the store goes when the fuzzer ends normally (kept after a crash) */
static void remove_dir(void)
{
    char cmd[128];

    moat_runtime_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_authlock: cannot remove %s\n", dir);
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
    fprintf(f, "log { level = error }\nstore { path = \"%s/state\" map_size = 256M }\n", dir);
    fclose(f);
    rt = moat_runtime_get(path, err, sizeof err);
    if (rt == NULL)
        abort();
    return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2), ip[64];
    const char *user, *password, *why = NULL;
    moat_verdict v;
    size_t ulen;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    user = buf;
    ulen = strlen(user);
    password = buf + ulen + (ulen < size ? 1 : 0);
    snprintf(ip, sizeof ip, "%s", size ? (size % 3 ? "192.0.2.7" : "2001:db8::7") : "garbage");
    if (authlock_credentials(runtime(), ip, user, password, size % 2, 1800000000, &v, &why) == 0) {
        char action[16];
        if (!verdict_get(v.text, "action", action, sizeof action))
            abort();
        if (strstr(v.text, password) && *password && strlen(password) > 8 &&
            strstr(user, password) == NULL)
            abort();   /* the password never appears in a verdict */
    }
    /* the quit path: $authenticated_fail_id is the client's user name, as
     * " (set_id=NAME)" or bare */
    if (authlock_session_failed(runtime(), ip, user, 1800000000, &v, &why) == 0) {
        char action[16];
        if (!verdict_get(v.text, "action", action, sizeof action))
            abort();
    }
    /* the auth:fail event (Exim 4.97+): the same, with or without a user name */
    if (authlock_attempt_failed(runtime(), ip, size % 3 ? user : "", 1800000000, &v, &why) == 0) {
        char action[16];
        if (!verdict_get(v.text, "action", action, sizeof action))
            abort();
    }
    /* the transport event: a remote server's answer, counted or not */
    (void)authlock_remote_rejection("msg:rcpt:defer", password);
    if (authlock_rejected(runtime(), size % 2 ? "msg:fail:delivery" : "msg:rcpt:defer", "fuzz",
                          user, password, 1800000000, &v, &why) == 0) {
        char action[16];
        if (!verdict_get(v.text, "action", action, sizeof action))
            abort();
    }
    free(buf);
    return 0;
}
