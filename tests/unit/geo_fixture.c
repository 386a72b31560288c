/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * geo_fixture.c - .mmdb files for unit tests, written by the perl writer
 * the integration tests use too (run from the top of the checkout).
 */
#include "geo_fixture.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int geo_fixture_write(const char *path, const char *const *specs)
{
    const char *argv[64];
    char tmp[4200];
    size_t n = 0;
    pid_t pid;
    int status = 0;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    argv[n++] = "perl";
    argv[n++] = "tests/integration/mmdb_writer.pl";
    argv[n++] = tmp;
    while (*specs && n < sizeof argv / sizeof argv[0] - 1)
        argv[n++] = *specs++;
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp("perl", (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return rename(tmp, path);
}
