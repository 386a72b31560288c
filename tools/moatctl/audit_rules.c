/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit_rules.c - the configuration audit's judgements over what Exim
 * prints (-bP): errors_copy, AUTH on port 25, the RCPT ACL's relay-host
 * accept before recipient verification, auto-responders outside moat's
 * gate. The catch-all check is modules/catchall/audit.c's.
 *
 * The ACL section comes from "exim -bP config": the configuration as Exim
 * read it, includes inlined and macros replaced, one logical line each;
 * an ACL starts with "name:", a statement with its verb, and each
 * condition or modifier is "name = value" ("!name = value" negated), on
 * the verb's line or on a line of its own.
 */
#include "audit_rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COND_MAX 32
#define DEPTH_MAX 8

void audit_add(audit_findings *f, const char *check, const char *where, const char *problem,
               const char *fix)
{
    audit_finding *a;

    if (f->count >= AUDIT_FINDINGS_MAX)
        return;
    a = &f->item[f->count++];
    snprintf(a->check, sizeof a->check, "%s", check);
    snprintf(a->where, sizeof a->where, "%s", where);
    snprintf(a->problem, sizeof a->problem, "%s", problem);
    snprintf(a->fix, sizeof a->fix, "%s", fix);
}

void audit_note(audit_findings *f, const char *fmt, ...)
{
    va_list ap;

    if (f->note_count >= AUDIT_NOTES_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(f->note[f->note_count++], sizeof f->note[0], fmt, ap);
    va_end(ap);
}

void audit_bp_value(const char *bp_out, char *out, size_t outlen)
{
    const char *eq = bp_out ? strstr(bp_out, " = ") : NULL;
    size_t n;

    if (eq == NULL || strchr(bp_out, '\n') < eq) {
        /* "name =" with nothing after it, or nothing at all */
        snprintf(out, outlen, "%s", "");
        return;
    }
    eq += 3;
    n = strcspn(eq, "\n");
    while (n > 0 && isspace((unsigned char)eq[n - 1]))
        n--;
    snprintf(out, outlen, "%.*s", (int)n, eq);
}

/* contains_ci - case-insensitive strstr, as a yes/no */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* positive_item - list contains item not preceded by "!" (a list item of Exim's) */
static int positive_item(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;

    while ((p = strstr(p, item)) != NULL) {
        const char *q = p;
        while (q > list && q[-1] == ' ')
            q--;
        if (!(q > list && q[-1] == '!') && (p[n] == '\0' || p[n] == ' ' || p[n] == ':' ||
                                            p[n] == ';' || p[n] == ','))
            return 1;
        p += n;
    }
    return 0;
}

/* ------------------------------------------------------------ errors_copy */

void audit_check_errors_copy(const char *value, audit_findings *f)
{
    char problem[768];

    if (value == NULL || value[0] == '\0')
        return;
    snprintf(problem, sizeof problem,
             "errors_copy = %.300s sends a copy of every bounce (NDR) the server generates to "
             "these addresses: when spam with forged senders arrives for unknown users, each "
             "one is delivered twice - the NDR to the forged sender (backscatter) and its copy "
             "with the spam inside to the admin", value);
    audit_add(f, "errors_copy", "option errors_copy (main section)", problem,
              "remove errors_copy; watch bounces with \"moatctl queue\" and the mainlog instead, "
              "and refuse unknown recipients at RCPT time (moatctl enable rcpt) so that no "
              "NDR is generated for them");
}

/* ------------------------------------------------------------ -bP blocks */

/*
 * next_block - the next "NAME kind:" block of -bP transports/authenticators
 * output from *p: its name, its body [*body, *end); 0 when there is none
 */
static int next_block(const char **p, const char *kind, char *name, size_t namelen,
                      const char **body, const char **end)
{
    char suffix[32];
    const char *line = *p;

    snprintf(suffix, sizeof suffix, " %s:", kind);
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t sl = strlen(suffix);
        if (len > sl && memcmp(line + len - sl, suffix, sl) == 0 &&
            memchr(line, '=', len) == NULL) {
            const char *b = nl ? nl + 1 : line + len, *e = b;
            snprintf(name, namelen, "%.*s", (int)(len - sl), line);
            /* the body runs to the next header line or the end */
            while (*e) {
                const char *enl = strchr(e, '\n');
                size_t elen = enl ? (size_t)(enl - e) : strlen(e);
                if (elen > sl && memcmp(e + elen - sl, suffix, sl) == 0 &&
                    memchr(e, '=', elen) == NULL)
                    break;
                e = enl ? enl + 1 : e + elen;
            }
            *body = b;
            *end = e;
            *p = e;
            return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    *p = line ? line : *p + strlen(*p);
    return 0;
}

/* block_opt - the value of option key in [body, end) into out; 1 if present */
static int block_opt(const char *body, const char *end, const char *key, char *out,
                     size_t outlen)
{
    size_t kl = strlen(key);
    const char *line = body;

    out[0] = '\0';
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (len >= kl + 2 && strncmp(line, key, kl) == 0 && line[kl] == ' ' &&
            line[kl + 1] == '=') {
            const char *v = line + kl + 2;
            size_t vl = len - kl - 2;
            while (vl > 0 && *v == ' ') {
                v++;
                vl--;
            }
            snprintf(out, outlen, "%.*s", (int)vl, v);
            return 1;
        }
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ AUTH */

/* port25 - whether daemon_smtp_ports (empty: Exim's default, smtp) has port 25 */
static int port25(const char *ports)
{
    const char *p = ports;

    if (ports == NULL || ports[0] == '\0')
        return 1;
    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ':' || *p == ',')
            p++;
        n = strcspn(p, " :,");
        if ((n == 2 && strncmp(p, "25", 2) == 0) || (n == 4 && strncasecmp(p, "smtp", 4) == 0))
            return 1;
        p += n;
    }
    return 0;
}

enum { ADV_NONE, ADV_ALL, ADV_TLS, ADV_UNKNOWN };

/* advertise_kind - to whom an advertising expression or host list offers AUTH */
static int advertise_kind(const char *v, int empty_means_all)
{
    if (v[0] == '\0')
        return empty_means_all ? ADV_ALL : ADV_NONE;
    if (contains_ci(v, "received_port") || contains_ci(v, "interface_port"))
        return ADV_NONE;   /* by port: the submission ports, we take it */
    if (contains_ci(v, "tls_in_cipher") || contains_ci(v, "tls_cipher") ||
        contains_ci(v, "tls_in_"))
        return ADV_TLS;
    if (strchr(v, '$') != NULL)
        return ADV_UNKNOWN;
    if (positive_item(v, "*") || positive_item(v, "0.0.0.0/0") || positive_item(v, "::/0") ||
        positive_item(v, "0/0"))
        return ADV_ALL;
    return ADV_NONE;       /* a list of hosts or networks: not the internet */
}

void audit_check_auth(const char *advertise_hosts, const char *ports, const char *authenticators,
                      int authlock_wired, audit_findings *f)
{
    char name[128], driver[64], value[512], names[512] = "", where[384], problem[768], fix[768];
    const char *p = authenticators ? authenticators : "", *body, *end;
    int global, any_plain = 0, n = 0;

    if (!port25(ports))
        return;
    global = advertise_kind(advertise_hosts ? advertise_hosts : "", 0);
    if (global == ADV_NONE)
        return;
    if (global == ADV_UNKNOWN) {
        audit_note(f, "auth: auth_advertise_hosts = %.200s: cannot tell to whom AUTH is offered",
                   advertise_hosts);
        return;
    }
    while (next_block(&p, "authenticator", name, sizeof name, &body, &end)) {
        int server = 0, kind;
        block_opt(body, end, "driver", driver, sizeof driver);
        if (strcmp(driver, "dovecot") == 0 || strcmp(driver, "cyrus_sasl") == 0 ||
            strcmp(driver, "gsasl") == 0 || strcmp(driver, "heimdal_gssapi") == 0)
            server = 1;
        if ((block_opt(body, end, "server_condition", value, sizeof value) && value[0]) ||
            (block_opt(body, end, "server_secret", value, sizeof value) && value[0]) ||
            (block_opt(body, end, "server_password", value, sizeof value) && value[0]))
            server = 1;
        /* an authenticator Exim does not offer to plain clients (tls) is not guessed at */
        if (!server || strcmp(driver, "tls") == 0 || strcmp(driver, "external") == 0)
            continue;
        block_opt(body, end, "server_advertise_condition", value, sizeof value);
        kind = advertise_kind(value, 1);
        if (kind == ADV_NONE)
            continue;
        if (kind == ADV_UNKNOWN) {
            audit_note(f, "auth: authenticator %.100s: server_advertise_condition = %.150s: "
                          "cannot tell to whom it is offered", name, value);
            continue;
        }
        if (kind == ADV_ALL && global == ADV_ALL)
            any_plain = 1;
        block_opt(body, end, "public_name", value, sizeof value);
        if (strlen(names) + strlen(name) + strlen(value) + 8 < sizeof names)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s (%s)",
                     n ? ", " : "", name, value);
        n++;
    }
    if (n == 0)
        return;
    snprintf(where, sizeof where,
             "option auth_advertise_hosts = %.100s, daemon_smtp_ports = %.60s; "
             "authenticators %.150s", advertise_hosts, ports[0] ? ports : "(default: smtp)",
             names);
    snprintf(problem, sizeof problem,
             "AUTH is offered on port 25 to every host on the internet%s: port 25 is where "
             "botnets guess passwords all day, and one guessed password makes the server an "
             "authenticated relay for spam (the blocklisting that follows stops all mail)",
             any_plain ? "" : " (after STARTTLS, which any client can start)");
    snprintf(fix, sizeof fix,
             "offer AUTH on the submission ports only - auth_advertise_hosts = "
             "${if or{{eq{$received_port}{587}}{eq{$received_port}{465}}}{*}{}} (or the same "
             "as each authenticator's server_advertise_condition) - and have mail clients "
             "submit on 587/465; %s",
             authlock_wired ? "moat's authlock already locks out guessers here, which limits "
                              "the damage but leaves the target"
                            : "until then, moatctl enable authlock locks out guessers");
    audit_add(f, "auth_port25", where, problem, fix);
}

/* ------------------------------------------------------------ ACLs */

typedef struct acl_cond {
    const char *name;
    const char *value;
    int negated;
} acl_cond;

typedef struct acl_stmt {
    const char *acl;
    int index;                  /* 1-based, within its ACL */
    const char *verb;
    int ncond;
    acl_cond cond[COND_MAX];
} acl_stmt;

typedef struct acl_set {
    char *text;                 /* the copy the pointers point into */
    acl_stmt *stmt;
    size_t n, cap;
} acl_set;

static const char *const verbs[] = {"accept", "defer", "deny", "discard", "drop", "require",
                                    "warn"};

/* verb_of - the verb word at the start of line (NULL if none), its length in *len */
static const char *verb_of(const char *line, size_t *len)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t n = strlen(verbs[i]);
        if (strncmp(line, verbs[i], n) == 0 && (line[n] == '\0' || line[n] == ' ' ||
                                                line[n] == '\t')) {
            *len = n;
            return verbs[i];
        }
    }
    return NULL;
}

/* add_cond - "[!]name = value" (or a bare word: endpass) to s; line is writable */
static void add_cond(acl_stmt *s, char *line)
{
    acl_cond *c;
    char *eq;

    if (s == NULL || s->ncond >= COND_MAX || *line == '\0')
        return;
    c = &s->cond[s->ncond++];
    c->negated = *line == '!';
    if (c->negated)
        line++;
    while (*line == ' ')
        line++;
    eq = strchr(line, '=');
    if (eq == NULL) {
        c->name = line;
        c->value = "";
        return;
    }
    c->value = eq + 1;
    while (*c->value == ' ')
        c->value++;
    while (eq > line && eq[-1] == ' ')
        eq--;
    *eq = '\0';
    c->name = line;
}

/* acl_parse - the ACL section of config; 0, or -1 out of memory */
static int acl_parse(const char *config, acl_set *s)
{
    char *line, *next;
    const char *acl = NULL;
    acl_stmt *cur = NULL;
    int in_acl = 0, index = 0;

    memset(s, 0, sizeof *s);
    if ((s->text = strdup(config ? config : "")) == NULL)
        return -1;
    for (line = s->text; line != NULL; line = next) {
        char *end;
        size_t vlen;
        const char *verb;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        end = line + strlen(line);
        while (end > line && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*line == '\0' || *line == '#')
            continue;
        if (strncmp(line, "begin ", 6) == 0) {
            in_acl = strcmp(line + 6, "acl") == 0;
            cur = NULL;
            continue;
        }
        if (!in_acl)
            continue;
        if (end[-1] == ':' && strchr(line, ' ') == NULL && strchr(line, '=') == NULL) {
            end[-1] = '\0';
            acl = line;
            cur = NULL;
            index = 0;
            continue;
        }
        if (acl != NULL && (verb = verb_of(line, &vlen)) != NULL) {
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                acl_stmt *grown = realloc(s->stmt, cap * sizeof *grown);
                if (grown == NULL)
                    return -1;
                s->stmt = grown;
                s->cap = cap;
            }
            cur = &s->stmt[s->n++];
            memset(cur, 0, sizeof *cur);
            cur->acl = acl;
            cur->index = ++index;
            cur->verb = verb;
            line += vlen;
            while (*line == ' ' || *line == '\t')
                line++;
        }
        add_cond(cur, line);
    }
    return 0;
}

static void acl_free(acl_set *s)
{
    free(s->text);
    free(s->stmt);
}

/* cond_get - the first condition called name of s (NULL if none) */
static const acl_cond *cond_get(const acl_stmt *s, const char *name)
{
    for (int i = 0; i < s->ncond; i++)
        if (strcmp(s->cond[i].name, name) == 0)
            return &s->cond[i];
    return NULL;
}

/* takes_local - whether a statement's domains condition lets local domains through */
static int takes_local(const acl_stmt *s)
{
    const acl_cond *d = cond_get(s, "domains");

    if (d == NULL)
        return 1;
    if (d->negated)
        return strstr(d->value, "+local_domains") == NULL;
    return positive_item(d->value, "+local_domains");
}

/* verifies_local - whether s refuses or judges unknown local recipients */
static int verifies_local(const acl_stmt *s)
{
    for (int i = 0; i < s->ncond; i++)
        if (strstr(s->cond[i].value, "moat_rcpt_recipient") != NULL ||
            strstr(s->cond[i].value, "moat_rcpt_check") != NULL)
            return 2;   /* moat's rcpt module: its deny follows in the same snippet */
    for (int i = 0; i < s->ncond; i++) {
        const acl_cond *c = &s->cond[i];
        if (strcmp(c->name, "verify") != 0 || strncmp(c->value, "recipient", 9) != 0)
            continue;
        if (!takes_local(s))
            return 0;
        /* "!hosts = +relay_from_hosts": the relay hosts' recipients go unverified */
        if (cond_get(s, "hosts") != NULL && cond_get(s, "hosts")->negated &&
            positive_item(cond_get(s, "hosts")->value, "+relay_from_hosts"))
            return 0;
        if (strcmp(s->verb, "require") == 0 && !c->negated)
            return 1;
        if ((strcmp(s->verb, "deny") == 0 || strcmp(s->verb, "drop") == 0 ||
             strcmp(s->verb, "discard") == 0 || strcmp(s->verb, "defer") == 0) && c->negated)
            return 1;
        if (strcmp(s->verb, "accept") == 0 && !c->negated && cond_get(s, "endpass") != NULL)
            return 1;
    }
    return 0;
}

/* relay_accept - an accept for relay_from_hosts that takes local domains unverified */
static int relay_accept(const acl_stmt *s)
{
    const acl_cond *h;

    if (strcmp(s->verb, "accept") != 0 || (h = cond_get(s, "hosts")) == NULL || h->negated)
        return 0;
    if (!positive_item(h->value, "+relay_from_hosts"))
        return 0;
    if (cond_get(s, "verify") != NULL && strstr(cond_get(s, "verify")->value, "recipient"))
        return 0;
    return takes_local(s);
}

enum { WALK_ON, WALK_SAFE, WALK_FLAGGED, WALK_MOAT };

typedef struct walk_ctx {
    const acl_set *set;
    const char *relay;
    const char *path[DEPTH_MAX];
    int depth;
    audit_findings *f;
} walk_ctx;

static int walk_rcpt(walk_ctx *w, const char *acl)
{
    const acl_set *s = w->set;
    int found = 0;

    if (w->depth >= DEPTH_MAX)
        return WALK_ON;
    for (int d = 0; d < w->depth; d++)
        if (strcmp(w->path[d], acl) == 0)
            return WALK_ON;   /* a loop: Exim would refuse it anyway */
    w->path[w->depth++] = acl;
    for (size_t i = 0; i < s->n; i++) {
        const acl_stmt *st = &s->stmt[i];
        const acl_cond *sub;
        int r;
        if (strcmp(st->acl, acl) != 0)
            continue;
        found = 1;
        if ((sub = cond_get(st, "acl")) != NULL && !sub->negated && strchr(sub->value, '$') == NULL &&
            (r = walk_rcpt(w, sub->value)) != WALK_ON) {
            w->depth--;
            return r;
        }
        if ((r = verifies_local(st)) != 0) {
            w->depth--;
            return r == 2 ? WALK_MOAT : WALK_SAFE;
        }
        if (relay_accept(st)) {
            char where[384], via[160] = "", problem[768];
            for (int d = 0; d < w->depth - 1; d++)
                snprintf(via + strlen(via), sizeof via - strlen(via), "%s%.60s",
                         d ? " -> " : " (run from ", w->path[d]);
            if (via[0])
                snprintf(via + strlen(via), sizeof via - strlen(via), ")");
            snprintf(where, sizeof where, "ACL %.80s, statement %d: accept hosts = %.100s%s",
                     acl, st->index, cond_get(st, "hosts")->value, via);
            snprintf(problem, sizeof problem,
                     "mail from the relay hosts (relay_from_hosts = %.200s) to local domains is "
                     "accepted here before any recipient is verified: Exim takes mail for "
                     "made-up local users and then bounces it to the sender, forged in spam - "
                     "fetchmail or getmail injecting over SMTP on localhost, a web form, a "
                     "compromised host on your network all become backscatter. (Relaying to "
                     "other domains, what this statement is for, is not the risk.)",
                     w->relay);
            audit_add(w->f, "relay_unverified", where, problem,
                      "add \"domains = !+local_domains\" to this accept so that local "
                      "recipients reach verify = recipient (where moat's rcpt judges them: "
                      "moatctl enable rcpt); for fetched mail set rcpt { fetched { hosts = "
                      "... } } (the message is marked, its unknown recipients dropped or "
                      "quarantined, never bounced: docs/fetchmail.md)");
            w->depth--;
            return WALK_FLAGGED;
        }
    }
    w->depth--;
    if (!found && w->depth == 0)
        audit_note(w->f, "relay: the RCPT ACL %.100s was not found in the configuration", acl);
    return WALK_ON;
}

int audit_check_rcpt_acl(const char *config, const char *rcpt_acl, const char *relay_from_hosts,
                         audit_findings *f)
{
    acl_set s;
    walk_ctx w;
    int r;

    if (rcpt_acl == NULL || rcpt_acl[0] == '\0') {
        audit_note(f, "relay: acl_smtp_rcpt is not set: Exim refuses every recipient over SMTP");
        return AUDIT_RCPT_UNJUDGED;
    }
    if (relay_from_hosts == NULL || relay_from_hosts[0] == '\0')
        return AUDIT_RCPT_UNJUDGED;   /* an empty host list matches nobody */
    if (strchr(rcpt_acl, ' ') != NULL || strchr(rcpt_acl, '$') != NULL) {
        audit_note(f, "relay: acl_smtp_rcpt = %.100s is not an ACL name; not checked", rcpt_acl);
        return AUDIT_RCPT_UNJUDGED;
    }
    if (acl_parse(config, &s) != 0) {
        acl_free(&s);
        audit_note(f, "relay: out of memory");
        return AUDIT_RCPT_UNJUDGED;
    }
    memset(&w, 0, sizeof w);
    w.set = &s;
    w.relay = relay_from_hosts;
    w.f = f;
    r = walk_rcpt(&w, rcpt_acl);
    acl_free(&s);
    return r == WALK_MOAT ? AUDIT_RCPT_MOAT : r == WALK_FLAGGED ? AUDIT_RCPT_RISK
                                                                : AUDIT_RCPT_UNJUDGED;
}

/* acl_mentions - whether acl (or an ACL it calls) has needle in a condition */
static int acl_mentions(const acl_set *s, const char *acl, const char *needle, int depth)
{
    if (depth >= DEPTH_MAX)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const acl_stmt *st = &s->stmt[i];
        if (strcmp(st->acl, acl) != 0)
            continue;
        for (int c = 0; c < st->ncond; c++) {
            if (strstr(st->cond[c].value, needle) != NULL)
                return 1;
            if (strcmp(st->cond[c].name, "acl") == 0 &&
                acl_mentions(s, st->cond[c].value, needle, depth + 1))
                return 1;
        }
    }
    return 0;
}

int audit_acl_runs(const char *config, const char *acl, const char *needle)
{
    acl_set s;
    int yes = 0;

    if (acl == NULL || acl[0] == '\0')
        return 0;
    if (acl_parse(config, &s) == 0)
        yes = acl_mentions(&s, acl, needle, 0);
    acl_free(&s);
    return yes;
}

/* ------------------------------------------------------------ auto-responders */

void audit_check_autoreply(const char *transports, const char *router_list, const char *config,
                           const char *not_smtp_acl, audit_findings *f)
{
    char name[128], driver[64], command[512], where[384], problem[768];
    const char *p = transports ? transports : "", *body, *end;
    int gate_first = router_list != NULL && strncmp(router_list, "moat_autoreply_gate\n", 20) == 0;
    int gate_acl = audit_acl_runs(config, not_smtp_acl, "moat_autoreply_local");

    while (next_block(&p, "transport", name, sizeof name, &body, &end)) {
        const char *missing;
        block_opt(body, end, "driver", driver, sizeof driver);
        command[0] = '\0';
        if (strcmp(driver, "pipe") == 0) {
            block_opt(body, end, "command", command, sizeof command);
            if (!contains_ci(command, "vacation") && !contains_ci(command, "autorespond") &&
                !contains_ci(command, "autoreply"))
                continue;
        } else if (strcmp(driver, "autoreply") != 0) {
            continue;
        }
        if (strcmp(name, "moat_vacation_reply") == 0)
            continue;   /* moat's own: composed by moat, gated by moat */
        if (gate_first && gate_acl)
            continue;
        missing = !gate_first && !gate_acl ? "moat's gate is not in this configuration"
                  : !gate_first ? "moat_autoreply_gate is not the first router, so what the "
                                  "gate refuses is delivered anyway"
                                : "acl_not_smtp does not run moat's statements, so the "
                                  "replies are never judged";
        if (command[0])
            snprintf(where, sizeof where, "transport %.100s (driver = pipe, command = %.200s)",
                     name, command);
        else
            snprintf(where, sizeof where, "transport %.100s (driver = autoreply)", name);
        snprintf(problem, sizeof problem,
                 "an auto-responder moat's autoreply gate does not cover (%s): it answers spam "
                 "with forged senders, mailing lists, robots and other responders - "
                 "backscatter, and loops that fill the queue every night", missing);
        audit_add(f, "autoreply", where, problem,
                  "moatctl enable autoreply: its gate (acl_not_smtp and the first router, "
                  "moat_autoreply_gate) drops every auto-reply to a sender that must not get "
                  "one, whichever transport made it; or answer with moat's vacation router "
                  "(MOAT_AUTOREPLY_VACATION, docs/autoreply.md) instead of this transport");
    }
}
