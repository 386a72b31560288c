/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_config.c - moat.conf loading: defaults, errors that name file, line
 * and option, durations and sizes, and the on_error salvage of a broken file.
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

#include "config.h"
#include "log.h"

static cfg_opt_t demo_inner_opts[] = {
    MOAT_CFG_DURATION("pause", 5),
    CFG_END()
};

static cfg_opt_t demo_opts[] = {
    MOAT_MODULE_OPTS,
    CFG_SEC("inner", demo_inner_opts, CFGF_NONE),
    MOAT_CFG_DURATION("window", 600),
    MOAT_CFG_SIZE("limit", 1024),
    CFG_STR("policy", "accept", CFGF_NONE),
    CFG_END()
};

static int validate_policy(cfg_t *cfg, cfg_opt_t *opt)
{
    return moat_cfg_check_enum(cfg, opt, "accept|mark|reject");
}

static void demo_setup(cfg_t *root)
{
    cfg_set_validate_func(root, "demo|policy", validate_policy);
}

static int demo_check(cfg_t *sec, char *err, size_t errlen)
{
    if (cfg_getint(sec, "window") == 0) {
        snprintf(err, errlen, "window: must not be 0");
        return -1;
    }
    return 0;
}

static const moat_schema demo_schema = {"demo", demo_opts, demo_setup, demo_check};
static const moat_schema *const demo_schemas[] = {&demo_schema};

static char path[64];

/* write_conf - put text into this test's config file */
static const char *write_conf(const char *text)
{
    FILE *f;

    snprintf(path, sizeof path, "/tmp/moat-test-config-%d.conf", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static moat_config *load(const char *text, char *err)
{
    return moat_config_load_with(write_conf(text), demo_schemas, 1, err, MOAT_ERR_MAX);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void empty_file_gives_defaults(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("", err);

    (void)state;
    assert_non_null(c);
    assert_int_equal(c->store.backend, STORE_BACKEND_LMDB);
    assert_string_equal(c->store.path, "/var/lib/moat");
    assert_int_equal(c->store.connect_timeout_ms, 50);
    assert_int_equal(c->store.command_timeout_ms, 100);
    assert_true(moat_config_enabled(c, "demo"));
    assert_int_equal(moat_config_on_error(c, "demo"), MOAT_ON_ERROR_ACCEPT);
    assert_false(moat_config_log_only(c, "demo"));
    assert_int_equal(cfg_getint(moat_config_module(c, "demo"), "window"), 600);
    moat_config_free(c);
}

static void builtin_defaults_need_no_file(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = moat_config_load(MOAT_CONFIG_BUILTIN, err, sizeof err);

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->store.path, "/var/lib/moat");
    assert_int_equal(c->log_level, MOAT_LOG_INFO);
    assert_true(moat_config_enabled(c, "rcpt"));
    moat_config_free(c);
    /* a file that is not there is still an error */
    assert_null(moat_config_load("/nonexistent/moat.conf", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/moat.conf: cannot read"));
}

/* fails_with - text does not load (against every registered schema when
 * all, the demo one otherwise) and the error contains why */
static void fails_with(const char *text, int all, const char *why)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = all ? moat_config_load(write_conf(text), err, sizeof err) : load(text, err);

    if (c != NULL)
        fail_msg("loaded: %s", text);
    if (strstr(err, why) == NULL)
        fail_msg("%s: error '%s' does not say '%s'", text, err, why);
}

static void bad_values_are_named(void **state)
{
    (void)state;
    fails_with("demo { window = 10q }\n", 0, "window: '10q' is not a duration");
    fails_with("demo { window = 999999999999w }\n", 0, "is not a duration");
    fails_with("demo { window = 5mm }\n", 0, "is not a duration");
    fails_with("demo { limit = 64Q }\n", 0, "limit: '64Q' is not a size");
    fails_with("demo { limit = 99999999999G }\n", 0, "is not a size");
    fails_with("demo { limit = 12kb }\n", 0, "is not a size");
    fails_with("store { redis { password_file = \"/nonexistent/pw\" } }\n", 0,
               "cannot read /nonexistent/pw");
    fails_with("store { path = \"relative/state\" }\n", 0, "must be an absolute path");
    /* each module's own checks, through the registry */
    fails_with("autoreply { cap_address = -1 }\n", 1, "must be 0 (off) or more");
    fails_with("autoreply { spam_threshold = 0 }\n", 1, "spam_threshold must be above 0");
    fails_with("autoreply { spf_results = {\"bogus\"} }\n", 1, "\"bogus\" is not an SPF result");
    fails_with("autoreply { user \"noat\" { } }\n", 1, "the title must be the user's address");
    fails_with("autoreply { user \"a@b.test\" { addresses = {\"x\"} } }\n", 1,
               "addresses: \"x\" is not an address");
}

static void what_the_parser_would_let_pass_is_refused(void **state)
{
    char err[MOAT_ERR_MAX] = "", want[128];
    FILE *f;

    (void)state;
    /* a comment never closed would swallow the rest, mistakes included */
    fails_with("demo {\n  window = 60\n}\n/* old\ndemo { window = 10q }\n", 0,
               ":4: a comment (/*) that is never closed");
    /* a section left open at the end of the file */
    fails_with("demo {\n  window = 60\n\n", 0, ":1: a section opened here is never closed");
    fails_with("demo { inner { pause = 5 }\n", 0, ":1: a section opened here");
    /* braces and comment marks in strings and comments are text */
    {
        moat_config *c = load("# {\ndemo { policy = \"mark\" } // {\n/* } */\n", err);
        if (c == NULL)
            fail_msg("%s", err);
        moat_config_free(c);
    }
    /* a NUL byte (a file cut by a crash, a binary): named with its line */
    f = fopen(write_conf(""), "w");
    assert_non_null(f);
    fputs("demo {\n  window = 60\n}\n", f);
    fputc('\0', f);
    fputs("demo { window = 10q }\n", f);
    fclose(f);
    assert_null(moat_config_load_with(path, demo_schemas, 1, err, sizeof err));
    snprintf(want, sizeof want, "%s:4: a NUL byte", path);
    if (strstr(err, want) == NULL)
        fail_msg("'%s' does not say '%s'", err, want);
    /* a mistake at the top level names the file, not libconfuse's "[buf]" */
    assert_null(load("\n\nbogus_section { }\n", err));
    snprintf(want, sizeof want, "%s:3:", path);
    if (strstr(err, want) == NULL || strstr(err, "[buf]") != NULL)
        fail_msg("'%s' does not start with '%s'", err, want);
}

static void what_is_not_a_config_file_is_refused(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    const moat_schema *many[17];
    FILE *f;
    int i;

    (void)state;
    assert_null(moat_config_load_with("/tmp", demo_schemas, 1, err, sizeof err));
    assert_non_null(strstr(err, "/tmp: not a regular file"));
    f = fopen(write_conf(""), "w");
    assert_non_null(f);
    for (i = 0; i < 80000; i++)   /* 1.1 MB: over the 1 MB limit */
        fputs("# filler line\n", f);
    fclose(f);
    assert_null(moat_config_load_with(path, demo_schemas, 1, err, sizeof err));
    assert_non_null(strstr(err, "not a regular file of at most"));
    for (i = 0; i < 17; i++)
        many[i] = &demo_schema;
    assert_null(moat_config_load_with(write_conf(""), many, 17, err, sizeof err));
    assert_string_equal(err, "too many module schemas");
    /* comments of every kind, one at the very end without a newline */
    {
        moat_config *c = load("/* a\n comment */ demo { // another\n window = 60 } # last", err);
        assert_non_null(c);
        assert_int_equal(moat_cfg_int(moat_config_module(c, "demo"), "window"), 60);
        assert_int_equal(moat_cfg_int(moat_config_module(c, "demo"), "no_such_option"), 0);
        moat_config_free(c);
    }
    /* salvaging on_error from what cannot be read: accept */
    assert_int_equal(moat_config_salvage_on_error("/nonexistent/moat.conf", "demo"),
                     MOAT_ON_ERROR_ACCEPT);
    assert_int_equal(moat_config_salvage_on_error(write_conf(""), "demo"), MOAT_ON_ERROR_ACCEPT);
}

static void values_are_read(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("store {\n backend = redis\n map_size = 64M\n"
                          " redis { host = \"10.0.0.1\" port = 6380 prefix = \"mx:\" }\n}\n"
                          "demo { enabled = false on_error = defer mode = log-only\n"
                          "  window = 2h limit = 4k policy = mark }\n", err);

    (void)state;
    assert_non_null(c);
    assert_int_equal(c->store.backend, STORE_BACKEND_REDIS);
    assert_int_equal(c->store.map_size, 64L * 1024 * 1024);
    assert_string_equal(c->store.redis_host, "10.0.0.1");
    assert_int_equal(c->store.redis_port, 6380);
    assert_string_equal(c->store.redis_prefix, "mx:");
    assert_false(moat_config_enabled(c, "demo"));
    assert_int_equal(moat_config_on_error(c, "demo"), MOAT_ON_ERROR_DEFER);
    assert_true(moat_config_log_only(c, "demo"));
    assert_int_equal(cfg_getint(moat_config_module(c, "demo"), "window"), 7200);
    assert_int_equal(cfg_getint(moat_config_module(c, "demo"), "limit"), 4096);
    moat_config_free(c);
}

static void remembered_options_follow_a_reload(void **state)
{
    char err[MOAT_ERR_MAX] = "", name[16];
    moat_config *c = load("demo { window = 2h limit = 4k policy = mark }\n", err);
    cfg_t *sec;

    (void)state;
    assert_non_null(c);
    sec = moat_config_module(c, "demo");
    assert_int_equal(moat_cfg_int(sec, "window"), 7200);
    assert_int_equal(moat_cfg_int(sec, "window"), 7200);   /* the remembered option */
    assert_string_equal(moat_cfg_str(sec, "policy"), "mark");
    /* the same buffer asking for another option gets that one */
    snprintf(name, sizeof name, "window");
    assert_int_equal(moat_cfg_int(sec, name), 7200);
    snprintf(name, sizeof name, "limit");
    assert_int_equal(moat_cfg_int(sec, name), 4096);
    assert_int_equal(moat_cfg_int(sec, "no_such_option"), 0);
    moat_config_free(c);
    /* a new file's values, even where its section lands at the old address */
    c = load("demo { window = 15m enabled = false }\n", err);
    assert_non_null(c);
    sec = moat_config_module(c, "demo");
    assert_int_equal(moat_cfg_int(sec, "window"), 900);
    assert_false(moat_cfg_bool(sec, "enabled"));
    assert_false(moat_config_enabled(c, "demo"));
    assert_string_equal(moat_cfg_str(sec, "policy"), "accept");
    moat_config_free(c);
}

static void bad_enum_names_file_line_and_option(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    char expect[128];
    moat_config *c = load("# comment\ndemo {\n  on_error = maybe\n}\n", err);

    (void)state;
    assert_null(c);
    snprintf(expect, sizeof expect, "%s:3: demo: on_error: 'maybe' is not one of accept|defer", path);
    assert_string_equal(err, expect);
}

static void comments_do_not_shift_line_numbers(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    char expect[128];
    moat_config *c = load("/* a\n   b */\n# x\ndemo { # y\n // z\n  on_error = \"a#b\" # t\n}\n", err);

    (void)state;
    assert_null(c);
    snprintf(expect, sizeof expect, "%s:6: demo: on_error: 'a#b' is not one of accept|defer", path);
    assert_string_equal(err, expect);
}

static void unknown_option_is_named(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("demo {\n  windoww = 5m\n}\n", err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "windoww"));
}

static void bad_duration_and_size(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("demo { window = 5 minutes }\n", err);

    (void)state;
    assert_null(c);
    c = load("demo {\n window = 5x\n}\n", err);
    assert_null(c);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "window: '5x' is not a duration"));
    c = load("store { map_size = lots }\n", err);
    assert_null(c);
    assert_non_null(strstr(err, "map_size"));
    c = load("store { map_size = 1k }\n", err);
    assert_null(c);
    assert_non_null(strstr(err, "map_size"));
}

static void module_check_and_enum_validators_run(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("demo { policy = drop }\n", err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, "policy: 'drop' is not one of accept|mark|reject"));
    c = load("demo { window = 0 }\n", err);
    assert_null(c);
    assert_non_null(strstr(err, "demo: window: must not be 0"));
}

static void syntax_error_has_line(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("store {\n backend = lmdb\n\ndemo { \n", err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, path));
}

static void relative_store_path_is_refused(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("store { path = \"state\" }\n", err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, "must be an absolute path"));
}

static void missing_file_is_reported(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = moat_config_load_with("/nonexistent/moat.conf", demo_schemas, 1, err,
                                           sizeof err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, "/nonexistent/moat.conf: cannot read"));
}

static void redis_password_comes_from_file(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    char conf[256], pwpath[64];
    FILE *f;
    moat_config *c;

    (void)state;
    snprintf(pwpath, sizeof pwpath, "/tmp/moat-test-pw-%d", (int)getpid());
    f = fopen(pwpath, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    snprintf(conf, sizeof conf, "store { redis { password_file = \"%s\" } }\n", pwpath);
    c = load(conf, err);
    unlink(pwpath);
    assert_non_null(c);
    assert_string_equal(c->store.redis_password, "s3cret");
    moat_config_free(c);
}

static void salvage_finds_defer_in_a_broken_file(void **state)
{
    (void)state;
    write_conf("# on_error = defer in a comment does not count\n"
               "store { backend = bogus }\n"
               "demo {\n  sub { on_error = accept }\n  on_error = \"defer\"\n}\n"
               "other { on_error = accept\n");
    assert_int_equal(moat_config_salvage_on_error(path, "demo"), MOAT_ON_ERROR_DEFER);
    assert_int_equal(moat_config_salvage_on_error(path, "other"), MOAT_ON_ERROR_ACCEPT);
    assert_int_equal(moat_config_salvage_on_error(path, "store"), MOAT_ON_ERROR_ACCEPT);
    write_conf("/* demo { on_error = defer } */ demo { on_error = accept }");
    assert_int_equal(moat_config_salvage_on_error(path, "demo"), MOAT_ON_ERROR_ACCEPT);
    assert_int_equal(moat_config_salvage_on_error("/nonexistent", "demo"), MOAT_ON_ERROR_ACCEPT);
    /* past the first 64 kB of a long file, as far as a load reads */
    {
        FILE *f = fopen(write_conf(""), "w");
        assert_non_null(f);
        for (int i = 0; i < 6000; i++)                     /* 90 kB of comments */
            fputs("# a long explanation\n", f);
        fputs("store { backend = bogus }\ndemo { on_error = defer }\n", f);
        fclose(f);
        assert_int_equal(moat_config_salvage_on_error(path, "demo"), MOAT_ON_ERROR_DEFER);
    }
}

static void registry_loads_every_module(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = moat_config_load(write_conf(""), err, sizeof err);
    size_t i;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < moat_schema_count; i++)
        assert_non_null(moat_config_module(c, moat_schemas[i]->name));
    moat_config_free(c);
}

/* registry_error - the error loading text against every module gives, "" when it loads */
static const char *registry_error(const char *text)
{
    static char err[MOAT_ERR_MAX];
    moat_config *c;

    err[0] = '\0';
    c = moat_config_load(write_conf(text), err, sizeof err);
    if (c != NULL)
        err[0] = '\0';
    moat_config_free(c);
    return err;
}

/* refused_naming - text is refused, the message holding want (the option, the bad value, the bound) */
static void refused_naming(const char *text, const char *want)
{
    const char *err = registry_error(text);

    if (strstr(err, want) == NULL)
        fail_msg("%s: got \"%s\", wanted \"%s\"", text, err, want);
}

static void accepted(const char *text)
{
    const char *err = registry_error(text);

    if (*err)
        fail_msg("%s: refused: %s", text, err);
}

/* options_that_switch_protection_off_are_refused_with_their_bound - and their limits load */
static void options_that_switch_protection_off_are_refused_with_their_bound(void **state)
{
    char want[MOAT_ERR_MAX];

    (void)state;
    /* authlock: networks, tarpit, thresholds, ports */
    snprintf(want, sizeof want, "%s:2: authlock: v4_prefix: 0 is outside 8..32", path);
    refused_naming("authlock {\n  v4_prefix = 0\n}\n", want);
    refused_naming("authlock { v4_prefix = 33 }", "v4_prefix: 33 is outside 8..32");
    refused_naming("authlock { v6_prefix = -1 }", "v6_prefix: -1 is outside 16..128");
    refused_naming("authlock { v6_prefix = 129 }", "v6_prefix: 129 is outside 16..128");
    accepted("authlock { v4_prefix = 8 v6_prefix = 16 }");
    accepted("authlock { v4_prefix = 32 v6_prefix = 128 }");
    refused_naming("authlock { tarpit_after = -1 }", "tarpit_after: -1 is outside 1..1000000");
    refused_naming("authlock { tarpit_after = 0 }", "tarpit_after: 0 is outside 1..1000000");
    accepted("authlock { tarpit_after = 1 }");
    snprintf(want, sizeof want, "%s:3: authlock: asn \"AS1\": threshold: -1 is outside 1..", path);
    refused_naming("authlock {\n  asn \"AS1\" {\n    threshold = -1\n  }\n}\n", want);
    refused_naming("authlock { asn \"AS1\" { threshold = 0 } }", "threshold: 0 is outside 1..");
    accepted("authlock { asn \"AS1\" { threshold = 1 } asn \"AS4294967295\" { threshold = 9 } }");
    refused_naming("authlock { auth_ports = {587, 0} }", "auth_ports: 0 is outside 1..65535");
    refused_naming("authlock { auth_ports = {65536} }", "auth_ports: 65536 is outside 1..65535");
    accepted("authlock { auth_ports = {1, 587, 65535} }");
    /* rcpt's LDAP: a zero timeout fails every search */
    refused_naming("rcpt { ldap { timeout = 0 } }", "ldap: timeout: 0 is outside 1..300");
    refused_naming("rcpt { ldap { timeout = 301 } }", "timeout: 301 is outside 1..300");
    refused_naming("rcpt { ldap { stale_max = 400d } }", "stale_max: 34560000 is outside 0..31536000");
    accepted("rcpt { ldap { timeout = 1s cache_negative = 0 retry_after = 0 stale_max = 365d } }");
    accepted("rcpt { ldap { timeout = 5m } }");
    /* catchall's probes: no limit, or every probe failing */
    refused_naming("catchall { probe { rate_per_minute = -1 } }",
                   "probe: rate_per_minute: -1 is outside 1..100000");
    refused_naming("catchall { probe { rate_per_minute = 0 } }", "0 is outside 1..100000");
    refused_naming("catchall { probe { timeout = 0 } }", "probe: timeout: 0 is outside 1..300");
    refused_naming("catchall { probe { session_budget = 0 } }",
                   "session_budget: 0 is outside 1..300");
    accepted("catchall { probe { rate_per_minute = 1 timeout = 1s session_budget = 1s } }");
    accepted("catchall { probe { rate_per_minute = 100000 timeout = 5m session_budget = 5m } }");
    /* the Redis store: a db that wraps, a prefix that would be cut */
    refused_naming("store { redis { db = 4294967296 } }",
                   "redis: db: 4294967296 is outside 0..2147483647");
    refused_naming("store { redis { db = -5 } }", "db: -5 is outside 0..2147483647");
    accepted("store { redis { db = 0 } }");
    accepted("store { redis { db = 2147483647 } }");
    refused_naming("store { redis { prefix = \"mx-eu-west-1-production-cluster-a-tenant-0001-"
                   "customer-acme:main:\" } }", "is 65 bytes, longer than the 63 allowed");
    accepted("store { redis { prefix = \"123456789012345678901234567890123456789012345678901234"
             "567890123\" } }");
}

/* list_entries_that_name_nothing_are_refused - an entry no address, ASN or country matches */
static void list_entries_that_name_nothing_are_refused(void **state)
{
    char want[MOAT_ERR_MAX];

    (void)state;
    snprintf(want, sizeof want, "%s:2: authlock: allow_asns: '64500' is not an ASN", path);
    refused_naming("authlock {\n  allow_asns = {\"AS64499\", \"64500\"}\n}\n", want);
    refused_naming("authlock { deny_asns = {\"AS0\"} }", "deny_asns: 'AS0' is not an ASN");
    refused_naming("authlock { deny_asns = {\"AS064500\"} }", "'AS064500' is not an ASN");
    refused_naming("authlock { deny_asns = {\"AS4294967296\"} }", "'AS4294967296' is not an ASN");
    refused_naming("authlock { deny_asns = {\"AS 64500\"} }", "'AS 64500' is not an ASN");
    refused_naming("authlock { domain \"example.com\" { allow_asns = {\"Hetzner\"} } }",
                   "allow_asns: 'Hetzner' is not an ASN");
    refused_naming("authlock { asn \"64500\" { threshold = 5 } }", "asn: '64500' is not an ASN");
    /* titles are matched without case (moat_cfg_titled): as64500 is AS64500 */
    accepted("authlock { asn \"as64500\" { threshold = 5 } }");
    refused_naming("authlock { asn \"as0\" { threshold = 5 } }", "'as0' is not an ASN");
    accepted("authlock { allow_asns = {\"AS1\", \"as64500\", \"As4294967295\"} "
             "domain \"example.com\" { deny_asns = {\"AS64501\"} } }");
    refused_naming("authlock { allow_countries = {\"Germany\"} }",
                   "allow_countries: 'Germany' is not a two-letter country code");
    refused_naming("authlock { deny_countries = {\"D1\"} }", "'D1' is not a two-letter");
    refused_naming("authlock { domain \"example.com\" { deny_countries = {\"\"} } }",
                   "deny_countries: '' is not a two-letter");
    accepted("authlock { allow_countries = {\"DE\", \"fr\"} "
             "domain \"example.com\" { deny_countries = {\"RU\"} } }");
    snprintf(want, sizeof want, "%s:2: authlock: internal_networks: '127.0.90.0/255.255.255.0' "
             "is not an address or network", path);
    refused_naming("authlock {\n  internal_networks = {\"127.0.90.0/255.255.255.0\"}\n}\n", want);
    refused_naming("authlock { exempt_networks = {\"10.0.0.0/33\"} }",
                   "exempt_networks: '10.0.0.0/33' is not an address or network");
    refused_naming("rcpt { exempt_networks = {\"notanip\"} }",
                   "rcpt: exempt_networks: 'notanip' is not an address or network");
    refused_naming("rcpt { exempt_networks = {\"2001:db8::/129\"} }", "'2001:db8::/129' is not");
    refused_naming("rcpt { fetched { hosts = {\"mail.example.com\"} } }",
                   "fetched: hosts: 'mail.example.com' is not an address or network");
    refused_naming("rcpt { own_domains { exempt_hosts = {\"1.2.3\"} } }",
                   "exempt_hosts: '1.2.3' is not an address or network");
    accepted("authlock { internal_networks = {\"127.0.90.0/24\", \"::1\", \"2001:db8::/32\"} "
             "exempt_networks = {\"0.0.0.0/0\", \"192.0.2.7\"} }");
    accepted("rcpt { exempt_networks = {\"10.0.0.0/8\", \"2001:db8::/128\"} "
             "fetched { hosts = {\"127.0.0.1\"} } own_domains { exempt_hosts = {\"::/0\"} } }");
}

static void durations_parse(void **state)
{
    long v;

    (void)state;
    assert_int_equal(moat_parse_duration("90", &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(moat_parse_duration("15m", &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(moat_parse_duration("7d", &v), 0);
    assert_int_equal(v, 604800);
    assert_int_equal(moat_parse_duration("1w", &v), 0);
    assert_int_equal(moat_parse_duration("", &v), -1);
    assert_int_equal(moat_parse_duration("-5", &v), -1);
    assert_int_equal(moat_parse_duration("5mm", &v), -1);
    assert_int_equal(moat_parse_duration("99999999999999999999", &v), -1);
    assert_int_equal(moat_parse_size("2G", &v), 0);
    assert_int_equal(v, 2L << 30);
}

/* nested_errors_name_their_module - "demo: inner: pause", not "inner: pause" */
static void nested_errors_name_their_module(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("demo {\n  inner {\n    pause = soon\n  }\n}\n", err);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(err, ":3: demo: inner: pause: 'soon' is not a duration"));
}

static void sentinels_are_read_and_checked(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("store { redis { sentinels = {\"192.0.2.1:26379\", "
                          "\"[2001:db8::1]:26380\"} master_name = \"mx\" } }\n", err);
    static const char *const bad[] = {
        "store { redis { sentinels = {\"192.0.2.1\"} master_name = \"mx\" } }\n",
        "store { redis { sentinels = {\"192.0.2.1:0\"} master_name = \"mx\" } }\n",
        "store { redis { sentinels = {\":26379\"} master_name = \"mx\" } }\n",
        "store { redis { sentinels = {\"192.0.2.1:26379x\"} master_name = \"mx\" } }\n",
    };
    size_t i;

    (void)state;
    assert_non_null(c);
    assert_int_equal(c->store.sentinel_count, 2);
    assert_string_equal(c->store.sentinels[0].host, "192.0.2.1");
    assert_int_equal(c->store.sentinels[0].port, 26379);
    assert_string_equal(c->store.sentinels[1].host, "2001:db8::1");
    assert_int_equal(c->store.sentinels[1].port, 26380);
    assert_string_equal(c->store.master_name, "mx");
    moat_config_free(c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_null(load(bad[i], err));
        assert_non_null(strstr(err, "is not HOST:PORT"));
    }
    assert_null(load("store { redis { sentinels = {\"192.0.2.1:26379\"} } }\n", err));
    assert_non_null(strstr(err, "sentinels and master_name go together"));
}

static void tls_is_refused_where_the_build_has_none(void **state)
{
    char err[MOAT_ERR_MAX] = "";
    moat_config *c = load("store { redis { tls = true tls_server_name = \"redis.test\" } }\n",
                          err);

    (void)state;
    if (moat_store_tls_available()) {
        assert_non_null(c);
        assert_int_equal(c->store.redis_tls, 1);
        assert_string_equal(c->store.tls_server_name, "redis.test");
        moat_config_free(c);
    } else {
        assert_null(c);
        assert_non_null(strstr(err, "this build of moat has no TLS for Redis"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(empty_file_gives_defaults, teardown),
        cmocka_unit_test(builtin_defaults_need_no_file),
        cmocka_unit_test_teardown(bad_values_are_named, teardown),
        cmocka_unit_test_teardown(what_is_not_a_config_file_is_refused, teardown),
        cmocka_unit_test_teardown(what_the_parser_would_let_pass_is_refused, teardown),
        cmocka_unit_test_teardown(values_are_read, teardown),
        cmocka_unit_test_teardown(remembered_options_follow_a_reload, teardown),
        cmocka_unit_test_teardown(bad_enum_names_file_line_and_option, teardown),
        cmocka_unit_test_teardown(comments_do_not_shift_line_numbers, teardown),
        cmocka_unit_test_teardown(unknown_option_is_named, teardown),
        cmocka_unit_test_teardown(bad_duration_and_size, teardown),
        cmocka_unit_test_teardown(module_check_and_enum_validators_run, teardown),
        cmocka_unit_test_teardown(syntax_error_has_line, teardown),
        cmocka_unit_test_teardown(relative_store_path_is_refused, teardown),
        cmocka_unit_test(missing_file_is_reported),
        cmocka_unit_test(nested_errors_name_their_module),
        cmocka_unit_test_teardown(redis_password_comes_from_file, teardown),
        cmocka_unit_test_teardown(salvage_finds_defer_in_a_broken_file, teardown),
        cmocka_unit_test_teardown(registry_loads_every_module, teardown),
        cmocka_unit_test_teardown(options_that_switch_protection_off_are_refused_with_their_bound,
                                  teardown),
        cmocka_unit_test_teardown(list_entries_that_name_nothing_are_refused, teardown),
        cmocka_unit_test(durations_parse),
        cmocka_unit_test_teardown(sentinels_are_read_and_checked, teardown),
        cmocka_unit_test_teardown(tls_is_refused_where_the_build_has_none, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
