"""Issue 22: the batv module through a real Exim. Mail alice submits leaves
with a prvs= envelope sender (Exim's ${prvs}, the sink records it); a bounce
to the tag is accepted and delivered to alice; bounces to plain alice@, to
a forged and to an expired tag are refused 5xx; grace and log-only refuse
nothing and log; two Exims with one key file accept each other's tags; a
rotation keeps yesterday's tags valid.

SPDX-License-Identifier: GPL-2.0-or-later
"""

import hashlib
import hmac
import os
import pwd
import re
import shutil
import stat
import time
import unittest

from harness import EXIM_USER, Exim, exim_ids, message

DOMAIN = "example.test"


def batv_conf(keys, extra=""):
    return ('batv {\n  domains = {"%s"}\n  keys = "%s"\n  grace = 0\n'
            '  exempt = {"lists.remote.test", "verify@callout.test"}\n%s}\n' % (DOMAIN, keys, extra))


# modules every batv_exim also has on (BatvWithRcptTest: rcpt, whose router
# then takes batv's RCPT decisions, checking the tags in moat itself)
WITH = []


def batv_exim(extra="", modules=None, **kw):
    """An Exim with batv on for example.test (no grace), keys under its state directory."""
    mods = modules if modules is not None else ["batv"]
    ex = Exim(modules=mods + [m for m in WITH if m not in mods], **kw)
    ex.prepare()
    ex.write_moat_conf(batv_conf(ex.path("state", "batv"), extra))
    return ex


def key_file(ex):
    return ex.path("state", "batv", DOMAIN + ".key")


def current_key(ex):
    """(key number, secret) of the current key in ex's key file."""
    with open(key_file(ex)) as f:
        keys = re.findall(r"^key (\d) \d+ ([0-9a-f]+)$", f.read(), re.M)
    return int(keys[0][0]), keys[0][1]


def prvs(address, secret, keynum, expires_day):
    """A BATV tag as Exim's ${prvs} makes it, expiring on expires_day (days since the epoch)."""
    day = "%03d" % (expires_day % 1000)
    mac = hmac.new(secret.encode(), ("%d%s%s" % (keynum, day, address)).encode(),
                   hashlib.sha1).hexdigest()[:6]
    return "prvs=%d%s%s=%s" % (keynum, day, mac, address)


def today():
    return int(time.time()) // 86400


def bounce(ex, rcpt, source="127.0.0.9"):
    """A null-sender message to rcpt: the RCPT reply (and DATA when accepted)."""
    c = ex.smtp(source=source)
    c.ehlo("mx.remote.test")
    c.mail("")
    r = c.rcpt(rcpt)
    if r.code == 250:
        d = c.data(message(sender="mailer-daemon@remote.test", to=rcpt,
                           subject="Undelivered Mail Returned to Sender"))
        assert d.code == 250, d
    c.quit()
    return r


def submit(ex, rcpt, user="alice", password="alice-demo-pw"):
    """alice submits (AUTH) a message to rcpt; the replies."""
    return ex.send("%s@%s" % (user, DOMAIN), rcpt, auth=(user, password),
                   body=message(sender="%s@%s" % (user, DOMAIN), to=rcpt))


def autoreply(sender, rcpt):
    """An out-of-office reply (RFC 3834) with an envelope sender."""
    return message(sender=sender, to=rcpt, subject="Out of office: your message",
                   headers={"Auto-Submitted": "auto-replied"})


class BatvTest(unittest.TestCase):

    def test_autoreplies_answer_only_our_mail(self):
        """An auto-reply with an envelope sender, to plain alice@, from
        someone she never wrote to answers mail forged in her name: refused
        at DATA; from a correspondent of hers, or to her tag: delivered.
        autoreply classifies (and learns whom alice writes to)."""
        ex = batv_exim(modules=["autoreply", "batv"])
        with ex:
            plain = "alice@" + DOMAIN
            # alice writes to bob (signing makes the key; bob becomes known)
            self.assertEqual(submit(ex, "bob@remote.test")[-1].code, 250)
            self.assertTrue(ex.sink.wait_for(1), ex.mainlog()[-2000:])
            r = ex.send("ooo@stranger.test", plain, body=autoreply("ooo@stranger.test", plain))
            self.assertEqual(r[-1].code, 550, r)
            self.assertIn(b"5.7.1", r[-1].text)
            self.assertTrue(ex.wait_for_log(
                r"moat batv: action=deny reason=unsigned_autoreply ip=127\.0\.0\.1 "
                r"rcpt=<alice@example\.test>"), ex.mainlog()[-2000:])
            # the same stranger's personal mail is not judged
            self.assertEqual(ex.send("ooo@stranger.test", plain)[-1].code, 250)
            # bob's out-of-office to plain alice@ answers her mail
            r = ex.send("bob@remote.test", plain, body=autoreply("bob@remote.test", plain))
            self.assertEqual(r[-1].code, 250, ex.mainlog()[-2000:])
            # anyone's auto-reply to her tagged address answers mail she sent
            tagged = ex.sink.messages[0]["sender"]
            r = ex.send("ooo2@stranger.test", tagged, body=autoreply("ooo2@stranger.test", tagged))
            self.assertEqual(r[-1].code, 250, ex.mainlog()[-2000:])
            self.assertTrue(ex.wait_maildir("alice", 3), ex.mainlog()[-2000:])
            # autoreplies = off for the domain: not judged
            ex.write_moat_conf(batv_conf(ex.path("state", "batv"),
                                         '  domain "%s" {\n    autoreplies = off\n  }\n' % DOMAIN))
            r = ex.send("ooo3@stranger.test", plain, body=autoreply("ooo3@stranger.test", plain))
            self.assertEqual(r[-1].code, 250, ex.mainlog()[-2000:])
            self.assertEqual(ex.paniclog(), "")

    def test_only_answers_are_judged_as_autoreplies(self):
        """Mail that is automatic but answers nothing - a list's post from
        its bounce address, a notification (Auto-Submitted: auto-generated),
        a human subject that starts like Lotus Notes' "AUTO:" - reaches
        plain alice@ from strangers; an answer marked as one is refused."""
        ex = batv_exim(modules=["autoreply", "batv"])
        with ex:
            plain = "alice@" + DOMAIN
            self.assertEqual(submit(ex, "bob@remote.test")[-1].code, 250)
            self.assertTrue(ex.sink.wait_for(1), ex.mainlog()[-2000:])
            post = message(sender="announce-bounces@lists.remote.test", to="announce@lists.remote.test",
                           subject="Release 2.0", headers={"List-Id": "<announce.lists.remote.test>",
                                                           "Precedence": "list",
                                                           "In-Reply-To": "<x@lists.remote.test>"})
            notice = message(sender="alerts@monitor.test", to=plain, subject="Disk 90% full",
                             headers={"Auto-Submitted": "auto-generated"})
            human = message(sender="hans@kunde.test", to=plain, subject="Auto: Ihr Angebot")
            for sender, body in (("announce-bounces@lists.remote.test", post),
                                 ("alerts@monitor.test", notice), ("hans@kunde.test", human)):
                r = ex.send(sender, plain, body=body)
                self.assertEqual(r[-1].code, 250, (sender, r, ex.mainlog()[-2000:]))
            self.assertTrue(ex.wait_maildir("alice", 3), ex.mainlog()[-2000:])
            oof = message(sender="ooo@stranger.test", to=plain, subject="Out of Office: hello",
                          headers={"X-MS-Exchange-Inbox-Rules-Loop": plain})
            subject_reply = message(sender="ooo2@stranger.test", to=plain, subject="AUTO: away",
                                    headers={"In-Reply-To": "<forged@example.test>"})
            for sender, body in (("ooo@stranger.test", oof), ("ooo2@stranger.test", subject_reply)):
                r = ex.send(sender, plain, body=body)
                self.assertEqual(r[-1].code, 550, (sender, r, ex.mainlog()[-2000:]))
            self.assertEqual(len(re.findall(r"action=deny reason=unsigned_autoreply", ex.mainlog())), 2)
            self.assertEqual(ex.paniclog(), "")

    def test_sign_accept_and_refuse(self):
        # All modules on, as a user would run them.
        ex = batv_exim(modules=None)
        with ex:
            replies = submit(ex, "bob@remote.test")
            self.assertEqual(replies[-1].code, 250, replies)
            self.assertTrue(ex.sink.wait_for(1), ex.mainlog()[-2000:])
            tagged = ex.sink.messages[0]["sender"]
            self.assertRegex(tagged, r"^prvs=0\d{3}[0-9a-f]{6}=alice@example\.test$")
            # Exim's ${prvs} with the key file's secret: the tag is the one we expect.
            num, secret = current_key(ex)
            self.assertEqual(tagged, prvs("alice@example.test", secret, num, today() + 7))
            # The key file: made on first use by the Exim user, 0640.
            st = os.stat(key_file(ex))
            self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, EXIM_USER)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)

            # A bounce to the tag: accepted, delivered to alice (tag removed before routing).
            self.assertEqual(bounce(ex, tagged).code, 250)
            self.assertTrue(ex.wait_maildir("alice", 1), ex.mainlog()[-2000:])
            # (Envelope-to keeps the address the sender used, as for any alias.)
            self.assertIn(b"Envelope-to: " + tagged.encode(), ex.maildir("alice")[0])

            # Unsigned, forged and expired: refused 550 5.7.1, one log line each.
            r = bounce(ex, "alice@example.test")
            self.assertEqual(r.code, 550, r)
            self.assertIn(b"5.7.1", r.text)
            self.assertTrue(ex.wait_for_log(
                r"moat batv: action=deny reason=unsigned_bounce ip=127\.0\.0\.9 "
                r"rcpt=<alice@example\.test>"))
            forged = "prvs=0%03dabcdef=alice@example.test" % ((today() + 7) % 1000)
            self.assertEqual(bounce(ex, forged).code, 550)
            expired = prvs("alice@example.test", secret, num, today() - 1)
            self.assertEqual(bounce(ex, expired).code, 550)
            self.assertTrue(ex.wait_for_log(
                r"moat batv: action=deny reason=bad_tag ip=127\.0\.0\.9 rcpt=<%s>"
                % re.escape(expired)))
            # Another key number, never issued: refused.
            other = prvs("alice@example.test", secret, 5, today() + 7)
            self.assertEqual(bounce(ex, other).code, 550)

            # Ordinary mail and postmaster are not affected.
            self.assertEqual(ex.send("someone@remote.test", "alice@example.test")[-1].code, 250)
            self.assertEqual(bounce(ex, "postmaster@example.test").code, 250)
            self.assertTrue(ex.wait_maildir("alice", 2))
            self.assertEqual(ex.paniclog(), "")

    def test_a_tag_is_valid_whatever_the_case(self):
        # Mail sent as Alice@Example.Test and as alice@example.test: each
        # tag's bounce is accepted, as is a tag written back in capitals;
        # a forged tag in capitals is still refused.
        ex = batv_exim()
        with ex:
            for n, sender in enumerate(["Alice@Example.Test", "alice@example.test"]):
                r = ex.send(sender, "bob%d@remote.test" % n, auth=("alice", "alice-demo-pw"),
                            body=message(sender=sender, to="bob%d@remote.test" % n))
                self.assertEqual(r[-1].code, 250, r)
                self.assertTrue(ex.sink.wait_for(n + 1), ex.mainlog()[-2000:])
            tags = [m["sender"] for m in ex.sink.messages]
            for tag in tags + [tags[1].upper()]:
                self.assertEqual(bounce(ex, tag).code, 250, (tag, ex.mainlog()[-2000:]))
            forged = ("prvs=0%03dabcdef=alice@example.test" % ((today() + 7) % 1000)).upper()
            self.assertEqual(bounce(ex, forged).code, 550)
            self.assertTrue(ex.wait_maildir("alice", 3), ex.mainlog()[-2000:])

    def test_what_is_not_signed(self):
        ex = batv_exim()
        with ex:
            submit(ex, "list@lists.remote.test")              # exempt domain
            submit(ex, "verify@callout.test")                 # exempt address
            ex.send("carol@other.test", "bob@remote.test", auth=("alice", "alice-demo-pw"),
                    body=message(sender="carol@other.test", to="bob@remote.test"))
            r = ex.submit_local("", "bob@remote.test", message(sender="x@example.test",
                                                               to="bob@remote.test"))
            self.assertEqual(r.returncode, 0, r.stderr)
            r = ex.submit_local("alice@example.test", "dave@remote.test",
                                message(sender="alice@example.test", to="dave@remote.test"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(ex.sink.wait_for(5), [m["sender"] for m in ex.sink.messages])
            senders = {m["rcpts"][0]: m["sender"] for m in ex.sink.messages}
            self.assertEqual(senders["list@lists.remote.test"], "alice@example.test")
            self.assertEqual(senders["verify@callout.test"], "alice@example.test")
            # A sender outside our BATV domains, and the null sender: as they were.
            kinds = sorted(m["sender"] for m in ex.sink.messages
                           if m["rcpts"] == ["bob@remote.test"])
            self.assertEqual(kinds, ["<>", "carol@other.test"])     # aiosmtpd says <>
            # Local submission by our user is signed.
            self.assertRegex(senders["dave@remote.test"],
                             r"^prvs=0\d{3}[0-9a-f]{6}=alice@example\.test$")

    def test_grace_and_log_only(self):
        ex = batv_exim(extra="  grace = 1d\n")
        with ex:
            # Nothing signed yet (no key file): no bounce is judged.
            self.assertEqual(bounce(ex, "alice@example.test").code, 250)
            self.assertIsNone(ex.wait_for_log(r"moat batv: action=", timeout=0.5))
            self.assertFalse(os.path.exists(key_file(ex)))
            submit(ex, "bob@remote.test")                     # signing begins
            self.assertTrue(ex.sink.wait_for(1))
            self.assertEqual(bounce(ex, "alice@example.test").code, 250)
            self.assertTrue(ex.wait_for_log(
                r"moat batv: action=accept reason=grace ip=127\.0\.0\.9 rcpt=<alice@example\.test>"))
            self.assertTrue(ex.wait_maildir("alice", 1))
            # A forged tag is refused even during grace (grace is for unsigned bounces).
            forged = "prvs=0%03dabcdef=alice@example.test" % ((today() + 7) % 1000)
            self.assertEqual(bounce(ex, forged).code, 550)

            ex.write_moat_conf(batv_conf(ex.path("state", "batv"), "  mode = log-only\n"))
            self.assertEqual(bounce(ex, "alice@example.test").code, 250)
            self.assertEqual(bounce(ex, forged).code, 250)
            self.assertTrue(ex.wait_for_log(
                r"moat batv: action=warn reason=unsigned_bounce ip=127\.0\.0\.9 "
                r"rcpt=<alice@example\.test> mode=log-only"))
            self.assertTrue(ex.wait_for_log(r"moat batv: action=warn reason=bad_tag .* mode=log-only"))
            self.assertTrue(ex.wait_maildir("alice", 4))

            # Per domain: log_only in the domain's own section.
            ex.write_moat_conf(batv_conf(ex.path("state", "batv"),
                                         '  domain "example.test" {\n    log_only = true\n  }\n'))
            self.assertEqual(bounce(ex, "bob@example.test").code, 250)
            # And check = false: not looked at at all.
            ex.write_moat_conf(batv_conf(ex.path("state", "batv"),
                                         '  domain "example.test" {\n    check = false\n  }\n'))
            self.assertEqual(bounce(ex, "carol@example.test").code, 250)
            self.assertIsNone(ex.wait_for_log(r"rcpt=<carol@example\.test>", timeout=0.5))

    def test_two_exims_share_one_key_file(self):
        mx1 = batv_exim(name="mx1")
        mx2 = batv_exim(name="mx2")
        with mx1, mx2:
            submit(mx1, "bob@remote.test")
            self.assertTrue(mx1.sink.wait_for(1))
            tagged = mx1.sink.messages[0]["sender"]
            # The documented way: copy the file, owned by the Exim user, 0640.
            os.makedirs(mx2.path("state", "batv"), exist_ok=True)
            uid, gid = exim_ids()
            os.chown(mx2.path("state", "batv"), uid, gid)
            shutil.copy2(key_file(mx1), key_file(mx2))
            os.chown(key_file(mx2), uid, gid)
            self.assertEqual(bounce(mx2, tagged).code, 250)
            self.assertTrue(mx2.wait_maildir("alice", 1))
            submit(mx2, "carol@remote.test")
            self.assertTrue(mx2.sink.wait_for(1))
            self.assertEqual(bounce(mx1, mx2.sink.messages[0]["sender"]).code, 250)
            self.assertTrue(mx1.wait_maildir("alice", 1))

    def test_rotation_keeps_yesterdays_tags(self):
        ex = batv_exim()
        with ex:
            submit(ex, "first@remote.test")                   # signing makes the key
            self.assertTrue(ex.sink.wait_for(1))
            self.assertEqual(bounce(ex, "alice@example.test").code, 550)
            num, secret = current_key(ex)
            yesterdays = prvs("alice@example.test", secret, num, today() - 1 + 7)
            self.assertEqual(bounce(ex, yesterdays).code, 250)
            r = ex.moatctl("batv", "rotate")          # as root, like an admin would
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            st = os.stat(key_file(ex))
            self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, EXIM_USER)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
            new_num, new_secret = current_key(ex)
            self.assertEqual(new_num, (num + 1) % 10)
            self.assertNotEqual(new_secret, secret)
            self.assertEqual(bounce(ex, yesterdays).code, 250)
            submit(ex, "bob@remote.test")
            self.assertTrue(ex.sink.wait_for(2))
            tagged = ex.sink.messages[1]["sender"]
            self.assertTrue(tagged.startswith("prvs=%d" % new_num), tagged)
            self.assertEqual(bounce(ex, tagged).code, 250)
            self.assertTrue(ex.wait_maildir("alice", 3))
            s = ex.moatctl("batv", "status")
            self.assertEqual(s.returncode, 0, s.stdout + s.stderr)
            self.assertIn("example.test", s.stdout)
            self.assertRegex(s.stdout, r"key %d" % new_num)
            js = ex.moatctl("--json", "batv", "status")
            self.assertIn('"domain":"example.test"', js.stdout)

    def test_a_tagged_local_part_is_one_local_address(self):
        # The local part after the tag is the sender's to choose. With a
        # comma it is not a list (victim@evil.test would be relayed to), nor
        # a :include:, a pipe or a file: the untag router makes it one local
        # address, unknown here, refused at RCPT; nothing leaves, nothing is
        # queued, Exim's paniclog stays empty. Tags need not be valid (only
        # bounces' tags are checked), so none of these is.
        ex = batv_exim(modules=None)
        tag = "prvs=0123abcdef="
        tricks = ['"%svictim@evil.test,postmaster"@%s' % (tag, DOMAIN),
                  '"%sa@evil.test,b@evil.test,alice"@%s' % (tag, DOMAIN),
                  '"%s:include:/etc/mailname,postmaster"@%s' % (tag, DOMAIN),
                  '"%s|/bin/true,postmaster"@%s' % (tag, DOMAIN),
                  '"%s/tmp/moat-batv-file,postmaster"@%s' % (tag, DOMAIN),
                  '"%svictim@evil.test"@%s' % (tag, DOMAIN)]
        with ex:
            for rcpt in tricks:
                c = ex.smtp(source="127.0.0.30")
                c.ehlo("spammer.test")
                c.mail("spammer@remote.test")
                r = c.rcpt(rcpt)
                self.assertEqual(r.code, 550, (rcpt, r))
                c.quit()
            # The untagged form of a real user's tag still reaches her.
            self.assertEqual(ex.send("someone@remote.test", tag + "alice@" + DOMAIN)[-1].code, 250)
            self.assertTrue(ex.wait_maildir("alice", 1), ex.mainlog()[-2000:])
            self.assertEqual(ex.sink.messages, [])
            self.assertNotRegex(ex.mainlog(), r"(=>|->|\*\*|==) \S*evil\.test")
            self.assertEqual(ex.exim("-bpc").stdout.strip(), "0")
            self.assertFalse(os.path.exists("/tmp/moat-batv-file"))
            self.assertEqual(ex.paniclog(), "")

    def test_rcpt_directory_judges_the_untagged_address(self):
        # rcpt with its own directory (source = file) and batv: a tagged
        # recipient is judged as the user it stands for.
        ex = batv_exim(modules=["rcpt", "batv"],
                       files={"recipients": "alice@example.test\npostmaster@example.test\n"})
        ex.write_moat_conf(batv_conf(ex.path("state", "batv")) +
                           'rcpt {\n  source = file\n  file = "%s"\n  tarpit_base = 0\n}\n'
                           % ex.path("recipients"))
        with ex:
            submit(ex, "bob@remote.test")
            self.assertTrue(ex.sink.wait_for(1))
            tagged = ex.sink.messages[0]["sender"]
            self.assertEqual(bounce(ex, tagged).code, 250)
            self.assertTrue(ex.wait_maildir("alice", 1))
            num, secret = current_key(ex)
            nobody = prvs("nobody@example.test", secret, num, today() + 7)
            r = bounce(ex, nobody)
            self.assertEqual(r.code, 550, r)
            self.assertIn(b"5.1.1", r.text)


class BatvWithRcptTest(BatvTest):
    """The same with rcpt on: a bounce's tag and the note of the first
    untagged recipient are judged in rcpt's first router, by moat's own
    check of the tag (modules/batv/prvs.c), not by ${prvscheck}."""

    def setUp(self):
        WITH[:] = ["rcpt"]

    def tearDown(self):
        WITH[:] = []


if __name__ == "__main__":
    unittest.main()
