/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * deadline.h - waiting on a socket until an absolute deadline on the
 * monotonic clock, with poll() (never alarm(): Exim owns SIGALRM). Every
 * network wait of a probe - DNS and SMTP - goes through here, so a probe
 * never outlives the time it was given.
 */
#ifndef MOAT_CATCHALL_DEADLINE_H
#define MOAT_CATCHALL_DEADLINE_H

#include <errno.h>
#include <poll.h>
#include <time.h>

/* deadline_now_ms - milliseconds on the monotonic clock */
static inline long deadline_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* deadline_wait - poll fd for events until deadline: 1 ready, 0 timed out, -1 error */
static inline int deadline_wait(int fd, short events, long deadline)
{
    struct pollfd p = {fd, events, 0};
    int r;

    do {
        long left = deadline - deadline_now_ms();
        if (left <= 0)
            return 0;
        r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
    } while ((r < 0 && errno == EINTR) || (r == 0 && deadline - deadline_now_ms() > 0));
    return r < 0 ? -1 : r;
}

#endif
