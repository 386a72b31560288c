"""End to end through the Debian package: build exim4-moat, install it with
apt, give Debian's own exim4 a local-delivery configuration for moat.test,
then turn the modules on one at a time with moatctl and show over SMTP that
exactly the enabled ones act; turn each off again; do it once more with the
unsplit configuration; remove the package and show Exim still starts and
delivers; purge it and show its configuration and state are gone.

This changes the machine (the package, /etc/exim4): it needs root, and puts
/etc/exim4 back as it found it at the end. It is skipped when exim4-moat is
installed already, so that it never removes somebody's real installation.

What each module does that the test looks for (Debian's stock ACLs, no
other change but the test's authenticators, see AUTH_FIXTURE):
  rcpt       RCPT to an unknown user: 550 from moat and "moat rcpt:" in the
             mainlog (Debian alone answers 550 Unrouteable address)
  catchall   moat.test is a catch-all domain in moat.conf with policy
             reject-suspicious and only root explicit: RCPT to postmaster
             with a null sender is refused, "moat catchall:" logged
  autoreply  a message with Auto-Submitted: auto-replied is classified
             "never": X-Moat-Autoreply in the delivered message
  authlock   a wrong AUTH PLAIN password: "moat authlock:" in the mainlog
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import Client, free_port, message, wait_port  # noqa: E402

EXIM_DIR = "/etc/exim4"
MAINLOG = "/var/log/exim4/mainlog"
PIDFILE = "/run/exim4/exim.pid"
MOATCTL = "/usr/sbin/moatctl"
MOAT_CONF = "/etc/moat/moat.conf"
MAILBOX = "/var/mail/mail"          # Debian's mmm_mail4root: root's mail, no alias for root
AUTH_FIXTURE = EXIM_DIR + "/conf.d/auth/35_moat_test_authenticators"
SAVED = [EXIM_DIR + "/update-exim4.conf.conf", EXIM_DIR + "/exim4.conf.localmacros",
         EXIM_DIR + "/conf.d/main/01_moat_macros", AUTH_FIXTURE, MAILBOX]
MODULES = ["rcpt", "authlock", "catchall", "autoreply"]

UPDATE_CONF = """# written by moat's tests/integration/test_package.py (restored afterwards)
dc_eximconfig_configtype='local'
dc_other_hostnames='moat.test'
dc_local_interfaces='127.0.0.1'
dc_readhost=''
dc_relay_domains=''
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost=''
CFILEMODE='644'
dc_use_split_config='{split}'
dc_hide_mailname=''
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
"""

# moat.conf as an admin would write it: every module off until moatctl
# turns it on; thresholds high enough that the probes never block anyone.
TEST_MOAT_CONF = """# moat.conf for the package test
store {
    backend = lmdb
    path = "/var/lib/moat"
}
log {
    level = info
}
rcpt {
    enabled = false   # moatctl enable/disable edits this line
    source = exim
    tarpit_base = 0s
    tarpit_max = 0s
}
authlock {
    enabled = false
    tarpit_after = 100
}
catchall {
    enabled = false
    domain "moat.test" {
        policy = reject-suspicious
        allow = {"root"}
    }
}
autoreply {
    enabled = false
}
"""

# The admin's part for authlock (moat(7): the package documents, never
# forces, wrapping the site's authenticators): moat's PLAIN/LOGIN when the
# module is on, so that AUTH exists only then.
AUTH_FIXTURE_TEXT = """# moat package test: authlock's authenticators while authlock is enabled
.ifdef MOAT_ENABLE_AUTHLOCK
.include_if_exists /usr/share/moat/exim/authlock/authenticators.conf
.endif
"""


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stdout))
    return r


def installed(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "install ok installed" in r.stdout


def log_size():
    try:
        return os.path.getsize(MAINLOG)
    except OSError:
        return 0


def log_since(offset):
    try:
        with open(MAINLOG, errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def wait_log(offset, needle, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = log_since(offset)
        if needle in text:
            return text
        time.sleep(0.2)
    return log_since(offset)


@unittest.skipUnless(os.geteuid() == 0, "package test needs root (it installs exim4-moat)")
class PackageTest(unittest.TestCase):
    """One ordered scenario; the steps are numbered methods sharing state."""

    daemon = None
    saved = {}

    @classmethod
    def setUpClass(cls):
        for tool in ("apt-get", "dpkg-buildpackage", "update-exim4.conf"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("package test: %s is not installed" % tool)
        if installed("exim4-moat"):
            raise unittest.SkipTest("package test: exim4-moat is installed already; "
                                    "not touching a real installation")
        if os.path.exists(EXIM_DIR + "/exim4.conf"):
            raise unittest.SkipTest("package test: %s/exim4.conf exists (not Debian's "
                                    "generated configuration)" % EXIM_DIR)
        for path in SAVED:
            cls.saved[path] = open(path, "rb").read() if os.path.exists(path) else None
        cls.port = free_port()
        cls.failed_step = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_exim()
        if installed("exim4-moat") or os.path.exists("/etc/moat"):
            run(["apt-get", "purge", "-y", "-q", "exim4-moat"], check=False,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        for path, data in cls.saved.items():
            if data is None:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                with open(path, "wb") as f:
                    f.write(data)
        run(["update-exim4.conf"], check=False)

    # ------------------------------------------------------------ Exim

    @classmethod
    def start_exim(cls):
        """Debian's exim4 binary and generated configuration, as a daemon on
        127.0.0.1:port (the machine's port 25 may be taken), with Debian's
        pid file so that moatctl reloads it."""
        os.makedirs("/run/exim4", exist_ok=True)
        pw = pwd.getpwnam("Debian-exim")
        os.chown("/run/exim4", pw.pw_uid, pw.pw_gid)
        cls.daemon = subprocess.Popen(
            ["/usr/sbin/exim4", "-bdf", "-q30m", "-oX", "127.0.0.1.%d" % cls.port,
             "-oP", PIDFILE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(cls.port, timeout=10):
            err = cls.daemon.stderr.read().decode(errors="replace") if cls.daemon.poll() else ""
            raise AssertionError("Debian's exim4 did not start on port %d: %s" % (cls.port, err))

    @classmethod
    def stop_exim(cls):
        if cls.daemon is not None and cls.daemon.poll() is None:
            cls.daemon.send_signal(signal.SIGTERM)
            try:
                cls.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.daemon.kill()
                cls.daemon.wait()
        cls.daemon = None
        if os.path.exists(PIDFILE):
            os.unlink(PIDFILE)

    def settle(self):
        """After a reload (SIGHUP: the daemon re-executes itself)."""
        time.sleep(0.5)
        self.assertTrue(wait_port(self.port, timeout=10), "Exim did not come back after reload")
        self.assertIsNone(self.daemon.poll(), "Exim's daemon died")

    def configure_exim(self, split):
        with open(EXIM_DIR + "/update-exim4.conf.conf", "w") as f:
            f.write(UPDATE_CONF.format(split="true" if split else "false"))
        run(["update-exim4.conf"])

    def moatctl(self, *args, check=True):
        return run([MOATCTL] + list(args), check=check)

    # ------------------------------------------------------------ probes

    def client(self, source):
        c = Client(self.port, source=source)
        self.assertEqual(c.banner.code, 220, c.banner)
        return c

    def probe_rcpt(self):
        off = log_size()
        c = self.client("127.0.0.11")
        c.ehlo()
        c.mail("someone@remote.test")
        r = c.rcpt("nosuchuser@moat.test")
        c.quit()
        self.assertEqual(r.code, 550, r)  # refused either way: by moat or by Debian
        text = wait_log(off, "nosuchuser@moat.test", timeout=3)
        return "moat rcpt:" in text

    def probe_catchall(self):
        off = log_size()
        c = self.client("127.0.0.12")
        c.ehlo()
        c.mail("")
        r = c.rcpt("postmaster@moat.test")
        c.quit()
        acted = r.code == 550
        text = log_since(off)
        self.assertEqual(acted, "moat catchall:" in text,
                         (r, text, run(["ls", "-la", "/var/lib/moat"], check=False).stdout))
        return acted

    def probe_autoreply(self):
        tag = os.urandom(4).hex()
        off = log_size()
        c = self.client("127.0.0.13")
        replies = c.send_message_simple(
            "someone@remote.test", "root@moat.test",
            message(to="root@moat.test", subject="auto " + tag,
                    headers={"Auto-Submitted": "auto-replied"}))
        c.quit()
        self.assertEqual(replies[-1].code, 250, replies)
        # delivered to root's mailbox, /var/mail/mail (root is explicit for catchall)
        wait_log(off, " Completed", timeout=10)
        deadline = time.time() + 5
        while time.time() < deadline:
            box = open(MAILBOX, errors="replace").read() if os.path.exists(MAILBOX) else ""
            at = box.find("Subject: auto " + tag)
            if at >= 0:
                start = box.rfind("\nFrom ", 0, at)
                return "X-Moat-Autoreply: never" in box[max(start, 0):at + 200]
            time.sleep(0.2)
        self.fail("the autoreply probe message was not delivered:\n" + log_since(off))

    def probe_authlock(self):
        off = log_size()
        c = self.client("127.0.0.14")
        r = c.ehlo()
        offered = b"AUTH" in r.text
        if offered:
            a = c.auth_plain("alice", "wrong-password")
            self.assertEqual(a.code, 535, a)
        c.quit()
        text = wait_log(off, "moat authlock:", timeout=3 if offered else 0.5)
        return "moat authlock:" in text

    def acting(self):
        return {m for m, probe in (("rcpt", self.probe_rcpt), ("authlock", self.probe_authlock),
                                   ("catchall", self.probe_catchall),
                                   ("autoreply", self.probe_autoreply)) if probe()}

    def status(self):
        import json
        r = self.moatctl("--json", "status", check=False)
        return json.loads(r.stdout)

    # ------------------------------------------------------------ steps

    def test_01_build_and_install(self):
        r = run([os.path.join(ROOT, "packaging/deb/build.sh")], check=False, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        debs = sorted(glob.glob(os.path.join(ROOT, "build", "exim4-moat_*_%s.deb" % arch)),
                      key=os.path.getmtime)
        self.assertTrue(debs, "no exim4-moat .deb in build/")
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", debs[-1]],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertTrue(installed("exim4-moat"))
        st = os.stat(MOAT_CONF)
        self.assertEqual(st.st_mode & 0o777, 0o640)
        self.assertEqual(st.st_gid, pwd.getpwnam("Debian-exim").pw_gid)
        self.assertEqual(os.stat("/var/lib/moat").st_uid, pwd.getpwnam("Debian-exim").pw_uid)
        for m in MODULES:
            self.assertTrue(os.path.exists("/usr/lib/exim4/moat/%s.so" % m), m)
        self.assertTrue(os.path.exists("/usr/share/moat/exim/debian/main.conf"))

    def test_02_split_config_one_module_at_a_time(self):
        with open(MOAT_CONF, "w") as f:
            f.write(TEST_MOAT_CONF)
        with open("/etc/moat/auth-demo-passwords", "w") as f:
            f.write("alice: alice-demo-pw\n")
        os.chmod("/etc/moat/auth-demo-passwords", 0o644)
        with open(AUTH_FIXTURE, "w") as f:
            f.write(AUTH_FIXTURE_TEXT)
        self.configure_exim(split=True)
        self.start_exim()
        self.assertEqual(self.acting(), set(), "a module acts before any is enabled")

        for m in MODULES:
            r = self.moatctl("enable", m)
            self.assertIn("Exim reloaded", r.stdout)
            self.assertTrue(os.path.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"))
            self.settle()
            st = {x["name"]: x for x in self.status()["modules"]}
            self.assertTrue(st[m]["active"], st[m])
            self.assertEqual(self.acting(), {m}, "only %s should act" % m)
            self.moatctl("disable", m)
            self.settle()
            self.assertFalse(self.status()["modules"][MODULES.index(m)]["active"])
        self.assertFalse(os.path.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"),
                         "the macro file stays after the last module is disabled")
        self.assertEqual(self.acting(), set())

        # two at once, independent of each other
        self.moatctl("enable", "rcpt")
        self.moatctl("enable", "catchall")
        self.settle()
        self.assertEqual(self.acting(), {"rcpt", "catchall"})
        self.moatctl("disable", "rcpt")
        self.settle()
        self.assertEqual(self.acting(), {"catchall"})
        self.moatctl("disable", "catchall")
        self.settle()

    def test_03_refuses_a_config_that_does_not_check(self):
        # An admin's own acl_smtp_connect collides with moat's: Exim would
        # refuse the configuration, so moatctl refuses and changes nothing.
        clash = EXIM_DIR + "/conf.d/main/03_moat_test_clash"
        with open(clash, "w") as f:
            f.write("acl_smtp_connect = acl_check_mail\n")
        before = open(MOAT_CONF).read()
        try:
            r = self.moatctl("enable", "rcpt", check=False)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("refused", r.stdout)
            self.assertIn("acl_smtp_connect", r.stdout)
            self.assertFalse(os.path.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"))
            self.assertEqual(open(MOAT_CONF).read(), before)
        finally:
            os.unlink(clash)
            run(["update-exim4.conf"])

    def test_04_unsplit_config(self):
        self.stop_exim()
        self.configure_exim(split=False)
        self.start_exim()
        r = self.moatctl("enable", "rcpt")
        self.assertIn("exim4.conf.localmacros", r.stdout)
        self.settle()
        self.assertIn("# BEGIN moat", open(EXIM_DIR + "/exim4.conf.localmacros").read())
        self.assertTrue(self.probe_rcpt())
        self.assertFalse(self.probe_catchall())
        self.moatctl("disable", "rcpt")
        self.settle()
        self.assertFalse(self.probe_rcpt())
        # leave rcpt on: the removal below must cope with an enabled module
        self.moatctl("enable", "rcpt")
        self.settle()
        self.assertTrue(self.probe_rcpt())

    def deliver(self, source, label):
        """A message to postmaster@moat.test is accepted and delivered."""
        tag = os.urandom(4).hex()
        off = log_size()
        c = self.client(source)
        replies = c.send_message_simple("someone@remote.test", "postmaster@moat.test",
                                        message(to="postmaster@moat.test", subject=label + tag))
        c.quit()
        self.assertEqual(replies[-1].code, 250, replies)
        text = wait_log(off, " Completed", timeout=10)
        self.assertIn("=> ", text, "no delivery (%s):\n%s" % (label, text))

    def test_05_remove_keeps_exim_delivering(self):
        run(["apt-get", "remove", "-y", "-q", "exim4-moat"],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertFalse(os.path.exists("/usr/lib/exim4/moat/rcpt.so"))
        self.assertTrue(os.path.exists(MOAT_CONF), "remove must keep the conffile")
        # The daemon that read moat's ACLs before the removal (postrm's reload
        # may be refused by policy-rc.d) keeps working: every call is guarded.
        self.deliver("127.0.0.15", "before restart ")
        # Exim starts on what remove left (the moat block is still in
        # exim4.conf.localmacros; nothing rebuilt the configuration).
        self.stop_exim()
        self.start_exim()
        self.assertFalse(self.probe_rcpt())
        self.deliver("127.0.0.16", "after restart ")

    def test_06_purge_removes_config_and_state(self):
        self.stop_exim()
        run(["apt-get", "purge", "-y", "-q", "exim4-moat"],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertFalse(installed("exim4-moat"))
        self.assertFalse(os.path.exists("/etc/moat"))
        self.assertFalse(os.path.exists("/var/lib/moat"))
        lm = EXIM_DIR + "/exim4.conf.localmacros"
        self.assertFalse(os.path.exists(lm) and "moat" in open(lm).read())
        self.start_exim()
        self.deliver("127.0.0.17", "after purge ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
