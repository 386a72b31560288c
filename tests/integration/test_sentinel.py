# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 23: several MX hosts on Redis Sentinel. Two Exims share a Redis
master and its replica watched by three sentinels; the master is killed
(SIGKILL). While the sentinels fail over, good mail is never refused with
a 5xx (the store's on_error answers); once they name the new master, a
harvester blocked before the failover is still refused on both hosts, and
new blocks are written to the new master."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Exim, free_port, wait_port, wait_until
from test_rcpt import RECIPIENTS, rcpt_conf

MASTER = "moat"


class Redis:
    """One redis-server (a master, a replica or a sentinel) in its own directory."""

    def __init__(self, conf):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="moat-sentinel-", dir="/var/tmp")
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir %s\n%s"
                    % (self.port, self.dir, conf))
        self.proc = None

    def start(self, sentinel=False):
        self.proc = subprocess.Popen(["redis-server", self.conf] + (["--sentinel"] if sentinel
                                                                     else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            raise RuntimeError("redis-server did not start on %d" % self.port)
        return self

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True, timeout=5).stdout.strip()

    def kill(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def wait(cond, timeout=20.0):
    return wait_until(cond, timeout, interval=0.1)


def store_section(sentinels):
    return ('store {\n  backend = redis\n  redis {\n'
            '    sentinels = {%s}\n    master_name = "%s"\n    prefix = "moat:"\n'
            '    connect_timeout_ms = 200\n    command_timeout_ms = 300\n  }\n}\n'
            % (", ".join('"127.0.0.1:%d"' % s.port for s in sentinels), MASTER))


def first_code(ex, source, sender, rcpt):
    c = ex.smtp(source)
    c.ehlo()
    c.mail(sender)
    code = c.rcpt(rcpt).code
    c.quit()
    return code


class SentinelTest(unittest.TestCase):

    def setUp(self):
        if not shutil.which("redis-server"):
            self.fail("redis-server is not installed (make deps)")
        self.servers = []
        self.master = self._start(Redis(""))
        self.replica = self._start(Redis("replicaof 127.0.0.1 %d\n" % self.master.port))
        self.sentinels = [
            self._start(Redis("sentinel monitor %s 127.0.0.1 %d 2\n"
                              "sentinel down-after-milliseconds %s 400\n"
                              "sentinel failover-timeout %s 3000\n"
                              "sentinel parallel-syncs %s 1\n"
                              % (MASTER, self.master.port, MASTER, MASTER, MASTER)),
                        sentinel=True)
            for _ in range(3)]

    def _start(self, server, sentinel=False):
        self.servers.append(server)
        return server.start(sentinel=sentinel)

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def sentinel_master_port(self):
        out = self.sentinels[0].cli("SENTINEL", "get-master-addr-by-name", MASTER).split()
        return int(out[1]) if len(out) == 2 else None

    def test_a_failover_keeps_blocks_and_never_refuses_good_mail(self):
        # the sentinels know the replica and each other before anything fails
        self.assertTrue(wait(lambda: all(
            s.cli("SENTINEL", "replicas", MASTER).count("name") >= 1 and
            s.cli("SENTINEL", "sentinels", MASTER).count("name") >= 2 for s in self.sentinels)),
            "the sentinels did not discover each other")
        mx = []
        for name in ("mx1", "mx2"):
            ex = Exim(modules=["rcpt"], files={"recipients": RECIPIENTS}, name=name)
            ex.prepare()
            ex.store_section = lambda: store_section(self.sentinels)
            ex.write_moat_conf(rcpt_conf(ex.path("recipients"), ip_threshold=3))
            mx.append(ex.start() or ex)
        try:
            a, b = mx
            # a harvester blocked through mx1 is refused by mx2 as well
            for i in range(3):
                first_code(a, "127.0.40.7", "x@harvest.test", "nobody%d@example.test" % i)
            self.assertEqual(first_code(a, "127.0.40.7", "x@harvest.test", "alice@example.test"),
                             451)
            self.assertEqual(first_code(b, "127.0.40.7", "x@harvest.test", "alice@example.test"),
                             451)
            self.assertTrue(wait(lambda: self.replica.cli("EXISTS", "moat:rcpt:block:127.0.40.7")
                                 == "1"), "the block did not reach the replica")

            self.master.kill()
            killed = time.time()
            codes = []
            # good mail through both hosts while the sentinels fail over
            failed_over = None
            deadline = time.time() + 30
            while time.time() < deadline:
                for ex in mx:
                    codes.append(first_code(ex, "127.0.41.1", "friend@remote.test",
                                            "alice@example.test"))
                if self.sentinel_master_port() == self.replica.port:
                    failed_over = True
                    break
            self.assertTrue(failed_over, "the sentinels named no new master")
            self.assertTrue(codes and all(c < 500 for c in codes), codes)

            # after the failover: the old block holds on both hosts, good mail flows...
            def refused_on_both():
                return all(first_code(ex, "127.0.40.7", "x@harvest.test",
                                      "alice@example.test") == 451 for ex in mx)
            self.assertTrue(wait(refused_on_both, timeout=10))
            self.assertEqual(self.replica.cli("ROLE").split()[0], "master")
            for ex in mx:
                self.assertEqual(first_code(ex, "127.0.41.2", "friend@remote.test",
                                            "alice@example.test"), 250)
            # ...and a new harvester is blocked through the new master
            for i in range(3):
                first_code(b, "127.0.40.8", "y@harvest.test", "nobody%d@example.test" % i)
            self.assertEqual(first_code(a, "127.0.40.8", "y@harvest.test", "alice@example.test"),
                             451)
            self.assertEqual(self.replica.cli("EXISTS", "moat:rcpt:block:127.0.40.8"), "1")
            for ex in mx:
                self.assertEqual(ex.paniclog(), "")
            if os.environ.get("MOAT_SENTINEL_VERBOSE"):
                print("failover: %d RCPTs during it, codes %s, %.1f s"
                      % (len(codes), sorted(set(codes)), time.time() - killed))
        finally:
            for ex in mx:
                ex.stop()


if __name__ == "__main__":
    unittest.main()
