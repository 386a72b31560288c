/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime_fixture.c - moat.conf written and loaded for unit tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "runtime_fixture.h"

void fixture_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

moat_runtime *fixture_runtime(const char *conf_path, const char *text)
{
    char err[512];
    moat_runtime *rt;

    fixture_write(conf_path, text);
    moat_runtime_reset();
    rt = moat_runtime_get(conf_path, err, sizeof err);
    if (rt == NULL)
        fail_msg("config: %s", err);
    return rt;
}
