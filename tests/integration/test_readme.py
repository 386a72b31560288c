# SPDX-License-Identifier: GPL-2.0-or-later
"""README's walk-through, literally: the swaks and moatctl command lines of
its "Try it" section, taken from README.md itself, run in order against the
demo `make run` starts (tests/integration/run_demo.py, in a directory of its
own on a free port: the only two things rewritten in each line are
127.0.0.1:2525 and run/). Every command has an expected outcome below; a
command added to the README without one, or one listed here that the README
no longer has, fails the test, so the walk-through cannot drift from what
the demo does."""

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import ROOT, Client, build_dir, free_port, wait_until  # noqa: E402

CTL = "build/moatctl --exim-config run/exim.conf "
SWAKS = "swaks --server 127.0.0.1:2525 "

# command (as README writes it, continuation lines joined) -> (exit status,
# a regular expression its output must match)
EXPECT = {
    SWAKS + "--from someone@remote.test --to alice@example.test": (0, r"250 OK id="),
    SWAKS + "--from someone@remote.test --to nobody@example.test": (24, r"550 5\.1\.1"),
    SWAKS + "--auth PLAIN --auth-user alice --auth-password alice-demo-pw "
            "--from alice@example.test --to bob@example.test": (0, r"235 "),
    SWAKS + "--auth LOGIN --auth-user alice --auth-password guess "
            "--from alice@example.test --to bob@example.test": (28, r"535 "),
    SWAKS + "--auth LOGIN --auth-user bob --auth-password bob-demo-pw "
            "--from bob@example.test --to friend@remote.test": (0, r"235 "),
    SWAKS + "--from '<>' --to alice@example.test": (24, r"550 5\.7\.1"),
    CTL + "status": (0, r"(?s)(rcpt|authlock|catchall|autoreply|batv) +on +yes +on +present +active"),
    CTL + "check-config": (0, r"moat\.conf: OK"),
    CTL + "rcpt status 127.0.0.1": (1, r"127\.0\.0\.1 .*: blocked"),
    CTL + "rcpt list": (0, r"127\.0\.0\.1 +blocked for"),
    CTL + "rcpt unblock 127.0.0.1": (0, r"127\.0\.0\.1 unblocked"),
    CTL + "rcpt near-misses": (0, r"near miss"),
    CTL + "rcpt flush-cache alice@example.test": (0, r"alice@example\.test"),
    CTL + "authlock list": (0, r"."),
    CTL + "authlock show alice": (0, r"sent_messages +[1-9]"),
    CTL + "authlock held alice": (0, r"alice"),
    CTL + "authlock unlock 127.0.0.1": (0, r"127\.0\.0\.1"),
    CTL + "catchall audit": (0, r"example\.test: clean"),
    CTL + "catchall probe example.test": (0, r"example\.test: "),
    CTL + "catchall list": (0, r"."),
    CTL + "catchall forget example.test": (0, r"example\.test: forgotten"),
    CTL + "autoreply history alice@example.test": (0, r"sent:bob@example\.test\|alice@example\.test"),
    CTL + "autoreply classify --sender someone@remote.test --recipient bob@example.test "
          "tests/unit/corpus/autoreply/personal-crlf-folded.eml": (0, r"vacation=yes"),
    CTL + "batv status": (0, r"example\.test: sign on"),
    CTL + "batv rotate": (0, r"example\.test: key"),
    CTL + "store sweep": (0, r"removed \d+ expired"),
    CTL + "audit": (0, r"errors_copy"),
    CTL + "queue": (0, r"queue: \d+ messages"),
}

# Added to the demo's moat.conf (README: run/moat.local.conf adds, option by
# option): a lower threshold, so the block the README describes comes after
# a few tries; autoreply's local_domains must survive it (bob's reply).
LOCAL_CONF = "rcpt {\n    ip_threshold = 4\n}\nautoreply {\n    enabled = true\n}\n"


def readme_commands():
    """The swaks and build/moatctl lines of README's "Try it" section, in order."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text[text.index("## Try it"):text.index("## Tests")]
    out = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+", " ", re.sub(r"\s+#.*$", "", line)).strip()
            if line.startswith(("swaks ", "build/moatctl ")):
                out.append(line)
    return out


class ReadmeTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="moat-readme-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        with open(os.path.join(self.dir, "moat.local.conf"), "w") as f:
            f.write(LOCAL_CONF)
        self.demo = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "integration", "run_demo.py"),
             "--port", str(self.port), "--dir", self.dir, "--build", build_dir()],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.banner = ""
        while "Ctrl-C stops Exim" not in self.banner:
            line = self.demo.stdout.readline()
            if not line:
                self.fail("run_demo.py ended early:\n" + self.banner)
            self.banner += line

    def tearDown(self):
        if self.demo.returncode is None:
            os.kill(self.demo.pid, signal.SIGINT)     # not reaped: still ours
            try:
                self.demo.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.demo.kill()
                self.demo.communicate()
        harness.kill_pidfile_session(os.path.join(self.dir, "exim.pid"),
                                     os.path.join(self.dir, "exim.conf"))
        if not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def run_line(self, line):
        cmd = line.replace("127.0.0.1:2525", "127.0.0.1:%d" % self.port)
        cmd = re.sub(r"(?<![\w/.])run/", self.dir + "/", cmd)
        r = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        return r.returncode, r.stdout + r.stderr

    def wait_for(self, condition, what, timeout=60):
        if not wait_until(condition, timeout):
            self.fail("waited %ds for %s" % (timeout, what))

    def test_readme_walk_through_against_make_run(self):
        commands = readme_commands()
        self.assertEqual(sorted(set(commands)), sorted(EXPECT),
                         "README's commands and this test's expectations differ")
        self.assertIn("moatctl --exim-config %s/exim.conf status" % self.dir, self.banner)
        for line in commands:
            if line.startswith(CTL + "rcpt status"):
                # README: "after a few more unknown recipients from
                # 127.0.0.1 even mail to alice gets 451"
                self.block_loopback()
            code, out = self.run_line(line)
            want_code, want_out = EXPECT[line]
            self.assertEqual(code, want_code, "%s\n%s" % (line, out))
            self.assertRegex(out, want_out, line)
            if line.startswith(CTL + "rcpt unblock"):
                self.assertEqual(self.rcpt_alice(), 250, "alice still blocked after unblock")
            if line.startswith(SWAKS) and "--to bob@example.test" in line and code == 0:
                # bob's vacation reply (autoreply's local_domains kept)
                self.wait_for(lambda: glob.glob(os.path.join(self.dir, "mail", "alice", "new",
                                                             "*")), "bob's vacation reply")
        self.wait_for(lambda: glob.glob(os.path.join(self.dir, "outbound", "new", "*")),
                      "the message to friend@remote.test in outbound/")
        with open(glob.glob(os.path.join(self.dir, "outbound", "new", "*"))[0], "rb") as f:
            self.assertRegex(f.read(), rb"Return-path: <prvs=")
        with open(os.path.join(self.dir, "log", "mainlog")) as f:
            log = f.read()
        self.assertIn("moat rcpt: action=accept", log)        # level debug: accepts too
        self.assertIn("moat rcpt: action=deny reason=unknown_user", log)
        self.assertIn("moat batv: action=deny", log)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "log", "paniclog")),
                         "the demo wrote a paniclog")
        self.assertEqual(os.stat(os.path.join(self.dir, "passwd")).st_mode & 0o777, 0o640)
        self.assertNotIn("lost privilege", self.banner)

        # README: stop the demo, rm -rf run/state; moatctl in between
        # creates the store for the Exim user, never as root
        os.kill(self.demo.pid, signal.SIGINT)
        rest = self.demo.communicate(timeout=60)[0]
        self.assertIn("moat demo stopped", rest)
        shutil.rmtree(os.path.join(self.dir, "state"))
        code, out = self.run_line(CTL + "rcpt list")
        self.assertEqual(code, 0, out)
        exim_uid = pwd.getpwnam(harness.EXIM_USER).pw_uid
        for path in [os.path.join(self.dir, "state")] + glob.glob(
                os.path.join(self.dir, "state", "*")):
            self.assertEqual(os.stat(path).st_uid, exim_uid, path)

    def rcpt_alice(self):
        c = Client(self.port)
        c.ehlo()
        c.mail("someone@remote.test")
        code = c.rcpt("alice@example.test").code
        c.quit()
        return code

    def block_loopback(self):
        """Unknown recipients from 127.0.0.1 until rcpt blocks it."""
        for i in range(20):
            if self.rcpt_alice() == 451:
                return
            c = Client(self.port)
            c.ehlo()
            c.mail("someone@remote.test")
            c.rcpt("nobody%d@example.test" % i)
            c.quit()
        self.fail("127.0.0.1 was never blocked")


if __name__ == "__main__":
    unittest.main()
