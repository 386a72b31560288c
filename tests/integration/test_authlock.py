# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 4: authlock through a real Exim with the shipped authenticators:
brute force stopped while the real user still logs in from her familiar
network, identical wrong passwords counted once, spraying, distributed
guessing within one ASN, country rules, a missing GeoIP file, shared state
through Redis, log-only mode. The tests write their own .mmdb."""

import os
import re
import subprocess
import threading
import time
import unittest

import json

from harness import HERE, PLAIN_AUTHENTICATORS, Exim, RedisServer, SmtpSink, message, wait_until

GEO = ["127.0.20.0/24=DE:64500",    # alice's home network
       "127.0.21.0/24=CN:64501",    # an attacker's network
       "127.0.22.0/24=RU:64502",    # a country on the deny list
       ] + ["127.0.%d.0/24=DE:64500" % n for n in range(23, 40)]   # more of alice's ISP

BASE = dict(window="1h", ip_threshold=8, net_threshold=100, asn_threshold=1000,
            spray_threshold=4, user_threshold=5, user_familiar_threshold=50, distributed_ips=3,
            tarpit_base="0", tarpit_max="0", tarpit_after=3, block_time="10m")


def authlock_exim(geo=True, store="lmdb", redis=None, name="exim", **over):
    ex = Exim(modules=["authlock"], store=store, redis=redis, name=name)
    ex.prepare()
    opts = dict(BASE)
    opts.update(over)
    conf = "authlock {\n%s\n}\n" % "\n".join("  %s = %s" % kv for kv in opts.items())
    mmdb = ex.path("geo.mmdb")
    if geo:
        subprocess.run(["perl", os.path.join(HERE, "mmdb_writer.pl"), mmdb] + GEO, check=True)
        os.chmod(mmdb, 0o644)
    conf += 'geoip {\n  country_db = "%s"\n  asn_db = "%s"\n}\n' % (mmdb, mmdb)
    ex.write_moat_conf(conf)
    return ex


def auth(ex, source, user, password, login=False):
    """One connection, one AUTH: (code, seconds the AUTH took)."""
    c = ex.smtp(source)
    c.ehlo()
    t = time.time()
    r = c.auth_login(user, password) if login else c.auth_plain(user, password)
    took = time.time() - t
    c.quit()
    return r[0], took


def peer_route(port, domains):
    """A router sending mail for domains to a peer on 127.0.0.1:port, and its
    smtp transport, whose delivery events go to moat (MOAT_EVENT)."""
    router = ("to_peer:\n  driver = manualroute\n  domains = %s\n"
              "  route_list = * 127.0.0.1::%d\n  transport = peer_smtp\n"
              "  self = send\n" % (domains, port))
    transport = ("peer_smtp:\n  driver = smtp\n  allow_localhost\n"
                 "  hosts_avoid_esmtp =\n  event_action = MOAT_EVENT\n")
    return router, transport


class AuthlockTest(unittest.TestCase):

    def test_brute_force_is_stopped_but_alice_still_logs_in_from_home(self):
        with authlock_exim(tarpit_base="1s", tarpit_max="2s") as ex:
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)
            results = [auth(ex, "127.0.21.7", "alice", "guess%d" % i) for i in range(5)]
            self.assertEqual([r[0] for r in results], [535] * 5)
            # The tarpit grows with the client's failures (before the 4th and
            # 5th AUTH): what moat asked Exim to wait, from its log, and the
            # waits themselves as lower bounds (an upper bound on wall-clock
            # time would fail on a loaded machine)
            lines = re.findall(r"moat authlock: action=\S+ reason=\S+ ip=127\.0\.21\.7 .*",
                               ex.mainlog())
            steps = ["tarpit " + re.findall(r" delay=(\S+)", line)[0]
                     if "reason=tarpit" in line else "failed" for line in lines]
            self.assertEqual(steps[:6], ["failed", "failed", "failed", "tarpit 1s", "failed",
                                         "tarpit 2s"], lines)
            self.assertGreaterEqual(results[3][1], 0.9)
            self.assertGreaterEqual(results[4][1], 1.9)
            # Locked: even the right password fails from the attacker's network...
            self.assertEqual(auth(ex, "127.0.21.7", "alice", "alice-demo-pw")[0], 535)
            # ...while alice logs in from her familiar network, by PLAIN or LOGIN.
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)
            self.assertEqual(auth(ex, "127.0.20.9", "alice", "alice-demo-pw", login=True)[0], 235)
            log = ex.mainlog()
            self.assertIn("moat authlock: action=deny reason=user_locked ip=127.0.21.7 user=alice "
                          "country=CN asn=AS64501 familiar=no", log)
            # her first login, from a place new to her, was logged; later ones from there not
            self.assertEqual(log.count("action=accept reason=ok ip=127.0.20.5 user=alice "
                                       "country=DE asn=AS64500 familiar=no"), 1)
            self.assertNotIn("alice-demo-pw", log)
            self.assertNotIn("guess1", log)
            shown = ex.moatctl("authlock", "show", "alice")
            self.assertEqual(shown.returncode, 1, shown.stdout + shown.stderr)
            self.assertIn("locked", shown.stdout)
            self.assertEqual(ex.moatctl("authlock", "unlock", "alice").returncode, 0)
            self.assertEqual(auth(ex, "127.0.21.7", "alice", "alice-demo-pw")[0], 235)

    def test_the_same_wrong_password_counts_once(self):
        with authlock_exim() as ex:
            for _ in range(20):
                self.assertEqual(auth(ex, "127.0.24.2", "bob", "bobby")[0], 535)
            self.assertIn("reason=bad_credentials_repeated", ex.mainlog())
            self.assertEqual(auth(ex, "127.0.24.2", "bob", "bob-demo-pw")[0], 235)

    def test_twenty_different_wrong_passwords_lock(self):
        with authlock_exim() as ex:
            for i in range(20):
                self.assertIn(auth(ex, "127.0.25.%d" % (i % 2 + 1), "bob", "pw%d" % i)[0],
                              (535, 454))
            self.assertEqual(auth(ex, "127.0.25.1", "bob", "bob-demo-pw")[0], 535)

    def test_one_address_trying_many_users_is_blocked(self):
        with authlock_exim() as ex:
            for user in ("admin", "info", "sales", "test"):
                self.assertEqual(auth(ex, "127.0.21.30", user, "123456")[0], 535)
            code, _ = auth(ex, "127.0.21.30", "alice", "alice-demo-pw")
            self.assertEqual(code, 454)   # refused at AUTH, before any credentials
            self.assertIn("reason=spraying", ex.mainlog())
            self.assertEqual(auth(ex, "127.0.21.31", "alice", "alice-demo-pw")[0], 235)

    def test_one_user_from_many_addresses_of_her_own_asn_is_held_to_the_unfamiliar_threshold(self):
        with authlock_exim() as ex:
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)
            for n in range(23, 31):   # 8 addresses in alice's ISP (AS64500), one guess each
                self.assertEqual(auth(ex, "127.0.%d.9" % n, "alice", "guess%d" % n)[0], 535)
            # Without the rule these would count against the familiar threshold (50).
            self.assertEqual(auth(ex, "127.0.35.9", "alice", "alice-demo-pw")[0], 535)
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)

    def guesses_from_her_asn_at_once(self, store="lmdb", redis=None):
        """60 addresses of alice's ISP (other /24s) each send one wrong
        password at the same moment: judged as one after another would be,
        only the first distributed_ips - 1 count as familiar and alice still
        logs in from home."""
        n, ips = 60, 5
        with authlock_exim(store=store, redis=redis, ip_threshold=10, net_threshold=100,
                           user_threshold=10, user_familiar_threshold=20,
                           distributed_ips=ips) as ex:
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)
            sources = ["127.0.%d.%d" % (23 + i % 17, 10 + i // 17) for i in range(n)]
            clients = [ex.smtp(s, timeout=120) for s in sources]
            for c in clients:
                self.assertEqual(c.ehlo()[0], 250)
            go, codes = threading.Barrier(n), [None] * n

            def guess(i):
                go.wait(60)
                codes[i] = clients[i].auth_plain("alice", "guess%d" % i)[0]
                clients[i].quit()
            threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(codes, [535] * n)
            judged = r"ip=127\.0\.(?:2[3-9]|3\d)\.\d+ user=alice \S+ \S+ familiar=(yes|no)"
            found = wait_until(lambda: len(re.findall(judged, ex.mainlog())) >= n and
                               re.findall(judged, ex.mainlog()))
            self.assertTrue(found)
            self.assertLessEqual(found.count("yes"), ips - 1, found)
            self.assertNotIn("subject=<user:alice:familiar>", ex.mainlog())
            self.assertEqual(auth(ex, "127.0.20.5", "alice", "alice-demo-pw")[0], 235)

    def test_guesses_from_her_asn_at_once_do_not_lock_alice_out_at_home(self):
        self.guesses_from_her_asn_at_once()

    def test_guesses_from_her_asn_at_once_do_not_lock_alice_out_at_home_redis(self):
        redis = RedisServer().start()
        try:
            self.guesses_from_her_asn_at_once(store="redis", redis=redis)
        finally:
            redis.stop()

    def test_denied_country_is_refused_at_auth(self):
        with authlock_exim(deny_countries='{"RU"}') as ex:
            self.assertEqual(auth(ex, "127.0.22.4", "alice", "alice-demo-pw")[0], 454)
            self.assertIn("reason=country_denied ip=127.0.22.4", ex.mainlog())
            self.assertEqual(auth(ex, "127.0.20.4", "alice", "alice-demo-pw")[0], 235)

    def test_missing_geoip_file_keeps_auth_working_with_one_log_line(self):
        with authlock_exim(geo=False, deny_countries='{"RU"}') as ex:
            for i in range(3):
                self.assertEqual(auth(ex, "127.0.22.%d" % (i + 1), "alice", "alice-demo-pw")[0], 235)
            lines = [l for l in ex.mainlog().splitlines() if "moat geo:" in l]
            texts = set(re.sub(r"^\[\d+\] ", "", l.split(" ", 2)[2]) for l in lines)
            self.assertEqual(len(texts), 1, lines)   # the same line, once per process
            self.assertIn("missing", lines[0])
            self.assertEqual(ex.paniclog(), "")

    def test_corrupt_geoip_file_keeps_auth_working_with_one_log_line(self):
        ex = authlock_exim(geo=False, deny_countries='{"RU"}')
        with open(ex.path("geo.mmdb"), "wb") as f:
            f.write(b"\x00not a maxmind database\xff" * 64)
        os.chmod(ex.path("geo.mmdb"), 0o644)
        with ex:
            self.assertEqual(auth(ex, "127.0.22.9", "alice", "alice-demo-pw")[0], 235)
            log = ex.mainlog()
            self.assertIn("moat geo: cannot use %s" % ex.path("geo.mmdb"), log)
            self.assertEqual(ex.paniclog(), "")

    def test_two_mx_hosts_share_the_lockout_through_redis(self):
        redis = RedisServer().start()
        try:
            a = authlock_exim(store="redis", redis=redis, name="mx1")
            b = authlock_exim(store="redis", redis=redis, name="mx2")
            with a, b:
                for i in range(5):
                    self.assertEqual(auth(a, "127.0.21.8", "bob", "x%d" % i)[0], 535)
                self.assertEqual(auth(b, "127.0.21.8", "bob", "bob-demo-pw")[0], 535)
                self.assertIn("reason=user_locked", b.mainlog())
        finally:
            redis.stop()

    def test_log_only_refuses_nothing_and_says_what_it_would_do(self):
        with authlock_exim(mode="log-only") as ex:
            for i in range(10):
                self.assertEqual(auth(ex, "127.0.21.9", "bob", "w%d" % i)[0], 535)
            self.assertEqual(auth(ex, "127.0.21.9", "bob", "bob-demo-pw")[0], 235)
            log = ex.mainlog()
            self.assertIn("mode=log-only", log)
            self.assertIn("reason=user_locked", log)


class AuthlockAdminAndQuitTest(unittest.TestCase):

    def test_failures_of_an_authenticator_moat_cannot_wrap_are_counted_at_quit(self):
        """dovecot/cyrus_sasl style: the authenticator is not wrapped, so the
        failures are counted from $authenticated_fail_id at QUIT, or when the
        client just drops the connection (notquit)."""
        ex = Exim(modules=["authlock"], authenticators=PLAIN_AUTHENTICATORS,
                  extra_macros="MOAT_AUTHLOCK_EXTERNAL_AUTH = yes")
        ex.prepare()
        ex.write_moat_conf("authlock {\n  ip_threshold = 4\n  user_threshold = 100\n"
                           "  tarpit_base = 0\n}\n")
        with ex:
            for i in range(2):
                self.assertEqual(auth(ex, "127.0.21.50", "carol", "nope%d" % i)[0], 535)
            for i in range(2):                  # dropped without QUIT
                c = ex.smtp("127.0.21.50")
                c.ehlo()
                self.assertEqual(c.auth_plain("carol", "again%d" % i)[0], 535)
                c.close()
            deadline = time.time() + 5
            while time.time() < deadline and "reason=ip_blocked" not in ex.mainlog():
                time.sleep(0.1)
            self.assertEqual(auth(ex, "127.0.21.50", "alice", "alice-demo-pw")[0], 454)
            shown = ex.moatctl("--json", "authlock", "show", "carol")
            self.assertEqual(json.loads(shown.stdout)["failures_unfamiliar"], 4)
            self.assertEqual(auth(ex, "127.0.21.51", "alice", "alice-demo-pw")[0], 235)

    def test_block_at_connect_turns_a_blocked_client_away_before_the_banner(self):
        with authlock_exim(block_at_connect="true", refuse="drop") as ex:
            for user in ("admin", "info", "sales", "test"):
                self.assertEqual(auth(ex, "127.0.21.80", user, "123456")[0], 535)
            self.assertEqual(ex.smtp("127.0.21.80").banner.code, 554)
            self.assertEqual(ex.smtp("127.0.21.81").banner.code, 220)
            self.assertIn("moat authlock: action=drop reason=ip_blocked ip=127.0.21.80 user=- "
                          "country=CN asn=AS64501", ex.mainlog())

    def test_moatctl_list_show_and_unlock_a_network(self):
        with authlock_exim(net_threshold=4, ip_threshold=100, user_threshold=100) as ex:
            for i in range(4):
                self.assertEqual(auth(ex, "127.0.21.%d" % (60 + i), "bob", "n%d" % i)[0], 535)
            self.assertEqual(auth(ex, "127.0.21.99", "bob", "bob-demo-pw")[0], 454)
            listed = ex.moatctl("--json", "authlock", "list")
            self.assertEqual(listed.returncode, 1)
            self.assertIn("net:127.0.21.0/24", [e["locked"] for e in json.loads(listed.stdout)])
            shown = ex.moatctl("--json", "authlock", "show", "127.0.21.60")
            facts = json.loads(shown.stdout)
            self.assertEqual((facts["network"], facts["network_locked"], facts["country"],
                              facts["asn"]), ("127.0.21.0/24", True, "CN", "AS64501"))
            self.assertEqual(shown.returncode, 1)
            # any address of the network names it
            self.assertEqual(ex.moatctl("authlock", "unlock", "127.0.21.200/24").returncode, 0)
            self.assertEqual(ex.moatctl("authlock", "list").returncode, 0)
            self.assertEqual(auth(ex, "127.0.21.99", "bob", "bob-demo-pw")[0], 235)
            user = json.loads(ex.moatctl("--json", "authlock", "show", "bob").stdout)
            self.assertIn("net:127.0.21.0/24", user["familiar"])


class AuthWhereTest(unittest.TestCase):
    """Issue 9, part one: AUTH only where it belongs."""

    def test_auth_on_port_25_from_outside_is_refused_on_submission_it_works(self):
        from harness import free_port
        submission = free_port()
        ex = Exim(modules=["authlock"], extra_ports=[submission])
        ex.prepare()
        ex.write_moat_conf('authlock {\n  auth_ports = {%d}\n  internal_networks = {"127.0.90.0/24"}\n'
                           '  tarpit_base = 0\n}\n' % submission)
        with ex:
            c = ex.smtp("127.0.91.1")          # the MX port, from outside
            c.ehlo()
            r = c.auth_plain("alice", "alice-demo-pw")
            c.quit()
            self.assertEqual(r[0], 503, r)
            self.assertIn(b"not offered on this port", r[1])
            c = ex.smtp("127.0.91.1", port=submission)
            c.ehlo()
            self.assertEqual(c.auth_plain("alice", "alice-demo-pw")[0], 235)
            c.quit()
            c = ex.smtp("127.0.90.5")          # inside: AUTH anywhere
            c.ehlo()
            self.assertEqual(c.auth_plain("alice", "alice-demo-pw")[0], 235)
            c.quit()
            self.assertIn("reason=auth_wrong_port ip=127.0.91.1", ex.mainlog())
            shown = ex.moatctl("authlock", "show", "127.0.91.1")
            self.assertRegex(shown.stdout, r"failures\s+1\n")   # the refused AUTH counts


class ContainmentTest(unittest.TestCase):
    """Issue 9, part two: a hijacked account stopped, a normal user never."""

    def run_containment(self, store, redis=None):
        ex = Exim(modules=["authlock"], store=store, redis=redis, relay_from="",
                  extra_macros="MOAT_AUTHLOCK_NOTIFY = postmaster@example.test")
        ex.prepare()
        ex.write_moat_conf("authlock {\n  send_floor = 40\n  tarpit_base = 0\n}\n")
        with ex:
            def submit(user, pw, rcpts, source):
                c = ex.smtp(source)
                c.ehlo()
                if c.auth_plain(user, pw)[0] != 235:
                    c.quit()
                    return "auth_refused"
                c.mail("%s@example.test" % user)
                codes = [c.rcpt(r)[0] for r in rcpts]
                if 250 in codes:
                    c.data(message(sender="%s@example.test" % user, to=rcpts[0]))
                c.quit()
                return codes
            # alice sends her usual handful: never stopped, never held
            for i in range(5):
                self.assertEqual(submit("alice", "alice-demo-pw", ["friend%d@partner.test" % i],
                                        "127.0.95.1"), [250])
            # bob's password was guessed: 300 messages to random external recipients
            sent = 0
            for i in range(300):
                codes = submit("bob", "bob-demo-pw", ["x%d@victims.test" % i], "127.0.96.1")
                if codes != [250]:
                    break
                sent += 1
            self.assertLess(sent, 60)                       # stopped well before the 300th
            self.assertIn(codes, ([451], "auth_refused"))
            # locked for AUTH too, and reported
            self.assertEqual(submit("bob", "bob-demo-pw", ["y@victims.test"], "127.0.96.1"),
                             "auth_refused")
            self.assertIn("moat authlock: action=contain reason=sending_limit user=bob",
                          ex.mainlog())
            # what was accepted after the warning waits, frozen, for review: nothing lost
            held = ex.moatctl("--exim-config", ex.path("exim.conf"), "authlock", "held", "bob")
            self.assertEqual(held.returncode, 1, held.stdout + held.stderr)
            self.assertGreaterEqual(len(held.stdout.strip().splitlines()), 15)
            self.assertTrue(ex.sink.wait_for(15))
            # the admin was told once, by Exim's freeze_tell
            self.assertTrue(ex.wait_maildir("postmaster", 1))
            self.assertTrue(self.wait_only_frozen(ex), ex.exim("-bp").stdout)
            notes = ex.maildir("postmaster")
            self.assertEqual(len(notes), 1)
            self.assertIn(b"frozen", notes[0])
            # alice was never touched
            self.assertEqual(submit("alice", "alice-demo-pw", ["friend9@partner.test"],
                                    "127.0.95.1"), [250])
            # unlock restores sending at once
            self.assertEqual(ex.moatctl("authlock", "unlock", "bob").returncode, 0)
            self.assertEqual(submit("bob", "bob-demo-pw", ["colleague@partner.test"],
                                    "127.0.96.1"), [250])

    @staticmethod
    def wait_only_frozen(ex, timeout=30):
        """Wait until every message left in the queue is frozen and no
        process of the instance is at work: every freeze_tell note has been
        written and delivered by then."""
        def settled():
            if ex.busy():
                return False
            listing = ex.exim("-bp").stdout
            return listing.count("*** frozen ***") == len(ex.queue()) and not ex.busy()
        return bool(wait_until(settled, timeout))

    def run_rejections(self, store, redis=None):
        """Recipients refused by a remote server (msg:fail:delivery through the
        smtp transport's event_action = MOAT_EVENT) contain a spraying user
        long before the volume limit; one typo of a normal user does not."""
        spray = ["r%d-%d@victims.test" % (i, int(time.time() * 1000) % 1000) for i in range(40)]
        reject = dict((r, "550 5.1.1 <%s>: Recipient address rejected: User unknown" % r)
                      for r in spray)
        reject["frend@partner.test"] = "550 5.1.1 No such user here"
        peer = SmtpSink(reject=reject).start()
        router, transport = peer_route(peer.port, "victims.test : partner.test")
        ex = Exim(modules=["authlock", "autoreply"], store=store, redis=redis,
                  extra_routers=router, extra_transports=transport,
                  extra_macros="MOAT_AUTHLOCK_NOTIFY = postmaster@example.test")
        ex.prepare()
        ex.write_moat_conf("authlock {\n  send_floor = 1000\n  send_reject_floor = 6\n"
                           "  tarpit_base = 0\n}\nautoreply {\n  enabled = true\n}\n")
        try:
            with ex:
                def submit(user, rcpt):
                    c = ex.smtp("127.0.97.1" if user == "bob" else "127.0.98.1")
                    c.ehlo()
                    if c.auth_plain(user, "%s-demo-pw" % user)[0] != 235:
                        c.quit()
                        return "auth_refused"
                    c.mail("%s@example.test" % user)
                    code = c.rcpt(rcpt)[0]
                    if code == 250:
                        c.data(message(sender="%s@example.test" % user, to=rcpt))
                    c.quit()
                    return code

                def rejected(user):
                    shown = ex.moatctl("--json", "authlock", "show", user)
                    return json.loads(shown.stdout)["rejected_recipients"]

                # alice: her usual mail to a partner, one typo refused there
                for rcpt in ("friend@partner.test", "frend@partner.test", "friend2@partner.test"):
                    self.assertEqual(submit("alice", rcpt), 250)
                deadline = time.time() + 10
                while time.time() < deadline and rejected("alice") < 1:
                    time.sleep(0.1)
                self.assertEqual(rejected("alice"), 1)
                self.assertEqual(submit("alice", "friend3@partner.test"), 250)
                # bob's password was guessed: mail to made-up addresses, refused there
                sent = 0
                for rcpt in spray:
                    code = submit("bob", rcpt)
                    if code != 250:
                        break
                    sent += 1
                    # its delivery is over (refused there, and moat's event has
                    # counted it; or held): no process of the instance at work
                    wait_until(lambda: not ex.busy(), timeout=30, interval=0.02)
                self.assertLess(sent, 15, ex.mainlog())
                self.assertIn(code, (451, "auth_refused"))
                self.assertEqual(submit("bob", "y@partner.test"), "auth_refused")
                log = ex.mainlog()
                self.assertIn("moat authlock: action=contain reason=reject_limit user=bob", log)
                self.assertIn("action=hold reason=reject_warning user=bob", log)
                shown = ex.moatctl("--json", "authlock", "show", "bob")
                self.assertEqual(shown.returncode, 1)
                facts = json.loads(shown.stdout)
                self.assertEqual(facts["sending"], "locked")
                self.assertGreaterEqual(facts["rejected_recipients"], 6)
                # the admin was told (freeze_tell of the first held message; it
                # passes autoreply's gate, which drops mail from <> to robots elsewhere)
                self.assertTrue(ex.wait_maildir("postmaster", 1))
                # alice was never touched, and nothing of hers held
                self.assertEqual(submit("alice", "friend4@partner.test"), 250)
                self.assertNotIn("user=alice", "\n".join(
                    l for l in ex.mainlog().splitlines() if "action=contain" in l
                    or "action=hold" in l))
                # unlock forgets the rejections: sending resumes at once
                self.assertEqual(ex.moatctl("authlock", "unlock", "bob").returncode, 0)
                self.assertEqual(rejected("bob"), 0)
                self.assertEqual(submit("bob", "colleague@partner.test"), 250)
        finally:
            peer.stop()

    def test_remote_rejections_contain_on_lmdb(self):
        self.run_rejections("lmdb")

    def test_remote_rejections_contain_on_redis(self):
        redis = RedisServer().start()
        try:
            self.run_rejections("redis", redis)
        finally:
            redis.stop()

    def test_remote_rejections_in_log_only_mode_refuse_nothing(self):
        peer = SmtpSink(reject=dict(("n%d@victims.test" % i, "550 5.1.1 unknown")
                                    for i in range(10))).start()
        router, transport = peer_route(peer.port, "victims.test")
        ex = Exim(modules=["authlock"], extra_routers=router, extra_transports=transport)
        ex.prepare()
        ex.write_moat_conf("authlock {\n  mode = log-only\n  send_reject_floor = 3\n"
                           "  tarpit_base = 0\n}\n")
        try:
            with ex:
                rcpts = ["n%d@victims.test" % i for i in range(5)]
                r = ex.send("bob@example.test", rcpts, auth=("bob", "bob-demo-pw"),
                            source="127.0.97.2")
                self.assertEqual(r[-1][0], 250, r)
                self.assertTrue(ex.wait_for_log(r"action=contain reason=reject_limit user=bob "
                                                r"rejected=3 .*mode=log-only", 20), ex.mainlog())
                r = ex.send("bob@example.test", ["n9@victims.test"], auth=("bob", "bob-demo-pw"),
                            source="127.0.97.2")
                self.assertEqual(r[-1][0], 250, r)
                shown = ex.moatctl("authlock", "show", "bob")
                self.assertIn("not locked", shown.stdout)
        finally:
            peer.stop()

    def test_containment_on_lmdb(self):
        self.run_containment("lmdb")

    def test_containment_on_redis(self):
        redis = RedisServer().start()
        try:
            self.run_containment("redis", redis)
        finally:
            redis.stop()


if __name__ == "__main__":
    unittest.main()
