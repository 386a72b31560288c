/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exim_glue.c - entry-point plumbing between Exim's dlfunc API and moat:
 * argument checks, the log sink, the verdict handed back with taint kept.
 * The only file in common/ that includes Exim's local_scan.h.
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include "exim_glue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"

/* exim_sink - moat_log's destination inside Exim: the mainlog, never the paniclog */
static void exim_sink(moat_log_level level, const char *line)
{
    (void)level;
    log_write(0, LOG_MAIN, "%s", line);
}

/*
 * call_begin - moat_call_begin; per_rcpt: leave the decision counts held;
 * named: argv[0] is the configuration's path (else the process's current one)
 */
static int call_begin(moat_call *c, const char *module, const char *entry, int argc,
                      unsigned char *argv[], int min_args, int max_args, const char *usage,
                      int per_rcpt, int named)
{
    const moat_module_settings *settings;
    char err[MOAT_ERR_MAX];

    /* every field but the verdict's text, which is 2 kB and cleared by its length */
    c->module = module;
    c->entry = entry;
    c->rt = NULL;
    c->on_error = MOAT_ON_ERROR_ACCEPT;
    c->log_only = 0;
    c->argc = argc;
    c->argv = argv;
    c->status = MOAT_CALL_RUN;
    c->verdict.text[0] = '\0';
    c->verdict.len = 0;
    c->verdict.truncated = 0;
    moat_log_set_sink(exim_sink);

    if (argc < min_args || argc > max_args) {
        snprintf(c->verdict.text, sizeof c->verdict.text,
                 "moat %s: %s takes %d to %d arguments (%s), got %d",
                 module, entry, min_args, max_args, usage, argc);
        c->status = MOAT_CALL_MISUSE;
        return c->status;
    }
    c->rt = named ? moat_runtime_get((const char *)argv[0], err, sizeof err)
                  : moat_runtime_current(err, sizeof err);
    if (c->rt == NULL) {
        c->on_error = moat_config_salvage_on_error(
            named ? (const char *)argv[0] : moat_runtime_current_path(), module);
        moat_fault_verdict(&c->verdict, c->on_error, module, err);
        c->status = MOAT_CALL_DONE;
        return c->status;
    }
    /* an Exim process writes its decision counts together (common/stats.h) */
    moat_stats_hold(1);
    if (!per_rcpt)
        moat_stats_flush();
    settings = moat_config_settings(c->rt->config, module);
    c->on_error = settings ? settings->on_error : MOAT_ON_ERROR_ACCEPT;
    c->log_only = settings ? settings->log_only : 0;
    if (settings == NULL || !settings->enabled) {
        verdict_init(&c->verdict, "accept");
        verdict_add(&c->verdict, "reason", "disabled");
        verdict_add(&c->verdict, "module", module);
        c->rt = NULL;
        c->status = MOAT_CALL_DONE;
        return c->status;
    }
    c->status = MOAT_CALL_RUN;
    return c->status;
}

int moat_call_begin(moat_call *c, const char *module, const char *entry,
                    unsigned char **yield, int argc, unsigned char *argv[],
                    int min_args, int max_args, const char *usage)
{
    (void)yield;
    return call_begin(c, module, entry, argc, argv, min_args, max_args, usage, 0, 1);
}

int moat_call_begin_per_rcpt(moat_call *c, const char *module, const char *entry,
                             unsigned char **yield, int argc, unsigned char *argv[],
                             int min_args, int max_args, const char *usage)
{
    (void)yield;
    return call_begin(c, module, entry, argc, argv, min_args, max_args, usage, 1, 1);
}

int moat_call_begin_in_session(moat_call *c, const char *module, const char *entry,
                               unsigned char **yield, int argc, unsigned char *argv[],
                               int min_args, int max_args, const char *usage)
{
    (void)yield;
    return call_begin(c, module, entry, argc, argv, min_args, max_args, usage, 1, 0);
}

const char *moat_arg(const moat_call *c, int i)
{
    if (i < 0 || i >= c->argc || c->argv[i] == NULL)
        return "";
    return (const char *)c->argv[i];
}

void moat_call_fault(moat_call *c, const char *why)
{
    moat_fault_verdict(&c->verdict, c->on_error, c->module, why);
}

int moat_call_end(moat_call *c, unsigned char **yield)
{
    /* The verdict may echo what the SMTP peer sent: hand it back tainted. */
    *yield = string_copy_taint(US c->verdict.text, GET_TAINTED);
    return c->status == MOAT_CALL_MISUSE ? ERROR : OK;
}

int moat_call_text(moat_call *c, unsigned char **yield, const char *text)
{
    static unsigned char nothing[1];

    if (c->status == MOAT_CALL_MISUSE)
        return moat_call_end(c, yield);
    /* Exim copies what a dlfunc yields into the expansion's result: "" (a
     * good recipient's answer, on every RCPT) needs no store of Exim's */
    *yield = *text ? string_copy_taint(US text, GET_TAINTED) : nothing;
    return OK;
}

char *moat_exim_headers(size_t *len)
{
    header_line *h;
    size_t total = 0, off = 0;
    char *buf;

    for (h = header_list; h; h = h->next)
        if (h->type != '*')
            total += (size_t)h->slen;
    *len = 0;
    if (total == 0)
        return NULL;
    buf = malloc(total + 1);
    if (buf == NULL)
        return NULL;
    for (h = header_list; h; h = h->next) {
        if (h->type == '*')
            continue;
        memcpy(buf + off, h->text, (size_t)h->slen);
        off += (size_t)h->slen;
    }
    buf[off] = '\0';
    *len = off;
    return buf;
}

#ifdef MOAT_COVERAGE
/*
 * moat_coverage_dump - coverage builds only (make coverage): write this
 * module's gcov counters now. Called by tests/coverage/exit_shim.c before
 * an Exim process ends through _exit(), which skips gcov's exit handler.
 * libgcov is linked into each module and hidden, so only code inside the
 * module can reach it.
 */
extern void __gcov_dump(void);
__attribute__((visibility("default"))) void moat_coverage_dump(void);

void moat_coverage_dump(void)
{
    __gcov_dump();
}
#endif

char *moat_exim_recipients(void)
{
    size_t total = 1, off = 0;
    char *buf;

    for (int i = 0; i < recipients_count; i++)
        total += strlen((const char *)recipients_list[i].address) + 2;
    buf = malloc(total);
    if (buf == NULL)
        return NULL;
    for (int i = 0; i < recipients_count; i++) {
        size_t n = strlen((const char *)recipients_list[i].address);
        if (i > 0) {
            memcpy(buf + off, ", ", 2);
            off += 2;
        }
        memcpy(buf + off, recipients_list[i].address, n);
        off += n;
    }
    buf[off] = '\0';
    return buf;
}

int moat_exim_client_in(const char *list)
{
    int rc;

    if (sender_host_address == NULL || *sender_host_address == '\0')
        return 0;
    /* an empty host name: name items never match, and no name is looked up */
    rc = lss_match_host(US"", sender_host_address, US list);
    return rc == OK ? 1 : rc == FAIL ? 0 : -1;
}
