/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rcpt.h - the rcpt module: recipient verification at RCPT time, harvest
 * counting and blocking, progressive tarpit. Pure logic: no Exim symbol.
 *
 * Also the interface other modules (catchall) use: the directory lookup,
 * the harvest counters, the domain-wide "under attack" state.
 */
#ifndef MOAT_RCPT_H
#define MOAT_RCPT_H

#include "api.h"

#include <time.h>

#include "addr.h"
#include "runtime.h"
#include "verdict.h"

/* Directory answers. */
enum {
    RCPT_DIR_FOUND = 0,     /* the address exists */
    RCPT_DIR_NOTFOUND = 1,  /* the domain is covered and the address does not exist */
    RCPT_DIR_SKIP = 2,      /* no source covers this domain: not ours to judge */
    RCPT_DIR_TEMPFAIL = 3   /* the source is down and nothing is cached: defer */
};

typedef struct rcpt_request {
    const char *client_ip;      /* $sender_host_address ("" for local submissions) */
    const char *sender;         /* $sender_address ("" for bounces) */
    const char *recipient;      /* $local_part@$domain */
    const char *auth_id;        /* $authenticated_id ("" when not authenticated) */
    const char *exim_verify;    /* "yes"/"no"/"defer" from verify = recipient, "" if not given */
    long session_invalid;       /* unknown recipients refused so far in this SMTP session */
    time_t now;
    int untag_prvs;             /* judge prvs=TAG=user@domain as user@domain (batv is on) */
} rcpt_request;

/* The actions of a decision. */
typedef enum { RCPT_ACCEPT, RCPT_DENY, RCPT_DEFER, RCPT_DROP } rcpt_action;

/*
 * What rcpt_judge decided: the verdict's fields, each a constant or a
 * number (no byte of the request), so that a caller acts on it without
 * formatting the verdict text and reading it back. rcpt_outcome_text
 * renders it as the verdict text the ACL entries answer.
 */
typedef struct rcpt_outcome {
    rcpt_action action;
    const char *reason;          /* valid, unknown_user, harvest_block, ... */
    const char *code, *xcode, *text;   /* the refusal's; NULL when accepted */
    long delay;                  /* tarpit seconds before the refusal; -1: none given */
    long long count;             /* the client's unknown recipients; -1: not given */
    long long bounce_count;      /* unknown recipients of bounces (counted apart); -1: not given */
    int domain_attack;           /* the domain is being harvested */
    int listed;                  /* named by moat's own directory (catchall need not ask) */
    int fetched;                 /* the client injects fetched mail */
    const char *tripped;         /* a block this recipient began: "ip" or "net"; NULL none */
    long block_seconds;          /* ... and its length */
    rcpt_action would;           /* log-only (reason log_only): what it would have been, */
    const char *would_reason;    /* ... and why (what the metrics counted) */
} rcpt_outcome;

/*
 * rcpt_judge - decide one RCPT into out and return 0, or return -1 with
 * *why set when moat itself failed (the caller answers per on_error)
 */
MOAT_API int rcpt_judge(moat_runtime *rt, const rcpt_request *req, rcpt_outcome *out,
                        const char **why);

/* rcpt_outcome_text - the verdict text of an outcome of rcpt_judge */
MOAT_API void rcpt_outcome_text(const rcpt_outcome *o, moat_verdict *v);

/* rcpt_action_name - "accept", "deny", "defer" or "drop" */
const char *rcpt_action_name(rcpt_action action);

/* rcpt_check - rcpt_judge with the verdict as text: 0, or -1 with *why */
MOAT_API int rcpt_check(moat_runtime *rt, const rcpt_request *req, moat_verdict *v, const char **why);

/*
 * rcpt_connect - at connect: refuse a blocked client (IP or network) with
 * 421 when block_at_connect is on; otherwise accept. 0, or -1 with *why.
 */
MOAT_API int rcpt_connect(moat_runtime *rt, const char *client_ip, time_t now, moat_verdict *v,
                 const char **why);

/*
 * rcpt_directory_lookup - whether address exists in the directory sources
 * configured for its domain; exim_verify ("yes"/"no"/"defer"/"") is Exim's
 * own routing verdict, used when the source is "exim".
 */
int rcpt_directory_lookup(moat_runtime *rt, const char *address, const char *exim_verify,
                          time_t now);

/* rcpt_directory_lookup_key - the same for an address already parsed, and its key (addr_key) */
int rcpt_directory_lookup_key(moat_runtime *rt, const moat_addr *parsed, const char *key,
                              const char *exim_verify, time_t now);

/*
 * rcpt_harvest_note_invalid - count an invalid (or catch-all-only)
 * recipient against the client, its network, the sender's domain and the
 * target domain; blocks the client when a threshold is crossed. Returns 1
 * when the client is now blocked, 0 when not, -1 on a store failure.
 */
int rcpt_harvest_note_invalid(moat_runtime *rt, const char *client_ip, const char *sender,
                              const char *address, time_t now);

/* rcpt_client_blocked - 1 when the client or its network is blocked, 0 if not, -1 on failure */
int rcpt_client_blocked(moat_runtime *rt, const char *client_ip, time_t now);

/* rcpt_client_suspicious - 1 when the client has invalid recipients counted or is blocked */
int rcpt_client_suspicious(moat_runtime *rt, const char *client_ip, time_t now);

/* rcpt_domain_under_attack - 1 when many distinct unknown local parts hit the domain lately */
int rcpt_domain_under_attack(moat_runtime *rt, const char *domain, time_t now);

/* rcpt_fetched_client - 1 when client_ip is one of fetched { hosts } (it injects fetched mail) */
MOAT_API int rcpt_fetched_client(moat_runtime *rt, const char *client_ip);

/*
 * rcpt_fetched_user - 1 when user (the caller of exim -bm/-bS: $sender_ident)
 * is one of fetched { users }: its messages are fetched mail, 0 if not
 */
MOAT_API int rcpt_fetched_user(moat_runtime *rt, const char *user);

/*
 * rcpt_fetched_target - where fetched mail for recipient, which no router
 * took, goes: the quarantine address (fetched { unknown = quarantine }) or
 * ":blackhole:", into out; one log line says which. Never a bounce.
 */
MOAT_API void rcpt_fetched_target(moat_runtime *rt, const char *recipient, const char *sender,
                         char *out, size_t outlen);

/* rcpt_unblock - lift the block of an IP or a network ("198.51.100.0/24") and forget its counts; 0 or -1 */
int rcpt_unblock(moat_runtime *rt, const char *ip_or_net);

#endif
