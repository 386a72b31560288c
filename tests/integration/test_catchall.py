# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 6: the catchall module through a real Exim: the local audit names
a catch-all router; with "reject while under attack" a dictionary run stops
being accepted while an allowlisted bob+news@ keeps arriving; the remote
probe classifies four MX behaviours through a real resolver, caches its
verdicts, and never costs a session more than its budget."""

import os
import re
import time
import unittest

from harness import Exim, free_port
from mx_fixture import Dnsmasq, FakeMX, ScriptedMX

EXPLICIT = "postmaster@example.test\nalice@example.test\nbob@example.test\ncarol@example.test\n"


def catchall_router(ex_dir):
    return ("catchall_router:\n  driver = redirect\n  domains = +local_domains\n"
            "  local_parts = ! lsearch;%s/mailboxes\n  data = postmaster@example.test\n" % ex_dir)


def exim_with_catchall(modules=("rcpt", "catchall"), moat_conf="", files=None, **kw):
    ex = Exim(modules=list(modules), files=dict(files or {}, explicit=EXPLICIT), **kw)
    ex.prepare()
    ex.extra["extra_routers"] = catchall_router(ex.dir)
    ex.write_moat_conf(moat_conf.replace("EXPLICIT", ex.path("explicit")))
    ex.prepare()
    return ex


class CatchallTest(unittest.TestCase):

    def test_audit_names_the_catchall_router(self):
        ex = exim_with_catchall(modules=[])
        try:
            r = ex.moatctl("--exim-config", ex.path("exim.conf"), "catchall", "audit")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("example.test: CATCH-ALL", r.stdout)
            self.assertIn("by router catchall_router", r.stdout)
            js = ex.moatctl("--exim-config", ex.path("exim.conf"), "--json", "catchall", "audit")
            self.assertIn('"router":"catchall_router"', js.stdout)
        finally:
            ex.stop()
        clean = Exim(modules=[]).prepare()
        try:
            r = clean.moatctl("--exim-config", clean.path("exim.conf"), "catchall", "audit")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("example.test: clean", r.stdout)
        finally:
            clean.stop()

    def test_dictionary_run_stops_under_attack_while_plus_addressing_arrives(self):
        conf = ('rcpt {\n  ip_threshold = 1000\n  net_threshold = 1000\n'
                '  sender_domain_threshold = 1000\n  domain_attack_threshold = 20\n'
                '  tarpit_base = 0\n  session_max_invalid = 1000\n}\n'
                'catchall {\n  domain "example.test" {\n    policy = reject-under-attack\n'
                '    explicit = "EXPLICIT"\n  }\n}\n')
        with exim_with_catchall(moat_conf=conf) as ex:
            codes = []
            for i in range(40):
                c = ex.smtp("127.0.%d.%d" % (60 + i % 10, 1 + i // 10))
                c.ehlo()
                c.mail("spammer@remote.test")
                codes.append(c.rcpt("word%d@example.test" % i)[0])
                c.quit()
            self.assertEqual(codes[:19], [250] * 19)    # a catch-all accepts them...
            self.assertEqual(codes[20:], [550] * 20)    # ...until the domain is under attack
            for i in range(3):
                r = ex.send("friend@remote.test", "bob+news@example.test", source="127.0.70.1")
                self.assertEqual(r[2][0], 250)
            self.assertTrue(ex.wait_maildir("bob", 3) or ex.wait_maildir("postmaster", 3))
            self.assertIn("reason=catchall_under_attack", ex.mainlog())

    def test_mark_policy_marks_and_autoreply_stays_quiet(self):
        conf = ('catchall {\n  domain "example.test" {\n    policy = mark\n'
                '    explicit = "EXPLICIT"\n  }\n}\n')
        with exim_with_catchall(modules=("catchall", "autoreply"), moat_conf=conf) as ex:
            r = ex.send("friend@remote.test", "anything@example.test", source="127.0.71.1")
            self.assertEqual(r[-1][0], 250)
            self.assertTrue(ex.wait_maildir("postmaster", 1))
            msg = ex.maildir("postmaster")[0]
            self.assertIn(b"X-Moat-Catchall: yes", msg)
            self.assertRegex(msg, rb"X-Moat-Autoreply: never; reasons=\S*catchall_only")

    @unittest.skipUnless(os.geteuid() == 0, "needs root to make the file unreadable to Exim")
    def test_an_unreadable_explicit_file_never_refuses_or_counts_real_users(self):
        # reject-suspicious refuses a bounce to a catch-all-only address, and
        # ip_threshold = 2 would block a client after two counted ones
        conf = ('rcpt {\n  ip_threshold = 2\n  tarpit_base = 0\n  tarpit_max = 0\n}\n'
                'catchall {\n%s  domain "example.test" {\n    policy = reject-suspicious\n'
                '    explicit = "EXPLICIT"\n  }\n}\n')
        for modules, on_error, want in ((("rcpt", "catchall"), "", 250),
                                        (("catchall",), "", 250),
                                        (("catchall",), "  on_error = defer\n", 451)):
            with self.subTest(modules=modules, on_error=on_error.strip()):
                ex = exim_with_catchall(modules=modules, moat_conf=conf % on_error)
                path = ex.path("explicit")
                os.chown(path, 0, 0)      # an admin's edit left it root 0600
                os.chmod(path, 0o600)
                with ex:
                    c = ex.smtp("127.0.73.1")
                    c.ehlo()
                    c.mail("")
                    self.assertEqual(c.rcpt("alice@example.test")[0], want)
                    c.quit()
                    if want != 250:
                        continue
                    for _ in range(4):
                        r = ex.send("friend@remote.test", "alice@example.test",
                                    source="127.0.73.2")
                        self.assertEqual([x[0] for x in r[1:]], [250, 250, 250], r)
                    self.assertTrue(ex.wait_maildir("alice", 4))
                    self.assertNotIn(b"X-Moat-Catchall", ex.maildir("alice")[0])
                    self.assertTrue(ex.wait_for_log(
                        r"moat catchall: error: cannot read %s: Permission denied "
                        r"\(answering per on_error=accept\)" % re.escape(path), 10))
                    self.assertNotIn("catchall_only", ex.mainlog())

    def test_every_domain_section_keeps_its_explicit_file(self):
        # more domain sections than the 32 an old fixed table held
        doms = ["d%02d.test" % i for i in range(40)]
        conf = "catchall {\n" + "".join(
            '  domain "%s" {\n    policy = reject-suspicious\n    count_as_invalid = false\n'
            '    explicit = "DIR/x%d"\n  }\n'
            % (d, i) for i, d in enumerate(doms)) + "}\n"
        files = {"x%d" % i: "alice@%s\n" % d for i, d in enumerate(doms)}
        ex = exim_with_catchall(modules=("catchall",), files=files,
                                extra_main="smtp_accept_max_nonmail = 1000")
        ex.write_moat_conf(conf.replace("DIR", ex.dir))
        conf_path = ex.path("exim.conf")
        with open(conf_path) as f:
            text = f.read()
        self.assertIn("domainlist local_domains = example.test\n", text)
        with open(conf_path, "w") as f:
            f.write(text.replace("domainlist local_domains = example.test\n",
                                 "domainlist local_domains = example.test : %s\n"
                                 % " : ".join(doms)))
        self.assertEqual(ex.moatctl("check-config").returncode, 0)
        with ex:
            c = ex.smtp("127.0.74.1")
            c.ehlo()
            got = []
            for d in doms:    # one connection: one process's table
                c.mail("")
                got.append((d, c.rcpt("alice@" + d)[0], c.rcpt("nobody@" + d)[0]))
                c.rset()
            c.quit()
            # alice is in every domain's file; nobody is catch-all only (a bounce: refused)
            self.assertEqual(got, [(d, 250, 550) for d in doms])

    def test_remote_probe_classifies_four_behaviours_and_caches(self):
        port = free_port()
        behaviours = {"catchall.test": ("127.0.50.1", "catchall"),
                      "strict.test": ("127.0.50.2", "strict"),
                      "greylist.test": ("127.0.50.3", "greylist"),
                      "limited.test": ("127.0.50.4", "452_after_first")}
        servers = [FakeMX(ip, port, b).start() for ip, b in behaviours.values()]
        dns = Dnsmasq({d: ip for d, (ip, _) in behaviours.items()}).start()
        ex = Exim(modules=["catchall"]).prepare()
        ex.write_moat_conf('catchall {\n  probe {\n    resolver = "127.0.0.1"\n'
                           '    resolver_port = %d\n    port = %d\n    timeout = 5s\n  }\n}\n'
                           % (dns.port, port))
        try:
            expect = {"catchall.test": "catchall", "strict.test": "not_catchall",
                      "greylist.test": "inconclusive", "limited.test": "inconclusive"}
            for domain, verdict in expect.items():
                r = ex.moatctl("catchall", "probe", domain)
                self.assertIn("%s: %s (" % (domain, verdict), r.stdout, r.stdout + r.stderr)
                self.assertEqual(r.returncode, 1 if verdict == "catchall" else 0)
            for server in servers:
                server.stop()
            # The servers are gone: the verdicts come from the cache.
            r = ex.moatctl("catchall", "probe", "catchall.test")
            self.assertIn("catchall.test: catchall, cached", r.stdout)
            r = ex.moatctl("catchall", "probe", "strict.test")
            self.assertIn("not_catchall, cached", r.stdout)
        finally:
            for server in servers:
                server.stop()
            dns.stop()
            ex.stop()

    def test_remote_probe_meets_odd_servers(self):
        port = free_port()
        odd = {"noehlo.test": ("127.0.52.1", "no_ehlo"),
               "greeting.test": ("127.0.52.2", "bad_greeting"),
               "nobounce.test": ("127.0.52.3", "mail_refused"),
               "drop.test": ("127.0.52.4", "drop_at_rcpt"),
               "nohelo.test": ("127.0.52.5", "refuse_helo")}
        servers = [ScriptedMX(ip, port, b).start() for ip, b in odd.values()]
        dns = Dnsmasq({d: ip for d, (ip, _) in odd.items()}).start()
        ex = Exim(modules=["catchall"]).prepare()
        ex.write_moat_conf('catchall {\n  probe {\n    resolver = "127.0.0.1"\n'
                           '    resolver_port = %d\n    port = %d\n    timeout = 5s\n'
                           '    rate_per_minute = 5\n  }\n}\n' % (dns.port, port))
        try:
            expect = [("noehlo.test", "noehlo.test: catchall ("),        # HELO after EHLO
                      ("greeting.test", "greeting 554"),
                      ("nobounce.test", "MAIL FROM:<> answered 550"),
                      ("drop.test", "connection lost after 0 of 2 RCPTs"),
                      ("nohelo.test", "EHLO and HELO refused (500)"),
                      # a sixth probe within the minute: over rate_per_minute
                      ("catchall.test", "rate limited (5 probes a minute)"),
                      ("not..a.domain", "not a domain")]
            for domain, want in expect:
                r = ex.moatctl("catchall", "probe", domain)
                self.assertIn(want, r.stdout + r.stderr, domain)
        finally:
            for server in servers:
                server.stop()
            dns.stop()
            ex.stop()

    def test_a_hanging_mx_costs_the_session_no_more_than_its_budget(self):
        port = free_port()
        hang = FakeMX("127.0.51.1", port, "hang").start()
        dns = Dnsmasq({"slow.test": "127.0.51.1"}).start()
        ex = Exim(modules=["catchall"], extra_macros="MOAT_CATCHALL_PROBE_SENDERS = yes")
        ex.prepare()
        ex.write_moat_conf('catchall {\n  probe {\n    resolver = "127.0.0.1"\n'
                           '    resolver_port = %d\n    port = %d\n    timeout = 30s\n'
                           '    session_budget = 2s\n  }\n}\n' % (dns.port, port))
        try:
            with ex:
                c = ex.smtp("127.0.72.1")
                c.ehlo()
                t = time.time()
                r = c.mail("someone@slow.test")
                took = time.time() - t
                c.quit()
                self.assertEqual(r[0], 250)
                # budget 2 s; without it the probe would wait its 30 s timeout:
                # the bound between the two leaves room for a loaded machine
                self.assertLess(took, 15)
                self.assertGreater(took, 1.5)    # it did try
                self.assertIn("sender domain catch-all: unknown", ex.mainlog())
        finally:
            hang.stop()
            dns.stop()


if __name__ == "__main__":
    unittest.main()
