# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 16: the shipped vacation responder against a hostile SMTP peer,
through a real Exim. bob, carol and dave are on vacation (carol reached
through the alias sales@ with no other address configured, dave through
info@ with `addresses = {"info@example.test"}` in moat.conf). Every other
domain goes to an SMTP sink, so whatever leaves - a reply, a bounce, a copy
to an injected recipient - is seen there.

What is asserted on each hostile message: it is delivered to the user; at
most one reply leaves, to the envelope sender only, with every header once,
no line over 998 characters, printable US-ASCII headers, and the subject
decoded correctly; no bounce leaves; the queue ends empty and the paniclog
clean."""

import email
import email.header
import email.policy
import os
import re
import resource
import subprocess
import unittest

from harness import Exim, message

VACATION = {"bob": "Bob is away.", "carol": "Carol is away.", "dave": "Dave is away."}
MOAT_CONF = """autoreply {
  local_domains = {"example.test"}
  user "dave@example.test" {
    addresses = {"info@example.test"}
  }
}
"""
ALIAS_ROUTER = r"""
aliases:
  driver = redirect
  domains = +local_domains
  data = ${lookup{$local_part}lsearch{MOAT_SNIPPETS/../aliases}}
"""


def headers_of(data):
    """[(name, raw value)] of a message's header, unfolded, in order."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b" " + line.strip()
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append([name.strip().decode("ascii", "replace"), value.strip()])
    return fields


class HostileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ex = Exim(modules=["autoreply"], users=["postmaster", "alice", "bob", "carol", "dave"],
                      vacation=VACATION, moat_conf=MOAT_CONF, extra_routers=ALIAS_ROUTER,
                      files={"aliases": "sales: carol@example.test\ninfo: dave@example.test\n"})
        cls.ex.start()
        cls.seen = 0

    @classmethod
    def tearDownClass(cls):
        cls.ex.stop()

    def setUp(self):
        self.replies_before = len(self.ex.sink.messages)

    def send_raw(self, sender, rcpt, data, source="127.0.40.1", mail_options=""):
        """One SMTP transaction with the message as bytes; the DATA reply code."""
        c = self.ex.smtp(source)
        c.ehlo()
        self.assertEqual(c.mail(sender, mail_options).code, 250)
        self.assertEqual(c.rcpt(rcpt).code, 250)
        code = c.data(data).code
        c.quit()
        return code

    def outcome(self, user):
        """Wait for the delivery to user and for every queue to drain; the new
        messages the sink got."""
        self.assertTrue(self.ex.wait_maildir(user, 1))
        self.assertTrue(self.ex.wait_queue_empty(20), self.ex.exim("-bp").stdout)
        new = self.ex.sink.messages[self.replies_before:]
        self.assertEqual(self.ex.paniclog(), "")
        return new

    def assert_clean_reply(self, reply, to, responder):
        self.assertIn(reply["sender"], ("", "<>"))
        self.assertEqual(reply["rcpts"], [to])
        data = reply["data"]
        fields = headers_of(data)
        names = [n.lower() for n, _ in fields if n.lower() != "received"]
        self.assertEqual(len(names), len(set(names)), "a header twice: %r" % names)
        for line in re.split(rb"\r?\n", data):
            self.assertLessEqual(len(line), 998)
        for name, value in fields:
            self.assertTrue(all(32 <= b < 127 or b == 9 for b in value),
                            "%s: %r is not printable US-ASCII" % (name, value))
        values = dict((n.lower(), v) for n, v in fields)
        self.assertTrue(values["auto-submitted"].startswith(b"auto-replied"))
        self.assertIn(responder.encode(), values["from"])
        self.assertEqual(values["to"], to.encode())
        self.assertNotIn("bcc", values)
        self.assertNotIn("cc", values)
        return values

    def decoded_subject(self, values):
        return str(email.header.make_header(email.header.decode_header(
            values["subject"].decode("ascii"))))

    def new_count(self, user):
        return len(self.ex.maildir(user))

    # ------------------------------------------------------------ injection

    def test_an_encoded_line_break_in_message_id_adds_no_recipient(self):
        sender = "inj-msgid@remote.test"
        msg = message(sender=sender, to="bob@example.test").replace(
            "Message-ID: <", "X-Old-Id: <")
        msg = msg.replace("Subject: hello",
                          "Subject: hello\nMessage-Id: =?us-ascii?Q?<x@r>=0ABcc:_victim@evil.test?=")
        before = self.new_count("bob")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.wait_maildir("bob", before + 1))
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1, [m["rcpts"] for m in new])
        self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertNotIn(b"victim@evil.test", b"".join(m["data"] for m in new
                                                       if m["rcpts"] != [sender]))

    def test_an_encoded_line_break_in_subject_adds_no_header_or_recipient(self):
        sender = "inj-subject@remote.test"
        msg = message(sender=sender, to="bob@example.test",
                      subject="=?us-ascii?Q?hi=0D=0ABcc:_victim@evil.test=0D=0AX-Injected:_yes?=")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1)
        values = self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertNotIn("x-injected", values)
        self.assertEqual(self.decoded_subject(values), "Auto: hi Bcc: victim@evil.test X-Injected: yes")

    def test_nul_bare_cr_and_controls_in_headers_make_a_clean_reply(self):
        sender = "controls@remote.test"
        msg = message(sender=sender, to="bob@example.test").encode()
        msg = msg.replace(b"Subject: hello",
                          b"Subject: a\x00b\rBcc: victim@evil.test\x1b[31m red\x7f")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1)
        values = self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertNotIn(b"\x1b", values["subject"])

    def test_a_quoted_local_part_sender_gets_no_reply_and_no_bounce(self):
        sender = '"victim@evil.test,x"@remote.test'
        msg = message(sender="quoted@remote.test", to="bob@example.test")
        before = self.new_count("bob")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.wait_maildir("bob", before + 1))
        self.assertTrue(self.ex.wait_for_log(r"action=skip reason=sender_not_plain"))
        self.assertEqual(self.outcome("bob"), [])

    # ------------------------------------------------------------ non-ASCII

    def test_a_utf8_subject_gets_exactly_one_reply_correctly_encoded(self):
        sender = "utf8@remote.test"
        msg = message(sender=sender, to="bob@example.test",
                      subject="=?utf-8?Q?Gr=C3=BC=C3=9Fe?=")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1)
        values = self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertEqual(values["subject"], b"Auto: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")
        self.assertEqual(self.decoded_subject(values), "Auto: Grüße")

    def test_raw_8bit_subjects_utf8_and_latin1(self):
        for n, (raw, text) in enumerate([("Grüße aus Köln".encode(), "Grüße aus Köln"),
                                          ("Grüße".encode("latin-1"), "Grüße")]):
            sender = "eightbit%d@remote.test" % n
            self.replies_before = len(self.ex.sink.messages)
            msg = message(sender=sender, to="bob@example.test").encode()
            msg = msg.replace(b"Subject: hello", b"Subject: " + raw)
            self.assertEqual(self.send_raw(sender, "bob@example.test", msg,
                                           mail_options="BODY=8BITMIME"), 250)
            self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
            new = self.outcome("bob")
            self.assertEqual(len(new), 1)
            values = self.assert_clean_reply(new[0], sender, "bob@example.test")
            self.assertEqual(self.decoded_subject(values), "Auto: " + text)

    def test_an_smtputf8_sender_gets_no_reply_and_no_bounce(self):
        sender = "jürgen@remote.test"
        msg = message(sender="x@remote.test", to="bob@example.test")
        before = self.new_count("bob")
        c = self.ex.smtp("127.0.40.2")
        c.ehlo()
        c.send(("MAIL FROM:<%s> SMTPUTF8\r\n" % sender).encode())
        if c.getreply()[0] == 250:
            self.assertEqual(c.rcpt("bob@example.test").code, 250)
            self.assertEqual(c.data(msg.encode()).code, 250)
            c.quit()
            self.assertTrue(self.ex.wait_maildir("bob", before + 1))
            self.assertTrue(self.ex.wait_for_log(r"action=skip reason=sender_not_plain"))
        else:
            c.quit()
        self.assertEqual(self.outcome("bob"), [])

    # ------------------------------------------------------------ size

    def test_huge_folded_references_and_message_id_stay_within_998(self):
        sender = "threads@remote.test"
        refs = "\n ".join("<%s-%d@very-long-host-name.remote.test>" % ("r" * 60, i)
                          for i in range(40))
        msg = message(sender=sender, to="bob@example.test",
                      headers={"References": refs, "In-Reply-To": "<%s@remote.test>" % ("q" * 1500)})
        msg = re.sub(r"Message-ID: <[^>]*>", "Message-ID: <%s@remote.test>" % ("m" * 1200), msg)
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1)
        values = self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertNotIn("in-reply-to", values)         # a 1,200-character id is not copied
        refs = re.findall(rb"<[^>]+>", values["references"])
        self.assertEqual(len(refs), 12)                 # the thread's root and the latest 11
        self.assertIn(b"-0@", refs[0])
        self.assertIn(b"-39@", refs[-1])

    def test_a_long_folded_subject_is_bounded(self):
        sender = "longsubject@remote.test"
        subject = "\n ".join(["word%d" % i for i in range(2000)])
        msg = message(sender=sender, to="bob@example.test", subject=subject)
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
        new = self.outcome("bob")
        self.assertEqual(len(new), 1)
        values = self.assert_clean_reply(new[0], sender, "bob@example.test")
        self.assertTrue(self.decoded_subject(values).startswith("Auto: word0 word1 "))
        self.assertLess(len(values["subject"]), 260)

    # ------------------------------------------------------------ personal (RFC 5230 4.5)

    def test_a_bcc_recipient_is_not_answered(self):
        sender = "bcc@remote.test"
        before = self.new_count("bob")
        msg = message(sender=sender, to="someone@remote.test")
        self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
        self.assertTrue(self.ex.wait_maildir("bob", before + 1))
        self.assertTrue(self.ex.wait_for_log(
            r"action=skip reason=not_addressed user=<bob@example.test> sender=<bcc@remote.test>"))
        self.assertEqual(self.outcome("bob"), [])

    def test_a_group_address_is_not_answered_and_its_members_are(self):
        for n, (to, answered) in enumerate([("undisclosed-recipients:;", False),
                                            ("team: x@remote.test, Bob <bob@example.test>;",
                                             True)]):
            sender = "group%d@remote.test" % n
            self.replies_before = len(self.ex.sink.messages)
            msg = message(sender=sender).replace("To: <alice@example.test>", "To: " + to)
            self.assertEqual(self.send_raw(sender, "bob@example.test", msg), 250)
            if answered:
                self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
            new = self.outcome("bob")
            self.assertEqual(len(new), 1 if answered else 0, to)

    def test_an_alias_answers_only_with_the_configured_address(self):
        for user, alias, answered in [("carol", "sales", False), ("dave", "info", True)]:
            sender = "alias-%s@remote.test" % user
            self.replies_before = len(self.ex.sink.messages)
            msg = message(sender=sender, to="%s@example.test" % alias)
            self.assertEqual(self.send_raw(sender, "%s@example.test" % alias, msg), 250)
            if answered:
                self.assertTrue(self.ex.sink.wait_for(self.replies_before + 1, 20))
            else:
                self.assertTrue(self.ex.wait_for_log(
                    r"action=skip reason=not_addressed user=<carol@example.test>"))
            new = self.outcome(user)
            self.assertEqual(len(new), 1 if answered else 0, user)
            if answered:
                self.assert_clean_reply(new[0], sender, "dave@example.test")

    # ------------------------------------------------------------ cost

    def test_120000_repeated_header_lines_cost_under_a_second(self):
        """One DATA with 120,000 From: lines (under Exim's 1 MB header limit),
        then 40,000 Auto-Submitted: lines, through Exim's own SMTP session
        (exim -bh runs the same ACLs, moat's DATA ACL included, in one
        process whose CPU time is measured)."""
        for name, count in [("From", 120000), ("Auto-Submitted", 40000)]:
            value = "a" if name == "From" else "no"
            lines = "".join("%s:%s\r\n" % (name, value) for _ in range(count))
            data = ("To: bob@example.test\r\nSubject: many\r\n" + lines + "\r\nbody\r\n.\r\n")
            script = ("EHLO client.test\r\nMAIL FROM:<many@remote.test>\r\n"
                      "RCPT TO:<bob@example.test>\r\nDATA\r\n" + data + "QUIT\r\n")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = subprocess.run([self.ex.binary(), "-C", self.ex.path("exim.conf"), "-bh",
                                "127.0.40.9"], input=script.encode(), capture_output=True,
                               env=self.ex.exim_env())
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            out = r.stdout.decode(errors="replace")
            self.assertRegex(out, r"(?m)^250 Accepted", out[-2000:])
            self.assertRegex(r.stderr.decode(errors="replace"),
                             r"acl_m_moat_autoreply = .*\n.*= action=accept class=answerable")
            self.assertLess(cpu, 1.0, "%d %s: lines %.2f s of CPU" % (count, name, cpu))


if __name__ == "__main__":
    unittest.main()
