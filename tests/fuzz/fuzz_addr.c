/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_addr.c - libFuzzer harness for what the SMTP peer controls in common/:
 * envelope addresses (addr_parse, addr_strip_prvs), client addresses and CIDRs (net_*), and
 * the verdict line carrying them back (verdict_add / verdict_get round trip).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "net.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    moat_addr a;
    moat_ip ip;
    moat_cidr cidr;
    moat_verdict v;
    const char *why;
    char key[ADDR_TEXT_MAX + 1], out[MOAT_VERDICT_MAX], net[MOAT_IP_TEXT_MAX];

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    if (addr_parse(text, &a, &why) == 0) {
        addr_key(&a, key, sizeof key);
        if (strlen(a.local) > ADDR_LOCAL_MAX || !addr_domain_valid(a.domain))
            abort();
    } else if (why == NULL) {
        abort();
    }
    if (addr_strip_prvs(text, key, sizeof key) == 1 &&
        (strlen(key) != strlen(text) - 16 || strcmp(key, text + 16) != 0))
        abort();
    if (net_parse_ip(text, &ip) == 0) {
        net_network(&ip, 24, 64, net, sizeof net);
        net_in_list(&ip, text);
    }
    if (net_parse_cidr(text, &cidr) == 0 && cidr.prefix > 128)
        abort();

    verdict_init(&v, "deny");
    verdict_add(&v, "text", text);
    if (!v.truncated && strlen(text) == size && strpbrk(text, "\r\n\t") == NULL) {
        int got = verdict_get(v.text, "text", out, sizeof out);
        const unsigned char *p;
        int plain = 1;
        for (p = (const unsigned char *)text; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                plain = 0;
        if (!got || (plain && strcmp(out, text) != 0))
            abort();
    }
    free(text);
    return 0;
}
