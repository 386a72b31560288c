/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c - moatctl report [--since DURATION] [--log FILE] [--mail ADDRESS]
 * [--json]: what moat did lately, in a short text an admin reads over
 * coffee: clients blocked, users locked and held (and why), harvesting and
 * password guessing, auto-replies and NDRs suppressed, backscatter refused,
 * the networks and ASNs that offended most, near misses worth an alias.
 *
 * Sources: moat's lines in Exim's mainlog (docs/logging.md; the file from
 * exim -bP log_file_path, and its rotated .1 beside it), read with the
 * stable-format parser (common/logline.c), and the store (blocks in force,
 * near misses). A mainlog is a file anyone who can reach the SMTP port
 * wrote into: every field is parsed without trust, every text printed
 * escaped. --mail sends the text through Exim to ADDRESS.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "logline.h"
#include "rcpt/harvest.h"
#include "observe.h"

#define TOP_N 5
#define LIST_MAX 20

/* A name with a count: the offenders, the blocked, the locked. */
typedef struct tally {
    char name[200];
    char why[64];
    long count;
} tally;

typedef struct tally_set {
    tally *v;
    size_t n, cap;
} tally_set;

typedef struct report {
    cfg_t *rcpt;                   /* rcpt's section: its network prefix lengths */
    time_t since;
    long lines;                    /* moat lines in the period */
    tally_set blocked;             /* clients blocked (rcpt, authlock ip/net/asn) */
    tally_set locked;              /* users locked */
    tally_set held;                /* users whose mail was held or contained */
    tally_set nets, asns;          /* offending networks and ASNs */
    tally_set suppressed;          /* autoreply discards by reason */
    long unknown_rcpt, harvest_deferred, harvest_cut;
    long auth_failed, auth_refused;
    long backscatter, catchall_refused;
    tally_set guessers;            /* distinct clients of failed logins */
    tally_set harvesters;          /* distinct clients of unknown recipients */
} report;

static int usage(void)
{
    fprintf(stderr, "usage: moatctl report [--since DURATION] [--log FILE] [--mail ADDRESS] "
                    "[--json]\n  DURATION: a number with s, m, h or d (default 24h)\n");
    return CTL_USAGE;
}

/* bump - add n to name's count in set (why kept from the first time); -1 without memory */
static int bump(tally_set *s, const char *name, const char *why, long n)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0) {
            s->v[i].count += n;
            return 0;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        tally *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    snprintf(s->v[s->n].name, sizeof s->v[s->n].name, "%s", name);
    snprintf(s->v[s->n].why, sizeof s->v[s->n].why, "%s", why ? why : "");
    s->v[s->n++].count = n;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    int d = (y->count > x->count) - (y->count < x->count);

    return d ? d : strcmp(x->name, y->name);
}

static void sort_set(tally_set *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, by_count);
}

static void free_set(tally_set *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* parse_duration - "90", "30m", "24h", "7d" in seconds; -1 when not one */
static long parse_duration(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10), mult = 1;

    if (end == s || n <= 0 || n > 3650L * 86400)
        return -1;
    if (*end == 'm')
        mult = 60;
    else if (*end == 'h')
        mult = 3600;
    else if (*end == 'd')
        mult = 86400;
    else if (*end != 's' && *end != '\0')
        return -1;
    if (*end && end[1])
        return -1;
    return n > 3650L * 86400 / mult ? -1 : n * mult;
}

/*
 * line_time - the time stamp Exim puts first ("YYYY-MM-DD HH:MM:SS", local
 * time, maybe ".ffffff" and " +zzzz"); -1 when the line has none
 */
static time_t line_time(const char *line)
{
    struct tm tm;
    const char *p;

    memset(&tm, 0, sizeof tm);
    p = strptime(line, "%Y-%m-%d %H:%M:%S", &tm);
    if (p == NULL)
        return -1;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/* note_client - one offence of a client: its network (and ASN) among the offenders */
static void note_client(report *r, tally_set *who, const char *ip, const char *asn)
{
    char net[64];

    if (ip == NULL || *ip == '\0')
        return;
    harvest_network(r->rcpt, ip, net, sizeof net);
    if (net[0])
        (void)bump(&r->nets, net, NULL, 1);
    if (who)
        (void)bump(who, ip, NULL, 1);
    if (asn && *asn && strcmp(asn, "-") != 0)
        (void)bump(&r->asns, asn, NULL, 1);
}

/* take - one moat log line into the report */
static void take(report *r, const moat_logline *l)
{
    const char *action = logline_get(l, "action"), *reason = logline_get(l, "reason");
    const char *ip = logline_get(l, "ip");

    if (action == NULL)
        return;
    if (reason == NULL)
        reason = "";
    r->lines++;
    if (strcmp(l->module, "rcpt") == 0) {
        if (strcmp(action, "block") == 0 && ip)
            (void)bump(&r->blocked, ip, reason, 1);
        else if (strcmp(action, "deny") == 0 && strcmp(reason, "unknown_user") == 0) {
            r->unknown_rcpt++;
            note_client(r, &r->harvesters, ip, NULL);
        } else if (strcmp(action, "defer") == 0 && strcmp(reason, "harvest_block") == 0)
            r->harvest_deferred++;
        else if (strcmp(action, "drop") == 0)
            r->harvest_cut++;
    } else if (strcmp(l->module, "authlock") == 0) {
        const char *subject = logline_get(l, "subject"), *user = logline_get(l, "user");
        if (strcmp(action, "lock") == 0 && subject) {
            char user[200], scope[16], why[64];
            snprintf(user, sizeof user, "%s", strncmp(subject, "user:", 5) == 0 ? subject + 5
                                                                                : subject);
            obs_split_scope(user, scope, sizeof scope);
            snprintf(why, sizeof why, "%s%s%s", reason, scope[0] ? ", " : "",
                     strcmp(scope, "familiar") == 0     ? "logins from familiar places"
                     : strcmp(scope, "unfamiliar") == 0 ? "logins from unfamiliar places"
                     : strcmp(scope, "sending") == 0    ? "sending"
                                                        : "");
            (void)bump(&r->locked, user, why, 1);
        }
        else if (strcmp(action, "block") == 0 && subject)
            (void)bump(&r->blocked, strchr(subject, ':') ? strchr(subject, ':') + 1 : subject,
                       reason, 1);
        else if ((strcmp(action, "hold") == 0 || strcmp(action, "contain") == 0) && user)
            (void)bump(&r->held, user, reason, 1);
        else if (strcmp(action, "deny") == 0 || strcmp(action, "defer") == 0 ||
                 strcmp(action, "drop") == 0) {
            if (strncmp(reason, "bad_credentials", 15) == 0 || strcmp(reason, "spraying") == 0 ||
                strcmp(reason, "distributed") == 0) {
                r->auth_failed++;
                note_client(r, &r->guessers, ip, logline_get(l, "asn"));
            } else {
                r->auth_refused++;
            }
        }
    } else if (strcmp(l->module, "autoreply") == 0) {
        if (strcmp(action, "discard") == 0)
            (void)bump(&r->suppressed, reason[0] ? reason : "other", NULL, 1);
    } else if (strcmp(l->module, "batv") == 0) {
        if (strcmp(action, "deny") == 0)
            r->backscatter++;
    } else if (strcmp(l->module, "catchall") == 0) {
        if (strcmp(action, "deny") == 0 || strcmp(action, "defer") == 0)
            r->catchall_refused++;
    }
}

/* read_log - every moat line of f at or after since; closes f */
static void read_log(report *r, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    moat_logline l;

    while ((len = getline(&line, &cap, f)) > 0) {
        time_t t = line_time(line);
        long at;
        if (t < 0 || t < r->since || (at = logline_exim_prefix(line, (size_t)len)) < 0)
            continue;
        if (logline_parse(line + at, (size_t)len - (size_t)at, &l) == 0)
            take(r, &l);
    }
    free(line);
    fclose(f);
}

/*
 * mainlog_path - Exim's main log: log_file_path with %s as "main", its
 * first entry when it lists several (":"), "" when Exim logs to syslog only
 */
static int mainlog_path(const ctl_env *env, char *out, size_t cap)
{
    static const char *const args[] = {"-bP", "log_file_path", NULL};
    char buf[4096], *v, *pct, *colon;

    out[0] = '\0';
    if (ctl_run_exim(env, args, buf, sizeof buf) != 0)
        return -1;
    v = strchr(buf, '=');
    v = v ? v + 1 : buf;
    v += strspn(v, " ");
    v[strcspn(v, "\n")] = '\0';
    for (; *v; v = colon + 1) {
        colon = strchr(v, ':');
        if (colon)
            *colon = '\0';
        if (strcmp(v, "syslog") != 0 && *v) {
            if ((pct = strstr(v, "%s")) == NULL)
                snprintf(out, cap, "%s", v);
            else
                snprintf(out, cap, "%.*smain%s", (int)(pct - v), v, pct + 2);
            return 0;
        }
        if (colon == NULL)
            break;
    }
    if (*buf == '\0' || strcmp(buf, "log_file_path =") == 0)
        snprintf(out, cap, "/var/log/exim4/mainlog");   /* Debian's default */
    return out[0] ? 0 : -1;
}

static void print_set(FILE *out, const char *title, const tally_set *s, const char *unit,
                      int with_why)
{
    size_t i;

    if (s->n == 0)
        return;
    fprintf(out, "%s\n", title);
    for (i = 0; i < s->n && i < LIST_MAX; i++) {
        fprintf(out, "  %-40s %ld %s%s", ctl_safe(s->v[i].name), s->v[i].count, unit,
                s->v[i].count == 1 ? "" : "s");
        if (with_why && s->v[i].why[0])
            fprintf(out, " (%s)", ctl_safe(s->v[i].why));
        fputc('\n', out);
    }
    if (s->n > LIST_MAX)
        fprintf(out, "  ... and %zu more\n", s->n - LIST_MAX);
}

static void text(FILE *out, const report *r, const obs_state *o, const char *period)
{
    char host[256] = "", when[64];
    struct tm tm;
    size_t i, n;

    (void)gethostname(host, sizeof host - 1);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&r->since, &tm));
    fprintf(out, "moat on %s: the last %s (since %s)\n\n", ctl_safe(host), period, when);
    if (r->blocked.n == 0 && r->locked.n == 0 && r->held.n == 0 && r->unknown_rcpt == 0 &&
        r->auth_failed == 0 && r->backscatter == 0 && r->suppressed.n == 0)
        fprintf(out, "Nothing to report: no blocks, locks, harvesting or guessing.\n\n");
    print_set(out, "Clients blocked:", &r->blocked, "time", 1);
    print_set(out, "Users locked:", &r->locked, "time", 1);
    print_set(out, "Users held (their mail frozen for review):", &r->held, "time", 1);
    n = o->store_up ? o->nblocks : 0;
    if (o->store_up)
        fprintf(out, "In force now: %zu block%s and lock%s", n, n == 1 ? "" : "s",
                n == 1 ? "" : "s");
    for (i = 0; o->store_up && i < o->nblocks && i < LIST_MAX; i++)
        fprintf(out, "%s%s %s%s%s%s", i ? ", " : ": ", o->blocks[i].kind,
                ctl_safe(o->blocks[i].subject), o->blocks[i].scope[0] ? " (" : "",
                o->blocks[i].scope, o->blocks[i].scope[0] ? ")" : "");
    if (o->store_up)
        fprintf(out, "\n\n");
    else
        fprintf(out, "(the store did not answer: %s)\n\n", ctl_safe(o->store_error));
    fprintf(out, "Harvesting: %ld unknown recipients refused from %zu clients; %ld refused "
                 "while blocked, %ld sessions cut off\n",
            r->unknown_rcpt, r->harvesters.n, r->harvest_deferred, r->harvest_cut);
    fprintf(out, "Password guessing: %ld failed logins from %zu clients; %ld logins refused "
                 "(blocked, locked, geo rules)\n",
            r->auth_failed, r->guessers.n, r->auth_refused);
    fprintf(out, "Backscatter refused (bounces without a valid BATV tag): %ld\n", r->backscatter);
    fprintf(out, "Catch-all refusals: %ld\n", r->catchall_refused);
    if (r->suppressed.n) {
        fprintf(out, "Auto-replies and NDRs suppressed:");
        for (i = 0; i < r->suppressed.n; i++)
            fprintf(out, "%s %s %ld", i ? "," : "", ctl_safe(r->suppressed.v[i].name),
                    r->suppressed.v[i].count);
        fputc('\n', out);
    } else {
        fprintf(out, "Auto-replies and NDRs suppressed: 0\n");
    }
    fputc('\n', out);
    if (r->nets.n) {
        tally_set top = {r->nets.v, r->nets.n < TOP_N ? r->nets.n : TOP_N, 0};
        print_set(out, "Top offending networks:", &top, "offence", 0);
    }
    if (r->asns.n) {
        tally_set top = {r->asns.v, r->asns.n < TOP_N ? r->asns.n : TOP_N, 0};
        print_set(out, "Top offending ASNs:", &top, "offence", 0);
    }
    if (o->store_up && o->nnear) {
        fprintf(out, "Near misses worth adding as aliases (moatctl rcpt near-misses):\n");
        for (i = 0; i < o->nnear && i < TOP_N; i++)
            fprintf(out, "  %-40s %ld time%s, closest %s\n", ctl_safe(o->near[i].address),
                    o->near[i].count, o->near[i].count == 1 ? "" : "s",
                    ctl_safe(o->near[i].closest));
    }
}

static void json_set(FILE *out, const char *name, const tally_set *s, int with_why, int first)
{
    size_t i;

    fprintf(out, "%s\"%s\":[", first ? "" : ",", name);
    for (i = 0; i < s->n; i++) {
        fprintf(out, "%s{\"name\":", i ? "," : "");
        ctl_json_string(out, s->v[i].name);
        if (with_why) {
            fprintf(out, ",\"reason\":");
            ctl_json_string(out, s->v[i].why);
        }
        fprintf(out, ",\"count\":%ld}", s->v[i].count);
    }
    fprintf(out, "]");
}

static void json(FILE *out, const report *r, const obs_state *o)
{
    size_t i;

    fprintf(out, "{\"since\":%lld,", (long long)r->since);
    json_set(out, "blocked", &r->blocked, 1, 1);
    json_set(out, "locked", &r->locked, 1, 0);
    json_set(out, "held", &r->held, 1, 0);
    json_set(out, "suppressed", &r->suppressed, 0, 0);
    json_set(out, "networks", &r->nets, 0, 0);
    json_set(out, "asns", &r->asns, 0, 0);
    fprintf(out, ",\"unknown_recipients\":%ld,\"harvest_clients\":%zu,\"harvest_deferred\":%ld,"
                 "\"sessions_cut\":%ld,\"auth_failed\":%ld,\"auth_clients\":%zu,"
                 "\"auth_refused\":%ld,\"backscatter_refused\":%ld,\"catchall_refused\":%ld,"
                 "\"store_up\":%s,\"in_force\":[",
            r->unknown_rcpt, r->harvesters.n, r->harvest_deferred, r->harvest_cut,
            r->auth_failed, r->guessers.n, r->auth_refused, r->backscatter,
            r->catchall_refused, o->store_up ? "true" : "false");
    for (i = 0; o->store_up && i < o->nblocks; i++) {
        fprintf(out, "%s{\"module\":\"%s\",\"kind\":\"%s\",\"subject\":", i ? "," : "",
                o->blocks[i].module, o->blocks[i].kind);
        ctl_json_string(out, o->blocks[i].subject);
        fprintf(out, ",\"scope\":\"%s\",\"until\":%ld}", o->blocks[i].scope, o->blocks[i].until);
    }
    fprintf(out, "],\"near_misses\":[");
    for (i = 0; o->store_up && i < o->nnear; i++) {
        fprintf(out, "%s{\"address\":", i ? "," : "");
        ctl_json_string(out, o->near[i].address);
        fprintf(out, ",\"closest\":");
        ctl_json_string(out, o->near[i].closest);
        fprintf(out, ",\"count\":%ld}", o->near[i].count);
    }
    fprintf(out, "]}\n");
}

/* address_ok - an address fit for Exim's command line and a To: header */
static int address_ok(const char *a)
{
    const char *p;

    if (a == NULL || *a == '\0' || *a == '-' || strlen(a) > 254)
        return 0;
    for (p = a; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr(".!#$%&'*+/=?^_`{|}~@-", *p) == NULL)
            return 0;
    return 1;
}

/* mail - body to address through Exim (its -C when --exim-config); 0 or -1 */
static int mail(const ctl_env *env, const char *address, const char *body, size_t len)
{
    const char *args[] = {"-oi", "--", address, NULL};
    char host[256] = "";
    int fd[2], status = 0;
    pid_t pid;
    FILE *in;

    if (pipe2(fd, O_CLOEXEC) != 0)
        return -1;
    if ((pid = ctl_spawn_exim(env, args, fd[0], -1)) < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    close(fd[0]);
    if ((in = fdopen(fd[1], "w")) == NULL) {
        close(fd[1]);
        waitpid(pid, NULL, 0);
        return -1;
    }
    (void)gethostname(host, sizeof host - 1);
    fprintf(in, "To: %s\nSubject: moat report for %s\nAuto-Submitted: auto-generated\n"
                "Content-Type: text/plain; charset=utf-8\n\n",
            address, ctl_safe(host));
    fwrite(body, 1, len, in);
    if (fclose(in) != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int ctl_report(const ctl_env *env, int argc, char **argv)
{
    const char *since_text = "24h", *mail_to = NULL, *logs[8];
    FILE *files[8] = {NULL};
    char path[4096], rotated[4200], *body = NULL;
    size_t nlogs = 0, len = 0, i;
    long since;
    report r;
    obs_state o;
    moat_runtime *rt;
    FILE *out;
    int k, read_any = 0, rc = CTL_OK;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--since") == 0 && k + 1 < argc)
            since_text = argv[++k];
        else if (strcmp(argv[k], "--mail") == 0 && k + 1 < argc)
            mail_to = argv[++k];
        else if (strcmp(argv[k], "--log") == 0 && k + 1 < argc && nlogs < 8)
            logs[nlogs++] = argv[++k];
        else
            return usage();
    }
    if ((since = parse_duration(since_text)) < 0) {
        fprintf(stderr, "moatctl report: --since '%s' is not a duration (24h, 7d, 30m)\n",
                ctl_safe(since_text));
        return CTL_USAGE;
    }
    if (mail_to && !address_ok(mail_to)) {
        fprintf(stderr, "moatctl report: --mail '%s' is not a plain address\n",
                ctl_safe(mail_to));
        return CTL_USAGE;
    }
    if (nlogs == 0) {
        if (mainlog_path(env, path, sizeof path) != 0) {
            fprintf(stderr, "moatctl report: cannot tell where Exim's main log is (exim -bP "
                            "log_file_path; syslog only?): give --log FILE\n");
            return CTL_USAGE;
        }
        snprintf(rotated, sizeof rotated, "%s.1", path);
        logs[nlogs++] = rotated;
        logs[nlogs++] = path;
    }
    /* opened as the caller (root may read what the store's owner may not) */
    for (i = 0; i < nlogs; i++)
        if ((files[i] = fopen(logs[i], "re")) == NULL && logs[i] != rotated)
            fprintf(stderr, "moatctl report: %s: %s\n", ctl_safe(logs[i]), strerror(errno));
    if ((rt = ctl_runtime(env)) == NULL) {
        for (i = 0; i < nlogs; i++)
            if (files[i])
                fclose(files[i]);
        return CTL_USAGE;
    }
    memset(&r, 0, sizeof r);
    r.since = time(NULL) - since;
    r.rcpt = moat_config_module(rt->config, "rcpt");
    for (i = 0; i < nlogs; i++)
        if (files[i]) {
            read_log(&r, files[i]);
            read_any = 1;
        }
    if (!read_any)
        rc = CTL_PROBLEM;
    memset(&o, 0, sizeof o);
    if (obs_collect(rt, time(NULL), &o) != 0)
        rc = CTL_PROBLEM;
    sort_set(&r.blocked);
    sort_set(&r.locked);
    sort_set(&r.held);
    sort_set(&r.nets);
    sort_set(&r.asns);
    sort_set(&r.suppressed);
    out = mail_to ? open_memstream(&body, &len) : stdout;
    if (out == NULL) {
        rc = CTL_USAGE;
    } else {
        if (env->json)
            json(out, &r, &o);
        else
            text(out, &r, &o, since_text);
        if (mail_to) {
            if (fclose(out) != 0 || mail(env, mail_to, body, len) != 0) {
                fprintf(stderr, "moatctl report: mailing %s failed\n", ctl_safe(mail_to));
                rc = CTL_PROBLEM;
            }
            free(body);
        }
    }
    obs_free(&o);
    free_set(&r.blocked);
    free_set(&r.locked);
    free_set(&r.held);
    free_set(&r.nets);
    free_set(&r.asns);
    free_set(&r.suppressed);
    free_set(&r.guessers);
    free_set(&r.harvesters);
    return rc;
}
