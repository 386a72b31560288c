# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8 (load): 200 concurrent SMTP sessions with AUTH failures and
invalid recipients from many 127.x addresses: every message delivered, no
deadlock, and the counters exact - on LMDB and on Redis."""

import threading
import unittest

from harness import Exim, RedisServer, message

SESSIONS = 200
RCPT_FILE = "alice@example.test\nbob@example.test\npostmaster@example.test\n"
CONF = ('rcpt {\n  source = file\n  file = "%s"\n  ip_threshold = 1000\n  net_threshold = 1000\n'
        '  sender_domain_threshold = 100000\n  domain_attack_threshold = 100000\n'
        '  tarpit_base = 0\n}\n'
        'authlock {\n  ip_threshold = 1000\n  net_threshold = 1000\n  spray_threshold = 1000\n'
        '  user_threshold = 100000\n  distributed_ips = 100000\n  tarpit_base = 0\n}\n')


def session(ex, i, results):
    src = "127.4.%d.%d" % (i // 100, i % 100 + 1)
    try:
        c = ex.smtp(src, timeout=60)
        c.ehlo()
        auth = c.auth_plain("bob", "wrong-%d" % i)[0]
        c.mail("load%d@remote.test" % i)
        bad = c.rcpt("nobody%d@example.test" % i)[0]
        good = c.rcpt("alice@example.test")[0]
        data = c.data(message(sender="load%d@remote.test" % i, to="alice@example.test",
                              subject="load %d" % i))[0]
        c.quit()
        results[i] = (auth, bad, good, data)
    except Exception as e:   # recorded, asserted below
        results[i] = ("error", str(e))


class LoadTest(unittest.TestCase):

    def run_load(self, ex):
        results = [None] * SESSIONS
        threads = [threading.Thread(target=session, args=(ex, i, results)) for i in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "sessions still running: deadlock?")
        self.assertEqual([r for r in results if r != (535, 550, 250, 250)], [])
        self.assertTrue(ex.wait_maildir("alice", SESSIONS, timeout=120),
                        "%d of %d delivered" % (len(ex.maildir("alice")), SESSIONS))
        # Exact counts: 100 invalid recipients and 100 AUTH failures per /24.
        for net in ("127.4.0.1", "127.4.1.1"):
            st = ex.moatctl("--json", "rcpt", "status", net)
            self.assertIn('"invalid_network":100', st.stdout, st.stdout + st.stderr)
        self.assertEqual(ex.paniclog(), "")

    def test_lmdb(self):
        ex = Exim(modules=["rcpt", "authlock"], files={"recipients": RCPT_FILE})
        ex.prepare()
        ex.write_moat_conf(CONF % ex.path("recipients"))
        with ex:
            self.run_load(ex)

    def test_redis(self):
        redis = RedisServer().start()
        try:
            ex = Exim(modules=["rcpt", "authlock"], store="redis", redis=redis,
                      files={"recipients": RCPT_FILE})
            ex.prepare()
            ex.write_moat_conf(CONF % ex.path("recipients"))
            with ex:
                self.run_load(ex)
        finally:
            redis.stop()


if __name__ == "__main__":
    unittest.main()
