# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 21: our own domain forged from outside ("the from and to fields are
the same") through a real Exim: with rcpt { own_domains } the DATA ACL
refuses or marks mail that arrives unauthenticated from outside in the name
of example.test, envelope or From:, while our authenticated users, the
forwarder and the mailing list named as exemptions, and other senders'
mail pass; the spf policy asks Exim's SPF."""

import unittest

from harness import Exim, message

CONF = ('rcpt {\n  own_domains {\n    domain "example.test" {\n      policy = %s\n    }\n'
        '    exempt_hosts = {"127.0.0.9"}\n    exempt_senders = {"@lists.remote.test"}\n'
        '  }\n}\n')


def send(ex, sender, from_, rcpt="bob@example.test", source="127.0.0.5", auth=None,
         headers=None):
    """from_ is the From: address, or a whole From: field value when it holds "<"."""
    body = message(sender=from_, to=rcpt, headers=headers)
    if "<" in from_:
        body = body.replace("From: <%s>" % from_, "From: %s" % from_, 1)
    r = ex.send(sender, rcpt, body=body, source=source, auth=auth)
    return r[-1]


class OwnDomainTest(unittest.TestCase):

    def test_reject_policy(self):
        with Exim(modules=["rcpt"], moat_conf=CONF % "reject") as ex:
            # the field report: From: and To: the same, from outside
            r = send(ex, "bob@example.test", "bob@example.test")
            self.assertEqual(r.code, 550)
            self.assertIn(b"5.7.1", r.text)
            # only the From: is ours
            self.assertEqual(send(ex, "x@remote.test", "alice@example.test").code, 550)
            # ours, authenticated
            self.assertEqual(send(ex, "alice@example.test", "alice@example.test",
                                  auth=("alice", "alice-demo-pw")).code, 250)
            # the forwarder, the list, a stranger in its own name
            self.assertEqual(send(ex, "alice@example.test", "alice@example.test",
                                  source="127.0.0.9").code, 250)
            self.assertEqual(send(ex, "l-bounces@lists.remote.test", "alice@example.test").code,
                             250)
            self.assertEqual(send(ex, "x@remote.test", "x@remote.test").code, 250)
            self.assertTrue(ex.wait_maildir("bob", 4))
            self.assertRegex(ex.mainlog(), r"moat rcpt: action=deny reason=own_domain_forged "
                                           r"ip=127.0.0.5 sender=<x@remote.test> "
                                           r"from=<alice@example.test> domain=example.test "
                                           r"via=from policy=reject")

    def test_mark_policy_and_forged_marks_removed(self):
        with Exim(modules=["rcpt"], moat_conf=CONF % "mark") as ex:
            self.assertEqual(send(ex, "x@remote.test", "bob@example.test").code, 250)
            self.assertEqual(send(ex, "x@remote.test", "x@remote.test",
                                  headers={"X-Moat-Own-Domain": "forged by the sender"}).code,
                             250)
            # the domain is matched as Exim matches it (caseless); our address
            # in a display name in front of a stranger's is not ours
            self.assertEqual(send(ex, "x@remote.test", "Bob <BOB@EXAMPLE.TEST>").code, 250)
            self.assertEqual(send(ex, "x@remote.test",
                                  '"bob@example.test" <x@remote.test>').code, 250)
            self.assertTrue(ex.wait_maildir("bob", 4))
            marked = [m for m in ex.maildir("bob") if b"X-Moat-Own-Domain" in m]
            self.assertEqual(len(marked), 2)
            for m in marked:
                self.assertIn(b"X-Moat-Own-Domain: forged domain=", m)
                self.assertIn(b" via=from", m)
            self.assertFalse([m for m in ex.maildir("bob") if b"forged by the sender" in m])

    def test_spf_policy_asks_exim_for_spf(self):
        # Exim's SPF (libspf2) passes the loopback addresses the tests send
        # from: our domain in the envelope with SPF passing is accepted;
        # SPF speaks for the envelope only, so our From: under a foreign
        # envelope is still refused. (Each SPF result: test_rcpt.c.)
        with Exim(modules=["rcpt"], moat_conf=CONF % "spf") as ex:
            self.assertEqual(send(ex, "bob@example.test", "bob@example.test").code, 250)
            self.assertEqual(send(ex, "x@remote.test", "bob@example.test").code, 550)
            self.assertRegex(ex.mainlog(), r"reason=own_domain_forged .* via=from policy=spf")
            self.assertTrue(ex.wait_maildir("bob", 1))

if __name__ == "__main__":
    unittest.main()
