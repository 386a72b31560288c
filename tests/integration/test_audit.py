# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 21: moatctl audit through a real Exim's -bP and -bt. A configuration
with every risk of the field incidents (errors_copy, AUTH on port 25 to any
host, a catch-all router, relay hosts accepted before verify = recipient, an
autoreply transport outside moat's gate) has each one named with where it is
and exits 1; a clean one exits 0; the same risky pieces behind moat's rcpt
and autoreply modules are no longer risks. No daemon: Exim answers from the
configuration file."""

import json
import re
import unittest

from harness import Exim

AUTORESPONDER = ("office_reply:\n  driver = autoreply\n  to = $sender_address\n"
                 "  subject = Out of office\n  text = I am away.\n")


def catchall_router(ex_dir):
    return ("catchall_router:\n  driver = redirect\n  domains = +local_domains\n"
            "  local_parts = ! lsearch;%s/mailboxes\n  data = postmaster@example.test\n" % ex_dir)


def risky(modules=()):
    """Every risk; the daemon ports and AUTH advertising set as on a real MX."""
    ex = Exim(modules=list(modules), relay_from="127.0.0.1", sink=False,
              extra_main="errors_copy = *@* postmaster@example.test",
              extra_transports=AUTORESPONDER)
    ex.prepare()
    ex.extra["extra_routers"] = catchall_router(ex.dir)
    ex.prepare()
    with open(ex.path("exim.conf")) as f:
        conf = f.read()
    conf = re.sub(r"(?m)^daemon_smtp_ports = .*$", "daemon_smtp_ports = smtp : 587", conf)
    conf = re.sub(r"(?m)^auth_advertise_hosts = .*$", "auth_advertise_hosts = *", conf)
    with open(ex.path("exim.conf"), "w") as f:
        f.write(conf)
    return ex


class AuditTest(unittest.TestCase):

    def audit(self, ex, *args):
        return ex.moatctl("--exim-config", ex.path("exim.conf"), "audit", *args)

    def test_every_risk_is_named_with_its_place_and_exit_1(self):
        ex = risky()
        try:
            r = self.audit(ex)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            out = r.stdout
            self.assertIn("RISK errors_copy: option errors_copy", out)
            self.assertIn("RISK auth_port25: option auth_advertise_hosts = *", out)
            self.assertIn("plain_server (PLAIN)", out)
            self.assertIn("RISK catchall: router catchall_router, delivered by router localuser "
                          "(domain example.test)", out)
            self.assertIn("RISK relay_unverified: ACL acl_rcpt, statement 3: "
                          "accept hosts = +relay_from_hosts", out)
            self.assertIn("RISK autoreply: transport office_reply (driver = autoreply)", out)
            self.assertIn("5 risks found", out)
            self.assertEqual(out.count("\n  fix: "), 5)
            js = json.loads(self.audit(ex, "--json").stdout)
            self.assertEqual(js["risks"], 5)
            self.assertEqual(sorted(f["check"] for f in js["findings"]),
                             ["auth_port25", "autoreply", "catchall", "errors_copy",
                              "relay_unverified"])
        finally:
            ex.stop()

    def test_a_clean_configuration_exits_0(self):
        ex = Exim(modules=[], sink=False).prepare()
        try:
            r = self.audit(ex)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("clean:", r.stdout)
            self.assertNotIn("RISK", r.stdout)
        finally:
            ex.stop()

    def test_moat_rcpt_and_the_autoreply_gate_cover_their_risks(self):
        ex = risky(modules=["rcpt", "autoreply"])
        try:
            r = self.audit(ex, "--json")
            checks = sorted(f["check"] for f in json.loads(r.stdout)["findings"])
            # the gate judges the transport's replies. The rest stays: moat's
            # rcpt judges the recipients the ACL verifies, and this one (as
            # Debian's) takes the relay hosts' unverified.
            self.assertEqual(checks, ["auth_port25", "catchall", "errors_copy",
                                      "relay_unverified"], r.stdout)
            self.assertEqual(r.returncode, 1)
            # the fix names what moat does for a fetcher on a relay host
            fix = [f["fix"] for f in json.loads(r.stdout)["findings"]
                   if f["check"] == "relay_unverified"][0]
            self.assertIn("rcpt { fetched", fix)
        finally:
            ex.stop()

    def test_auth_only_on_the_submission_port_is_not_a_risk(self):
        ex = risky()
        try:
            with open(ex.path("exim.conf")) as f:
                conf = f.read()
            conf = conf.replace("auth_advertise_hosts = *",
                                "auth_advertise_hosts = ${if eq{$received_port}{587}{*}{}}")
            with open(ex.path("exim.conf"), "w") as f:
                f.write(conf)
            r = self.audit(ex, "--no-probes")
            self.assertNotIn("auth_port25", r.stdout)
            self.assertIn("RISK errors_copy", r.stdout)
        finally:
            ex.stop()


if __name__ == "__main__":
    unittest.main()
