# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 19: a flood of hostile mail into a small LMDB map (1 MB) through a
real Exim with every module on: long senders from long domains, many
recipients with long local parts, hundreds of sessions in parallel. The map
fills to its reserve; then an AUTH guesser is still locked out, a harvester
is still blocked, the mainlog has the error line about the full map, and
`moatctl status` exits 1 naming the map's use."""

import os
import re
import subprocess
import threading
import unittest

from harness import HERE, Exim, message
from test_authlock import BASE as AUTHLOCK_BASE, GEO, auth
from test_rcpt import try_rcpts

RCPT = dict(ip_threshold=150, net_threshold=1000, sender_domain_threshold=100000,
            tarpit_base="0", tarpit_max="0", session_max_invalid=1000,
            domain_attack_threshold=100000, block_time="10m")


def flood_exim():
    ex = Exim(vacation={"bob": "Bob is away."}, map_size="1M")
    ex.prepare()
    mmdb = ex.path("geo.mmdb")
    subprocess.run(["perl", os.path.join(HERE, "mmdb_writer.pl"), mmdb] + GEO, check=True)
    os.chmod(mmdb, 0o644)
    conf = "rcpt {\n%s\n}\n" % "\n".join("  %s = %s" % kv for kv in RCPT.items())
    conf += "authlock {\n%s\n}\n" % "\n".join("  %s = %s" % kv
                                              for kv in AUTHLOCK_BASE.items())
    conf += 'geoip {\n  country_db = "%s"\n  asn_db = "%s"\n}\n' % (mmdb, mmdb)
    ex.write_moat_conf(conf)
    return ex


def hostile_session(ex, n):
    """One session from its own /24: a long sender of a long domain of its
    own, 140 long unknown recipients (a few short of blocking the client),
    and a message to bob, who is on vacation. Every record it leaves but
    the client's own counters is one a stranger made."""
    source = "127.%d.%d.1" % (100 + n // 250, n % 250)
    domain = "d%d-%s.flood.test" % (n, "x" * 180)
    sender = "s%d-%s@%s" % (n, "y" * 50, domain)
    c = ex.smtp(source)
    try:
        c.ehlo()
        if c.mail(sender).code != 250:
            return
        for i in range(140):
            if c.rcpt("u%d-%d-%s@example.test" % (n, i, "z" * 180)).code < 0:
                return
        if c.rcpt("bob@example.test").code == 250:
            c.data(message(sender=sender, to="bob@example.test"))
        c.quit()
    finally:
        c.close()


class FloodTest(unittest.TestCase):

    def test_a_flood_into_a_small_map_leaves_lockout_and_harvest_blocking_on(self):
        with flood_exim() as ex:
            # before: a harvester is blocked; it must stay so
            self.assertEqual(try_rcpts(ex, "127.0.90.1", ["h%d@example.test" % i
                                                          for i in range(152)])[-1], 451)
            # Parallel sessions until moatctl status says the map is nearly
            # full, then as many again: the reserve must hold.
            state = {"next": 0, "full_at": None}
            lock = threading.Lock()

            def flooder():
                while True:
                    with lock:
                        full_at = state["full_at"]
                        if state["next"] >= (2 * full_at if full_at else 200):
                            return
                        n = state["next"]
                        state["next"] += 1
                    hostile_session(ex, n)
                    if full_at is None and ex.moatctl("status").returncode == 1:
                        with lock:
                            state["full_at"] = state["full_at"] or state["next"]

            threads = [threading.Thread(target=flooder) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertIsNotNone(state["full_at"], state)
            status = ex.moatctl("status")
            self.assertEqual(status.returncode, 1, status.stdout + status.stderr)
            used = re.search(r"LMDB map (\d+\.\d)% used", status.stdout)
            self.assertIsNotNone(used, status.stdout)
            self.assertGreaterEqual(float(used.group(1)), 90.0)
            # an AUTH guesser is locked out: even the right password fails then
            for i in range(8):
                self.assertIn(auth(ex, "127.0.21.7", "alice", "guess%d" % i)[0], (535, 454))
            self.assertIn(auth(ex, "127.0.21.7", "alice", "alice-demo-pw")[0], (535, 454))
            self.assertRegex(ex.mainlog(), r"moat authlock: action=deny reason=\w+ "
                                           r"ip=127.0.21.7 user=alice")
            # a new harvester is blocked, and the old one still is
            codes = try_rcpts(ex, "127.0.91.1", ["g%d@example.test" % i for i in range(152)])
            self.assertEqual(codes[-1], 451, codes)
            self.assertEqual(try_rcpts(ex, "127.0.91.1", ["alice@example.test"]), [451])
            self.assertEqual(try_rcpts(ex, "127.0.90.1", ["alice@example.test"]), [451])
            # and mail from a friend still arrives
            self.assertEqual(try_rcpts(ex, "127.0.92.1", ["alice@example.test"],
                                       sender="friend@remote.test"), [250])
            self.assertRegex(ex.mainlog(), r"moat store: LMDB map of \S+ is 90% full: new "
                                           r"records that strangers create \(\w+:\w+:\.\.\.\) "
                                           r"are not stored")


if __name__ == "__main__":
    unittest.main()
