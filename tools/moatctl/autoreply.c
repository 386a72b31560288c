/*
 * autoreply.c - moatctl autoreply VERB:
 *   classify [--sender S] [--recipient R] FILE   the verdict the DATA ACL would get
 *   history ADDRESS                              what moat remembers about an address
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoreply/autoreply.h"
#include "ctl.h"

#define MESSAGE_MAX ((size_t)1024 * 1024)

static int usage(void)
{
    fprintf(stderr, "usage: moatctl autoreply classify [--sender S] [--recipient R] FILE|-\n"
                    "       moatctl autoreply history ADDRESS\n");
    return CTL_USAGE;
}

static int classify(const ctl_env *env, int argc, char **argv)
{
    const char *sender = NULL, *recipient = "", *file = NULL;
    autoreply_message m;
    moat_runtime *rt;
    moat_verdict v;
    char *text, klass[16] = "";
    size_t len = 0, n;
    FILE *f;
    int i;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
            sender = argv[++i];
        else if (strcmp(argv[i], "--recipient") == 0 && i + 1 < argc)
            recipient = argv[++i];
        else if (file == NULL)
            file = argv[i];
        else
            return usage();
    }
    if (file == NULL)
        return usage();
    if ((rt = ctl_runtime(env)) == NULL)
        return CTL_USAGE;
    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (f == NULL) {
        perror(file);
        return CTL_USAGE;
    }
    text = malloc(MESSAGE_MAX + 1);
    if (text == NULL)
        return CTL_USAGE;
    while ((n = fread(text + len, 1, MESSAGE_MAX - len, f)) > 0 && len < MESSAGE_MAX)
        len += n;
    if (f != stdin)
        fclose(f);
    text[len] = '\0';
    memset(&m, 0, sizeof m);
    m.headers = text;
    m.headers_len = len;
    /* Without --sender, the Return-Path a delivered file carries, else the From: address. */
    m.sender = sender ? sender : "";
    m.recipients = recipient;
    m.now = time(NULL);
    autoreply_classify_text(rt, &m, &v);
    free(text);
    if (env->json) {
        printf("{\"verdict\":");
        ctl_json_string(stdout, v.text);
        printf("}\n");
    } else {
        printf("%s\n", v.text);
    }
    verdict_get(v.text, "class", klass, sizeof klass);
    return strcmp(klass, "never") == 0 ? CTL_PROBLEM : CTL_OK;
}

static int print_history(const char *what, const char *detail, time_t expires, void *arg)
{
    int *n = arg;

    (void)detail;
    printf("%-60s until %s", what, expires ? ctime(&expires) : "(counter)\n");
    (*n)++;
    return 0;
}

int ctl_autoreply(const ctl_env *env, int argc, char **argv)
{
    moat_runtime *rt;
    int n = 0;

    if (argc >= 3 && strcmp(argv[1], "classify") == 0)
        return classify(env, argc, argv);
    if (argc == 3 && strcmp(argv[1], "history") == 0) {
        if ((rt = ctl_runtime(env)) == NULL)
            return CTL_USAGE;
        if (autoreply_history(rt, argv[2], print_history, &n) != 0) {
            fprintf(stderr, "moatctl autoreply history: %s\n", moat_store_last_error(rt->store));
            return CTL_USAGE;
        }
        if (n == 0)
            printf("nothing recorded about %s\n", argv[2]);
        return CTL_OK;
    }
    return usage();
}
