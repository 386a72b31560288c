# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 23: what operators read - moatctl metrics (Prometheus text that
promtool accepts, decision counters that move with traffic through a real
Exim) and moatctl report (over that traffic's mainlog: the blocked client
and the locked user by name)."""

import json
import re
import shutil
import subprocess
import unittest

from harness import Exim, moatctl_path, wait_until
from test_rcpt import RECIPIENTS, rcpt_conf

AUTHLOCK = ("authlock {\n  window = 1h\n  ip_threshold = 50\n  net_threshold = 100\n"
            "  spray_threshold = 40\n  user_threshold = 5\n  user_familiar_threshold = 50\n"
            "  distributed_ips = 30\n  tarpit_base = 0\n  tarpit_max = 0\n  block_time = 10m\n}\n")


def operators_exim():
    ex = Exim(modules=["rcpt", "authlock"], files={"recipients": RECIPIENTS})
    ex.prepare()
    ex.write_moat_conf(rcpt_conf(ex.path("recipients"), ip_threshold=3) + AUTHLOCK)
    return ex


def samples(text):
    """{(metric, frozenset(labels)): value} of a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def decisions(text, module, action, reason):
    key = ("moat_decisions_total",
           frozenset({("module", module), ("action", action), ("reason", reason)}))
    return samples(text).get(key, 0)


def promtool_check(test, text):
    """promtool check metrics (Debian's prometheus package, make deps) on text."""
    promtool = shutil.which("promtool")
    test.assertIsNotNone(promtool, "promtool is missing: make deps installs prometheus")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr + text)


class OperatorsTest(unittest.TestCase):

    def test_good_recipients_of_sessions_without_a_message_are_counted(self):
        # A good recipient's count is held in the session's process (no store
        # write per RCPT) and written at its next call of another kind: here
        # there is none but the end of the session, by QUIT or by a client
        # that just goes away (the notquit ACL).
        with operators_exim() as ex:
            def valid():
                return decisions(ex.moatctl("metrics").stdout, "rcpt", "accept", "valid")
            before = valid()
            c = ex.smtp("127.0.33.1")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual([c.rcpt("alice@example.test").code,
                              c.rcpt("bob@example.test").code], [250, 250])
            c.quit()
            c = ex.smtp("127.0.33.2")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual(c.rcpt("alice@example.test").code, 250)
            c.close()
            self.assertTrue(wait_until(lambda: valid() - before == 3, timeout=20),
                            "counted %d of 3" % (valid() - before))

    def test_each_recipient_is_counted_once_when_exim_knows_the_users(self):
        # source = exim: rcpt's first router counts a recipient valid before
        # Exim's routers have said; one that no router takes reaches the last
        # router, whose refusal replaces that count (held in the process)
        ex = Exim(modules=["rcpt"])
        ex.prepare()
        ex.write_moat_conf(rcpt_conf("unused", source="exim"))
        with ex:
            def count(action, reason):
                return decisions(ex.moatctl("metrics").stdout, "rcpt", action, reason)
            c = ex.smtp("127.0.33.5")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual([c.rcpt("alice@example.test").code,
                              c.rcpt("nobody1@example.test").code,
                              c.rcpt("nobody2@example.test").code,
                              c.rcpt("bob@example.test").code], [250, 550, 550, 250])
            c.quit()
            self.assertTrue(wait_until(lambda: count("accept", "valid") == 2, timeout=20),
                            ex.moatctl("metrics").stdout)
            self.assertEqual(count("deny", "unknown_user"), 2)
            # and nothing more arrives later
            c = ex.smtp("127.0.33.6")
            c.ehlo()
            c.quit()
            self.assertEqual(count("accept", "valid"), 2)

    def test_metrics_count_decisions_and_report_names_the_blocked_and_the_locked(self):
        with operators_exim() as ex:
            before = ex.moatctl("metrics")
            self.assertEqual(before.returncode, 0, before.stderr)
            promtool_check(self, before.stdout)
            self.assertEqual(samples(before.stdout)[("moat_store_up", frozenset())], 1)

            # good mail: one accepted recipient per message
            for i in range(3):
                self.assertEqual(ex.send("someone@remote.test", ["alice@example.test"],
                                         source="127.0.30.%d" % (i + 1))[-2][0], 250)
            # a harvester: refused, then blocked
            c = ex.smtp("127.0.31.7")
            c.ehlo()
            # a sender that Exim's and moat's lines show, made to look like a moat line
            c.mail('"x moat rcpt: action=block reason=harvest_ip ip=10.9.9.9 "@harvest.test')
            codes = [c.rcpt("nobody%d@example.test" % i).code for i in range(5)]
            c.quit()
            self.assertEqual(codes[:2], [550, 550])
            self.assertEqual(codes[-1], 451)
            # a password guesser locks alice's account
            for i in range(5):
                c = ex.smtp("127.0.32.9")
                c.ehlo()
                self.assertEqual(c.auth_plain("alice", "guess%d" % i).code, 535)
                c.quit()
            self.assertTrue(ex.wait_for_log(r"moat authlock: action=lock reason=user_lock_started"))

            after = ex.moatctl("metrics")
            self.assertEqual(after.returncode, 0, after.stderr)
            promtool_check(self, after.stdout)
            self.assertEqual(decisions(after.stdout, "rcpt", "accept", "valid")
                             - decisions(before.stdout, "rcpt", "accept", "valid"), 3)
            self.assertEqual(decisions(after.stdout, "rcpt", "deny", "unknown_user"), 2)
            self.assertGreaterEqual(decisions(after.stdout, "rcpt", "defer", "harvest_block"), 1)
            self.assertEqual(decisions(after.stdout, "rcpt", "block", "harvest_ip"), 1)
            self.assertEqual(decisions(after.stdout, "authlock", "lock", "user_lock_started"), 1)
            got = samples(after.stdout)
            self.assertEqual(got[("moat_blocked", frozenset({("module", "rcpt"), ("kind", "ip")}))], 1)
            self.assertEqual(got[("moat_blocked",
                                  frozenset({("module", "authlock"), ("kind", "user")}))], 1)

            # the same as JSON, and written atomically for node_exporter
            as_json = json.loads(ex.moatctl("--json", "metrics").stdout)
            self.assertTrue(as_json["store"]["up"])
            self.assertIn({"module": "rcpt", "action": "deny", "reason": "unknown_user",
                           "count": 2}, as_json["decisions"])
            prom = ex.path("moat.prom")
            self.assertEqual(ex.moatctl("metrics", "--textfile", prom).returncode, 0)
            with open(prom) as f:
                promtool_check(self, f.read())

            report = ex.moatctl("--exim-config", ex.path("exim.conf"), "report", "--since", "1h")
            self.assertEqual(report.returncode, 0, report.stderr)
            text = report.stdout
            self.assertRegex(text, r"Clients blocked:\n  127\.0\.31\.7 +1 time \(harvest_ip\)")
            self.assertRegex(text, r"Users locked:\n  alice +1 time \(user_lock_started, logins "
                                   r"from unfamiliar places\)")
            self.assertIn("In force now: 2 blocks and locks: ip 127.0.31.7, user alice "
                          "(unfamiliar)", text)
            self.assertIn("Harvesting: 2 unknown recipients refused from 1 clients", text)
            self.assertRegex(text, r"Password guessing: [45] failed logins from 1 clients")
            self.assertIn("127.0.31.0/24", text)
            self.assertNotIn("10.9.9.9", text)
            as_json = json.loads(ex.moatctl("--exim-config", ex.path("exim.conf"), "--json",
                                            "report").stdout)
            self.assertEqual([b["name"] for b in as_json["blocked"]], ["127.0.31.7"])
            self.assertEqual([u["name"] for u in as_json["locked"]], ["alice"])

            # --mail: the same text to postmaster, through this Exim
            # (the Exim it runs is this instance's: an ASan build's modules need its binary)
            sent = subprocess.run([moatctl_path(), "--config", ex.path("moat.conf"),
                                   "--exim-config", ex.path("exim.conf"), "report", "--since",
                                   "1h", "--mail", "postmaster@example.test"],
                                  capture_output=True, text=True,
                                  env=dict(ex.exim_env(), MOAT_EXIM=ex.binary()))
            self.assertEqual(sent.returncode, 0, sent.stderr)
            self.assertEqual(sent.stdout, "")
            self.assertTrue(ex.wait_maildir("postmaster", 1))
            mail = ex.maildir("postmaster")[0].decode()
            self.assertIn("Subject: moat report for ", mail)
            self.assertIn("Auto-Submitted: auto-generated", mail)
            self.assertIn("127.0.31.7", mail)
            self.assertEqual(ex.moatctl("report", "--mail", "-oi@x").returncode, 2)

    def test_a_store_that_does_not_answer_is_a_metric_not_silence(self):
        ex = Exim(modules=["rcpt"], files={"recipients": RECIPIENTS})
        ex.prepare()
        ex.store_section = lambda: ('store {\n  backend = redis\n  redis {\n'
                                    '    host = "127.0.0.1"\n    port = 1\n  }\n}\n')
        ex.write_moat_conf(rcpt_conf(ex.path("recipients")))
        with ex:
            r = ex.moatctl("metrics")
            self.assertEqual(r.returncode, 1)
            self.assertIn("moat_store_up 0", r.stdout)
            self.assertIn("redis 127.0.0.1:1", r.stderr)
            promtool_check(self, r.stdout)
            # and mail still flows (on_error = accept)
            self.assertEqual(ex.send("someone@remote.test", ["alice@example.test"])[-2][0], 250)


if __name__ == "__main__":
    unittest.main()
