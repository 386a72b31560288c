/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c - moatctl audit [--probes N] [--no-probes]: the configuration
 * risks behind the field incidents, asked of Exim itself (exim -bP, and
 * exim -bt for the catch-all probes), each named with where it is and
 * what to do; exit 1 when there is any, 0 when clean. The judgements are
 * audit_rules.c's; the catch-all check is the catchall module's audit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_rules.h"
#include "catchall/audit.h"
#include "config.h"
#include "ctl.h"

#define BP_SMALL 8192
#define BP_LARGE ((size_t)4 * 1024 * 1024)

static int usage(void)
{
    fprintf(stderr, "usage: moatctl [--exim-config FILE] [--json] audit [--probes 1..20] "
                    "[--no-probes]\n");
    return CTL_USAGE;
}

/* bp - exim -bP what into out (cap bytes); 0, or -1 with Exim's answer in err */
static int bp(const ctl_env *env, const char *what, char *out, size_t cap, char *err,
              size_t errlen)
{
    const char *args[] = {"-bP", what, NULL};
    int rc = ctl_run_exim(env, args, out, cap);

    if (rc != 0) {
        snprintf(err, errlen, "exim -bP %s: %.*s", what, (int)strcspn(out, "\n"),
                 rc < 0 ? "could not run Exim" : out);
        return -1;
    }
    return 0;
}

/* bp_value - the value of one option (-bP name), "" when unset; -1 when Exim refused */
static int bp_value(const ctl_env *env, const char *what, char *value, size_t len, char *err,
                    size_t errlen)
{
    char out[BP_SMALL];

    if (bp(env, what, out, sizeof out, err, errlen) != 0)
        return -1;
    audit_bp_value(out, value, len);
    return 0;
}

/* list_empty - a host list with no item ("", ":", "<; ", " : ") */
static int list_empty(const char *v)
{
    char seps[4] = " :";

    v += strspn(v, " ");
    if (v[0] == '<' && v[1] != '\0' && strchr(" \t", v[1]) == NULL) {
        seps[1] = v[1];   /* "<;" - another separator */
        v += 2;
    }
    return v[strspn(v, seps)] == '\0';
}

/* plain - s with control characters as '?' (a terminal's escapes), in a rotating buffer */
static const char *plain(const char *s)
{
    static char bufs[3][1024];
    static unsigned next;
    char *b = bufs[next++ % 3];
    size_t i;

    for (i = 0; s[i] && i + 1 < sizeof bufs[0]; i++)
        b[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    b[i] = '\0';
    return b;
}

static int run_exim(void *ctx, const char *const *args, char *out, size_t cap)
{
    return ctl_run_exim((const ctl_env *)ctx, args, out, cap);
}

/* check_catchall - one finding per local domain that accepts any local part */
static int check_catchall(const ctl_env *env, int probes, audit_findings *f)
{
    audit_report *r = malloc(sizeof *r);
    moat_runtime *rt;

    if (r == NULL)
        return -1;
    memset(r, 0, sizeof *r);
    rt = moat_runtime_get(env->config_path, r->error, sizeof r->error);
    if (catchall_audit(rt, run_exim, (void *)env, NULL, probes, r) != 0) {
        audit_note(f, "catchall: %.300s", r->error);
        free(r);
        return 0;
    }
    for (size_t d = 0; d < r->count; d++) {
        const audit_domain *ad = &r->domains[d];
        char where[384], problem[768];
        if (!audit_domain_is_catchall(ad)) {
            if (ad->deferred)
                audit_note(f, "catchall: %.200s: undecided, Exim deferred %d of %d probes",
                           ad->domain, ad->deferred, ad->probes);
            continue;
        }
        if (ad->router[0])
            snprintf(where, sizeof where, "router %.63s%s%.63s (domain %.200s)", ad->router,
                     ad->final_router[0] && strcmp(ad->final_router, ad->router) != 0
                         ? ", delivered by router " : "",
                     ad->final_router[0] && strcmp(ad->final_router, ad->router) != 0
                         ? ad->final_router : "", ad->domain);
        else
            snprintf(where, sizeof where, "moat's rcpt directory (domain %.200s)", ad->domain);
        snprintf(problem, sizeof problem,
                 "%.200s accepts any local part: %d of %d random local parts %s%s%.200s%s: "
                 "every dictionary and spam run to made-up users is delivered (or bounced "
                 "later), and no sender learns an address is wrong",
                 ad->domain, ad->accepted ? ad->accepted : ad->directory_accepted, ad->probes,
                 ad->accepted ? "routed" : "found by moat's rcpt directory",
                 ad->target[0] ? ", redirected to " : "", ad->target,
                 ad->relayed ? ", relayed to another host unchecked" : "");
        audit_add(f, "catchall", where, problem,
                  "make the router accept only known local parts (local_parts = or a lookup "
                  "that fails for unknown users); if the catch-all must stay, moat's catchall "
                  "module limits it: catchall { domain \"...\" { policy = reject-under-attack "
                  "} } (docs/catchall.md); \"moatctl catchall audit\" shows the probes");
    }
    free(r);
    return 0;
}

/*
 * note_fetched - moat's rcpt refuses unknown recipients from localhost, a
 * relay host: right for a web form, but a fetcher told no bounces the
 * message itself. Said when moat.conf names no fetcher.
 */
static void note_fetched(const ctl_env *env, audit_findings *f)
{
    char err[512];
    moat_runtime *rt = moat_runtime_get(env->config_path, err, sizeof err);
    cfg_t *fetched;

    if (rt == NULL)
        return;
    fetched = cfg_getsec(moat_config_module(rt->config, "rcpt"), "fetched");
    if (moat_cfg_count(fetched, "hosts") == 0 && moat_cfg_count(fetched, "users") == 0)
        audit_note(f, "relay: moat's rcpt refuses unknown local recipients from localhost (a "
                      "relay host) before your relay accept; if fetchmail or getmail injects "
                      "there, a refusal makes it bounce the message itself: name it in "
                      "rcpt { fetched { hosts users } } (docs/fetchmail.md)");
}

static void print_json(const audit_findings *f)
{
    printf("{\"risks\":%zu,\"findings\":[", f->count);
    for (size_t i = 0; i < f->count; i++) {
        printf("%s{\"check\":", i ? "," : "");
        ctl_json_string(stdout, f->item[i].check);
        printf(",\"where\":");
        ctl_json_string(stdout, f->item[i].where);
        printf(",\"problem\":");
        ctl_json_string(stdout, f->item[i].problem);
        printf(",\"fix\":");
        ctl_json_string(stdout, f->item[i].fix);
        printf("}");
    }
    printf("],\"notes\":[");
    for (size_t i = 0; i < f->note_count; i++) {
        printf("%s", i ? "," : "");
        ctl_json_string(stdout, f->note[i]);
    }
    printf("]}\n");
}

static void print_text(const audit_findings *f, int probes)
{
    for (size_t i = 0; i < f->count; i++) {
        const audit_finding *a = &f->item[i];
        printf("RISK %s: %s\n  problem: %s\n  fix: %s\n", a->check, plain(a->where),
               plain(a->problem), plain(a->fix));
    }
    for (size_t i = 0; i < f->note_count; i++)
        printf("note: %s\n", plain(f->note[i]));
    if (f->count)
        printf("%zu risk%s found\n", f->count, f->count == 1 ? "" : "s");
    else
        printf("clean: errors_copy, AUTH on port 25, relay hosts before verify = recipient, "
               "auto-responders%s\n", probes ? ", catch-all routers" : "");
}

int ctl_audit(const ctl_env *env, int argc, char **argv)
{
    static char config[BP_LARGE], transports[BP_LARGE], authenticators[BP_LARGE];
    char err[512], value[4096], ports[512], rcpt_acl[256], not_smtp[256], auth_acl[256];
    char routers[BP_SMALL], relay[4096];
    audit_findings *f;
    int probes = 3, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc)
            probes = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-probes") == 0)
            probes = 0;
        else
            return usage();
    }
    if (probes < 0 || probes > 20)
        return usage();
    if ((f = calloc(1, sizeof *f)) == NULL)
        return CTL_USAGE;
    /* as the store's owner, as catchall audit: the rcpt directory opens as Exim opens it */
    if (ctl_become_store_owner(env->config_path, err, sizeof err) != 0) {
        fprintf(stderr, "moatctl audit: %s\n", err);
        free(f);
        return CTL_USAGE;
    }
    if (bp(env, "config", config, sizeof config, err, sizeof err) != 0 ||
        bp_value(env, "errors_copy", value, sizeof value, err, sizeof err) != 0 ||
        bp_value(env, "daemon_smtp_ports", ports, sizeof ports, err, sizeof err) != 0 ||
        bp_value(env, "acl_smtp_rcpt", rcpt_acl, sizeof rcpt_acl, err, sizeof err) != 0 ||
        bp_value(env, "acl_not_smtp", not_smtp, sizeof not_smtp, err, sizeof err) != 0 ||
        bp_value(env, "acl_smtp_auth", auth_acl, sizeof auth_acl, err, sizeof err) != 0 ||
        bp(env, "router_list", routers, sizeof routers, err, sizeof err) != 0 ||
        bp(env, "transports", transports, sizeof transports, err, sizeof err) != 0 ||
        bp(env, "authenticators", authenticators, sizeof authenticators, err,
           sizeof err) != 0) {
        fprintf(stderr, "moatctl audit: %s\n", err);
        free(f);
        return CTL_USAGE;
    }
    audit_check_errors_copy(value, f);

    if (bp_value(env, "auth_advertise_hosts", value, sizeof value, err, sizeof err) != 0) {
        fprintf(stderr, "moatctl audit: %s\n", err);
        free(f);
        return CTL_USAGE;
    }
    audit_check_auth(value, ports, authenticators,
                     audit_acl_runs(config, auth_acl, "moat_authlock") ||
                         strstr(authenticators, "moat_authlock") != NULL,
                     f);

    /* an undefined list: Exim would refuse an ACL that names it, so none to judge */
    if (bp_value(env, "+relay_from_hosts", relay, sizeof relay, err, sizeof err) != 0 ||
        list_empty(relay))
        relay[0] = '\0';
    if (audit_check_rcpt_acl(config, rcpt_acl, relay, f) == AUDIT_RCPT_MOAT &&
        (strstr(relay, "127.0.0.1") != NULL || strstr(relay, "::1") != NULL))
        note_fetched(env, f);

    audit_check_autoreply(transports, routers, config, not_smtp, f);

    if (probes > 0 && check_catchall(env, probes, f) != 0) {
        fprintf(stderr, "moatctl audit: out of memory\n");
        free(f);
        return CTL_USAGE;
    }
    if (env->json)
        print_json(f);
    else
        print_text(f, probes);
    rc = f->count ? CTL_PROBLEM : CTL_OK;
    free(f);
    return rc;
}
