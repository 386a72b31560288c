/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_rcpt_ldap_filter.c - libFuzzer harness for the LDAP filter built from
 * an address the SMTP peer sent: whatever the input, the filter keeps the
 * template's parentheses balanced and carries no unescaped * ( ) \ or NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcpt/ldap_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *address = malloc(size + 1), out[4096];
    const char *p;
    int depth = 0;

    if (address == NULL)
        return 0;
    memcpy(address, data, size);
    address[size] = '\0';
    if (ldap_build_filter("(|(mail=%s)(uid=%u)(dc=%d))", address, out, sizeof out) == 0) {
        for (p = out; *p; p++) {
            if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            else if (*p == '*')
                abort();
            else if (*p == '\\' && !(p[1] && p[2]))
                abort();
            if (depth < 0)
                abort();
        }
        if (depth != 0)
            abort();
    }
    free(address);
    return 0;
}
