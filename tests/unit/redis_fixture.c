/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * redis_fixture.c - starting and stopping a real redis-server for tests.
 */
#include "redis_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int free_tcp_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int port = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* answers_ping - whether a Redis on port replies +PONG */
static int answers_ping(int port)
{
    struct sockaddr_in sa;
    char buf[16] = "";
    int ok = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {0, 200000};

    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof buf - 1) > 0)
        ok = strncmp(buf, "+PONG", 5) == 0 || strncmp(buf, "-NOAUTH", 7) == 0;
    close(fd);
    return ok;
}

int redis_fixture_start(redis_fixture *rf)
{
    char port[16];
    int i;

    if (rf->port == 0)
        rf->port = free_tcp_port();
    if (rf->dir[0] == '\0') {
        snprintf(rf->dir, sizeof rf->dir, "/tmp/moat-redis-XXXXXX");
        if (mkdtemp(rf->dir) == NULL)
            return -1;
    }
    snprintf(port, sizeof port, "%d", rf->port);
    rf->pid = fork();
    if (rf->pid < 0)
        return -1;
    if (rf->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        const char *argv[32] = {"redis-server"};
        const char *common[] = {"--port", port, "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", rf->dir};
        int n = 1, j;
        if (rf->conf)                                  /* a file comes first (sentinel's) */
            argv[n++] = rf->conf;
        for (j = 0; j < 10; j++)
            argv[n++] = common[j];
        for (j = 0; rf->extra && rf->extra[j] && n < 31; j++)
            argv[n++] = rf->extra[j];
        argv[n] = NULL;
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 100; i++) {
        int status;
        if (answers_ping(rf->port))
            return 0;
        if (waitpid(rf->pid, &status, WNOHANG) == rf->pid) {
            fprintf(stderr, "redis_fixture: redis-server did not start (is it installed? "
                            "make deps installs it)\n");
            rf->pid = 0;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

void redis_fixture_signal(redis_fixture *rf, int sig)
{
    if (rf->pid > 0) {
        kill(rf->pid, sig);
        if (sig == SIGKILL) {
            waitpid(rf->pid, NULL, 0);
            rf->pid = 0;
        }
    }
}

void redis_fixture_stop(redis_fixture *rf)
{
    if (rf->pid > 0) {
        kill(rf->pid, SIGCONT);
        kill(rf->pid, SIGTERM);
        waitpid(rf->pid, NULL, 0);
        rf->pid = 0;
    }
    if (rf->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", rf->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "redis_fixture: could not remove %s\n", rf->dir);
        rf->dir[0] = '\0';
    }
}
