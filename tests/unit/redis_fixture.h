/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * redis_fixture.h - a real redis-server on 127.0.0.1 for unit tests: started
 * in a temporary directory on a free port, stopped (or paused, killed,
 * restarted) by the test.
 */
#ifndef MOAT_TEST_REDIS_FIXTURE_H
#define MOAT_TEST_REDIS_FIXTURE_H

#include <sys/types.h>

typedef struct redis_fixture {
    pid_t pid;
    int port;
    char dir[64];             /* "" : a temporary one is made */
    const char *const *extra; /* more redis-server arguments, NULL-terminated, or NULL */
    const char *conf;         /* a configuration file (a sentinel needs one), or NULL */
} redis_fixture;

/*
 * redis_fixture_start - 0 when a server answers on rf->port (port 0: pick
 * one); a server that demands a password counts as answering.
 */
int redis_fixture_start(redis_fixture *rf);
void redis_fixture_stop(redis_fixture *rf);
/* redis_fixture_signal - SIGSTOP / SIGCONT / SIGKILL the server */
void redis_fixture_signal(redis_fixture *rf, int sig);

/* free_tcp_port - a port on 127.0.0.1 nobody listens on right now */
int free_tcp_port(void);

#endif
