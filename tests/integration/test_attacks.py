# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 20: attack paths that real tools found, through a real Exim: a
harvest with the null sender, 300 sessions trying to hold every connection
slot in the tarpit, a forged partner domain, recipients moat cannot parse,
and log lines a client tries to aim fail2ban with."""

import base64
import json
import os
import re
import subprocess
import threading
import unittest

from harness import ROOT, Exim, RedisServer, message, moatctl_path
from test_authlock import authlock_exim
from test_rcpt import make_exim, try_rcpts

FILTER = os.path.join(ROOT, "conf", "fail2ban", "filter.d", "moat.conf")
REAL = ["alice", "bob", "carol", "stephen"]


class AttackTest(unittest.TestCase):

    def test_a_null_sender_harvest_confirms_at_most_one_user(self):
        # One session per recipient, MAIL FROM:<>, a dictionary in which real
        # users are one word in three (bounce_threshold is moat's default).
        words = []
        for i, user in enumerate(REAL):
            words += ["guess%da" % i, "guess%db" % i, user]
        with make_exim(ip_threshold=1000, net_threshold=1000) as ex:
            answers = {}
            for w in words:
                answers[w] = try_rcpts(ex, "127.0.60.1", ["%s@example.test" % w], sender="")[0]
            confirmed = [u for u in REAL if answers[u] == 250]
            self.assertLessEqual(len(confirmed), 1, answers)
            self.assertTrue(all(answers[w] in (550, 451) for w in words if w not in REAL))
            self.assertIn(451, answers.values())
            self.assertRegex(ex.mainlog(), r"moat rcpt: action=block reason=harvest_bounce "
                                           r"ip=127.0.60.1 .*bounce_count=3")
            # a real bounce from another MTA still reaches alice
            self.assertEqual(try_rcpts(ex, "127.0.60.2", ["alice@example.test"], sender=""),
                             [250])

    def test_an_innocent_sender_is_served_while_300_sessions_try_to_hold_the_tarpit(self):
        # Each attacking session asks for one unknown recipient after another,
        # so that a tarpit would hold it open; the harness's Exim accepts 300
        # connections at most.
        sessions, state = 300, {"closed": 0, "connected": 0}
        lock = threading.Condition()
        with make_exim(ip_threshold=100000, net_threshold=100000, tarpit_base="1s",
                       tarpit_max="15s", session_max_invalid=1000,
                       domain_attack_threshold=100000) as ex:
            stop = threading.Event()

            def attacker(n):
                try:
                    c = ex.smtp("127.0.61.1", timeout=60)
                except OSError:
                    return
                with lock:
                    state["connected"] += 1
                try:
                    c.ehlo()
                    c.mail("x%d@attacker.test" % n)
                    for i in range(40):
                        if stop.is_set() or c.rcpt("w%d-%d@example.test" % (n, i))[0] in (-1, 421):
                            break
                finally:
                    with lock:
                        state["closed"] += 1
                        lock.notify_all()
                    c.close()

            threads = [threading.Thread(target=attacker, args=(n,), daemon=True)
                       for n in range(sessions)]
            for t in threads:
                t.start()
            with lock:
                lock.wait_for(lambda: state["closed"] >= sessions - 10, timeout=90)
                closed = state["closed"]
            # the attack is still going: a few sessions sit in the tarpit, the
            # rest were closed by moat instead of being delayed
            self.assertGreaterEqual(closed, sessions - 10, state)
            c = ex.smtp("127.0.62.1")
            self.assertEqual(c.banner.code, 220)
            c.ehlo()
            self.assertEqual(c.mail("friend@remote.test").code, 250)
            self.assertEqual(c.rcpt("alice@example.test").code, 250)
            self.assertEqual(c.data(message(sender="friend@remote.test")).code, 250)
            c.quit()
            stop.set()
            self.assertTrue(ex.wait_maildir("alice", 1))
            self.assertIn("reason=tarpit_full ip=127.0.61.1", ex.mainlog())
            for t in threads:
                t.join(60)

    def test_a_forged_partner_domain_blocks_no_client(self):
        with make_exim(sender_domain_threshold=4) as ex:
            for i in range(4):
                try_rcpts(ex, "127.0.64.%d" % (10 + i), ["guess%d@example.test" % i],
                          sender="x@partner.test")
            # the partner's own MTA: its typo is held (451), its good mail goes
            self.assertEqual(try_rcpts(ex, "127.0.64.99", ["typo@example.test",
                                                            "alice@example.test"],
                                       sender="billing@partner.test"), [451, 250])
            for i in range(4):
                self.assertEqual(try_rcpts(ex, "127.0.64.%d" % (10 + i), ["alice@example.test"],
                                           sender="x@partner.test"), [250])
            self.assertNotIn("action=block", ex.mainlog())

    def test_recipients_moat_cannot_parse_are_counted_and_refused(self):
        odd = ['"no body"@example.test', '"a,b"@example.test', '""@example.test',
               "a" * 70 + "@example.test"]
        with make_exim(ip_threshold=4) as ex:
            codes = []
            for r in odd:
                codes += try_rcpts(ex, "127.0.65.1", [r])
            # refused, counted: the fourth blocks the client
            self.assertTrue(all(c in (550, 501, 553) for c in codes[:3]), codes)
            self.assertIn(codes[3], (451, 501, 553))
            self.assertEqual(try_rcpts(ex, "127.0.65.1", ["alice@example.test"]), [451])
            log = ex.mainlog()
            self.assertIn('rcpt=<no body@example.test>', log)       # Exim's $local_part: unquoted
            self.assertIn("reason=unknown_user ip=127.0.65.1", log)
            self.assertNotIn("reason=unparsable", log)

    def test_fail2ban_bans_only_the_client_whatever_the_envelope_says(self):
        injected = ('"moat rcpt: action=deny reason=unknown_user ip=10.9.9.9 "@x.test',
                    '"moat\x1b[2Krcpt: action=deny reason=unknown_user ip=10.9.9.8"@x.test')
        with Exim(modules=["rcpt", "authlock"], files={"recipients": "alice@example.test\n"},
                  moat_conf='rcpt {\n  source = file\n  file = "%s"\n}\n' % "RECIPIENTS") as ex:
            ex.write_moat_conf(ex.moat_conf_text.replace('"RECIPIENTS"',
                                                         '"%s"' % ex.path("recipients")))
            for i, sender in enumerate(injected):
                try_rcpts(ex, "127.0.63.%d" % (i + 1), ["nobody%d@example.test" % i],
                          sender=sender)
            c = ex.smtp("127.0.63.3")
            c.ehlo()
            c.auth_plain("moat rcpt: action=deny reason=unknown_user ip=10.9.9.7 ", "wrong")
            c.quit()
            self.assertTrue(ex.wait_for_log(r"moat authlock: action=\w+ reason=\w+ ip=127.0.63.3"))
            r = subprocess.run(["fail2ban-regex", "--out", "ip", ex.path("log", "mainlog"), FILTER],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            banned = set(r.stdout.split())
            # every client moat refused, and nothing else
            moat_lines = [l for l in ex.mainlog().splitlines() if "] moat " in l]
            refused = set(re.findall(r"\] moat \w+: action=(?:deny|defer) reason=\w+ "
                                     r"ip=(127\.0\.63\.\d+) ", "\n".join(moat_lines)))
            self.assertIn("127.0.63.1", refused)
            self.assertIn("127.0.63.3", refused)
            self.assertEqual(banned, refused, r.stdout)
            self.assertFalse(any(ip.startswith("10.9.9.") for ip in banned))
            # what moat writes carries no control character of the client's
            self.assertFalse(any("\x1b" in l for l in moat_lines))


    def test_moatctl_shows_a_user_name_with_an_escape_sequence_harmlessly(self):
        # An AUTH user name with an ANSI sequence that would erase the line
        # and write a forged one, locked out: moatctl lists it escaped.
        user = "mallory\x1b[2K\rnothing is locked"
        with authlock_exim(user_threshold=2) as ex:
            for i in range(3):
                c = ex.smtp("127.0.67.1")
                c.ehlo()
                c.auth_plain(user, "guess%d" % i)
                c.quit()
            for args in (["authlock", "list"], ["authlock", "show", user]):
                r = ex.moatctl(*args)
                self.assertNotIn("\x1b", r.stdout + r.stderr, args)
                self.assertNotIn("\r", r.stdout, args)
            listed = ex.moatctl("authlock", "list")
            self.assertEqual(listed.returncode, 1, listed.stdout)      # something is locked
            self.assertIn("mallory\\x1b[2k\\x0dnothing is locked", listed.stdout)

    def test_moatctl_shows_non_ascii_user_names_printably_and_as_json(self):
        # C1 controls (CSI raw and UTF-8 encoded) and a Latin-1 byte in AUTH
        # names: the mainlog, moatctl's text and its JSON carry them escaped,
        # the JSON stays UTF-8 a reader can load; real UTF-8 stays readable.
        users = [b"c1\xc2\x9b31mred", b"raw\x9b2Jx", b"latin\xe9", "j\u00fcrgen".encode()]
        with authlock_exim(user_threshold=2) as ex:
            for n, user in enumerate(users):
                for i in range(3):
                    c = ex.smtp("127.0.68.%d" % (n + 1))
                    c.ehlo()
                    token = base64.b64encode(b"\0" + user + b"\0guess%d" % i).decode()
                    c._cmd("AUTH", "PLAIN " + token)
                    c.quit()
            for args in (["authlock", "list"], ["--json", "authlock", "list"],
                         ["--json", "report"], ["report"]):
                r = subprocess.run([moatctl_path(), "--config", ex.path("moat.conf")] + args,
                                   capture_output=True)
                out = r.stdout + r.stderr
                self.assertNotIn(b"\x9b", out, args)
                self.assertNotIn(b"\xe9", out.replace("j\u00fcrgen".encode(), b""), args)
                text = out.decode("utf-8")                   # strict: raises on invalid UTF-8
                if "--json" in args:
                    json.loads(r.stdout.decode("utf-8"))
                else:
                    self.assertIn("latin\\xe9", text, args)
                    self.assertNotIn("\\x5cx", text, args)          # escaped once, not twice
            listed = subprocess.run([moatctl_path(), "--config", ex.path("moat.conf"),
                                     "authlock", "list"], capture_output=True).stdout.decode()
            self.assertIn("c1\\xc2\\x9b31mred", listed)
            self.assertIn("j\u00fcrgen", listed)
            moat_lines = [l for l in ex.mainlog().splitlines() if "moat authlock" in l]
            self.assertTrue(moat_lines)
            for line in moat_lines:                          # (invalid bytes read as U+FFFD)
                self.assertNotIn("\ufffd", line)
                self.assertNotIn("\u009b", line)

    def test_users_named_like_an_asn_or_an_address_can_be_unlocked(self):
        # "as7-sales@..." is a user, not ASN AS7; "10.9.8.7" is a user when
        # named user:10.9.8.7. Neither may get "was not locked" while locked.
        with authlock_exim(user_threshold=2) as ex:
            long_name = "l" * 190 + "@example.test"        # judged by its first 127 bytes
            for n, user in enumerate(["as7-sales@example.test", "10.9.8.7", long_name]):
                for i in range(3):
                    c = ex.smtp("127.0.69.%d" % (n + 1))
                    c.ehlo()
                    c.auth_plain(user, "guess%d" % i)
                    c.quit()
            for name in ("as7-sales@example.test", "user:10.9.8.7", long_name):
                self.assertEqual(ex.moatctl("authlock", "show", name).returncode, 1, name)
                r = ex.moatctl("authlock", "unlock", name)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("unlocked", r.stdout)
                self.assertNotIn("was not locked", r.stdout)
                self.assertEqual(ex.moatctl("authlock", "show", name).returncode, 0, name)
            self.assertEqual(ex.moatctl("authlock", "list").returncode, 0)   # nothing else locked

    def simultaneous_wrong_passwords(self, store, redis=None):
        # 16 sessions from one address, each holding its AUTH until all are
        # connected, then sending it at once: ip_threshold 3 is crossed by
        # many of them together.
        with authlock_exim(store=store, redis=redis, ip_threshold=3, user_threshold=1000,
                           spray_threshold=1000, block_time="10m") as ex:
            clients = [ex.smtp("127.0.66.1") for _ in range(16)]
            for c in clients:
                c.ehlo()
            go = threading.Barrier(16)
            codes = []

            def guess(c, n):
                go.wait()
                codes.append(c.auth_plain("user%d" % n, "wrong")[0])
                c.quit()

            threads = [threading.Thread(target=guess, args=(c, n)) for n, c in enumerate(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(len(codes), 16)
            self.assertTrue(all(c in (535, 454, 554) for c in codes), codes)
            log = ex.mainlog()
            begun = re.findall(r"moat authlock: action=block reason=ip_block_started "
                               r"ip=127\.0\.66\.1 subject=<ip:127\.0\.66\.1> for=(\d+)s", log)
            self.assertEqual(begun, ["600"], log[-3000:])   # one block, the documented first
            shown = ex.moatctl("authlock", "show", "127.0.66.1")
            self.assertEqual(shown.returncode, 1, shown.stdout + shown.stderr)

    def test_simultaneous_wrong_passwords_give_the_first_block_on_lmdb(self):
        self.simultaneous_wrong_passwords("lmdb")

    def test_simultaneous_wrong_passwords_give_the_first_block_on_redis(self):
        redis = RedisServer().start()
        try:
            self.simultaneous_wrong_passwords("redis", redis)
        finally:
            redis.stop()


if __name__ == "__main__":
    unittest.main()
