/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * api.h - what libmoat.so exports to the module objects Exim dlopens.
 *
 * Every module's logic, common/ and the registry are one shared library,
 * libmoat.so.0 (private to the package, beside the modules): the dynamic
 * loader maps it once per process however many modules Exim loads, so
 * there is one parsed moat.conf, one store handle and one log-once table
 * per process. Everything is built with -fvisibility=hidden; MOAT_API marks
 * the few functions a module's exim.c or common/exim_glue.c calls, and no
 * others (tests/integration/check_exports.py holds the list to exactly what
 * the modules and libmoat's backends, backend.h, use). moatctl, the unit tests, benchmarks and fuzz harnesses
 * link the same objects statically and see everything.
 */
#ifndef MOAT_API_H
#define MOAT_API_H

#define MOAT_API __attribute__((visibility("default")))

#endif
