# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 5: the autoreply module through real Exims. bob is on vacation
through the shipped router and transport; spam with a forged sender gets no
answer at all, a personal message exactly one, two vacationing servers stop
after one reply each way, no NDR goes to the forged sender of spam, a reply
that bounced is not repeated to that address by anyone, an answer to our
own auto-reply is never answered, external = known learns from outbound
mail, and moatctl autoreply classify agrees with the unit corpus."""

import os
import re
import unittest

from harness import ROOT, Exim, SmtpSink, message, wait_idle

SPAM = {"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=9.1"}
CORPUS = os.path.join(ROOT, "tests", "unit", "corpus", "autoreply")


def vacation_exim(domain="example.test", users=None, vacation=None, routes=None, name="exim",
                  relay_from="", conf="", **kw):
    return Exim(modules=["autoreply"], domain=domain, users=users, routes=routes, name=name,
                relay_from=relay_from, vacation=vacation or {"bob": "Bob is away until Monday."},
                moat_conf='autoreply {\n  local_domains = {"%s"}\n%s}\n' % (domain, conf), **kw)


def settle(*exims, timeout=60):
    """Wait until deliveries, replies and bounces are all done: no process of
    any instance at work, every queue empty (harness.wait_idle)."""
    assert wait_idle(*exims, timeout=timeout), "still busy after %ds" % timeout


def header(data, name):
    m = re.search(rb"^" + name.encode() + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)", data, re.M | re.I)
    return re.sub(r"\s+", " ", m.group(1).decode()).strip() if m else None


class AutoreplyTest(unittest.TestCase):

    def test_spam_with_a_forged_sender_gets_no_answer_at_all(self):
        with vacation_exim() as ex:
            r = ex.send("victim@innocent.test", "bob@example.test",
                        message(sender="victim@innocent.test", to="bob@example.test",
                                headers=SPAM), source="127.0.30.1")
            self.assertEqual(r[-1][0], 250)
            self.assertTrue(ex.wait_maildir("bob", 1))
            settle(ex)
            self.assertEqual(ex.sink.messages, [])
            self.assertEqual(ex.queue(), [])
            delivered = ex.maildir("bob")[0]
            self.assertIn(b"X-Moat-Autoreply: never; reasons=spam", delivered)
            self.assertIn(b"X-Auto-Response-Suppress: All", delivered)
            self.assertIn("moat autoreply: class=never reasons=spam", ex.mainlog())

    def test_a_forged_stamp_from_outside_is_replaced(self):
        with vacation_exim() as ex:
            ex.send("friend@remote.test", "bob@example.test",
                    message(sender="friend@remote.test", to="bob@example.test",
                            headers={"X-Moat-Autoreply": "answerable"}), source="127.0.30.6")
            self.assertTrue(ex.wait_maildir("bob", 1))
            settle(ex)
            self.assertNotIn(b"X-Moat-Autoreply", ex.maildir("bob")[0])
            self.assertTrue(ex.sink.wait_for(1))       # a personal message: answered

    def test_a_personal_message_gets_exactly_one_reply_per_period(self):
        with vacation_exim() as ex:
            for i in range(2):
                ex.send("friend@remote.test", "bob@example.test",
                        message(sender="friend@remote.test", to="bob@example.test",
                                subject="lunch %d" % i), source="127.0.30.2")
            self.assertTrue(ex.wait_maildir("bob", 2))
            settle(ex)
            self.assertTrue(ex.sink.wait_for(1))
            self.assertEqual(len(ex.sink.messages), 1, ex.mainlog()[-2000:])
            reply = ex.sink.messages[0]
            self.assertIn(reply["sender"], ("", "<>"))   # the null sender
            self.assertEqual(reply["rcpts"], ["friend@remote.test"])
            data = reply["data"]
            self.assertRegex(header(data, "Auto-Submitted"), r"^auto-replied\b")
            self.assertIn(b"Bob is away until Monday.", data)
            answered = header(data, "In-Reply-To")
            self.assertIn(answered, [header(m, "Message-ID") for m in ex.maildir("bob")])
            self.assertIn(answered, header(data, "References"))
            self.assertIn("reason=already_answered", ex.mainlog())
            self.assertRegex(ex.mainlog(), r"=> :blackhole: <friend@remote.test> "
                                           r"R=moat_autoreply_gate")
            self.assertEqual(ex.queue(), [])
            # moatctl shows what was recorded
            r = ex.moatctl("autoreply", "history", "friend@remote.test")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("sent:bob@example.test|friend@remote.test", r.stdout)

    def test_robots_lists_and_auto_replies_get_no_answer(self):
        cases = [("mailer-daemon@remote.test", {}),
                 ("news@remote.test", {"List-Id": "<news.remote.test>"}),
                 ("noreply@remote.test", {}),
                 ("ooo@remote.test", {"Auto-Submitted": "auto-replied (vacation)"}),
                 ("bulk@remote.test", {"Precedence": "bulk"}),
                 ("dsn@remote.test", {"Content-Type": "multipart/report; "
                                                      "report-type=delivery-status; boundary=x"})]
        with vacation_exim() as ex:
            for sender, headers in cases:
                ex.send(sender, "bob@example.test",
                        message(sender=sender, to="bob@example.test", headers=headers),
                        source="127.0.30.3")
            self.assertTrue(ex.wait_maildir("bob", len(cases)))
            settle(ex)
            self.assertEqual(ex.sink.messages, [])
            self.assertEqual(ex.queue(), [])

    def test_moat_failing_answers_nothing_it_should_not(self):
        """When the store cannot be used the classification still stamps
        what must never be answered (logged as the module's error); when
        moat.conf is unusable nothing is answered at all. Either way no
        reply goes to a robot, a list, an auto-reply or forged spam."""
        cases = [("ooo@remote.test", {"Auto-Submitted": "auto-replied"}),
                 ("news@remote.test", {"List-Id": "<x.remote.test>", "Precedence": "bulk"}),
                 ("victim@innocent.test", SPAM)]
        with vacation_exim() as ex:
            state = ex.path("state")
            os.makedirs(state, exist_ok=True)
            os.chown(state, 0, 0)
            os.chmod(state, 0o700)                     # the Exim user cannot open the store
            for n, (sender, headers) in enumerate(cases):
                ex.send(sender, "bob@example.test",
                        message(sender=sender, to="bob@example.test", headers=headers),
                        source="127.0.30.9")
            self.assertTrue(ex.wait_maildir("bob", len(cases)))
            settle(ex)
            self.assertEqual(ex.sink.messages, [], ex.mainlog()[-3000:])
            self.assertTrue(all(b"X-Moat-Autoreply: never" in m for m in ex.maildir("bob")))
            self.assertRegex(ex.mainlog(), r"moat autoreply: error: .* \(classified, not recorded\)")
            # moat.conf unusable: the module's fault; still no answer to anything
            ex.write_moat_conf("autoreply {\n  local_domains = \n")
            for sender, headers in cases + [("friend@remote.test", {})]:
                ex.send(sender, "bob@example.test",
                        message(sender=sender, to="bob@example.test", headers=headers),
                        source="127.0.30.9")
            self.assertTrue(ex.wait_maildir("bob", 2 * len(cases) + 1))
            settle(ex)
            self.assertEqual(ex.sink.messages, [], ex.mainlog()[-3000:])
            friend = [m for m in ex.maildir("bob") if b"From: <friend@remote.test>" in m]
            self.assertIn(b"X-Moat-Autoreply: never; reasons=moat_error", friend[0])
            self.assertEqual(ex.paniclog(), "")

    def test_two_vacationing_servers_stop_after_one_reply(self):
        a = vacation_exim(domain="a.test", users=["postmaster", "xavier"], name="a",
                          vacation={"xavier": "Xavier is away."}, relay_from="127.0.0.77")
        b = vacation_exim(domain="b.test", users=["postmaster", "yvonne"], name="b",
                          vacation={"yvonne": "Yvonne is away."})
        a.routes = {"b.test": ("127.0.0.1", b.port)}
        b.routes = {"a.test": ("127.0.0.1", a.port)}
        with a, b:
            r = a.send("xavier@a.test", "yvonne@b.test",
                       message(sender="xavier@a.test", to="yvonne@b.test"), source="127.0.0.77")
            self.assertEqual(r[-1][0], 250)
            self.assertTrue(b.wait_maildir("yvonne", 1))
            self.assertTrue(a.wait_maildir("xavier", 1))   # yvonne's one reply
            settle(a, b)
            self.assertEqual(len(a.maildir("xavier")), 1)
            self.assertEqual(len(b.maildir("yvonne")), 1)   # no answer to the answer
            self.assertEqual(a.sink.messages + b.sink.messages, [])
            self.assertRegex(a.maildir("xavier")[0],
                             rb"X-Moat-Autoreply: never; reasons=\S*auto_submitted")

    def test_an_answer_to_our_auto_reply_is_never_answered(self):
        """A responder that strips every mark (a CRM, a ticket system
        answering from another address) still names our reply in
        In-Reply-To: the message is classified never, bob stays quiet."""
        with vacation_exim() as ex:
            ex.send("friend@remote.test", "bob@example.test",
                    message(sender="friend@remote.test", to="bob@example.test"),
                    source="127.0.30.9")
            self.assertTrue(ex.sink.wait_for(1))
            ours = header(ex.sink.messages[0]["data"], "Message-ID")
            self.assertTrue(ours)
            ex.send("helpdesk@remote.test", "bob@example.test",
                    message(sender="helpdesk@remote.test", to="bob@example.test",
                            subject="Re: your ticket", headers={"In-Reply-To": ours}),
                    source="127.0.30.9")
            self.assertTrue(ex.wait_maildir("bob", 2))
            settle(ex)
            self.assertEqual(len(ex.sink.messages), 1)
            helpdesk = [m for m in ex.maildir("bob") if b"helpdesk@remote.test" in m]
            self.assertRegex(helpdesk[0], rb"X-Moat-Autoreply: never; reasons=reply_to_our_autoreply")

    def test_no_ndr_for_mail_classified_spam(self):
        fail_router = ("broken:\n  driver = redirect\n  domains = +local_domains\n"
                       "  local_parts = broken\n  data = :fail: mailbox disabled\n  allow_fail\n"
                       "  no_verify\n")
        # "broken" exists for verification (localuser) but its delivery fails.
        with vacation_exim(extra_routers=fail_router,
                           users=["postmaster", "alice", "bob", "broken"]) as ex:
            ex.send("victim@innocent.test", "broken@example.test",
                    message(sender="victim@innocent.test", to="broken@example.test",
                            headers=SPAM), source="127.0.30.4")
            ex.send("friend@remote.test", "broken@example.test",
                    message(sender="friend@remote.test", to="broken@example.test"),
                    source="127.0.30.5")
            settle(ex)
            rcpts = [m["rcpts"] for m in ex.sink.messages]
            self.assertNotIn(["victim@innocent.test"], rcpts)   # spam: no backscatter
            self.assertIn(["friend@remote.test"], rcpts)        # a real sender hears why
            self.assertIn("reason=suspect_destination", ex.mainlog())
            self.assertEqual(ex.queue(), [])

    def test_a_reply_that_bounced_is_not_sent_there_again(self):
        peer = SmtpSink(reject={"gone@remote.test": "550 5.1.1 no such user"}).start()
        try:
            # msg:fail:delivery is a transport event: the admin's smtp
            # transport calls MOAT_AUTOREPLY_EVENT (conf/exim/autoreply/main.conf)
            router = ("to_peer:\n  driver = manualroute\n  domains = remote.test\n"
                      "  route_list = * 127.0.0.1::%d\n  transport = peer_smtp\n"
                      "  self = send\n" % peer.port)
            transport = ("peer_smtp:\n  driver = smtp\n  allow_localhost\n"
                         "  hosts_avoid_esmtp =\n  event_action = MOAT_AUTOREPLY_EVENT\n")
            with vacation_exim(vacation={"bob": "Bob is away.", "alice": "Alice is away."},
                               extra_routers=router, extra_transports=transport) as ex:
                ex.send("gone@remote.test", "bob@example.test",
                        message(sender="gone@remote.test", to="bob@example.test"),
                        source="127.0.30.7")
                self.assertTrue(ex.wait_for_log(r"action=record reason=autoreply_bounced "
                                                r"to=<gone@remote.test>", 20), ex.mainlog())
                ex.send("gone@remote.test", "alice@example.test",
                        message(sender="gone@remote.test", to="alice@example.test"),
                        source="127.0.30.7")
                self.assertTrue(ex.wait_maildir("alice", 1))
                # (bob's failed reply stays frozen, as Exim keeps failed bounces)
                self.assertTrue(ex.wait_for_log(r"action=discard reason=destination_bounced "
                                                r"kind=reply from=<alice@example.test>"))
                self.assertEqual(peer.messages, [])
        finally:
            peer.stop()

    def test_external_known_answers_only_correspondents(self):
        with vacation_exim(conf="  external = known\n") as ex:
            # alice (authenticated) writes to frank: frank becomes known
            r = ex.send("alice@example.test", "frank@remote.test",
                        message(sender="alice@example.test", to="frank@remote.test"),
                        auth=("alice", "alice-demo-pw"))
            self.assertEqual(r[-1][0], 250, r)
            self.assertTrue(ex.sink.wait_for(1))
            for sender in ("frank@remote.test", "gina@remote.test"):
                ex.send(sender, "bob@example.test",
                        message(sender=sender, to="bob@example.test"), source="127.0.30.8")
            self.assertTrue(ex.wait_maildir("bob", 2))
            settle(ex)
            self.assertTrue(ex.sink.wait_for(2))
            self.assertEqual([m["rcpts"] for m in ex.sink.messages],
                             [["frank@remote.test"], ["frank@remote.test"]])
            self.assertIn("reason=external_unknown", ex.mainlog())

    def test_an_oof_relayed_from_a_server_behind_is_gated(self):
        oof = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All",
               "X-MS-Exchange-Inbox-Rules-Loop": "ann@example.test"}
        with vacation_exim(users=["postmaster", "ann", "bob"],
                           relay_from="127.0.0.88") as ex:
            for i in range(2):
                r = ex.send("ann@example.test", "ken@remote.test",
                            message(sender="ann@example.test", to="ken@remote.test",
                                    subject="Automatic reply: hello", headers=oof),
                            source="127.0.0.88")
                self.assertEqual(r[-1][0], 250)
            settle(ex)
            self.assertTrue(ex.sink.wait_for(1))
            self.assertEqual(len(ex.sink.messages), 1)
            self.assertIn("discarded reply (already_answered)", ex.mainlog())

    def test_moatctl_classify_agrees_with_the_unit_corpus(self):
        ex = vacation_exim().prepare()
        try:
            with open(os.path.join(CORPUS, "EXPECTED")) as f:
                rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
            self.assertGreaterEqual(len(rows), 30)
            for name, sender, reasons in rows:
                sender = "" if sender == "-" else sender
                r = ex.moatctl("autoreply", "classify", "--sender", sender,
                               "--recipient", "bob@example.test", os.path.join(CORPUS, name))
                never = reasons != "-"
                self.assertEqual(r.returncode, 1 if never else 0, "%s: %s" % (name, r.stdout))
                if never:
                    self.assertIn('class=never reasons="%s"' % reasons if "," in reasons
                                  else "class=never reasons=%s" % reasons, r.stdout, name)
                else:
                    self.assertEqual(r.stdout.split()[:2], ["action=accept", "class=answerable"])
        finally:
            ex.stop()

    def test_moatctl_classify_takes_the_acl_inputs(self):
        ex = vacation_exim().prepare()
        try:
            path = ex.path("msg.eml")
            with open(path, "w") as f:
                f.write("Return-Path: <carol@remote.test>\r\nFrom: Carol <carol@remote.test>\r\n"
                        "Subject: hi\r\n\r\nbody\r\n")
            r = ex.moatctl("autoreply", "classify", "--recipient", "bob@example.test", path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)   # sender from Return-Path
            r = ex.moatctl("autoreply", "classify", "--recipient", "bob@example.test",
                           "--spam-score", "7.5", "--spf", "fail", "--catchall-only", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn('class=never reasons="spam,spf_fail,catchall_only" suspect=yes', r.stdout)
            r = ex.moatctl("--json", "autoreply", "classify", path)
            self.assertIn('"sender":"carol@remote.test"', r.stdout)
        finally:
            ex.stop()


if __name__ == "__main__":
    unittest.main()
