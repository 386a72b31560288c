/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_net.c - client address parsing, networks, CIDR lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net.h"

static void parses_v4_v6_and_mapped(void **state)
{
    moat_ip ip;
    char text[MOAT_IP_TEXT_MAX];

    (void)state;
    assert_int_equal(net_parse_ip("192.0.2.7", &ip), 0);
    assert_int_equal(ip.family, 4);
    assert_int_equal(net_parse_ip("2001:db8::1", &ip), 0);
    assert_int_equal(ip.family, 6);
    assert_int_equal(net_parse_ip("::ffff:192.0.2.7", &ip), 0);
    assert_int_equal(ip.family, 4);
    net_format_ip(&ip, text, sizeof text);
    assert_string_equal(text, "192.0.2.7");
    assert_int_equal(net_parse_ip("[2001:db8::1]", &ip), 0);
}

static void rejects_malformed(void **state)
{
    moat_ip ip;
    moat_cidr c;

    (void)state;
    assert_int_equal(net_parse_ip("", &ip), -1);
    assert_int_equal(net_parse_ip("192.0.2", &ip), -1);
    assert_int_equal(net_parse_ip("192.0.2.256", &ip), -1);
    assert_int_equal(net_parse_ip("host.example", &ip), -1);
    assert_int_equal(net_parse_ip(NULL, &ip), -1);
    assert_int_equal(net_parse_cidr("192.0.2.0/33", &c), -1);
    assert_int_equal(net_parse_cidr("192.0.2.0/", &c), -1);
    assert_int_equal(net_parse_cidr("192.0.2.0/2x", &c), -1);
    assert_int_equal(net_parse_cidr("2001:db8::/129", &c), -1);
}

static void networks_are_24_and_64(void **state)
{
    moat_ip ip;
    char net[MOAT_IP_TEXT_MAX];

    (void)state;
    net_parse_ip("198.51.100.77", &ip);
    net_network(&ip, 24, 64, net, sizeof net);
    assert_string_equal(net, "198.51.100.0/24");
    net_parse_ip("2001:db8:1:2:3:4:5:6", &ip);
    net_network(&ip, 24, 64, net, sizeof net);
    assert_string_equal(net, "2001:db8:1:2::/64");
    net_parse_ip("10.1.2.3", &ip);
    net_network(&ip, 20, 48, net, sizeof net);
    assert_string_equal(net, "10.1.0.0/20");
}

static void cidr_lists_match(void **state)
{
    moat_ip ip;

    (void)state;
    net_parse_ip("127.0.0.9", &ip);
    assert_true(net_in_list(&ip, "10.0.0.0/8, 127.0.0.0/8"));
    assert_false(net_in_list(&ip, "10.0.0.0/8;192.168.0.0/16"));
    assert_true(net_in_list(&ip, "garbage 127.0.0.9"));
    assert_false(net_in_list(&ip, ""));
    assert_false(net_in_list(&ip, "::/0"));
    net_parse_ip("2001:db8::5", &ip);
    assert_true(net_in_list(&ip, "2001:db8::/32"));
    assert_false(net_in_list(&ip, "0.0.0.0/0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_v4_v6_and_mapped),
        cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(networks_are_24_and_64),
        cmocka_unit_test(cidr_lists_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
