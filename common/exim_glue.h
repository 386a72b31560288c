/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim_glue.h - the one layer between Exim and moat, used by each module's
 * exim.c (and only there: module logic never sees Exim).
 *
 * An entry point looks like:
 *
 *   MOAT_EXPORT int moat_rcpt_check(uschar **yield, int argc, uschar *argv[])
 *   {
 *       moat_call call;
 *       if (moat_call_begin(&call, "rcpt", "moat_rcpt_check", yield, argc, argv,
 *                           4, 8, "CONFIG IP SENDER RCPT ...") != MOAT_CALL_RUN)
 *           return moat_call_end(&call, yield);
 *       if (rcpt_check(call.rt, ..., &call.verdict) != 0)
 *           moat_call_fault(&call, why);
 *       return moat_call_end(&call, yield);
 *   }
 *
 * argv[0] is always the path of moat.conf (the snippets pass MOAT_CONFIG).
 * Misuse (wrong argument count) returns Exim's ERROR; every other outcome,
 * our own faults included, is an OK verdict string.
 */
#ifndef MOAT_EXIM_GLUE_H
#define MOAT_EXIM_GLUE_H

#include <stddef.h>

#include "runtime.h"
#include "verdict.h"

#define MOAT_EXPORT __attribute__((visibility("default")))

enum { MOAT_CALL_RUN = 0, MOAT_CALL_DONE = 1, MOAT_CALL_MISUSE = 2 };

typedef struct moat_call {
    const char *module;
    const char *entry;
    moat_runtime *rt;          /* NULL unless MOAT_CALL_RUN */
    moat_on_error on_error;
    int log_only;              /* module mode = log-only */
    int argc;
    unsigned char **argv;
    int status;                /* MOAT_CALL_* */
    moat_verdict verdict;
} moat_call;

/*
 * moat_call_begin - check argc within [min_args, max_args] (counting the
 * config path), route moat's log to Exim's mainlog, load the config.
 * Returns MOAT_CALL_RUN when the module should decide; MOAT_CALL_DONE when
 * the verdict is already set (module disabled: action=accept
 * reason=disabled; config unusable: the on_error answer); MOAT_CALL_MISUSE
 * for a wrong argument count.
 */
int moat_call_begin(moat_call *c, const char *module, const char *entry,
                    unsigned char **yield, int argc, unsigned char *argv[],
                    int min_args, int max_args, const char *usage);
/*
 * moat_call_begin_per_rcpt - the same for an entry Exim calls on every RCPT:
 * the decision counts of the process stay held (common/stats.h), to be
 * written by the next call of another kind (DATA, QUIT, notquit), so that
 * a good recipient costs no store write. Every other entry writes them.
 */
int moat_call_begin_per_rcpt(moat_call *c, const char *module, const char *entry,
                             unsigned char **yield, int argc, unsigned char *argv[],
                             int min_args, int max_args, const char *usage);

/*
 * moat_call_begin_in_session - moat_call_begin_per_rcpt for an entry whose
 * arguments do not begin with the configuration's path: it acts on the
 * configuration an earlier call of the process named (the MAIL ACL's, in
 * an SMTP session), else on the installed default (moat_runtime_current).
 * Each argument costs Exim thousands of instructions on every RCPT.
 */
int moat_call_begin_in_session(moat_call *c, const char *module, const char *entry,
                               unsigned char **yield, int argc, unsigned char *argv[],
                               int min_args, int max_args, const char *usage);

/* moat_arg - argument i as a C string ("" when absent) */
const char *moat_arg(const moat_call *c, int i);

/* moat_call_fault - the module failed on its own part: the on_error answer */
void moat_call_fault(moat_call *c, const char *why);

/* moat_call_end - give Exim the verdict (or the misuse message); the Exim return code */
int moat_call_end(moat_call *c, unsigned char **yield);

/*
 * moat_call_text - give Exim text instead of a verdict (a header value a
 * transport writes, a router condition's yes/no): the misuse message on a
 * wrong argument count, else text, tainted (it may echo the message).
 */
int moat_call_text(moat_call *c, unsigned char **yield, const char *text);

/*
 * moat_exim_headers - the message's live headers (Exim's header_list, in
 * order, deleted ones skipped) joined into one malloc'd buffer exactly as
 * received (folded lines kept). Only valid in the DATA and non-SMTP ACLs.
 * NULL when there are none. The caller frees it.
 */
char *moat_exim_headers(size_t *len);

/*
 * moat_exim_recipients - the message's envelope recipients (Exim's
 * recipients_list) joined with ", ", as Exim's $recipients gives them, in
 * one malloc'd string ("" when none); NULL when out of memory.
 */
char *moat_exim_recipients(void);

/*
 * moat_exim_client_in - whether the SMTP client's address is in an Exim
 * host list, matched as Exim's match_ip condition matches it (addresses,
 * networks, named lists and lookups by address; host names never, so no
 * DNS lookup): 1 yes, 0 no or no client address, -1 the list could not
 * be searched (a lookup deferred).
 */
int moat_exim_client_in(const char *list);

#endif
