/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * auth_wrap.c - authlock's wrappers of the site's own SMTP AUTH
 * authenticators, written by moatctl enable authlock.
 *
 * Exim cannot add a step to an authenticator defined elsewhere, and refuses
 * two server authenticators with one public name. So for each of the
 * site's plaintext server authenticators (Debian's plain_server and
 * login_server with /etc/exim4/passwd, saslauthd, PAM, ...) moatctl writes
 * one of its own with the same public name that copies every server option
 * the site set (server_advertise_condition - Debian's TLS-only advertising
 * -, server_prompts, server_set_id, ...) and whose server_condition hands
 * the site's own check, as yes/no, to moat_authlock_check; and it puts the
 * site's definition, unchanged, between ".ifndef MOAT_AUTHLOCK_WRAPS" and
 * ".endif" (exim_debian.c). The wrappers, and that macro, act only under
 * .ifdef MOAT_INSTALLED and MOAT_ENABLE_AUTHLOCK: after "apt remove" or
 * "moatctl disable authlock", Exim reads the site's authenticators again. Authenticators that check passwords
 * elsewhere (dovecot, cyrus_sasl, gsasl) cannot be wrapped this way;
 * authlock then counts their failures at QUIT ($authenticated_fail_id,
 * MOAT_AUTHLOCK_EXTERNAL_AUTH).
 *
 * The options come from "exim -C FILE -bP authenticator NAME": the values
 * as Exim holds them, with macros already replaced, written back unquoted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exim_debian.h"

#define OPT_MAX 16
#define OUT_MAX 65536

typedef struct auth_opts {
    char name[128];
    int n;
    char key[OPT_MAX][64];
    char *value[OPT_MAX];
} auth_opts;

/* opt_get - the value of key ("" when unset) */
static const char *opt_get(const auth_opts *a, const char *key)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->key[i], key) == 0)
            return a->value[i];
    return "";
}

/* parse_opts - "key = value" lines of -bP authenticator into a (values point into text) */
static void parse_opts(char *text, auth_opts *a)
{
    char *line = text;

    a->n = 0;
    while (line != NULL && *line != '\0' && a->n < OPT_MAX) {
        char *nl = strchr(line, '\n'), *eq;
        if (nl)
            *nl = '\0';
        if ((eq = strstr(line, " = ")) != NULL && eq - line < 64) {
            snprintf(a->key[a->n], sizeof a->key[a->n], "%.*s", (int)(eq - line), line);
            a->value[a->n++] = eq + 3;
        }
        line = nl ? nl + 1 : NULL;
    }
}

/* user_pass - the $authN variables holding the user name and the password */
static void user_pass(const auth_opts *a, const char **user, const char **pass)
{
    const char *set_id = opt_get(a, "server_set_id");

    if (strcasecmp(opt_get(a, "public_name"), "PLAIN") == 0 || strcmp(set_id, "$auth2") == 0) {
        *user = "$auth2";
        *pass = "$auth3";
    } else {
        *user = "$auth1";
        *pass = "$auth2";
    }
}

/* the server options a wrapper copies from the site's authenticator when set */
static const char *const copied[] = {
    "public_name", "server_prompts", "server_advertise_condition", "server_set_id",
    "server_mail_auth_condition", "server_debug_print",
};

char *auth_wrap(const deb_exim *d, const char *conf, int *external, char wrapped_names[][128],
                int *nwrapped, char *summary, size_t summarylen)
{
    static char list[8192];
    char *out = malloc(OUT_MAX), *argv[8], *name, *save = NULL;
    size_t len = 0, slen = 0;
    int wrapped = 0;

    *external = 0;
    *nwrapped = 0;
    if (summarylen > 0)
        summary[0] = '\0';
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    argv[0] = (char *)d->exim;
    argv[1] = (char *)"-C";
    argv[2] = (char *)conf;
    argv[3] = (char *)"-bP";
    argv[4] = (char *)"authenticator_list";
    argv[5] = NULL;
    if (deb_run(argv, NULL, list, sizeof list, 0) != 0) {
        snprintf(summary, summarylen, "exim -bP authenticator_list: %s", list);
        free(out);
        return NULL;
    }
#define OUT(...) (len += (size_t)snprintf(out + len, len < OUT_MAX ? OUT_MAX - len : 0, __VA_ARGS__))
#define SAY(...) (slen += (size_t)snprintf(summary + slen, slen < summarylen ? summarylen - slen : 0, __VA_ARGS__))
    for (name = strtok_r(list, "\n", &save); name != NULL; name = strtok_r(NULL, "\n", &save)) {
        static char text[OUT_MAX];
        auth_opts a;
        const char *driver, *cond, *user, *pass;

        if (strncmp(name, "moat_", 5) == 0 || *name == '\0')
            continue;
        argv[4] = (char *)"authenticator";
        argv[5] = name;
        argv[6] = NULL;
        if (deb_run(argv, NULL, text, sizeof text, 0) != 0)
            continue;
        parse_opts(text, &a);
        snprintf(a.name, sizeof a.name, "%s", name);
        driver = opt_get(&a, "driver");
        cond = opt_get(&a, "server_condition");
        if (strcmp(driver, "plaintext") != 0) {
            if (strcmp(driver, "dovecot") == 0 || strcmp(driver, "cyrus_sasl") == 0 ||
                strcmp(driver, "gsasl") == 0) {
                *external = 1;
                SAY("  %s (%s): checks passwords outside Exim; failures counted at QUIT\n",
                    name, driver);
            }
            continue;
        }
        if (*cond == '\0')
            continue;   /* a client-side authenticator */
        if (*nwrapped >= DEB_MAX_WRAPPED || strlen(name) >= 120)
            continue;
        snprintf(wrapped_names[(*nwrapped)++], 128, "%s", name);
        if (!wrapped)
            OUT("# moat authlock: written by \"moatctl enable authlock\" from the site's own\n"
                "# authenticators (which stay as they are, after these); rewritten by\n"
                "# every enable/disable. Acts only while exim4-moat is installed and\n"
                "# authlock is enabled; MOAT_AUTHLOCK_WRAPS then keeps Exim from reading\n"
                "# the site's own definitions (moatctl put them between .ifndef lines).\n"
                ".ifdef MOAT_INSTALLED\n.ifdef MOAT_ENABLE_AUTHLOCK\n"
                "MOAT_AUTHLOCK_WRAPS = yes\n");
        wrapped++;
        user_pass(&a, &user, &pass);
        OUT("\n# wraps %s\nmoat_%s:\n  driver = plaintext\n", name, name);
        for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
            if (*opt_get(&a, copied[i]) != '\0')
                OUT("  %s = %s\n", copied[i], opt_get(&a, copied[i]));
        OUT("  server_condition = ${if eq{${extract{action}\\\n"
            "    {${dlfunc{%s/authlock.so}{moat_authlock_check}{%s}\\\n"
            "      {$sender_host_address}{%s}{%s}{${if bool{%s}{yes}{no}}}}}}}{accept}}\n",
            d->libdir, d->moat_config, user, pass, cond);
        SAY("  %s (%s): wrapped as moat_%s; its password check%s%s kept\n", name,
            opt_get(&a, "public_name"), name,
            *opt_get(&a, "server_advertise_condition") ? " and server_advertise_condition "
                                                         : "",
            opt_get(&a, "server_advertise_condition"));
    }
    if (wrapped)
        OUT("\n.endif\n.endif\n");
    else if (!*external)
        SAY("  no SMTP AUTH server authenticator with a password check: nothing to wrap\n");
#undef OUT
#undef SAY
    if (len >= OUT_MAX) {
        snprintf(summary, summarylen, "the site's authenticators are too long to wrap");
        free(out);
        return NULL;
    }
    return out;
}
