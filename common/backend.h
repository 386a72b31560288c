/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend.h - the parts of moat that need a library most sites never use:
 * the Redis store (hiredis), the GeoIP rules (libmaxminddb) and rcpt's CDB
 * directory (tinycdb). Exim forks a process per connection and each one
 * maps every library its modules need, so these are not in libmoat.so.0:
 * each is a shared object of its own, backends/<name>.so beside it, loaded
 * the first time a process's configuration asks for it. The static
 * libmoat.a (moatctl, the tests, benchmarks and fuzz harnesses) links them
 * in: there moat_backend answers without loading anything.
 *
 * A backend object exports one symbol, its table: moat_backend_<name>_<version>.
 * The version (MOAT_BACKEND_VERSION) names the tables' layout and what
 * libmoat exports to the backends; change it with either (and rename the
 * three tables with it). A process that mapped libmoat before the package
 * was upgraded may dlopen a backend after: a table of another version is
 * then not found, which is a fault moat reports, not a call through a
 * layout it does not know.
 */
#ifndef MOAT_BACKEND_H
#define MOAT_BACKEND_H

#include <stddef.h>

#define MOAT_BACKEND_VERSION "v1"

/*
 * moat_backend - the table of the backend called name ("redis", "geoip",
 * "cdb"), loaded on first use and kept for the life of the process; NULL
 * with why in err when it cannot be loaded (asked again, it is not tried
 * again: the same answer).
 */
const void *moat_backend(const char *name, char *err, size_t errlen);

#endif
