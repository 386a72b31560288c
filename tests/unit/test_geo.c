/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_geo.c - country and ASN lookups from MaxMind DB files the test
 * writes itself: IPv4 and IPv6 answers, a missing or corrupt file (no
 * answer, one log line), and a replaced file picked up within a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "geo_fixture.h"
#include "log.h"

static char dir[64];
static int warnings;
static char last_line[512];

static void capture(moat_log_level level, const char *line)
{
    if (level <= MOAT_LOG_WARN)
        warnings++;
    snprintf(last_line, sizeof last_line, "%s", line);
}

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moat-geo-XXXXXX");
    moat_log_set_sink(capture);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void countries_and_asns_of_v4_and_v6(void **state)
{
    static const char *const specs[] = {"127.0.20.0/24=DE:64500", "127.0.21.0/24=CN:64501",
                                        "2001:db8:1::/48=FR:64502", NULL};
    char db[128];
    geo_info g;

    (void)state;
    path_in_dir(db, sizeof db, "both.mmdb");
    assert_int_equal(geo_fixture_write(db, specs), 0);
    assert_int_equal(geo_lookup(db, db, "127.0.20.77", 1000, &g), 1);
    assert_string_equal(g.country, "DE");
    assert_int_equal(g.asn, 64500);
    assert_string_equal(g.asn_org, "AS64500 test network");
    assert_int_equal(geo_lookup(db, db, "127.0.21.1", 1000, &g), 1);
    assert_string_equal(g.country, "CN");
    assert_int_equal(geo_lookup(db, db, "2001:db8:1:2::5", 1000, &g), 1);
    assert_string_equal(g.country, "FR");
    assert_int_equal(g.asn, 64502);
    /* not in the file, or not an address at all: unknown, nothing refused on it */
    assert_int_equal(geo_lookup(db, db, "127.0.99.1", 1000, &g), 0);
    assert_string_equal(g.country, "");
    assert_int_equal(g.asn, 0);
    assert_int_equal(geo_lookup(db, db, "not-an-address", 1000, &g), 0);
    /* country file only, no ASN file */
    assert_int_equal(geo_lookup(db, "", "127.0.20.1", 1000, &g), 1);
    assert_int_equal(g.asn, 0);
    assert_string_equal(g.country, "DE");
}

static void missing_file_answers_nothing_and_logs_once(void **state)
{
    char db[128];
    geo_info g;
    int i;

    (void)state;
    path_in_dir(db, sizeof db, "absent.mmdb");
    warnings = 0;
    for (i = 0; i < 5; i++)
        assert_int_equal(geo_lookup(db, db, "127.0.20.1", 2000 + i, &g), 0);
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_line, "is missing"));
    assert_int_equal(geo_available(db, db, 2010), 0);
}

static void corrupt_file_answers_nothing_and_logs_once(void **state)
{
    static const char *const specs[] = {"127.0.30.0/24=SE:64510", NULL};
    char db[128], tmp[160];
    FILE *f;
    geo_info g;
    int i;

    (void)state;
    path_in_dir(db, sizeof db, "corrupt.mmdb");
    f = fopen(db, "w");
    assert_non_null(f);
    for (i = 0; i < 100; i++)
        fputs("\x01 not a maxmind database \xfe", f);
    fclose(f);
    warnings = 0;
    for (i = 0; i < 5; i++)
        assert_int_equal(geo_lookup(db, "", "127.0.30.1", 3000 + i, &g), 0);
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_line, "cannot use"));
    /* the admin fixes it: picked up at the next second */
    snprintf(tmp, sizeof tmp, "%s", db);
    assert_int_equal(geo_fixture_write(tmp, specs), 0);
    assert_int_equal(geo_lookup(db, "", "127.0.30.1", 3010, &g), 1);
    assert_string_equal(g.country, "SE");
}

static void replaced_file_is_picked_up_within_a_second(void **state)
{
    static const char *const v1[] = {"127.0.40.0/24=DE:64520", NULL};
    static const char *const v2[] = {"127.0.40.0/24=NL:64521", NULL};
    char db[128];
    geo_info g;

    (void)state;
    path_in_dir(db, sizeof db, "replaced.mmdb");
    assert_int_equal(geo_fixture_write(db, v1), 0);
    assert_int_equal(geo_lookup(db, db, "127.0.40.1", 4000, &g), 1);
    assert_string_equal(g.country, "DE");
    assert_int_equal(geo_fixture_write(db, v2), 0);
    /* within the same second the open copy answers (stat at most once a second) */
    assert_int_equal(geo_lookup(db, db, "127.0.40.1", 4000, &g), 1);
    assert_string_equal(g.country, "DE");
    assert_int_equal(geo_lookup(db, db, "127.0.40.1", 4001, &g), 1);
    assert_string_equal(g.country, "NL");
    assert_int_equal(g.asn, 64521);
    /* removed: the mapped copy goes on answering */
    assert_int_equal(unlink(db), 0);
    assert_int_equal(geo_lookup(db, db, "127.0.40.1", 4002, &g), 1);
    assert_string_equal(g.country, "NL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(countries_and_asns_of_v4_and_v6),
        cmocka_unit_test(missing_file_answers_nothing_and_logs_once),
        cmocka_unit_test(corrupt_file_answers_nothing_and_logs_once),
        cmocka_unit_test(replaced_file_is_picked_up_within_a_second),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
