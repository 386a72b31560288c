/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * autoreply.c - moatctl autoreply VERB:
 *   classify [--sender S] [--recipient R] [--spam-score N] [--spf RESULT]
 *            [--catchall-only] FILE|-
 *       the verdict the DATA ACL would get for that message (exit 1 when
 *       it is never to be answered); reads the store, never writes it
 *   history ADDRESS
 *       what moat remembers about an address (and its domain's counter)
 *   reply [--from USER] [--to SENDER] [--text TEXT] -- EXIM [ARGS...]
 *       the shipped vacation responder's transport (a pipe, as the Exim
 *       user; USER and SENDER default to the RECIPIENT and SENDER Exim puts
 *       in a pipe's environment): reads the message answered on standard input, composes the
 *       reply (modules/autoreply/reply.c) and submits it to Exim with the
 *       envelope sender <> and SENDER as the one recipient, never taken
 *       from a header
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autoreply/autoreply.h"
#include "autoreply/headers.h"
#include "autoreply/reply.h"
#include "ctl.h"

#define MESSAGE_MAX HEADERS_MAX_BYTES

static int usage(void)
{
    fprintf(stderr,
            "usage: moatctl autoreply classify [--sender S] [--recipient R] [--spam-score N]\n"
            "                                  [--spf RESULT] [--catchall-only] FILE|-\n"
            "       moatctl autoreply history ADDRESS\n"
            "       moatctl autoreply reply [--from USER] [--to SENDER] [--text TEXT] -- EXIM [ARGS]\n"
            "Without --sender, the file's Return-Path: is the envelope sender (as in a\n"
            "delivered message); without either, the null sender. With one --recipient,\n"
            "vacation= says whether the shipped vacation responder would answer for it.\n");
    return CTL_USAGE;
}

/* read_all - up to MESSAGE_MAX bytes of f, NUL-terminated; NULL when out of memory */
static char *read_all(FILE *f, size_t *len)
{
    char *text = malloc(MESSAGE_MAX + 1);
    size_t n;

    *len = 0;
    if (text == NULL)
        return NULL;
    while (*len < MESSAGE_MAX && (n = fread(text + *len, 1, MESSAGE_MAX - *len, f)) > 0)
        *len += n;
    text[*len] = '\0';
    return text;
}

/* return_path - the address of the file's Return-Path: field, or "" */
static void return_path(const char *text, size_t len, char *out, size_t cap)
{
    header_block hb;
    const char *v;

    out[0] = '\0';
    if (headers_parse(&hb, text, len) != 0)
        return;
    if ((v = headers_get(&hb, "Return-Path", 0)) != NULL && !header_address(v, out, cap))
        out[0] = '\0';
    headers_free(&hb);
}

static int classify(const ctl_env *env, int argc, char **argv)
{
    const char *sender = NULL, *file = NULL, *why = "";
    char envelope[320], klass[16] = "", skipped[64];
    autoreply_message m;
    moat_runtime *rt;
    moat_verdict v;
    char *text;
    size_t len;
    FILE *f;
    int i, rc;

    memset(&m, 0, sizeof m);
    m.recipients = "";
    m.spam_score = "";
    m.spf_result = "";
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
            sender = argv[++i];
        else if (strcmp(argv[i], "--recipient") == 0 && i + 1 < argc)
            m.recipients = argv[++i];
        else if (strcmp(argv[i], "--spam-score") == 0 && i + 1 < argc)
            m.spam_score = argv[++i];
        else if (strcmp(argv[i], "--spf") == 0 && i + 1 < argc)
            m.spf_result = argv[++i];
        else if (strcmp(argv[i], "--catchall-only") == 0)
            m.catchall_only = 1;
        else if (file == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            file = argv[i];
        else
            return usage();
    }
    if (file == NULL)
        return usage();
    /* the message first: ctl_runtime may give up root for the store's owner */
    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (f == NULL) {
        perror(file);
        return CTL_USAGE;
    }
    if ((rt = ctl_runtime(env)) == NULL) {
        if (f != stdin)
            fclose(f);
        return CTL_USAGE;
    }
    text = read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (text == NULL) {
        fprintf(stderr, "moatctl autoreply classify: out of memory\n");
        return CTL_USAGE;
    }
    if (sender == NULL) {
        return_path(text, len, envelope, sizeof envelope);
        sender = envelope;
    }
    m.headers = text;
    m.headers_len = len;
    m.sender = sender;
    m.now = time(NULL);
    rc = autoreply_classify_text(rt, &m, &v, &why);
    if (rc == 0 && strchr(m.recipients, '@') != NULL && strpbrk(m.recipients, ", ") == NULL) {
        /* What the vacation router would decide for this one recipient. */
        const char *reason;
        if (autoreply_vacation_check(rt, &m, m.recipients, &reason))
            verdict_add(&v, "vacation", "yes");
        else {
            verdict_add(&v, "vacation", "no");
            verdict_add(&v, "vacation_reason", reason);
        }
    }
    free(text);
    if (rc != 0) {
        fprintf(stderr, "moatctl autoreply classify: %s\n", why);
        return CTL_USAGE;
    }
    if (verdict_get(v.text, "skipped", skipped, sizeof skipped))
        fprintf(stderr, "moatctl autoreply classify: the store could not be read (%s): "
                "the %s check was skipped\n", moat_store_last_error(rt->store), skipped);
    if (env->json) {
        printf("{\"sender\":");
        ctl_json_string(stdout, sender);
        printf(",\"verdict\":");
        ctl_json_string(stdout, v.text);
        printf("}\n");
    } else {
        printf("%s\n", v.text);
    }
    verdict_get(v.text, "class", klass, sizeof klass);
    return strcmp(klass, "never") == 0 ? CTL_PROBLEM : CTL_OK;
}

typedef struct history_out {
    const ctl_env *env;
    int n;
} history_out;

static int print_history(const char *key, const char *note, time_t expires, void *arg)
{
    history_out *h = arg;
    char when[32] = "";
    struct tm tm;

    if (expires && gmtime_r(&expires, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (h->env->json) {
        printf("%s{\"record\":", h->n ? "," : "");
        ctl_json_string(stdout, key);
        printf(",\"note\":");
        ctl_json_string(stdout, note);
        printf(",\"expires\":");
        ctl_json_string(stdout, when);
        printf("}");
    } else {
        printf("%-56s %-24s %s%s\n", ctl_safe(key), ctl_safe(note), expires ? "expires " : "",
               expires ? when : "(a counter: sliding window)");
    }
    h->n++;
    return 0;
}

static int history(const ctl_env *env, const char *address)
{
    history_out h = {env, 0};
    moat_runtime *rt = ctl_runtime(env);

    if (rt == NULL)
        return CTL_USAGE;
    if (env->json)
        printf("[");
    if (autoreply_history(rt, address, print_history, &h) != 0) {
        if (env->json)
            printf("]\n");
        fprintf(stderr, "moatctl autoreply history: %s\n", moat_store_last_error(rt->store));
        return CTL_USAGE;
    }
    if (env->json)
        printf("]\n");
    else if (h.n == 0)
        printf("nothing recorded about %s\n", address);
    return CTL_OK;
}

/* submit - run argv (Exim) with msg on its standard input; 0, or -1 with a message printed */
static int submit(char **argv, const char *msg, size_t len)
{
    int fd[2], status;
    pid_t pid;
    size_t off = 0;

    if (pipe(fd) != 0) {
        perror("moatctl autoreply reply: pipe");
        return -1;
    }
    if ((pid = fork()) < 0) {
        perror("moatctl autoreply reply: fork");
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[0], 0);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        fprintf(stderr, "moatctl autoreply reply: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[0]);
    signal(SIGPIPE, SIG_IGN);
    while (off < len) {
        ssize_t w = write(fd[1], msg + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (off < len || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "moatctl autoreply reply: %s did not take the reply (status %d)\n",
                argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}

/*
 * reply - the vacation transport: compose the answer to the message on
 * standard input and hand it to Exim (argv after "--", then -oi -f <> --
 * SENDER). Exit 0 when sent or deliberately not sent, 75 (EX_TEMPFAIL)
 * when Exim did not take it.
 */
static int reply(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *text = "I am away.", *problem;
    char **exim = NULL, **args;
    header_block hb;
    char *in, *msg;
    size_t in_len, msg_len;
    int i, n, rc;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc)
            text = argv[++i];
        else if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            exim = argv + i + 1;
            break;
        } else
            return usage();
    }
    if (from == NULL)
        from = getenv("RECIPIENT");                    /* what Exim's pipe transport sets */
    if (to == NULL)
        to = getenv("SENDER");
    if (from == NULL || to == NULL || exim == NULL)
        return usage();
    if ((problem = reply_sender_problem(to)) != NULL ||
        (problem = reply_sender_problem(from)) != NULL) {
        printf("moatctl autoreply reply: not answered: %s\n", problem);
        return CTL_OK;
    }
    if ((in = read_all(stdin, &in_len)) == NULL || headers_parse(&hb, in, in_len) != 0) {
        fprintf(stderr, "moatctl autoreply reply: out of memory\n");
        free(in);
        return 75;
    }
    msg = reply_compose(&hb, from, to, text, &msg_len);
    headers_free(&hb);
    free(in);
    for (n = 0; exim[n]; n++)
        ;
    args = calloc((size_t)n + 7, sizeof *args);
    if (msg == NULL || args == NULL) {
        fprintf(stderr, "moatctl autoreply reply: out of memory\n");
        free(msg);
        free(args);
        return 75;
    }
    memcpy(args, exim, (size_t)n * sizeof *args);
    args[n++] = "-oi";
    args[n++] = "-f";
    args[n++] = "<>";
    args[n++] = "--";
    args[n++] = (char *)to;
    rc = submit(args, msg, msg_len) == 0 ? CTL_OK : 75;
    free(msg);
    free(args);
    return rc;
}

int ctl_autoreply(const ctl_env *env, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "reply") == 0)
        return reply(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "classify") == 0)
        return classify(env, argc, argv);
    if (argc == 3 && strcmp(argv[1], "history") == 0)
        return history(env, argv[2]);
    return usage();
}
