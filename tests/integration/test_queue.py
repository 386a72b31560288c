# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 21: moatctl queue over a real Exim's queue (exim -bpr): bounces,
distinct destination domains, frozen and held messages by sender, the oldest
message, exit 1 past the limits and 0 within them; and the DNSBL check of
our sending addresses through a local resolver (Debian's dnsmasq on
127.0.0.1) where one address is listed, with the list's reason."""

import json
import subprocess
import unittest

from harness import Exim, free_port, message, wait_port


def queue_up(ex, sender, rcpt):
    """A message left in the queue (-odq), its id."""
    r = ex.exim("-odq", "-f", sender, "--", rcpt, input=message(sender=sender or "x@x.test",
                                                                to=rcpt))
    assert r.returncode == 0, r.stderr
    return r


class QueueReportTest(unittest.TestCase):

    def test_report_and_limits(self):
        ex = Exim(modules=[], sink=False).prepare()
        try:
            for i in range(5):
                queue_up(ex, "", "forged%d@victim%d.test" % (i, i))
            for i in range(4):
                queue_up(ex, "alice@example.test", "friend@d%d.test" % i)
            before = set(ex.queue())
            for i in range(3):
                queue_up(ex, "bob@example.test", "x%d@d0.test" % i)
            for msgid in set(ex.queue()) - before:
                self.assertEqual(ex.exim("-Mf", msgid).returncode, 0)
            q = ["--exim-config", ex.path("exim.conf"), "queue"]
            r = ex.moatctl(*q, "--max-bounces", "3", "--max-frozen", "2", "--held-after", "0s")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("queue: 12 messages, 5 bounces, 3 frozen, 9 held over 0m; "
                          "12 recipients to 9 domains", r.stdout)
            self.assertIn("frozen: 3 from <bob@example.test>", r.stdout)
            self.assertIn("held: 5 from <> (bounces)", r.stdout)
            self.assertIn("held: 4 from <alice@example.test>", r.stdout)
            self.assertIn("OVER bounces: 5 (limit 3)", r.stdout)
            self.assertIn("OVER frozen: 3 (limit 2)", r.stdout)
            self.assertNotIn("OVER domains", r.stdout)
            js = json.loads(ex.moatctl("--json", *q, "--max-domains", "5").stdout)
            self.assertEqual(js["domains"], 9)
            self.assertEqual(js["over"], ["domains"])
            self.assertEqual(js["frozen_by_sender"], [{"sender": "bob@example.test", "count": 3}])
            self.assertEqual(ex.moatctl(*q).returncode, 0)     # within the defaults
        finally:
            ex.stop()

    def test_dnsbl_through_a_local_resolver(self):
        port = free_port()
        dns = subprocess.Popen(
            ["/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
             "--port=%d" % port, "--user=root", "--local=/bl.test/",
             "--host-record=10.2.0.192.bl.test,127.0.0.2",
             "--txt-record=10.2.0.192.bl.test,listed: spam seen from this address",
             "--host-record=10.2.0.192.strict.test,127.255.255.254"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ex = Exim(modules=[], sink=False).prepare()
        try:
            self.assertTrue(wait_port(port))
            base = ["--exim-config", ex.path("exim.conf"), "queue", "--dnsbl",
                    "--resolver", "127.0.0.1:%d" % port]
            r = ex.moatctl(*base, "--address", "192.0.2.10", "--address", "192.0.2.20",
                           "--zone", "bl.test")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("LISTED 192.0.2.10 on bl.test (127.0.0.2): listed: spam seen from "
                          "this address", r.stdout)
            self.assertIn("dnsbl: 192.0.2.20 not on bl.test", r.stdout)
            r = ex.moatctl(*base, "--address", "192.0.2.20", "--zone", "bl.test")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # a list that refuses the resolver is an error, not a listing
            r = ex.moatctl("--json", *base, "--address", "192.0.2.10", "--zone", "strict.test")
            js = json.loads(r.stdout)
            self.assertEqual(js["dnsbl"][0]["listed"], None)
            self.assertIn("refused the query", js["dnsbl"][0]["text"])
            self.assertEqual(r.returncode, 0)
        finally:
            ex.stop()
            dns.terminate()
            dns.wait()


if __name__ == "__main__":
    unittest.main()
