/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime_fixture.h - unit tests that need a whole moat runtime write
 * their moat.conf and load it through these, failing the test when either
 * step does not work.
 */
#ifndef MOAT_TEST_RUNTIME_FIXTURE_H
#define MOAT_TEST_RUNTIME_FIXTURE_H

#include "runtime.h"

/* fixture_write - put text into the file at path */
void fixture_write(const char *path, const char *text);

/* fixture_runtime - write text as the moat.conf at conf_path and load a fresh runtime from it */
moat_runtime *fixture_runtime(const char *conf_path, const char *text);

#endif
