# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 3: the rcpt module through a real Exim: unknown recipients refused
at RCPT (no bounce), harvest blocking per client, network and domain,
shared through Redis between two MX hosts, LDAP with a real slapd."""

import os
import re
import socket
import stat
import subprocess
import time
import unittest

from harness import Exim, RedisServer, exim_ids, message, moatctl_path
from ldap_fixture import Slapd

RECIPIENTS = """# the valid recipients of example.test
postmaster@example.test
alice@example.test
bob@example.test
carol@example.test
stephen@example.test
"""


def rcpt_conf(ex_dir_file, **over):
    opts = dict(source="file", file='"%s"' % ex_dir_file, ip_threshold=10, net_threshold=30,
                sender_domain_threshold=1000, tarpit_base="0", tarpit_max="0",
                session_max_invalid=100, domain_attack_threshold=150, block_time="10m")
    opts.update(over)
    return "rcpt {\n%s\n}\n" % "\n".join("  %s = %s" % kv for kv in opts.items())


def make_exim(**over):
    ex = Exim(modules=["rcpt"], files={"recipients": RECIPIENTS},
              **{k: v for k, v in over.items() if k in ("store", "redis", "name")})
    ex.prepare()
    conf_over = {k: v for k, v in over.items() if k not in ("store", "redis", "name")}
    ex.write_moat_conf(rcpt_conf(ex.path("recipients"), **conf_over))
    return ex


def try_rcpts(ex, source, rcpts, sender="someone@remote.test"):
    """One connection, one MAIL, several RCPTs: their reply codes."""
    c = ex.smtp(source)
    c.ehlo()
    c.mail(sender)
    codes = []
    for r in rcpts:
        rep = c.rcpt(r)
        codes.append(rep[0])
        if rep[0] < 0:
            break
    c.quit()
    return codes


class RcptTest(unittest.TestCase):

    def test_unknown_recipient_is_refused_at_rcpt_and_nothing_bounces(self):
        with make_exim() as ex:
            c = ex.smtp("127.0.1.1")
            c.ehlo()
            c.mail("victim@innocent.test")
            r = c.rcpt("nobody@example.test")
            self.assertEqual(r[0], 550)
            self.assertIn(b"5.1.1", r[1])
            self.assertEqual(c.rcpt("alice@example.test")[0], 250)
            self.assertEqual(c.data(message(to="alice@example.test"))[0], 250)
            c.quit()
            self.assertTrue(ex.wait_maildir("alice", 1))
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(ex.sink.messages, [])   # no bounce went anywhere
            self.assertIn("moat rcpt: action=deny reason=unknown_user ip=127.0.1.1 "
                          "sender=<victim@innocent.test> rcpt=<nobody@example.test>", ex.mainlog())

    def test_harvest_from_one_client_is_blocked_across_connections(self):
        with make_exim() as ex:
            codes = []
            for conn in range(5):   # 50 random recipients over 5 connections
                codes += try_rcpts(ex, "127.0.2.7", ["h%d-%d@example.test" % (conn, i)
                                                     for i in range(10)])
            self.assertEqual(codes[:9], [550] * 9)
            self.assertTrue(all(c == 451 for c in codes[9:]), codes)
            # While blocked, a valid recipient gets the same 4xx as an invalid one.
            self.assertEqual(try_rcpts(ex, "127.0.2.7", ["alice@example.test"]), [451])
            # Another client (another network) is served at once.
            self.assertEqual(try_rcpts(ex, "127.0.3.8", ["alice@example.test"]), [250])
            self.assertRegex(ex.mainlog(), r"moat rcpt: action=block reason=harvest_ip "
                                           r"ip=127\.0\.2\.7 seconds=600")
            st = ex.moatctl("rcpt", "status", "127.0.2.7")
            self.assertEqual(st.returncode, 1, st.stdout + st.stderr)
            self.assertIn("blocked", st.stdout)
            un = ex.moatctl("rcpt", "unblock", "127.0.2.7")
            self.assertEqual(un.returncode, 0, un.stderr)
            self.assertEqual(try_rcpts(ex, "127.0.2.7", ["alice@example.test"]), [250])

    def test_many_clients_of_one_network_trip_the_network_counter(self):
        with make_exim() as ex:
            blocked_at = None
            for n in range(20):   # 20 clients, 2 invalid each: each under its own threshold
                codes = try_rcpts(ex, "127.0.4.%d" % (10 + n),
                                  ["n%d-%d@example.test" % (n, i) for i in range(2)])
                if 451 in codes and blocked_at is None:
                    blocked_at = n
            self.assertEqual(blocked_at, 14)   # the 30th invalid recipient of the /24
            self.assertEqual(try_rcpts(ex, "127.0.4.200", ["bob@example.test"]), [451])
            self.assertEqual(try_rcpts(ex, "127.0.5.1", ["bob@example.test"]), [250])
            self.assertIn("reason=harvest_net ip=127.0.4.24", ex.mainlog())
            st = ex.moatctl("--json", "rcpt", "status", "127.0.4.200")
            self.assertEqual(st.returncode, 1, st.stdout + st.stderr)
            self.assertIn('"network":"127.0.4.0/24","blocked":true', st.stdout)
            un = ex.moatctl("rcpt", "unblock", "127.0.4.0/24")
            self.assertEqual(un.returncode, 0, un.stderr)
            self.assertEqual(try_rcpts(ex, "127.0.4.200", ["bob@example.test"]), [250])

    def test_distributed_harvest_trips_the_domain_wide_state(self):
        with make_exim() as ex:
            for n in range(50):   # 200 distinct unknown local parts from 50 addresses
                codes = try_rcpts(ex, "127.1.%d.1" % n,
                                  ["d%d-%d@example.test" % (n, i) for i in range(4)])
                self.assertNotIn(451, codes)
            self.assertIn("domain_attack=yes", ex.mainlog()[-5000:])
            # Under attack, a new client is held to half the threshold (5, not 10).
            codes = try_rcpts(ex, "127.2.0.1", ["late%d@example.test" % i for i in range(6)])
            self.assertEqual(codes, [550, 550, 550, 550, 451, 451])

    def test_authenticated_and_exempt_clients_are_never_blocked(self):
        with make_exim(exempt_networks='{"127.0.6.0/24"}') as ex:
            codes = try_rcpts(ex, "127.0.6.1", ["x%d@example.test" % i for i in range(15)])
            self.assertEqual(codes, [550] * 15)
            c = ex.smtp("127.0.7.1")
            c.ehlo()
            self.assertEqual(c.auth_plain("alice", "alice-demo-pw")[0], 235)
            c.mail("alice@example.test")
            codes = [c.rcpt("y%d@example.test" % i)[0] for i in range(15)]
            codes.append(c.rcpt("bob@example.test")[0])
            c.quit()
            # never blocked or delayed; whether an unknown recipient of an
            # authenticated user is refused is the site's ACL's to say (this
            # one, as Debian's, accepts authenticated clients when the verify
            # fails, and moat does not refuse in its place)
            self.assertNotIn(451, codes)
            self.assertEqual(codes[-1], 250)
            self.assertNotRegex(ex.mainlog(), r"reason=(harvest_block|unknown_user) ip=127\.0\.7\.1")

    def test_dead_recipients_and_aliases(self):
        # steven is routed by Exim (an alias there); moat's file lacks him,
        # its alias map says the misspelling counts as valid.
        ex = Exim(modules=["rcpt"], users=["postmaster", "alice", "bob", "carol", "steven"],
                  files={"recipients": RECIPIENTS,
                                           "aliases": "steven@example.test: stephen@example.test\n"})
        ex.prepare()
        ex.write_moat_conf(rcpt_conf(ex.path("recipients"), aliases='"%s"' % ex.path("aliases"),
                                     dead_recipients='{"former@example.test"}'))
        with ex:
            self.assertEqual(try_rcpts(ex, "127.0.8.1", ["steven@example.test"]), [250])
            for _ in range(12):
                self.assertEqual(try_rcpts(ex, "127.0.8.2", ["former@example.test"]), [550])
            self.assertIn("reason=dead_recipient", ex.mainlog())
            self.assertEqual(try_rcpts(ex, "127.0.8.2", ["alice@example.test"]), [250])

    def test_an_alias_is_judged_not_its_targets(self):
        # moat judges the recipient the client gave; what Exim's routers make
        # of it (an alias's targets, routed from the first router again) is
        # the site's: sales@ is in moat's list, its target dave@ is not
        alias = ("site_aliases:\n  driver = redirect\n  domains = +local_domains\n"
                 "  local_parts = sales : broken\n"
                 "  data = ${if eq{$local_part}{sales}{dave@example.test}{ghost@example.test}}\n")
        ex = Exim(modules=["rcpt"], users=["postmaster", "alice", "dave"],
                  files={"recipients": "alice@example.test\nsales@example.test\n"
                                       "broken@example.test\n"},
                  extra_routers=alias)
        ex.prepare()
        ex.write_moat_conf(rcpt_conf(ex.path("recipients")))
        with ex:
            self.assertEqual(try_rcpts(ex, "127.0.9.7", ["sales@example.test",
                                                         "dave@example.test",
                                                         "broken@example.test"]),
                             [250, 550, 550])
            log = ex.mainlog()
            # dave@ is refused when the client names him, not as sales@'s target;
            # broken@'s target nobody routes: Exim's refusal, not a guess counted
            self.assertEqual(len(re.findall(r"moat rcpt: action=deny .*rcpt=<dave@", log)), 1, log)
            self.assertNotIn("rcpt=<ghost@", log)
            self.assertNotIn("rcpt=<sales@", log)

    def test_the_router_uses_the_configuration_mail_named(self):
        # The router's call names no configuration (an argument costs Exim
        # thousands of instructions a RCPT): it uses the one the session
        # named before it, at MAIL (and at connect). An earlier release's
        # router, still in the configuration of an Exim not yet reloaded
        # after an upgrade, names it first. Each judges with this moat.conf,
        # not the default path's (absent here): bob, whom Exim knows, is
        # refused by the first router only (a dead recipient).
        old_router = ("{MOAT_RCPT_JUDGE_FIRST}{MOAT_CONFIG}{MOAT_RCPT_ADDRESS}\\\n"
                      "                 {$parent_local_part}}")
        for shape in ("now", "mail-only", "earlier"):
            ex = make_exim(name="rcpt-%s" % shape, dead_recipients='{"bob@example.test"}')
            routers = ex.path("snippets", "rcpt", "routers.conf")
            with open(routers) as f:
                text = f.read()
            if shape == "earlier":
                text, n = re.subn(r"\{MOAT_RCPT_JUDGE_FIRST\}\{MOAT_RCPT_ADDRESS\}\\\n\s*"
                                  r"\{\$parent_local_part\}\}", lambda m: old_router, text)
                self.assertEqual(n, 1)
                with open(routers, "w") as f:
                    f.write(text)
            # no statement before the router names the configuration but MAIL's
            # ("mail-only"), or none at all ("earlier")
            emptied = {"now": [], "mail-only": ["acl-connect.conf"],
                       "earlier": ["acl-connect.conf", "acl-mail.conf"]}[shape]
            for name in emptied:
                with open(ex.path("snippets", "rcpt", name), "w") as f:
                    f.write("# (emptied by the test)\n")
            with ex:
                self.assertEqual(try_rcpts(ex, "127.0.9.8", ["alice@example.test",
                                                             "bob@example.test"]),
                                 [250, 550], shape)
                log = ex.mainlog()
                self.assertRegex(log, r"moat rcpt: action=deny reason=dead_recipient .*"
                                      r"rcpt=<bob@example.test>", shape)

    def test_session_cap_drops_the_connection(self):
        with make_exim(session_max_invalid=3) as ex:
            codes = try_rcpts(ex, "127.0.9.1", ["s%d@example.test" % i for i in range(5)])
            # The third unknown recipient is refused (while Exim routes it, for
            # the site's verify) and the session is closed at its next command.
            self.assertEqual(codes, [550, 550, 550, 550, -1])
            log = ex.mainlog()
            self.assertIn("reason=session_limit", log)
            self.assertRegex(log, r"dropped: too many|Too many unknown recipients, closing")

    def test_tarpit_delays_grow_with_the_invalid_count(self):
        with make_exim(tarpit_base="1s", tarpit_max="2s") as ex:
            c = ex.smtp("127.0.10.1")
            c.ehlo()
            c.mail("someone@remote.test")
            times = []
            for i in range(3):
                t = time.time()
                self.assertEqual(c.rcpt("t%d@example.test" % i)[0], 550)
                times.append(time.time() - t)
            c.quit()
            self.assertGreaterEqual(times[0], 0.9)
            self.assertGreaterEqual(times[1], 1.9)
            # capped at tarpit_max: what moat asked Exim to wait, from its log
            # (a wall-clock upper bound would fail on a loaded machine)
            lines = re.findall(r"moat rcpt: action=deny reason=unknown_user ip=127\.0\.10\.1 .*",
                               ex.mainlog())
            delays = [(re.findall(r" delay=(\S+)", line) or [None])[0] for line in lines]
            self.assertEqual(delays, ["1s", "2s", "2s"])

    def test_tarpit_ends_when_the_client_hangs_up(self):
        # The delay is waited in moat's router; a client that gives up does
        # not keep the connection's process (and Exim's slot) for the rest.
        with make_exim(tarpit_base="30s", tarpit_max="30s") as ex:
            c = ex.smtp("127.0.10.9")
            c.ehlo()
            c.mail("someone@remote.test")
            c.send(b"RCPT TO:<hangup@example.test>\r\n")
            self.assertIsNotNone(ex.wait_for_log(r"moat rcpt: action=deny reason=unknown_user "
                                                 r"ip=127\.0\.10\.9 .* delay=30s"))
            t = time.time()
            c.sock.shutdown(socket.SHUT_RDWR)   # (close() alone waits for smtplib's file)
            c.close()
            # moat's wait ends, Exim answers (to nobody) and notices the loss
            self.assertIsNotNone(ex.wait_for_log(r"rejected RCPT <hangup@example\.test>",
                                                 timeout=25), ex.mainlog())
            self.assertLess(time.time() - t, 25)

    def test_log_only_blocks_nobody_and_logs_what_it_would_do(self):
        ex = make_exim()
        ex.write_moat_conf(rcpt_conf(ex.path("recipients")).replace(
            "rcpt {", "rcpt {\n  mode = log-only"))
        with ex:
            codes = try_rcpts(ex, "127.0.11.1", ["l%d@example.test" % i for i in range(12)])
            # Exim's own verify = recipient still refuses unknown users; moat never
            # answers 451, it logs the block it would have made.
            self.assertEqual(codes, [550] * 12)
            self.assertEqual(try_rcpts(ex, "127.0.11.1", ["alice@example.test"]), [250])
            self.assertRegex(ex.mainlog(), r"action=defer reason=harvest_block ip=127\.0\.11\.1 .*"
                                           r"mode=log-only")

    def test_cdb_source_built_by_moatctl(self):
        ex = Exim(modules=["rcpt"], files={"recipients": RECIPIENTS})
        ex.prepare()
        # The list is the Exim user's to read (root:Debian-exim 0640), root's
        # shell has umask 077: the CDB takes the list's owner, group and mode
        # (then, recompiled, its own), never root's umask.
        uid, gid = exim_ids()
        os.chown(ex.path("recipients"), 0, gid)
        os.chmod(ex.path("recipients"), 0o640)
        cdb = ex.path("recipients.cdb")
        compile_ = [moatctl_path(), "--config", ex.path("moat.conf"), "rcpt", "compile",
                    ex.path("recipients"), cdb]
        comp = subprocess.run(["sh", "-c", 'umask 077; exec "$@"', "sh"] + compile_,
                              capture_output=True, text=True)
        self.assertEqual(comp.returncode, 0, comp.stderr)
        self.assertIn("5 addresses", comp.stdout)
        st = os.stat(cdb)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, gid, 0o640))
        os.chown(cdb, 0, gid)
        os.chmod(cdb, 0o440)
        comp = subprocess.run(["sh", "-c", 'umask 022; exec "$@"', "sh"] + compile_,
                              capture_output=True, text=True)
        self.assertEqual(comp.returncode, 0, comp.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(cdb).st_mode), 0o440)
        ex.write_moat_conf(rcpt_conf(ex.path("recipients"), source="cdb",
                                     cdb='"%s"' % cdb))
        with ex:
            self.assertEqual(try_rcpts(ex, "127.0.12.1", ["carol@example.test",
                                                          "carl@example.test"]), [250, 550])
            self.assertNotIn("cannot read", ex.mainlog())

    def test_an_ipv6_client_is_unblocked_however_the_admin_writes_it(self):
        # Blocked as ::1 (Exim's text); moatctl rcpt status and unblock take
        # 0:0:0:0:0:0:0:1 for the same address.
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        ex = make_exim(ip_threshold=3, net_threshold=1000)
        conf = open(ex.path("exim.conf")).read()
        self.assertIn("local_interfaces = 127.0.0.1", conf)
        with open(ex.path("exim.conf"), "w") as f:
            f.write(conf.replace("local_interfaces = 127.0.0.1",
                                 "local_interfaces = <; 127.0.0.1 ; ::1"))

        def rcpts_from_v6(rcpts):
            with socket.create_connection(("::1", ex.port), timeout=30) as s:
                f = s.makefile("rwb")

                def cmd(line=None):
                    if line:
                        f.write(line.encode() + b"\r\n")
                        f.flush()
                    while True:
                        reply = f.readline()
                        if not reply or reply[3:4] != b"-":
                            return int(reply[:3]) if reply else -1
                cmd()
                cmd("EHLO client.test")
                cmd("MAIL FROM:<someone@remote.test>")
                codes = [cmd("RCPT TO:<%s>" % r) for r in rcpts]
                cmd("QUIT")
                return codes
        with ex:
            self.assertEqual(rcpts_from_v6(["nx%d@example.test" % i for i in range(4)])[0], 550)
            self.assertEqual(rcpts_from_v6(["alice@example.test"]), [451])
            self.assertEqual(ex.moatctl("rcpt", "status", "0:0:0:0:0:0:0:1").returncode, 1)
            r = ex.moatctl("rcpt", "unblock", "0:0:0:0:0:0:0:1")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("unblocked", r.stdout)
            self.assertNotIn("was not blocked", r.stdout)
            self.assertEqual(rcpts_from_v6(["alice@example.test"]), [250])

    def test_near_misses_are_recorded_for_the_admin(self):
        with make_exim() as ex:
            try_rcpts(ex, "127.0.13.1", ["alcie@example.test", "alcie@example.test",
                                         "zzzzzz@example.test"])
            out = ex.moatctl("rcpt", "near-misses")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("alcie@example.test", out.stdout)
            self.assertIn("alice@example.test", out.stdout)
            self.assertNotIn("zzzzzz", out.stdout)

    def test_two_mx_hosts_share_blocks_through_redis(self):
        redis = RedisServer().start()
        try:
            a = make_exim(store="redis", redis=redis, name="mx1")
            b = make_exim(store="redis", redis=redis, name="mx2")
            with a, b:
                codes = try_rcpts(a, "127.0.14.1", ["r%d@example.test" % i for i in range(11)])
                self.assertEqual(codes[-1], 451)
                self.assertEqual(try_rcpts(b, "127.0.14.1", ["alice@example.test"]), [451])
                self.assertEqual(try_rcpts(b, "127.0.15.1", ["alice@example.test"]), [250])
        finally:
            redis.stop()

    def test_ldap_directory_with_cache_and_outage(self):
        slapd = Slapd(users=["alice@example.test", "bob@example.test"]).start()
        try:
            ex = Exim(modules=["rcpt"])
            ex.prepare()
            ex.write_moat_conf(rcpt_conf("unused", source="ldap").replace(
                "rcpt {", 'rcpt {\n  ldap {\n    uri = {"%s"}\n    base = "%s"\n'
                '    bind_dn = "%s"\n    password_file = "%s"\n    filter = "(mail=%%s)"\n'
                '    timeout = 1s\n  }' % (slapd.uri, slapd.base, slapd.admin_dn,
                                          slapd.write_password_file(ex.path("ldap.pw")))))
            with ex:
                self.assertEqual(try_rcpts(ex, "127.0.16.1", ["alice@example.test",
                                                              "nobody@example.test"]), [250, 550])
                slapd.stop()
                # Cached answers are served; an address never asked is deferred.
                self.assertEqual(try_rcpts(ex, "127.0.16.2", ["alice@example.test",
                                                              "nobody@example.test",
                                                              "bob@example.test"]),
                                 [250, 550, 451])
                self.assertIn("reason=directory_unavailable", ex.mainlog())
        finally:
            slapd.stop()

    def test_blocked_client_is_refused_at_connect_when_configured(self):
        with make_exim(block_at_connect="true") as ex:
            codes = try_rcpts(ex, "127.0.17.1", ["c%d@example.test" % i for i in range(10)])
            self.assertEqual(codes[-1], 451)
            c = ex.smtp("127.0.17.1")
            self.assertEqual(c.banner[0], 421)
            self.assertIn(b"4.7.1", c.banner[1])
            c.close()
            # Its neighbours and everyone else still get a greeting.
            c = ex.smtp("127.0.17.2")
            self.assertEqual(c.banner[0], 220)
            c.quit()
            self.assertRegex(ex.mainlog(), r"moat rcpt: action=defer reason=harvest_block "
                                           r"ip=127\.0\.17\.1 stage=connect")

    def test_recipient_file_is_reloaded_when_it_changes(self):
        # dave has a mailbox (Exim routes him) but is not in moat's file yet.
        ex = Exim(modules=["rcpt"], users=["postmaster", "alice", "bob", "carol", "dave"],
                  files={"recipients": RECIPIENTS})
        ex.prepare()
        ex.write_moat_conf(rcpt_conf(ex.path("recipients")))
        with ex:
            # One SMTP session, so one Exim process that has the file loaded.
            c = ex.smtp("127.0.18.1")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual(c.rcpt("dave@example.test")[0], 550)
            time.sleep(1.1)   # the file is looked at no more than once a second
            with open(ex.path("recipients"), "a") as f:
                f.write("dave@example.test\n")
            # No restart, no signal: the next RCPT sees the new line.
            self.assertEqual(c.rcpt("dave@example.test")[0], 250)
            c.quit()

    def test_unreadable_directory_never_answers_5xx(self):
        ex = make_exim(on_error="defer")
        os.unlink(ex.path("recipients"))
        with ex:
            self.assertEqual(try_rcpts(ex, "127.0.19.1", ["alice@example.test"]), [451])
            self.assertIn("moat rcpt: error: the recipient directory cannot be read",
                          ex.mainlog())

    def test_ldap_outage_serves_stale_positives_defers_the_rest(self):
        slapd = Slapd(users=["alice@example.test", "bob@example.test"]).start()
        try:
            ex = Exim(modules=["rcpt"])
            ex.prepare()
            ex.write_moat_conf(rcpt_conf("unused", source="ldap").replace(
                "rcpt {", 'rcpt {\n  ldap {\n    uri = {"ldap://127.0.0.1:1/", "%s"}\n'
                '    base = "%s"\n    bind_dn = "%s"\n    password_file = "%s"\n'
                '    timeout = 1s\n    cache_positive = 1s\n    cache_negative = 1s\n  }'
                % (slapd.uri, slapd.base, slapd.admin_dn,
                   slapd.write_password_file(ex.path("ldap.pw")))))
            with ex:
                # The first URI refuses connections: the second one answers.
                self.assertEqual(try_rcpts(ex, "127.0.20.1", ["alice@example.test",
                                                              "nobody@example.test"]), [250, 550])
                slapd.stop()
                time.sleep(1.2)   # both answers are stale now
                # A stale positive is served; a stale negative is not trusted (the
                # user may have been created since): deferred, like the unknown bob.
                self.assertEqual(try_rcpts(ex, "127.0.20.2", ["alice@example.test",
                                                              "nobody@example.test",
                                                              "bob@example.test"]),
                                 [250, 451, 451])
                self.assertIn("ldap unavailable, serving cached answers", ex.mainlog())
                fl = ex.moatctl("rcpt", "flush-cache", "Alice@example.test")
                self.assertEqual(fl.returncode, 0, fl.stderr)
                self.assertEqual(try_rcpts(ex, "127.0.20.3", ["alice@example.test"]), [451])
                self.assertEqual(ex.paniclog(), "")
        finally:
            slapd.stop()

    def test_exim_source_counts_on_top_of_exims_own_verdict(self):
        # source = exim: Exim's routers know the users; "broken" is routed by a
        # router whose lookup fails (defers): that must be 451, never 550.
        broken = ("moat_broken:\n  driver = redirect\n  domains = +local_domains\n"
                  "  local_parts = broken\n"
                  "  data = ${lookup{$local_part}lsearch{/nonexistent/moat-test}}\n")
        ex = Exim(modules=["rcpt"], extra_routers=broken)
        ex.prepare()
        ex.write_moat_conf(rcpt_conf("unused", source="exim"))
        with ex:
            self.assertEqual(try_rcpts(ex, "127.0.21.1", ["alice@example.test",
                                                          "broken@example.test",
                                                          "nobody@example.test"]),
                             [250, 451, 550])
            log = ex.mainlog()
            # Exim's own defer is Exim's: moat neither counts nor refuses it
            self.assertIn("temporarily rejected RCPT <broken@example.test>", log)
            self.assertNotIn("rcpt=<broken@example.test>", log)
            self.assertIn("reason=unknown_user ip=127.0.21.1", log)
            codes = try_rcpts(ex, "127.0.21.1", ["e%d@example.test" % i for i in range(10)])
            self.assertEqual(codes, [550] * 8 + [451, 451])   # the 10th unknown blocks
            self.assertEqual(try_rcpts(ex, "127.0.21.1", ["alice@example.test"]), [451])

    def test_active_directory_proxy_addresses(self):
        # AD keeps every address in proxyAddresses, "SMTP:" for the primary one,
        # "smtp:" for aliases, in any case; the default filter finds both.
        slapd = Slapd(ad_users={"Carol Example": ["SMTP:Carol.Example@example.test",
                                                  "smtp:carol@example.test",
                                                  "X500:/o=Example/cn=carol"]}).start()
        try:
            ex = Exim(modules=["rcpt"], users=["postmaster", "carol", "carol.example"])
            ex.prepare()
            ex.write_moat_conf(rcpt_conf("unused", source="ldap").replace(
                "rcpt {", 'rcpt {\n  ldap {\n    uri = {"%s"}\n    base = "%s"\n'
                '    bind_dn = "%s"\n    password_file = "%s"\n  }'
                % (slapd.uri, slapd.base, slapd.admin_dn,
                   slapd.write_password_file(ex.path("ldap.pw")))))
            with ex:
                self.assertEqual(try_rcpts(ex, "127.0.22.1", ["carol.example@example.test",
                                                              "Carol@Example.test",
                                                              "postmaster@example.test"]),
                                 [250, 250, 550])
                # a filter-breaking local part is escaped, not interpreted
                self.assertEqual(try_rcpts(ex, "127.0.22.2", ["*@example.test"]), [550])
        finally:
            slapd.stop()

    def test_dead_ldap_server_costs_one_timeout_not_one_per_connection(self):
        # A server that accepts TCP connections and never answers.
        black_hole = socket.socket()
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        try:
            ex = Exim(modules=["rcpt"])
            ex.prepare()
            ex.write_moat_conf(rcpt_conf("unused", source="ldap").replace(
                "rcpt {", 'rcpt {\n  ldap {\n    uri = {"ldap://127.0.0.1:%d/"}\n'
                '    base = "dc=example,dc=test"\n    timeout = 1s\n    retry_after = 30s\n  }'
                % black_hole.getsockname()[1]))
            with ex:
                t = time.time()
                self.assertEqual(try_rcpts(ex, "127.0.23.1", ["alice@example.test"]), [451])
                self.assertGreaterEqual(time.time() - t, 0.9)
                # Later connections (new Exim processes) know LDAP is down:
                # none of them tries it again (no new LDAP error in the log)
                tried = len(re.findall(r"moat rcpt: ldap ", ex.mainlog()))
                self.assertGreaterEqual(tried, 1)
                for n in range(3):
                    self.assertEqual(try_rcpts(ex, "127.0.23.%d" % (2 + n),
                                               ["bob@example.test"]), [451])
                self.assertEqual(len(re.findall(r"moat rcpt: ldap ", ex.mainlog())), tried,
                                 ex.mainlog())
        finally:
            black_hole.close()

    def test_store_down_never_turns_into_a_5xx(self):
        redis = RedisServer().start()
        try:
            ex = make_exim(store="redis", redis=redis, on_error="defer")
            with ex:
                self.assertEqual(try_rcpts(ex, "127.0.24.1", ["alice@example.test"]), [250])
                redis.kill()
                self.assertEqual(try_rcpts(ex, "127.0.24.1", ["alice@example.test",
                                                              "nobody@example.test"]),
                                 [451, 451])
                self.assertIn("moat rcpt: error:", ex.mainlog())
                self.assertIn("answering per on_error=defer", ex.mainlog())
        finally:
            redis.stop()

    def test_ldap_starttls_with_its_own_ca(self):
        slapd = Slapd(users=["alice@example.test"], tls=True).start()
        try:
            ex = Exim(modules=["rcpt"])
            ex.prepare()

            def conf(ca):
                ex.write_moat_conf(rcpt_conf("unused", source="ldap").replace(
                    "rcpt {", 'rcpt {\n  ldap {\n    uri = {"%s"}\n    base = "%s"\n'
                    '    bind_dn = "%s"\n    password_file = "%s"\n    starttls = true\n'
                    '    tls_ca_file = "%s"\n    retry_after = 0\n  }'
                    % (slapd.uri, slapd.base, slapd.admin_dn,
                       slapd.write_password_file(ex.path("ldap.pw")), ca)))
            conf(slapd.ca_file)
            with ex:
                self.assertEqual(try_rcpts(ex, "127.0.25.1", ["alice@example.test",
                                                              "nobody@example.test"]),
                                 [250, 550])
                # A certificate moat cannot verify: no answer at all, not a plain-text one.
                with open(ex.path("other-ca.pem"), "w") as f:
                    f.write(open("/etc/ssl/certs/ca-certificates.crt").read()
                            if os.path.exists("/etc/ssl/certs/ca-certificates.crt") else "")
                os.chmod(ex.path("other-ca.pem"), 0o644)
                conf(ex.path("other-ca.pem"))
                self.assertEqual(try_rcpts(ex, "127.0.25.2", ["bob@example.test"]), [451])
                self.assertRegex(ex.mainlog(), r"moat rcpt: ldap .*(Connect error|connect|TLS)")
        finally:
            slapd.stop()

    def test_bounces_to_unknown_recipients_have_their_own_count(self):
        # A big provider bouncing spam that forged our domain, or a harvester
        # passing for one with MAIL FROM:<>: bounces to made-up addresses are
        # refused (550) and counted per client apart from ordinary mail; past
        # bounce_threshold (3) the client waits (451, a legitimate MTA
        # retries), and no other client is touched.
        with make_exim() as ex:
            codes = try_rcpts(ex, "127.0.26.1", ["fake%d@example.test" % i for i in range(5)],
                              sender="")
            self.assertEqual(codes, [550, 550, 451, 451, 451])
            self.assertIn("sender=<> rcpt=<fake0@example.test> delay=0s bounce_count=1",
                          ex.mainlog())
            self.assertIn("action=block reason=harvest_bounce ip=127.0.26.1", ex.mainlog())
            self.assertEqual(try_rcpts(ex, "127.0.26.2", ["alice@example.test"], sender=""),
                             [250])


if __name__ == "__main__":
    unittest.main()
