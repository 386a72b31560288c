/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit_rules.h - the configuration audit's judgements (moatctl audit),
 * pure: each takes what Exim itself printed (exim -bP OPTION, -bP config,
 * -bP transports, -bP authenticators) and adds a finding per risk, with
 * where it is and what to do. audit.c runs Exim and prints.
 */
#ifndef MOATCTL_AUDIT_RULES_H
#define MOATCTL_AUDIT_RULES_H

#include <stddef.h>

#define AUDIT_FINDINGS_MAX 64
#define AUDIT_NOTES_MAX 16

typedef struct audit_finding {
    char check[32];      /* errors_copy, auth_port25, catchall, relay_unverified, autoreply */
    char where[384];     /* option, ACL statement, router or transport */
    char problem[768];
    char fix[768];
} audit_finding;

typedef struct audit_findings {
    audit_finding item[AUDIT_FINDINGS_MAX];
    size_t count;
    char note[AUDIT_NOTES_MAX][384];   /* what could not be judged, and why */
    size_t note_count;
} audit_findings;

/* audit_add - one finding (silently dropped past AUDIT_FINDINGS_MAX) */
void audit_add(audit_findings *f, const char *check, const char *where, const char *problem,
               const char *fix);

/* audit_note - something the audit could not judge */
void audit_note(audit_findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * audit_bp_value - the value of "name = value" in -bP output for one
 * option (the first line with " = "), trimmed, into out; "" when unset.
 */
void audit_bp_value(const char *bp_out, char *out, size_t outlen);

/* audit_check_errors_copy - errors_copy's value (as -bP prints it) */
void audit_check_errors_copy(const char *value, audit_findings *f);

/*
 * audit_check_auth - AUTH offered on port 25 to any host:
 * auth_advertise_hosts, daemon_smtp_ports (the values) and every
 * authenticator (-bP authenticators) with its server_advertise_condition.
 * authlock_wired: moat's authlock counts the failures (the fix says so).
 */
void audit_check_auth(const char *advertise_hosts, const char *ports, const char *authenticators,
                      int authlock_wired, audit_findings *f);

/*
 * audit_check_rcpt_acl - in config (-bP config), the ACL rcpt_acl
 * (acl_smtp_rcpt's value) and the ACLs it requires (require acl = NAME),
 * in the order Exim runs them: an accept for hosts = +relay_from_hosts
 * that also takes local domains, reached before anything verifies local
 * recipients (verify = recipient, or moat's rcpt module). relay_from_hosts:
 * the host list's value ("" empty: nothing to accept). Returns
 * AUDIT_RCPT_RISK (a finding added), AUDIT_RCPT_MOAT (moat's rcpt
 * statements judge local recipients first) or AUDIT_RCPT_UNJUDGED (safe by
 * Exim's own verify, or nothing to judge).
 */
enum { AUDIT_RCPT_UNJUDGED = 0, AUDIT_RCPT_RISK = 1, AUDIT_RCPT_MOAT = 2 };
int audit_check_rcpt_acl(const char *config, const char *rcpt_acl, const char *relay_from_hosts,
                         audit_findings *f);

/*
 * audit_check_autoreply - auto-responders (an autoreply transport, a pipe
 * running a vacation program) in transports (-bP transports) that moat's
 * gate does not cover: the gate is covered when router_list (-bP
 * router_list) starts with moat_autoreply_gate and the ACL named by
 * not_smtp_acl (acl_not_smtp's value) in config runs moat_autoreply_local.
 */
void audit_check_autoreply(const char *transports, const char *router_list, const char *config,
                           const char *not_smtp_acl, audit_findings *f);

/* audit_acl_runs - 1 if ACL acl of config (or one it requires) mentions needle */
int audit_acl_runs(const char *config, const char *acl, const char *needle);

#endif
