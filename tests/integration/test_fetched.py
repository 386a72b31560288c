# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 21: fetched mail (the POP3-connector incident) through a real Exim.
An ISP's catch-all mailbox, fetched by fetchmail or getmail, is injected the
two ways they inject: SMTP on localhost with the fetched envelope (localhost
a relay host, accepted before verify = recipient as in Debian's ACL), and
Exim's command line (-bm as their MDA, -bS batched). 50 messages for made-up
recipients on each path produce no NDR, and the real recipients' mail is
delivered; with a quarantine named in moat.conf the unknown ones land there.
Without moat the same injection bounces to the forged senders (the
incident), so the count of NDRs is one that can fail."""

import re
import unittest

from harness import Exim, message

FETCHED = ('rcpt {\n  fetched {\n    hosts = {"127.0.0.1"}\n    users = {"root"}\n'
           '%s  }\n}\n')
QUARANTINE = '    unknown = quarantine\n    quarantine = "postmaster@example.test"\n'


def fetched_exim(modules=("rcpt",), extra=""):
    # Debian's order: localhost relays, accepted before verify = recipient
    return Exim(modules=list(modules), relay_from="127.0.0.1", moat_conf=FETCHED % extra)


def bounces(ex):
    """NDRs Exim generated (each logged as a message from <>) and those that left."""
    generated = len(re.findall(r" <= <> R=", ex.mainlog()))
    sent = [m for m in ex.sink.messages if m["sender"] in ("", "<>")]
    return generated, len(sent)


def inject_smtp(ex, unknown, known):
    """One fetchmail poll: one connection, one transaction per fetched message."""
    c = ex.smtp("127.0.0.1")
    c.ehlo("localhost")
    codes = []
    for i, rcpt in enumerate(["made-up-%d@example.test" % n for n in range(unknown)] + known):
        sender = "spammer%d@forged-%d.test" % (i, i)
        c.mail(sender)
        codes.append(c.rcpt(rcpt).code)
        codes.append(c.data(message(sender=sender, to=rcpt, subject="fetched %d" % i)).code)
    c.quit()
    return codes


def bsmtp(rcpts):
    out = []
    for i, rcpt in enumerate(rcpts):
        sender = "spammer%d@forged-b%d.test" % (i, i)
        body = message(sender=sender, to=rcpt, subject="batched %d" % i).replace("\n.", "\n..")
        out.append("MAIL FROM:<%s>\nRCPT TO:<%s>\nDATA\n%s.\n" % (sender, rcpt, body))
    return "".join(out) + "QUIT\n"


class FetchedMailTest(unittest.TestCase):

    def test_smtp_on_localhost_no_ndr_and_real_mail_delivered(self):
        with fetched_exim() as ex:
            codes = inject_smtp(ex, 50, ["alice@example.test", "bob@example.test"])
            self.assertEqual(set(codes), {250}, codes)    # the fetcher never sees a refusal
            self.assertTrue(ex.wait_maildir("alice", 1) and ex.wait_maildir("bob", 1))
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(bounces(ex), (0, 0))
            self.assertEqual(len(re.findall(r"moat rcpt: action=drop reason=fetched_unknown",
                                            ex.mainlog())), 50)
            # not counted as harvesting: localhost is not blocked for the next poll
            self.assertEqual(inject_smtp(ex, 0, ["carol@example.test"]), [250, 250])
            self.assertTrue(ex.wait_maildir("carol", 1))
            self.assertEqual(ex.maildir("postmaster"), [])

    def test_command_line_no_ndr_and_quarantine(self):
        with fetched_exim() as ex:
            # batched SMTP (-bS): 50 made-up recipients and one real one
            r = ex.exim("-bS", "-odq",
                        input=bsmtp(["made-up-%d@example.test" % n for n in range(50)]
                                    + ["alice@example.test"]))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            ex.exim("-qf")
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(len(ex.maildir("alice")), 1)
            # the MDA way (-bm): fetchmail's mda "exim -oi -f %F %T"
            for n in range(5):
                r = ex.submit_local("spammer@forged.test", ["ghost-%d@example.test" % n],
                                    message(sender="spammer@forged.test",
                                            to="ghost-%d@example.test" % n))
                self.assertEqual(r.returncode, 0, r.stderr)
            r = ex.submit_local("friend@remote.test", ["bob@example.test"], message())
            self.assertTrue(ex.wait_maildir("bob", 1))
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(bounces(ex), (0, 0))
            self.assertEqual(len(re.findall(r"action=drop reason=fetched_unknown",
                                            ex.mainlog())), 55)
            # the admin names a quarantine: the unknown ones are kept there
            ex.write_moat_conf(FETCHED % QUARANTINE)
            ex.submit_local("spammer@forged.test", ["ghost-q@example.test"],
                            message(sender="spammer@forged.test", to="ghost-q@example.test"))
            self.assertTrue(ex.wait_maildir("postmaster", 1))
            self.assertIn(b"Envelope-to: ghost-q@example.test", ex.maildir("postmaster")[0])
            self.assertRegex(ex.mainlog(), r"action=quarantine reason=fetched_unknown "
                                           r"sender=<spammer@forged.test> "
                                           r"rcpt=<ghost-q@example.test> to=<postmaster@")
            self.assertEqual(bounces(ex), (0, 0))

    def test_local_mail_not_fetched_still_bounces(self):
        # another local user's command-line mail is not fetched mail: its
        # unknown recipient is bounced to that (local, real) sender as before
        with Exim(modules=["rcpt"], moat_conf=FETCHED % "") as ex:
            ex.write_moat_conf((FETCHED % "").replace('"root"', '"fetchmail"'))
            ex.submit_local("alice@example.test", ["ghost@example.test"], message())
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(bounces(ex)[0], 1)

    def test_without_moat_the_fetched_spam_bounces(self):
        with fetched_exim(modules=()) as ex:
            inject_smtp(ex, 5, [])
            self.assertTrue(ex.wait_queue_empty())
            self.assertEqual(bounces(ex), (5, 5))


if __name__ == "__main__":
    unittest.main()
