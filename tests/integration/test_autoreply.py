"""Issue 5: the autoreply module through real Exims: bob is on vacation
through the shipped router and transport; spam with a forged sender gets no
answer at all, a personal message exactly one, two vacationing servers stop
after one reply, and no NDR goes to the forged sender of spam."""

import time
import unittest

from harness import Exim, message

SPAM = {"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=9.1"}


def vacation_exim(domain="example.test", users=None, vacation=None, routes=None, name="exim",
                  relay_from="", **kw):
    ex = Exim(modules=["autoreply"], domain=domain, users=users, routes=routes, name=name,
              relay_from=relay_from, vacation=vacation or {"bob": "Bob is away until Monday."},
              moat_conf='autoreply {\n  local_domains = {"%s"}\n}\n' % domain, **kw)
    return ex


def settle(*exims, timeout=15):
    for ex in exims:
        ex.wait_queue_empty(timeout)
    time.sleep(0.3)


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
            delivered = ex.maildir("bob")[0]
            self.assertIn(b"X-Moat-Autoreply: never; reasons=spam", delivered)
            self.assertIn(b"X-Auto-Response-Suppress: All", delivered)

    def test_a_personal_message_gets_exactly_one_reply_per_period(self):
        with vacation_exim() as ex:
            for i in range(2):
                ex.send("friend@remote.test", "bob@example.test",
                        message(sender="friend@remote.test", to="bob@example.test",
                                subject="lunch %d" % i), source="127.0.30.2")
            self.assertTrue(ex.wait_maildir("bob", 2))
            settle(ex)
            self.assertTrue(ex.sink.wait_for(1))
            time.sleep(0.5)
            self.assertEqual(len(ex.sink.messages), 1, ex.mainlog()[-2000:])
            reply = ex.sink.messages[0]
            self.assertIn(reply["sender"], ("", "<>"))   # the null sender
            self.assertEqual(reply["rcpts"], ["friend@remote.test"])
            self.assertIn(b"Auto-Submitted: auto-replied", reply["data"])
            self.assertIn(b"Bob is away until Monday.", reply["data"])
            self.assertIn("reason=already_answered", ex.mainlog())

    def test_robots_lists_and_auto_replies_get_no_answer(self):
        cases = [("mailer-daemon@remote.test", {}),
                 ("news@remote.test", {"List-Id": "<news.remote.test>"}),
                 ("noreply@remote.test", {}),
                 ("ooo@remote.test", {"Auto-Submitted": "auto-replied (vacation)"}),
                 ("bulk@remote.test", {"Precedence": "bulk"})]
        with vacation_exim() as ex:
            for sender, headers in cases:
                ex.send(sender, "bob@example.test",
                        message(sender=sender, to="bob@example.test", headers=headers),
                        source="127.0.30.3")
            self.assertTrue(ex.wait_maildir("bob", len(cases)))
            settle(ex)
            self.assertEqual(ex.sink.messages, [])

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
            time.sleep(1)
            settle(a, b)
            self.assertEqual(len(a.maildir("xavier")), 1)
            self.assertEqual(len(b.maildir("yvonne")), 1)   # no answer to the answer
            self.assertEqual(a.sink.messages + b.sink.messages, [])
            self.assertRegex(a.maildir("xavier")[0], rb"X-Moat-Autoreply: never; reasons=\S*auto_submitted")

    def test_no_ndr_for_mail_classified_spam(self):
        fail_router = ("broken:\n  driver = redirect\n  domains = +local_domains\n"
                       "  local_parts = broken\n  data = :fail: mailbox disabled\n  allow_fail\n  no_verify\n")
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
            time.sleep(1)
            settle(ex)
            rcpts = [m["rcpts"] for m in ex.sink.messages]
            self.assertNotIn(["victim@innocent.test"], rcpts)   # spam: no backscatter
            self.assertIn(["friend@remote.test"], rcpts)        # a real sender hears why
            self.assertIn("reason=suspect_destination", ex.mainlog())

    def test_moatctl_classify_agrees_with_the_unit_corpus(self):
        import os
        from harness import ROOT
        corpus = os.path.join(ROOT, "tests", "unit", "corpus", "autoreply")
        expect_never = {"personal.eml": False, "auto-submitted-no.eml": False,
                        "suppress-dr-only.eml": False}
        ex = vacation_exim().prepare()
        try:
            for name in sorted(os.listdir(corpus)):
                r = ex.moatctl("autoreply", "classify", "--sender", "x@remote.test",
                               "--recipient", "bob@example.test", os.path.join(corpus, name))
                never = expect_never.get(name, True)
                self.assertEqual(r.returncode, 1 if never else 0, "%s: %s" % (name, r.stdout))
                self.assertIn("class=never" if never else "class=answerable", r.stdout)
        finally:
            ex.stop()

    def test_moatctl_classify_reads_a_message_file(self):
        ex = vacation_exim().prepare()
        try:
            path = ex.path("msg.eml")
            with open(path, "w") as f:
                f.write("From: News <news@remote.test>\r\nList-Unsubscribe: <mailto:u@x>\r\n"
                        "Auto-Submitted: Auto-Generated (digest)\r\nSubject: hi\r\n\r\nbody\r\n")
            r = ex.moatctl("autoreply", "classify", "--sender", "news@remote.test",
                           "--recipient", "bob@example.test", path)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("class=never", r.stdout)
            self.assertIn("auto_submitted", r.stdout)
            self.assertIn("list", r.stdout)
        finally:
            ex.stop()


if __name__ == "__main__":
    unittest.main()
