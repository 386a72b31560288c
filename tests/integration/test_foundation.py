# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 2: a real Exim daemon calls moat through the shipped snippets, and
moat's own failures (broken moat.conf, missing module) never cost mail."""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness  # noqa: E402
from harness import (HERE, PLAIN_AUTHENTICATORS, ROOT, Client, Exim, build_dir, free_port,
                     message)

BROKEN_SYNTAX = "store {\n  backend = lmdb\n\nrcpt {\n  enabled = true\n"
BROKEN_VALUE = "# an invalid value\nstore {\n  map_size = lots\n}\n"


def full_transaction(ex, source="127.0.0.20", auth=True):
    """connect, EHLO, AUTH, MAIL, RCPT, DATA, QUIT: every reply code."""
    c = ex.smtp(source)
    codes = [c.banner[0], c.ehlo()[0]]
    if auth:
        codes.append(c.auth_plain("alice", "alice-demo-pw")[0])
    codes.append(c.mail("alice@example.test" if auth else "someone@remote.test")[0])
    codes.append(c.rcpt("bob@example.test")[0])
    codes.append(c.data(message(sender="alice@example.test", to="bob@example.test"))[0])
    codes.append(c.quit()[0])
    return codes


def stop_demo(proc, d):
    """After a failed assertion too: the demo's Exim runs in a session of its
    own, so stop it through run_demo.py (SIGINT), which owns it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # run_demo.py killed before it could stop its Exim: the daemon of the
    # pid file, if it is still the one running on d's configuration
    harness.kill_pidfile_session(os.path.join(d, "exim.pid"), os.path.join(d, "exim.conf"))
    if not os.environ.get("MOAT_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


# the entry points called without arguments (rcpt's router data and its
# per-process state, read in the ACLs)
ARGLESS = {"moat_rcpt_route_data", "moat_rcpt_drop", "moat_rcpt_catchall_only"}


class FoundationTest(unittest.TestCase):

    def test_exim_calls_a_module_through_the_shipped_snippet(self):
        # rcpt judges each recipient while Exim routes it for the site's
        # verify = recipient (rcpt/routers.conf): the good one is delivered,
        # the unknown one refused with moat's reply and moat's log line
        with Exim(modules=["rcpt"]) as ex:
            replies = ex.send("someone@remote.test", "alice@example.test", source="127.0.0.21")
            self.assertEqual([r[0] for r in replies], [250, 250, 250, 250])
            self.assertTrue(ex.wait_maildir("alice", 1))
            c = ex.smtp("127.0.0.21")
            c.ehlo()
            c.mail("someone@remote.test")
            r = c.rcpt("nobody@example.test")
            c.quit()
            self.assertEqual(r, (550, b"5.1.1 No such user here"))
            self.assertIsNotNone(ex.wait_for_log(r"moat rcpt: action=deny reason=unknown_user "
                                                 r"ip=127\.0\.0\.21 .*rcpt=<nobody@example\.test>"),
                                 ex.mainlog())
            self.assertEqual(ex.paniclog(), "")

    def _assert_broken_config_costs_nothing(self, text, lineno):
        ex = Exim()
        ex.prepare()
        ex.write_moat_conf(text, raw=True)
        with ex:
            for i in range(2):
                codes = full_transaction(ex, source="127.0.0.%d" % (30 + i))
                self.assertTrue(all(c < 400 or c == 334 for c in codes), codes)
            self.assertTrue(ex.wait_maildir("bob", 2))
            log = ex.mainlog()
            where = "%s:%d: " % (ex.path("moat.conf"), lineno)
            # Every module is called in the transaction (connect, AUTH, MAIL,
            # RCPT, DATA, QUIT); each says what is wrong once per connection
            # process, naming file and line, whatever its number of calls.
            # (catchall's RCPT decision is taken in rcpt's router call, which
            # reports the file for both.)
            for module in ("rcpt", "authlock", "autoreply"):
                lines = re.findall(r"\[(\d+)\] (?:\S+ )?moat %s: error: (.*)" % module, log)
                pids = [pid for pid, _ in lines]
                self.assertEqual(len(pids), 2, "%s:\n%s" % (module, log[-4000:]))
                self.assertEqual(len(set(pids)), 2, "%s:\n%s" % (module, log[-4000:]))
                for _, line in lines:
                    self.assertTrue(line.startswith(where), line)
                    self.assertIn("(answering per on_error=accept)", line)
            self.assertEqual(ex.paniclog(), "")
            self.assertEqual(len(ex.maildir("bob")), 2)

    def test_syntax_error_in_moat_conf_accepts_per_on_error(self):
        # The unclosed store section makes "rcpt" (line 4) an unknown store option.
        self._assert_broken_config_costs_nothing(BROKEN_SYNTAX, 4)

    def test_invalid_value_in_moat_conf_accepts_per_on_error(self):
        self._assert_broken_config_costs_nothing(BROKEN_VALUE, 3)

    def test_on_error_defer_holds_in_a_file_broken_elsewhere(self):
        ex = Exim(modules=["rcpt"])
        ex.prepare()
        ex.write_moat_conf("store { map_size = lots }\nrcpt {\n  on_error = defer\n}\n",
                           raw=True)
        with ex:
            c = ex.smtp("127.0.0.40")
            c.ehlo()
            self.assertEqual(c.mail("someone@remote.test")[0], 250)
            r = c.rcpt("alice@example.test")
            self.assertEqual(r[0], 451, r)
            self.assertIn(b"4.3.0", r[1])
            c.quit()
            self.assertIn("answering per on_error=defer", ex.mainlog())
            self.assertEqual(ex.paniclog(), "")
            self.assertEqual(ex.maildir("alice"), [])
            self.assertEqual(ex.queue(), [])

    def test_removed_package_leaves_exim_working(self):
        # What "apt remove" leaves: the site's configuration still names
        # moat's files with .include_if_exists, the files are gone. Exim
        # starts and mail flows without a trace of moat (the snippets call
        # the modules without a per-call file test: they are there exactly
        # while the package is, see README "Removing moat").
        ex = Exim(authenticators=PLAIN_AUTHENTICATORS,
                  extra_acl_rcpt="  warn log_message = moat-verdict: <$acl_m_moat_rcpt>")
        ex.prepare()
        shutil.rmtree(ex.path("lib"))
        os.mkdir(ex.path("lib"))
        for entry in os.listdir(ex.path("snippets")):
            if entry != "moat-macros.conf":   # included by the harness itself
                path = ex.path("snippets", entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        with ex:
            codes = full_transaction(ex, source="127.0.0.41")
            self.assertTrue(all(c < 400 or c == 334 for c in codes), codes)
            self.assertTrue(ex.wait_maildir("bob", 1))
            self.assertIn("moat-verdict: <>", ex.mainlog())
            self.assertNotIn("moat ", ex.mainlog().replace("moat-verdict", ""))
            self.assertEqual(ex.paniclog(), "")

    def test_module_file_gone_under_a_running_configuration_only_defers(self):
        # The seconds between dpkg removing the files and the reload its
        # postrm asks for: a daemon still holding moat's snippets answers
        # 4xx where a module is called, never 5xx, and loses nothing.
        ex = Exim(modules=["rcpt"])
        ex.prepare()
        os.unlink(ex.path("lib", "rcpt.so"))
        with ex:
            c = ex.smtp("127.0.0.42")
            codes = [c.banner[0]]
            if codes[0] == 220:
                codes += [c.ehlo()[0], c.mail("someone@remote.test")[0],
                          c.rcpt("alice@example.test")[0]]
            c.quit()
            self.assertTrue(any(400 <= code < 500 for code in codes), codes)
            self.assertFalse(any(code >= 500 for code in codes), codes)
            self.assertEqual(ex.maildir("alice"), [])
            self.assertIn("rcpt.so", ex.paniclog())

    def test_unknown_local_user_is_refused_without_moat(self):
        # The baseline the tests compare against: Exim alone refuses unknown users.
        with Exim(modules=[]) as ex:
            c = ex.smtp("127.0.0.42")
            c.ehlo()
            c.mail("someone@remote.test")
            self.assertEqual(c.rcpt("nobody@example.test")[0], 550)
            c.quit()

    def test_a_port_taken_before_exim_binds_it_costs_no_paniclog_line(self):
        # Several suites on one machine: the free port the harness picked can
        # be taken by another before Exim binds it. The harness starts Exim on
        # another port, and the abandoned daemon's line is not left in the
        # paniclog, where a test asserting an empty one would see it.
        ex = Exim(modules=[]).prepare()
        taken = socket.socket()
        try:
            taken.bind(("127.0.0.1", ex._port))
            taken.listen(1)
            with ex:
                self.assertNotEqual(ex.port, taken.getsockname()[1])
                self.assertEqual(ex.paniclog(), "")
                with open(ex.path("log", "paniclog.port-retry")) as f:
                    self.assertIn("Address already in use", f.read())
                c = ex.smtp("127.0.0.42")
                c.ehlo()
                c.quit()
        finally:
            taken.close()

    def test_moatctl_check_config(self):
        ex = Exim(modules=[]).prepare()
        try:
            ok = ex.moatctl("check-config")
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("OK", ok.stdout)
            ex.write_moat_conf("# comment\nrcpt {\n  on_error = maybe\n}\n", raw=True)
            bad = ex.moatctl("check-config")
            self.assertEqual(bad.returncode, 1)
            self.assertIn("%s:3: rcpt: on_error: 'maybe' is not one of accept|defer"
                          % ex.path("moat.conf"), bad.stderr)
            js = ex.moatctl("--json", "check-config")
            self.assertIn('"valid":false', js.stdout)
            # The example configuration that `make install` and the package ship.
            shipped = ex.moatctl("check-config", os.path.join(ROOT, "conf", "moat.conf"))
            self.assertEqual(shipped.returncode, 0, shipped.stdout + shipped.stderr)
        finally:
            ex.stop()

    def test_moatctl_without_the_default_moat_conf_uses_built_in_defaults(self):
        # /etc/moat hidden by an empty tmpfs in a mount namespace of its own
        # when the machine has one: the machine's own files are never touched
        ctl = os.path.join(build_dir(), "moatctl")
        hide = ("mount -t tmpfs tmpfs /etc/moat && " if os.path.isdir("/etc/moat") else "")
        run = lambda args: subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", hide + 'exec "$@"', "sh",
             ctl] + args, capture_output=True, text=True)
        r = run(["check-config"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("(built-in defaults): OK", r.stdout)
        # a file named with --config must exist
        r = run(["--config", "/etc/moat/moat.conf", "check-config"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("/etc/moat/moat.conf: cannot read", r.stdout + r.stderr)

    def test_moatctl_creates_a_missing_store_for_the_exim_user(self):
        ex = Exim(modules=["rcpt"]).prepare()
        try:
            shutil.rmtree(ex.path("state"))
            r = ex.moatctl("rcpt", "list")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            uid = harness.exim_ids()[0]
            for p in [ex.path("state")] + glob.glob(ex.path("state", "*")):
                self.assertEqual(os.stat(p).st_uid, uid, p)
            self.assertEqual(os.stat(ex.path("state")).st_mode & 0o777, 0o750)
        finally:
            ex.stop()

    def test_entry_points_answer_a_wrong_call_and_a_dead_store(self):
        # Exim's ERROR, naming the entry point and what it takes: a misused
        # call in someone's ACL is found at once (here through exim -be)
        ex = Exim().prepare()
        try:
            calls = set()
            for dirpath, _, files in os.walk(ex.path("snippets")):
                for fn in files:
                    with open(os.path.join(dirpath, fn)) as f:
                        calls |= set(re.findall(r"dlfunc\{MOAT_LIBDIR/(\w+)\.so\}\{(\w+)\}",
                                                f.read()))
            self.assertGreaterEqual(len(calls), 10)
            for module, entry in sorted(calls):
                # (the entries that take no argument are given one)
                r = ex.exim("-be", "${dlfunc{%s}{%s}%s}" % (ex.path("lib", module + ".so"), entry,
                                                           "{x}" if entry in ARGLESS else ""))
                # an entry named by a macro (MOAT_RCPT_JUDGE_FIRST): Exim says which
                name = entry if entry.startswith("moat_") else r"moat_\w+"
                self.assertRegex(r.stdout + r.stderr, r"moat %s: %s takes" % (module, name))
            # the store down (Redis on a port nobody listens on): every
            # entry point still answers, per on_error, and never refuses
            down = ex.path("down.conf")
            with open(down, "w") as f:
                f.write("store {\n  backend = redis\n  redis {\n    port = %d\n  }\n}\n"
                        % free_port())
            os.chmod(down, 0o644)
            ip, alice, friend = "192.0.2.5", "alice@example.test", "friend@remote.test"
            for module, entry, args in [
                    ("rcpt", "moat_rcpt_connect", [ip]),
                    ("rcpt", "moat_rcpt_check", [ip, friend, "nobody@example.test"]),
                    ("rcpt", "moat_rcpt_recipient", ["nobody@example.test"]),
                    ("rcpt", "moat_rcpt_route", ["nobody@example.test"]),
                    ("rcpt", "moat_rcpt_route_last", ["nobody@example.test"]),
                    ("rcpt", "moat_rcpt_mail", []),
                    ("authlock", "moat_authlock_authfail", [ip, "mallory"]),
                    ("authlock", "moat_authlock_quit", [ip, "mallory"]),
                    ("authlock", "moat_authlock_submit", ["alice", ip, "1"]),
                    ("authlock", "moat_authlock_event", ["alice", ip, friend, "550 no"]),
                    ("catchall", "moat_catchall_rcpt", [ip, friend, "nobody@example.test",
                                                        "fail"]),
                    ("batv", "moat_batv_check", [ip, "", "prvs=0123456789=" + alice]),
                    ("batv", "moat_batv_sign", [alice, friend, "yes", "key"]),
                    # the DATA entries, and those an Exim still running an
                    # earlier release's snippets calls after an upgrade
                    ("rcpt", "moat_rcpt_own_domain_data", ["+local_domains", alice, ""]),
                    ("rcpt", "moat_rcpt_own_domain", [ip, friend, "no", alice, "yes", ""]),
                    ("autoreply", "moat_autoreply_message", ["", "", "", "", "no"]),
                    ("autoreply", "moat_autoreply_data", ["in", friend, alice])]:
                expr = "${dlfunc{%s}{%s}{%s}%s}" % (ex.path("lib", module + ".so"), entry, down,
                                                   "".join("{%s}" % a for a in args))
                # (the client and sender that moat_rcpt_recipient reads from Exim)
                r = ex.exim("-oMa", ip, "-f", friend, "-be", expr)
                self.assertEqual(r.returncode, 0, "%s: %s" % (entry, r.stdout + r.stderr))
                self.assertNotIn("action=deny", r.stdout, entry)
                if entry in ("moat_rcpt_check", "moat_rcpt_recipient"):
                    self.assertIn("reason=moat_error", r.stdout)
                if entry.startswith("moat_rcpt_route"):   # the router declines: Exim decides
                    self.assertEqual(r.stdout.strip(), "", entry)
            # a sender without a domain: nothing to probe
            r = ex.exim("-be", "${dlfunc{%s}{moat_catchall_sender}{%s}{postmaster}}"
                        % (ex.path("lib", "catchall.so"), ex.path("moat.conf")))
            self.assertIn("action=accept catchall=unknown", r.stdout, r.stderr)
        finally:
            ex.stop()

    def test_make_run_demo(self):
        # What README's "Try it" promises, through run_demo.py itself (in a
        # directory of its own, not the checkout's run/).
        d = tempfile.mkdtemp(prefix="moat-demo-", dir="/var/tmp")
        port = free_port()
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "run_demo.py"), "--port",
                                 str(port), "--build", build_dir(), "--dir", d],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            banner = ""
            while "Ctrl-C stops Exim." not in banner:
                line = proc.stdout.readline()
                self.assertTrue(line, "run_demo.py ended early:\n" + banner)
                banner += line
            self.assertIn("swaks --server 127.0.0.1:%d" % port, banner)
            c = Client(port, source="127.0.0.50")
            c.ehlo()
            self.assertEqual(c.mail("someone@remote.test").code, 250)
            self.assertEqual(c.rcpt("nobody@example.test").code, 550)
            self.assertEqual(c.rcpt("alice@example.test").code, 250)
            self.assertEqual(c.data(message(to="alice@example.test")).code, 250)
            c.quit()
            c = Client(port, source="127.0.0.51")
            c.ehlo()
            self.assertEqual(c.auth_login("bob", "bob-demo-pw").code, 235)
            self.assertEqual(c.mail("bob@example.test").code, 250)
            self.assertEqual(c.rcpt("friend@remote.test").code, 250)
            self.assertEqual(c.data(message(sender="bob@example.test",
                                            to="friend@remote.test")).code, 250)
            c.quit()
            c = Client(port, source="127.0.0.52")
            c.ehlo()
            self.assertEqual(c.auth_plain("alice", "alice-demo-pw").code, 235)
            c.quit()
            deadline = time.time() + 10
            while time.time() < deadline and not (
                    glob.glob(os.path.join(d, "mail", "alice", "new", "*")) and
                    glob.glob(os.path.join(d, "outbound", "new", "*"))):
                time.sleep(0.1)
            self.assertEqual(len(glob.glob(os.path.join(d, "mail", "alice", "new", "*"))), 1)
            self.assertEqual(len(glob.glob(os.path.join(d, "outbound", "new", "*"))), 1)
            proc.send_signal(signal.SIGINT)
            rest = proc.communicate(timeout=15)[0]
            self.assertEqual(proc.returncode, 0, rest)
            self.assertIn("moat demo stopped", rest)
            self.assertNotIn("lost privilege", banner + rest)
            with open(os.path.join(d, "log", "mainlog")) as f:
                self.assertIn("moat rcpt: action=deny reason=unknown_user", f.read())
        finally:
            stop_demo(proc, d)

    def test_export_check_refuses_a_module_exim_could_not_load_safely(self):
        # `make export-test` passes on the real modules; here the checker
        # itself must notice each fault in a module built to have them.
        bad = ("extern int deliver_message(const char *, int, int);\n"  # not exported by Exim
               "int helper_counter;\n"
               "int helper(int x) { return x + 1; }\n"
               "int moat_bad_entry(void **yield, int argc, char **argv)\n"
               "{ (void)yield; (void)argv;\n"
               "  return deliver_message(\"x\", argc, 0) + helper(helper_counter); }\n")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "bad.c"), "w") as f:
                f.write(bad)
            so = os.path.join(d, "bad.so")
            subprocess.run(["cc", "-shared", "-fPIC", "-Wl,-z,lazy", "-o", so,
                            os.path.join(d, "bad.c")], check=True)
            r = subprocess.run([sys.executable, os.path.join(HERE, "check_exports.py"), so],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("not entry points: helper helper_counter", r.stdout)
        self.assertIn("neither Exim nor its own libraries export: deliver_message", r.stdout)
        self.assertIn("not linked with -z now", r.stdout)


if __name__ == "__main__":
    unittest.main()
