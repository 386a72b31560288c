/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * geo_fixture.h - unit tests write their own MaxMind DB files with
 * tests/integration/mmdb_writer.pl (Debian's libmaxmind-db-writer-perl).
 */
#ifndef MOAT_TEST_GEO_FIXTURE_H
#define MOAT_TEST_GEO_FIXTURE_H

/*
 * geo_fixture_write - write path mapping each "NETWORK=CC:ASN" of specs (a
 * NULL-terminated list) into a new file renamed into place, as an admin's
 * update would; 0 or -1.
 */
int geo_fixture_write(const char *path, const char *const *specs);

#endif
