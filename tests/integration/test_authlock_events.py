"""Issue 18: authlock's failure counting on both supported Exims. On Exim
4.97+ (trixie's 4.98) the auth:fail event counts every failed AUTH attempt
of every authenticator as it happens: here a real Dovecot behind Exim's
dovecot authenticator, which moat cannot wrap. On both 4.96 and 4.98 an
attempt that the shipped server_condition wrapper counted is counted once."""

import json
import unittest

from dovecot_fixture import Dovecot, dovecot_version
from harness import Exim, exim_version

HAS_AUTH_FAIL_EVENT = exim_version() >= (4, 97)

DOVECOT_AUTHENTICATORS = """
dovecot_plain:
  driver = dovecot
  public_name = PLAIN
  server_socket = {socket}
  server_set_id = $auth1

dovecot_login:
  driver = dovecot
  public_name = LOGIN
  server_socket = {socket}
  server_set_id = $auth1
"""

CONF = ("authlock {\n  ip_threshold = 4\n  user_threshold = 100\n  spray_threshold = 100\n"
        "  tarpit_base = 0\n  tarpit_max = 0\n}\n")


def user_failures(ex, user):
    shown = ex.moatctl("--json", "authlock", "show", user)
    return json.loads(shown.stdout)["failures_unfamiliar"]


def ip_failures(ex, ip):
    shown = ex.moatctl("--json", "authlock", "show", ip)
    return json.loads(shown.stdout)["failures"]


class AuthFailEventTest(unittest.TestCase):

    @unittest.skipUnless(HAS_AUTH_FAIL_EVENT, "Exim %s has no auth:fail event (4.97+ has)"
                         % ".".join(map(str, exim_version())))
    @unittest.skipIf(dovecot_version() is None, "dovecot-core is not installed (make deps)")
    def test_dovecot_failures_are_counted_as_they_happen_through_auth_fail(self):
        """Four wrong passwords in one session lock the client out before
        that session ends: only the per-attempt event can have counted them.
        MOAT_AUTHLOCK_EXTERNAL_AUTH (the 4.96 way) is defined too, as an admin
        coming from bookworm would have it, and must not count them again."""
        with Dovecot({"alice": "alice-dove-pw", "carol": "carol-dove-pw"}) as dove:
            ex = Exim(modules=["authlock"],
                      authenticators=DOVECOT_AUTHENTICATORS.format(socket=dove.socket),
                      extra_macros="MOAT_AUTHLOCK_EXTERNAL_AUTH = yes")
            ex.prepare()
            ex.write_moat_conf(CONF)
            with ex:
                c = ex.smtp("127.0.21.70")
                c.ehlo()
                for i in range(3):
                    self.assertEqual(c.auth_plain("carol", "guess%d" % i)[0], 535)
                self.assertEqual(c.auth_login("carol", "guess3")[0], 535)
                self.assertIsNotNone(ex.wait_for_log(r"moat authlock: action=\S+ "
                                                     r"reason=ip_blocked ip=127\.0\.21\.70 "),
                                     ex.mainlog())
                other = ex.smtp("127.0.21.70")
                other.ehlo()
                self.assertEqual(other.auth_plain("alice", "alice-dove-pw")[0], 454)
                other.quit()
                c.quit()
                self.assertEqual(user_failures(ex, "carol"), 4)
                self.assertEqual(ip_failures(ex, "127.0.21.70"), 4)
                c = ex.smtp("127.0.21.71")
                c.ehlo()
                self.assertEqual(c.auth_plain("alice", "alice-dove-pw")[0], 235)
                c.quit()
                log = ex.mainlog()
                # Exim's own log line stays: the event's expansion yields "".
                self.assertRegex(log, r"dovecot_plain authenticator failed for .*127\.0\.21\.70")
                self.assertEqual(ex.paniclog(), "")

    def test_a_failure_the_wrapper_counted_is_not_counted_again(self):
        """The shipped PLAIN/LOGIN wrappers count a wrong password in
        server_condition; on 4.97+ auth:fail then reports the same attempt."""
        ex = Exim(modules=["authlock"])
        ex.prepare()
        ex.write_moat_conf(CONF.replace("ip_threshold = 4", "ip_threshold = 50"))
        # The snippets chose the mechanism by Exim's version at config time.
        main_event = ex.exim("-bP", "event_action").stdout
        if HAS_AUTH_FAIL_EVENT:
            self.assertIn("moat_authlock_authfail", main_event)
        else:
            self.assertNotIn("moat_authlock_authfail", main_event)
        with ex:
            c = ex.smtp("127.0.21.72")
            c.ehlo()
            self.assertEqual(c.auth_plain("bob", "wrong-1")[0], 535)
            self.assertEqual(c.auth_login("bob", "wrong-2")[0], 535)
            self.assertEqual(c.auth_plain("bob", "wrong-3")[0], 535)
            c.quit()
            self.assertEqual(user_failures(ex, "bob"), 3)
            self.assertEqual(ip_failures(ex, "127.0.21.72"), 3)
            self.assertEqual(ex.paniclog(), "")


if __name__ == "__main__":
    unittest.main()
