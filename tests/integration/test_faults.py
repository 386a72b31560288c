# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8 (faults): moat's own parts fail - Redis killed or stalled, the
LMDB map full, the state directory unwritable, the disk under it full - and Exim keeps answering
per on_error within its time budget: one clear log line per process, no
crash, no paniclog entry, no mail lost."""

import os
import struct
import subprocess
import time
import unittest

from harness import Exim, RedisServer, message

RCPT_FILE = "alice@example.test\nbob@example.test\npostmaster@example.test\n"


def faulty_exim(store_section, **kw):
    ex = Exim(modules=["rcpt", "authlock"], files={"recipients": RCPT_FILE}, **kw)
    ex.prepare()
    ex.write_moat_conf(store_section + 'rcpt {\n  source = file\n  file = "%s"\n}\n'
                       % ex.path("recipients"), raw=True)
    return ex


# How far beyond its time budget a reply may come before the test calls it a
# hang: generous, for a loaded machine (the client's own timeout is 30 s).
HANG_FACTOR = 8


def transaction(ex, source):
    """AUTH (wrong), MAIL, RCPT valid, RCPT unknown, DATA: codes and the slowest reply."""
    c = ex.smtp(source)
    c.ehlo()
    slowest = 0.0
    codes = []
    for step in (lambda: c.auth_plain("alice", "wrong"), lambda: c.mail("someone@remote.test"),
                 lambda: c.rcpt("alice@example.test"), lambda: c.rcpt("nobody@example.test")):
        t = time.time()
        codes.append(step()[0])
        slowest = max(slowest, time.time() - t)
    codes.append(c.data(message(to="alice@example.test"))[0])
    c.quit()
    return codes, slowest


class FaultTest(unittest.TestCase):

    def assert_served(self, ex, codes, slowest, budget):
        # AUTH fails (wrong password), alice is accepted, nobody is refused by
        # Exim's own routing, the message is delivered: moat's fault cost nothing.
        self.assertEqual(codes, [535, 250, 250, 550, 250])
        # What this catches is a hang (a stalled store without timeouts holds
        # the reply until the client's 30 s timeout, Exim's own is 5 min);
        # the bound is HANG_FACTOR times moat's budget, so that a machine
        # under heavy load does not fail it.
        self.assertLess(slowest, budget * HANG_FACTOR)
        self.assertTrue(ex.wait_maildir("alice", 1))
        self.assertEqual(ex.paniclog(), "")

    def test_redis_killed(self):
        redis = RedisServer().start()
        store = ('store {\n  backend = redis\n  redis {\n    port = %d\n  }\n}\n' % redis.port)
        ex = faulty_exim(store)
        with ex:
            redis.kill()
            codes, slowest = transaction(ex, "127.0.80.1")
            self.assert_served(ex, codes, slowest, 1.0)
            errors = [l for l in ex.mainlog().splitlines() if "moat rcpt: error:" in l]
            self.assertEqual(len(errors), 1, errors)   # once per process, however many calls
            self.assertIn("redis 127.0.0.1:%d" % redis.port, errors[0])
        redis.stop()

    def test_redis_stalled(self):
        redis = RedisServer().start()
        store = ('store {\n  backend = redis\n  redis {\n    port = %d\n  }\n}\n' % redis.port)
        ex = faulty_exim(store)
        try:
            with ex:
                redis.pause()
                codes, slowest = transaction(ex, "127.0.80.2")
                self.assert_served(ex, codes, slowest, 1.0)
                self.assertIn("moat rcpt: error:", ex.mainlog())
        finally:
            redis.resume()
            redis.stop()

    def test_lmdb_map_full(self):
        ex = faulty_exim("")
        state = ex.path("state")
        # Fill a 1 MB map with records that never expire, the way a flood would:
        # one record a transaction, until LMDB refuses the next one.
        header = struct.pack("<BBHIq", 3, 1, 0, 0, 1 << 60)
        full = False
        for size in (1500, 200, 16):   # big records first, then ever smaller ones
            for i in range(3000):
                dump = "\n".join(["VERSION=3", "format=bytevalue", "type=btree",
                                  "mapsize=1048576", "HEADER=END",
                                  " " + ("fill:%d:%05d" % (size, i)).encode().hex(),
                                  " " + (header + b"x" * size).hex(), "DATA=END"]) + "\n"
                r = subprocess.run(["mdb_load", state], input=dump, text=True,
                                   capture_output=True)
                if r.returncode != 0:
                    full = "MDB_MAP_FULL" in r.stderr
                    break
        self.assertTrue(full, "the map never filled")
        subprocess.run(["chown", "-R", "Debian-exim:Debian-exim", state], check=True)
        ex.write_moat_conf('store {\n  path = "%s"\n  map_size = 1M\n}\n'
                           'rcpt {\n  source = file\n  file = "%s"\n}\n'
                           % (state, ex.path("recipients")), raw=True)
        with ex:
            codes, slowest = transaction(ex, "127.0.80.3")
            self.assert_served(ex, codes, slowest, 2.0)
            log = ex.mainlog()
            self.assertIn("is full (map_size = 1048576 bytes)", log)
            self.assertEqual(log.count("is full (map_size"), 1)

    def test_state_directory_unwritable(self):
        ex = faulty_exim("")
        locked = ex.path("locked")
        os.makedirs(locked)
        os.chmod(locked, 0o500)   # root's, not the Exim user's
        ex.write_moat_conf('store {\n  path = "%s/state"\n  map_size = 16M\n}\n'
                           'rcpt {\n  source = file\n  file = "%s"\n}\n'
                           % (locked, ex.path("recipients")), raw=True)
        with ex:
            codes, slowest = transaction(ex, "127.0.80.4")
            self.assert_served(ex, codes, slowest, 1.0)
            self.assertIn("cannot create %s/state" % locked, ex.mainlog())

    def test_disk_full_under_the_store(self):
        # A 1 MB file system that a file fills but for 32 KB, and a map of 64 MB:
        # the map cannot be reserved, so Exim's processes write with pwrite and
        # get errors when the disk fills, where writing through the map would
        # have killed them with SIGBUS.
        ex = faulty_exim("")
        small = ex.path("small")
        os.makedirs(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", "-l", small], capture_output=True)
        with open(os.path.join(small, "filler"), "wb") as f:
            f.write(b"\0" * (1024 * 1024 - 32 * 1024))
        os.makedirs(os.path.join(small, "state"))
        subprocess.run(["chown", "-R", "Debian-exim:Debian-exim", small], check=True)
        ex.write_moat_conf('store {\n  path = "%s/state"\n  map_size = 64M\n}\n'
                           'rcpt {\n  source = file\n  file = "%s"\n}\n'
                           % (small, ex.path("recipients")), raw=True)
        with ex:
            for n in range(4):
                codes, slowest = transaction(ex, "127.0.80.%d" % (10 + n))
                self.assertEqual(codes, [535, 250, 250, 550, 250])
                self.assertLess(slowest, 2.0 * HANG_FACTOR)   # not hung
            self.assertTrue(ex.wait_maildir("alice", 4))
            self.assertEqual(ex.paniclog(), "")
            log = ex.mainlog()
            self.assertIn("cannot reserve 67108864 bytes", log)
            self.assertIn("moat rcpt: error:", log)   # the disk did fill
            self.assertNotIn("signal", log)           # no process of Exim's was killed

    def test_on_error_defer_answers_451_never_550(self):
        redis = RedisServer().start()
        store = ('store {\n  backend = redis\n  redis {\n    port = %d\n  }\n}\n' % redis.port)
        ex = Exim(modules=["rcpt"], files={"recipients": RCPT_FILE})
        ex.prepare()
        ex.write_moat_conf(store + 'rcpt {\n  on_error = defer\n  source = file\n  file = "%s"\n}\n'
                           % ex.path("recipients"), raw=True)
        with ex:
            redis.kill()
            c = ex.smtp("127.0.80.5")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual(c.rcpt("nobody@example.test")[0], 451)
            self.assertEqual(c.rcpt("alice@example.test")[0], 451)
            c.quit()
            self.assertEqual(ex.paniclog(), "")
        redis.stop()


if __name__ == "__main__":
    unittest.main()
