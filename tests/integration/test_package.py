# SPDX-License-Identifier: GPL-2.0-or-later
"""The packaged path, as a Debian mail administrator walks it, in an
isolated root (overlay_root.py: the machine's / under an overlayfs in a
private mount namespace; nothing reaches the machine's own /etc or dpkg
database, so the test runs whether or not exim4-moat is installed here).

Inside: Debian's exim4-config as an internet site for moat.test, with the
site's own SMTP AUTH as Debian's examples give it (plain_server and
login_server from conf.d/auth/30_exim4-config_examples, /etc/exim4/passwd,
TLS-only advertising) and TLS on. Then:

  install    apt-get install ./exim4-moat_*.deb; nothing changes in Exim
  split      moatctl enable each module and prove it on SMTP, then disable:
             rcpt       unknown recipient 550 from moat; a harvester blocked
             authlock   reports what it wrapped; no AUTH without TLS; a
                        guesser locked through the site's authenticator,
                        the real user still in from elsewhere
             catchall   a null-sender probe of postmaster refused by moat
             autoreply  moat_autoreply_gate first of the routers; a personal
                        message gets a vacation reply, spam does not; the
                        bounce of spam to its forged sender never leaves
  refuse     the admin's own MAIN_ACL_CHECK_RCPT: enable rcpt says it cannot
  upgrade    a rebuilt .deb with a higher version, the admin's changed
             moat.conf, non-interactive apt: completes, keeps moat.conf and
             the state (the harvester stays blocked)
  dovecot    the site's passwords in Dovecot (not wrappable): authlock
             counts and locks through it, AUTH stays TLS-only
  unsplit    the same wiring through exim4.conf.localmacros and the template
  remove     exim4 -bV, restart and delivery, split and unsplit; SMTP AUTH
             exactly as before moat (no lock, TLS-only)
  purge      only what the package created goes; Exim restarts and delivers
"""

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import Client, free_port, message, wait_port, wait_until  # noqa: E402
from overlay_root import OverlayRoot  # noqa: E402
from dovecot_fixture import CONF_23, CONF_24, dovecot_version  # noqa: E402

EXIM_DIR = "/etc/exim4"
MOAT_CONF = "/etc/moat/moat.conf"
LOCAL_MACROS_SPLIT = EXIM_DIR + "/conf.d/main/000_localmacros"
LOCAL_MACROS_UNSPLIT = EXIM_DIR + "/exim4.conf.localmacros"
MODULES = ["rcpt", "authlock", "catchall", "autoreply", "batv"]
PASSWORD = "alice-secret-pw"

UPDATE_CONF = """# written by moat's tests/integration/test_package.py
dc_eximconfig_configtype='internet'
dc_other_hostnames='moat.test'
dc_local_interfaces='127.0.0.1.{port}'
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

# The admin's own macros: TLS on (Debian's TLS-only AUTH advertising then
# has a meaning), users on vacation for autoreply.
ADMIN_MACROS = """MAIN_TLS_ENABLE = yes
MOAT_AUTOREPLY_VACATION = /etc/exim4/vacation
notifier_socket = $spool_directory/exim_daemon_notify_{port}
"""
# (notifier_socket: the root shares the machine's network namespace, where
# Linux keeps Exim's abstract notifier socket; a daemon of the machine's
# own would hold the default name.)

# moat.conf as the admin writes it: thresholds low enough to see them act.
ADMIN_MOAT_CONF = """# the admin's moat.conf (test_package.py)
store {
    backend = lmdb
    path = "/var/lib/moat"
}
rcpt {
    source = exim
    tarpit_base = 0s
    tarpit_max = 0s
    ip_threshold = 3
}
authlock {
    ip_threshold = 3
    tarpit_after = 100
}
catchall {
    domain "moat.test" {
        policy = reject-suspicious
        allow = {"root"}
    }
}
autoreply {
}
batv {
    domains = {"moat.test"}
    grace = 0
}
"""

SPAM = {"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=12.5"}

# The site's Dovecot authenticator, as Debian's example gives it, with the
# TLS-only advertising of its plaintext examples.
DOVECOT_AUTH = """dovecot_plain_server:
  driver = dovecot
  public_name = PLAIN
  server_socket = {socket}
  server_set_id = $auth1
  .ifndef AUTH_SERVER_ALLOW_NOTLS_PASSWORDS
  server_advertise_condition = ${{if eq{{$tls_in_cipher}}{{}}{{}}{{*}}}}
  .endif
"""


def wait_for(predicate, timeout=15.0):
    """True once predicate() is, False after timeout seconds."""
    return bool(wait_until(predicate, timeout))


def uncomment_site_auth(text):
    """Debian's commented plain_server and login_server, switched on as an
    admin does (the lines between "# plain_server:" and the second
    "#   .endif")."""
    lines = text.split("\n")
    start = lines.index("# plain_server:")
    end = [i for i, l in enumerate(lines) if l == "#   .endif" and i > start][1]
    for i in range(start, end + 1):
        if lines[i].startswith("#   ") or lines[i].endswith("_server:"):
            lines[i] = lines[i][2:]
    return "\n".join(lines)


def open_quiet(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


class PackageTest(unittest.TestCase):
    """One ordered scenario; the steps are numbered methods sharing state."""

    root = None

    # ------------------------------------------------------------ set-up

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("the package test needs root (a mount namespace, overlayfs)")
        for tool in ("unshare", "nsenter", "dpkg-buildpackage", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise AssertionError("package test: %s is not installed" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="moat-pkgtest.")
        try:
            cls.set_up_root()
        except BaseException:
            cls.tearDownClass()   # unittest does not, when setUpClass fails
            raise

    @classmethod
    def set_up_root(cls):
        cls.deb, cls.upgrade_deb = cls.build_debs()
        cls.wait_host_dpkg_idle()
        cls.root = OverlayRoot().start()
        cls.port = free_port()
        r = cls.root
        r.copy_in(cls.deb, "/tmp/exim4-moat.deb")
        r.copy_in(cls.upgrade_deb, "/tmp/exim4-moat-upgrade.deb")
        # the machine's own moat, if any, is not part of this story: start from
        # Debian's exim4-config as the package found it
        r.sh("if dpkg-query -W exim4-moat >/dev/null 2>&1; then dpkg --purge exim4-moat; fi; "
             "rm -rf /etc/moat /var/lib/moat /etc/exim4/exim4.conf.localmacros "
             "/etc/exim4/conf.d/*/*moat*; "
             "for f in /etc/exim4/conf.d/transport/*.rul; do "
             "  head -n1 \"$f\" 2>/dev/null | grep -q '^# moat: written by moatctl' && rm -f \"$f\"; "
             "done; "
             "sed -i -e '/^# BEGIN moat/,/^# END moat/d' "
             "-e '/^# moat: off while authlock wraps it (moatctl)$/{N;d}' "
             "-e '/^# moat: end of what authlock wraps$/{N;d}' "
             "-e '/^# moat: delivery events/,/^# moat: end of delivery events$/d' "
             "/etc/exim4/exim4.conf.template /etc/exim4/conf.d/auth/*")
        # maintainer scripts may act on services here (a container's own
        # policy-rc.d may forbid it); each request is logged
        r.write("/usr/sbin/policy-rc.d",
                "#!/bin/sh\necho \"$*\" >> /run/policy-rc.d.log\nexit 0\n", 0o755)
        # no DNS: remote domains defer at once instead of waiting on the network
        r.write("/etc/resolv.conf", "nameserver 127.0.0.1\n")
        r.sh("rm -f /etc/exim4/exim4.conf; mkdir -p /var/log/exim4; "
             ": > /var/log/exim4/mainlog; : > /var/log/exim4/paniclog; "
             "chown Debian-exim:adm /var/log/exim4/mainlog /var/log/exim4/paniclog")
        # the site: users, passwords, TLS, vacation, a mailbox whose delivery fails
        r.sh("useradd -m alice && useradd -m broken && echo '|/bin/false' > /home/broken/.forward"
             " && chown broken: /home/broken/.forward")
        hashed = r.run(["openssl", "passwd", "-6", PASSWORD]).stdout.strip()
        r.write(EXIM_DIR + "/passwd", "alice:%s\n" % hashed, 0o640)
        r.sh("chown root:Debian-exim /etc/exim4/passwd")
        r.sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=moat.test "
             "-keyout /etc/exim4/exim.key -out /etc/exim4/exim.crt 2>/dev/null && "
             "chown root:Debian-exim /etc/exim4/exim.key /etc/exim4/exim.crt && "
             "chmod 0640 /etc/exim4/exim.key")
        r.write(EXIM_DIR + "/vacation", "alice: Alice is away.\n")
        cls.debian_auth_examples = r.read(EXIM_DIR + "/conf.d/auth/30_exim4-config_examples")
        for path in (EXIM_DIR + "/conf.d/auth/30_exim4-config_examples",
                     EXIM_DIR + "/exim4.conf.template"):
            r.write(path, uncomment_site_auth(r.read(path)))
        r.write(LOCAL_MACROS_SPLIT, ADMIN_MACROS.format(port=cls.port))

    @staticmethod
    def wait_host_dpkg_idle(timeout=300):
        """The overlay's lower layer is the machine's live /: start it when
        no apt or dpkg of the machine's is half-way (read-only checks)."""
        deadline = time.time() + timeout
        while True:
            busy = [p for p in os.listdir("/proc") if p.isdigit() and
                    open_quiet("/proc/%s/comm" % p).strip() in ("dpkg", "apt", "apt-get")]
            if not busy and not os.listdir("/var/lib/dpkg/updates"):
                return
            if time.time() > deadline:
                raise AssertionError("the machine's dpkg stayed busy")
            time.sleep(1)

    @classmethod
    def build_debs(cls):
        """The package as make deb builds it, and the same rebuilt with a
        higher version and a changed example moat.conf (the upgrade)."""
        r = subprocess.run([os.path.join(ROOT, "packaging/deb/build.sh")], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise AssertionError("make deb failed:\n" + r.stdout[-3000:])
        version = open(os.path.join(ROOT, "packaging/deb/changelog")).readline()
        version = re.search(r"\(([^)]+)\)", version).group(1)
        arch = subprocess.run(["dpkg", "--print-architecture"], stdout=subprocess.PIPE,
                              text=True, check=True).stdout.strip()
        deb = os.path.join(ROOT, "build", "exim4-moat_%s_%s.deb" % (version, arch))
        if not os.path.exists(deb):
            raise AssertionError("no %s after make deb" % deb)
        tree = os.path.join(cls.tmp, "tree")
        subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
        control = os.path.join(tree, "DEBIAN", "control")
        text = open(control).read().replace("Version: %s\n" % version,
                                            "Version: %s+up1\n" % version)
        open(control, "w").write(text)
        with open(os.path.join(tree, "usr/share/moat/moat.conf"), "a") as f:
            f.write("# changed in the upgrade\n")
        upgrade = os.path.join(cls.tmp, "exim4-moat_%s+up1_%s.deb" % (version, arch))
        subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree, upgrade], check=True,
                       stdout=subprocess.DEVNULL)
        return deb, upgrade

    @classmethod
    def tearDownClass(cls):
        if cls.root is not None:
            cls.root.stop()
        shutil.rmtree(getattr(cls, "tmp", "/nonexistent"), ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def sh(self, script, check=True):
        return self.root.sh(script, check=check)

    def moatctl(self, *args, check=True):
        return self.root.run(["moatctl"] + list(args), check=check)

    def mainlog(self):
        return self.root.read("/var/log/exim4/mainlog") or ""

    def wait_log(self, offset, pattern, timeout=15.0):
        """The mainlog from offset once pattern (a regex) is in it, or None."""
        deadline = time.time() + timeout
        while True:
            text = self.mainlog()[offset:]
            if re.search(pattern, text):
                return text
            if time.time() > deadline:
                return None
            time.sleep(0.2)

    def configure(self, split):
        """update-exim4.conf.conf for the layout; the admin's macros are in
        conf.d/main/000_localmacros (split, from set-up) or at the top of
        exim4.conf.localmacros (unsplit, before any block of moatctl's)."""
        self.root.write(EXIM_DIR + "/update-exim4.conf.conf",
                        UPDATE_CONF.format(port=self.port, split="true" if split else "false"))
        if not split:
            text = self.root.read(LOCAL_MACROS_UNSPLIT) or ""
            if "MAIN_TLS_ENABLE" not in text:
                self.root.write(LOCAL_MACROS_UNSPLIT, ADMIN_MACROS.format(port=self.port) + text)
        self.sh("update-exim4.conf")

    def restart_exim(self):
        """Debian's own init script, as "service exim4 restart" runs it."""
        off = len(self.mainlog())
        r = self.sh("/etc/init.d/exim4 restart", check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIsNotNone(self.wait_log(off, r"daemon started"), self.mainlog()[off:])
        self.assertTrue(wait_port(self.port, timeout=10))

    def enable(self, module):
        off = len(self.mainlog())
        r = self.moatctl("enable", module, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("Exim reloaded", r.stdout)
        self.assertIsNotNone(self.wait_log(off, r"daemon started"), "no reload")
        self.assertTrue(wait_port(self.port, timeout=10))
        return r.stdout

    def disable(self, module):
        off = len(self.mainlog())
        r = self.moatctl("disable", module, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIsNotNone(self.wait_log(off, r"daemon started"), "no reload")
        self.assertTrue(wait_port(self.port, timeout=10))

    def status(self):
        import json
        r = self.moatctl("--json", "status", check=False)
        return {m["name"]: m for m in json.loads(r.stdout)["modules"]}

    def client(self, source):
        c = Client(self.port, source=source)
        self.assertEqual(c.banner.code, 220, c.banner)
        return c

    def tls_client(self, source):
        c = self.client(source)
        c.ehlo("client.test")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c._host = "moat.test"   # Client connects after construction; SNI needs a name
        code, _ = c.starttls(context=ctx)
        self.assertEqual(code, 220)
        c.ehlo("client.test")
        return c

    def send(self, source, sender, rcpt, msg):
        """One message over SMTP; Exim's message id."""
        c = self.client(source)
        replies = c.send_message_simple(sender, rcpt, msg)
        c.quit()
        self.assertEqual(replies[-1].code, 250, replies)
        return re.search(r"id=(\S+)", replies[-1].text.decode()).group(1)

    def wait_done(self, msgid, timeout=20.0):
        """The mainlog once Exim has finished with msgid (Completed or deferred)."""
        text = self.wait_log(0, r"%s (Completed|== )" % re.escape(msgid), timeout)
        self.assertIsNotNone(text, "message %s not processed:\n%s" % (msgid, self.mainlog()[-3000:]))
        return text

    # ------------------------------------------------------------ probes

    def auth(self, source, password, tls=True):
        """AUTH PLAIN for alice; (advertised, reply code)."""
        c = self.tls_client(source) if tls else self.client(source)
        if not tls:
            c.ehlo("client.test")
        offered = c.has_extn("auth")
        r = c.auth_plain("alice", password)
        c.quit()
        return offered, r.code

    def assert_auth_as_the_site_said(self, source):
        """TLS-only: never offered nor accepted in clear; the right password over TLS."""
        offered, code = self.auth(source, PASSWORD, tls=False)
        self.assertFalse(offered, "AUTH offered without TLS")
        self.assertNotEqual(code, 235, "AUTH PLAIN accepted without TLS")
        offered, code = self.auth(source, PASSWORD)
        self.assertTrue(offered)
        self.assertEqual(code, 235)

    def rcpt_reply(self, source, rcpt, sender="someone@remote.test"):
        c = self.client(source)
        c.ehlo("client.test")
        c.mail(sender)
        r = c.rcpt(rcpt)
        c.quit()
        return r

    def rcpt_code(self, source, rcpt, sender="someone@remote.test"):
        return self.rcpt_reply(source, rcpt, sender).code

    def prove_rcpt(self, net):
        off = len(self.mainlog())
        # rcpt's judge first of the routers a verification meets (Debian's
        # dnslookup aside, which takes no local domain), fetched mail's router
        # and the judge of recipients nobody routes after Debian's last one
        routers = self.sh("exim4 -bP router_list").stdout.split()
        self.assertEqual(routers[-2:], ["moat_fetched_unknown", "moat_rcpt_unknown"], routers)
        self.assertLess(routers.index("moat_rcpt_judge"), routers.index("system_aliases"),
                        routers)
        # judged while Exim routes it for Debian's own "require verify =
        # recipient", which answers with moat's reply
        self.assertEqual(self.rcpt_reply(net + ".1", "nosuchuser@moat.test"),
                         (550, b"5.1.1 No such user here"))
        self.assertIsNotNone(self.wait_log(off, r"moat rcpt: action=deny reason=unknown_user"),
                             self.mainlog()[off:])
        # a harvester: unknown recipients across connections, then blocked
        for i in range(4):
            self.rcpt_code(net + ".2", "guess%d@moat.test" % i)
        self.assertNotEqual(self.rcpt_code(net + ".2", "alice@moat.test"), 250,
                            self.mainlog()[off:])
        self.assertEqual(self.rcpt_code(net + ".3", "alice@moat.test"), 250)
        # the admin sees the block, lifts it, and one more typo does not re-block
        self.assertIn(net + ".2", self.moatctl("rcpt", "list").stdout)
        self.moatctl("rcpt", "unblock", net + ".2")
        self.assertNotIn(net + ".2", self.moatctl("rcpt", "list").stdout)
        self.assertEqual(self.rcpt_code(net + ".2", "typo@moat.test"), 550)
        self.assertEqual(self.rcpt_code(net + ".2", "alice@moat.test"), 250)

    def prove_authlock(self, net, guesser, out):
        """The real user logs in from net (a familiar network to authlock
        from then on); a guesser from another network is locked out after a
        few wrong passwords, the right one included; the real user is not."""
        self.assertIn("wrapped as moat_plain_server", out)
        self.assertIn("wrapped as moat_login_server", out)
        self.assertIn("server_advertise_condition", out)
        off = len(self.mainlog())
        self.assert_auth_as_the_site_said(net + ".1")
        for i in range(4):   # distinct guesses (a repeated one counts once)
            offered, code = self.auth(guesser, "wrong-password-%d" % i)
            self.assertNotEqual(code, 235)
        offered, code = self.auth(guesser, PASSWORD)
        self.assertNotEqual(code, 235, "the guesser is not locked out:\n" + self.mainlog()[off:])
        self.assertIn("moat authlock", self.mainlog()[off:])
        offered, code = self.auth(net + ".3", PASSWORD)
        self.assertEqual(code, 235, "the real user is locked out too")

    def assert_delivery_events(self, module, split):
        """Debian's smtp transports call moat's event (MOAT_EVENT): split,
        through moatctl's .rul copies, Debian's own files untouched."""
        for transport in ("remote_smtp", "remote_smtp_smarthost"):
            out = self.sh("exim4 -bP transport " + transport).stdout
            self.assertIn("moat_%s_event" % module, out, transport + "\n" + self.sh(
                "grep -n -B3 -A3 'event_action\\|MOAT_EVENT' /var/lib/exim4/config.autogenerated; "
                "exim4 -bP macro MOAT_EVENT; exim4 -bP macro MOAT_ENABLE_AUTHLOCK", check=False).stdout)
        rul = EXIM_DIR + "/conf.d/transport/30_exim4-config_remote_smtp.rul"
        if split:
            self.assertTrue((self.root.read(rul) or "").startswith("# moat: written by moatctl"))
            self.assertNotIn("moat", self.root.read(rul[:-4]))
        self.assertIsNone(self.status()[module]["problem"], self.status()[module])

    def assert_no_delivery_events(self):
        for transport in ("remote_smtp", "remote_smtp_smarthost"):
            out = self.sh("exim4 -bP transport " + transport).stdout
            self.assertNotIn("moat", out, transport)
            self.assertNotIn("event_action", re.sub(r"event_action = *\n", "", out), transport)

    def prove_catchall(self, net):
        off = len(self.mainlog())
        self.assertEqual(self.rcpt_code(net + ".1", "postmaster@moat.test", sender=""), 550)
        self.assertIsNotNone(self.wait_log(off, r"moat catchall"), self.mainlog()[off:])

    def prove_batv(self, net):
        # signing through Debian's own hook: remote_smtp's return_path is batv's
        transport = self.sh("exim4 -bP transport remote_smtp").stdout
        self.assertIn("moat_batv_sign", transport)
        # the key signing would make, then a forged bounce to alice: refused
        self.moatctl("batv", "rotate", "moat.test")
        off = len(self.mainlog())
        self.assertEqual(self.rcpt_code(net + ".1", "alice@moat.test", sender=""), 550)
        self.assertIsNotNone(self.wait_log(off, r"moat batv: action=deny reason=unsigned_bounce"),
                             self.mainlog()[off:])
        # postmaster still hears from everyone
        self.assertEqual(self.rcpt_code(net + ".2", "postmaster@moat.test", sender=""), 250)

    def prove_autoreply(self, net):
        routers = self.sh("exim4 -bP router_list").stdout.split()
        self.assertEqual(routers[0], "moat_autoreply_gate", routers)
        self.assertIn("moat_vacation", routers)
        # a personal message: one vacation reply
        friend = self.send(net + ".1", "friend@remote.test", "alice@moat.test",
                           message(sender="friend@remote.test", to="alice@moat.test"))
        self.wait_done(friend)
        self.assertIsNotNone(self.wait_log(0, r"T=moat_vacation_reply"), self.mainlog()[-3000:])
        # spam: no vacation reply
        spam = self.send(net + ".2", "spammer@remote.test", "alice@moat.test",
                         message(sender="spammer@remote.test", to="alice@moat.test",
                                 headers=SPAM))
        log = self.wait_done(spam)
        self.assertNotIn("%s => >spammer@remote.test" % spam, log)
        self.assertFalse(re.search(r"%s .*T=moat_vacation_reply" % re.escape(spam), log), log)
        # spam to a mailbox whose delivery fails: its bounce to the forged
        # sender is dropped by the gate, never routed out
        bounced = self.send(net + ".3", "victim@innocent.test", "broken@moat.test",
                            message(sender="victim@innocent.test", to="broken@moat.test",
                                    headers=SPAM))
        self.wait_done(bounced)
        log = self.wait_log(0, r"R=moat_autoreply_gate")
        self.assertIsNotNone(log, self.mainlog()[-3000:])
        self.assertIn("suspect_destination", log)
        self.assertFalse(re.search(r"victim@innocent\.test R=(?!moat_autoreply_gate)", log), log)

    def deliver(self, net):
        msgid = self.send(net, "someone@remote.test", "alice@moat.test",
                          message(sender="someone@remote.test", to="alice@moat.test"))
        log = self.wait_done(msgid)
        self.assertRegex(log, r"%s => alice " % re.escape(msgid))

    def assert_exim_checks(self):
        r = self.sh("exim4 -bV", check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("non-absolute", r.stdout)

    # ------------------------------------------------------------ steps

    def test_01_install(self):
        r = self.root.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                           "/tmp/exim4-moat.deb"], check=False)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        st = self.sh("stat -c '%a %U %G' /etc/moat/moat.conf /var/lib/moat").stdout.split("\n")
        self.assertEqual(st[0], "640 root Debian-exim")
        self.assertEqual(st[1], "750 Debian-exim Debian-exim")
        self.assertFalse(self.root.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"))
        conffiles = self.root.read("/var/lib/dpkg/info/exim4-moat.conffiles") or ""
        self.assertNotIn("/etc/moat/moat.conf", conffiles)
        # one runtime for the modules: libmoat.so.0 beside them, found there
        # (RUNPATH $ORIGIN) whatever the loader's own paths say
        for module in ("rcpt", "authlock", "catchall", "autoreply", "batv"):
            out = self.sh("ldd /usr/lib/exim4/moat/%s.so" % module).stdout
            self.assertIn("libmoat.so.0 => /usr/lib/exim4/moat/libmoat.so.0", out)
        # its backends beside it, each with its library (which the package
        # depends on), loaded only where a configuration uses them
        self.assertNotRegex(self.sh("ldd /usr/lib/exim4/moat/libmoat.so.0").stdout,
                            r"libhiredis|libmaxminddb|libcdb")
        depends = self.sh("dpkg-query -W -f='${Depends}' exim4-moat").stdout
        for backend, library, package in (("redis", "libhiredis", "libhiredis"),
                                          ("geoip", "libmaxminddb", "libmaxminddb0"),
                                          ("cdb", "libcdb", "libcdb1")):
            out = self.sh("ldd /usr/lib/exim4/moat/backends/%s.so" % backend).stdout
            # (RUNPATH $ORIGIN/..: the package's own, whatever the loader's paths say)
            self.assertIn("libmoat.so.0 => /usr/lib/exim4/moat/backends/../libmoat.so.0", out)
            self.assertIn(library, out)
            self.assertNotIn("not found", out)
            self.assertIn(package, depends)
        self.root.write(MOAT_CONF, ADMIN_MOAT_CONF, 0o640)
        self.sh("chown root:Debian-exim " + MOAT_CONF)
        # an admin's own file in /etc/moat: purge must leave it
        self.root.write("/etc/moat/local-notes", "mine\n")
        r = self.moatctl("--exim-config", "/nonexistent", "status", check=False)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("/nonexistent", r.stdout)

    def test_02_split_each_module(self):
        self.configure(split=True)
        self.restart_exim()
        self.assert_auth_as_the_site_said("127.0.1.1")
        for module, prove in (("rcpt", lambda out: self.prove_rcpt("127.0.2")),
                              ("authlock", lambda out: (self.prove_authlock("127.0.3", "127.0.33.2", out),
                                                        self.assert_delivery_events("authlock", True))),
                              ("catchall", lambda out: self.prove_catchall("127.0.4")),
                              ("autoreply", lambda out: (self.prove_autoreply("127.0.5"),
                                                         self.assert_delivery_events("autoreply", True))),
                              ("batv", lambda out: self.prove_batv("127.0.14"))):
            out = self.enable(module)
            st = self.status()
            self.assertTrue(st[module]["active"] and st[module]["wired"], st[module])
            prove(out)
            self.disable(module)
            self.assertFalse(self.status()[module]["active"])
        for f in ("main/01_moat_macros", "router/01_moat_routers", "router/zz_moat_routers_last", "auth/01_moat_authenticators",
                  "transport/30_exim4-config_remote_smtp.rul",
                  "transport/30_exim4-config_remote_smtp_smarthost.rul"):
            self.assertFalse(self.root.exists(EXIM_DIR + "/conf.d/" + f), f)
        self.assert_no_delivery_events()
        self.assert_auth_as_the_site_said("127.0.1.2")
        self.assertEqual(self.root.read("/var/log/exim4/paniclog"), "")
        r = self.moatctl("--exim-config", "/nonexistent", "status", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.root.read("/var/log/exim4/paniclog"), "")
        st = self.sh("find /var/lib/moat ! -user Debian-exim").stdout
        self.assertEqual(st, "", "files in the store Exim cannot use")

    def test_03_refuses_what_would_not_run(self):
        # the admin's own RCPT ACL: moat's statements would never run there
        self.root.write(LOCAL_MACROS_SPLIT, ADMIN_MACROS.format(port=self.port) +
                        "MAIN_ACL_CHECK_RCPT = acl_check_rcpt\n")
        try:
            r = self.moatctl("enable", "rcpt", check=False)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("refused", r.stdout)
            self.assertIn("acl_smtp_rcpt", r.stdout)
            self.assertFalse(self.root.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"))
        finally:
            self.root.write(LOCAL_MACROS_SPLIT, ADMIN_MACROS.format(port=self.port))
            self.sh("update-exim4.conf")
        # ... and its own MAIL ACL: rcpt's router would not find the
        # configuration the session names there
        self.root.write(LOCAL_MACROS_SPLIT, ADMIN_MACROS.format(port=self.port) +
                        "MAIN_ACL_CHECK_MAIL = acl_check_mail\n")
        try:
            r = self.moatctl("enable", "rcpt", check=False)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("refused", r.stdout)
            self.assertIn("acl_smtp_mail", r.stdout)
            self.assertFalse(self.root.exists(EXIM_DIR + "/conf.d/main/01_moat_macros"))
        finally:
            self.root.write(LOCAL_MACROS_SPLIT, ADMIN_MACROS.format(port=self.port))
            self.sh("update-exim4.conf")

    def test_04_upgrade_keeps_state(self):
        for module in ("rcpt", "authlock", "autoreply"):
            self.enable(module)
        # a harvester blocked before the upgrade
        for i in range(4):
            self.rcpt_code("127.0.6.2", "guess%d@moat.test" % i)
        self.assertNotEqual(self.rcpt_code("127.0.6.2", "alice@moat.test"), 250)
        changed = ADMIN_MOAT_CONF + "# the admin's change\n"
        self.root.write(MOAT_CONF, changed, 0o640)
        off = len(self.mainlog())
        r = self.root.run(["apt-get", "install", "-y", "-q", "/tmp/exim4-moat-upgrade.deb"],
                          check=False, input="")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        # postinst reloaded the running Exim (invoke-rc.d; sysvinit here)
        self.assertIn("exim4 reload", self.root.read("/run/policy-rc.d.log") or "")
        self.assertIsNotNone(self.wait_log(off, r"daemon started"), r.stdout[-2000:])
        st = self.sh("dpkg-query -W -f='${Status} ${Version}' exim4-moat").stdout
        self.assertTrue(st.startswith("install ok installed") and st.endswith("+up1"), st)
        self.assertEqual(self.root.read(MOAT_CONF), changed)
        self.assertTrue(wait_port(self.port, timeout=10))
        self.assertNotEqual(self.rcpt_code("127.0.6.2", "alice@moat.test"), 250,
                            "the harvester's block was lost in the upgrade")
        st = self.status()
        for module in ("rcpt", "authlock", "autoreply"):
            self.assertTrue(st[module]["active"], st[module])
        # exim4-config replaces its transport files (an upgrade of its own):
        # the package's trigger writes moat's copy again
        rul = EXIM_DIR + "/conf.d/transport/30_exim4-config_remote_smtp.rul"
        self.sh("rm -f %s && update-exim4.conf" % rul)
        self.assertIsNotNone(self.status()["authlock"]["problem"])
        self.sh("dpkg-trigger --no-await /etc/exim4/conf.d/transport && dpkg --triggers-only -a")
        self.assertTrue(self.root.exists(rul))
        self.assert_delivery_events("authlock", True)

    def test_05_dovecot_site(self):
        """A site whose passwords Dovecot checks (Debian's dovecot_plain_server
        example, TLS-only): authlock cannot wrap it, counts its failures and
        locks the guesser out before Dovecot is asked; AUTH stays TLS-only
        and the real user gets in."""
        version = dovecot_version()
        self.assertIsNotNone(version, "dovecot-core is not installed (make deps)")
        run = "/run/moat-dovecot"
        self.sh("mkdir -p %s && chmod 755 %s" % (run, run))
        self.root.write(run + "/passwd", "alice:{PLAIN}%s\n" % PASSWORD)
        self.root.write(run + "/dovecot.conf", (CONF_24 if version >= (2, 4) else CONF_23).format(
            dir=run, version="%d.%d.%d" % version))
        # a daemon: no inherited output pipe, or sh's caller waits for it
        self.sh("/usr/sbin/dovecot -c %s/dovecot.conf </dev/null >/dev/null 2>&1" % run)
        self.assertTrue(wait_for(lambda: self.root.exists(run + "/run/auth-client")),
                        self.root.read(run + "/dovecot.log"))
        self.sh("chmod 755 %s/run" % run)
        site_examples = EXIM_DIR + "/conf.d/auth/30_exim4-config_examples"
        dovecot_auth = EXIM_DIR + "/conf.d/auth/20_site_dovecot"
        self.disable("authlock")
        site_text = self.root.read(site_examples)
        try:
            # the admin's switch: Debian's commented examples back, Dovecot on
            self.root.write(site_examples, self.debian_auth_examples)
            self.root.write(dovecot_auth, DOVECOT_AUTH.format(socket=run + "/run/auth-client"))
            out = self.enable("authlock")
            self.assertIn("dovecot_plain_server (dovecot)", out)
            self.assertNotIn("wrapped as", out)
            auths = self.sh("exim4 -bP authenticator_list").stdout.split()
            self.assertIn("dovecot_plain_server", auths)
            self.assertNotIn("moat_plain_server", auths)
            self.assertTrue(self.status()["authlock"]["active"])
            self.assert_auth_as_the_site_said("127.0.15.1")
            off = len(self.mainlog())
            for i in range(4):
                offered, code = self.auth("127.0.35.2", "wrong-password-%d" % i)
                self.assertTrue(offered)
                self.assertNotEqual(code, 235)
            offered, code = self.auth("127.0.35.2", PASSWORD)
            self.assertNotEqual(code, 235, "the guesser is not locked out:\n" +
                                self.mainlog()[off:])
            self.assertIn("moat authlock", self.mainlog()[off:])
            offered, code = self.auth("127.0.15.3", PASSWORD)
            self.assertEqual(code, 235, "the real user is locked out too")
        finally:
            self.disable("authlock")
            self.root.write(site_examples, site_text)
            self.sh("rm -f " + dovecot_auth)
            self.sh("kill $(cat %s/run/master.pid) 2>/dev/null || true" % run)
        out = self.enable("authlock")
        self.assertIn("wrapped as moat_plain_server", out)

    def test_05_unsplit(self):
        self.configure(split=False)
        self.restart_exim()
        self.assert_auth_as_the_site_said("127.0.7.1")
        out = ""
        for module in ("rcpt", "authlock", "autoreply"):
            out = self.enable(module)
        self.assertIn("exim4.conf.localmacros", out)
        tmpl = self.root.read(EXIM_DIR + "/exim4.conf.template")
        self.assertIn("# BEGIN moat routers", tmpl)
        self.assertIn("# BEGIN moat authenticators", tmpl)
        st = self.status()
        for module in ("rcpt", "authlock", "autoreply"):
            self.assertTrue(st[module]["active"] and st[module]["wired"], st[module])
        self.assertEqual(self.rcpt_code("127.0.8.1", "nosuchuser@moat.test"), 550)
        self.prove_authlock("127.0.9", "127.0.39.2", out)
        routers = self.sh("exim4 -bP router_list").stdout.split()
        self.assertEqual(routers[0], "moat_autoreply_gate", routers)
        self.assertEqual(routers[-2:], ["moat_fetched_unknown", "moat_rcpt_unknown"], routers)
        self.assertLess(routers.index("moat_rcpt_judge"), routers.index("system_aliases"),
                        routers)
        self.assertIn("# moat: delivery events", tmpl)
        self.assert_delivery_events("authlock", False)
        self.assert_delivery_events("autoreply", False)

    def test_06_remove_leaves_exim_as_before(self):
        r = self.root.run(["apt-get", "remove", "-y", "-q", "exim4-moat"], check=False)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        self.assertFalse(self.root.exists("/usr/lib/exim4/moat/rcpt.so"))
        self.assertFalse(self.root.exists("/usr/lib/exim4/moat/libmoat.so.0"))
        self.assertFalse(self.root.exists("/usr/lib/exim4/moat/backends"))
        for split in (False, True):
            self.configure(split=split)
            self.assert_exim_checks()
            self.restart_exim()
            self.deliver("127.0.10.%d" % (1 + split))
            # SMTP AUTH as it was: TLS-only, and nobody locked out by moat
            for i in range(4):
                self.auth("127.0.11.%d" % (1 + split), "wrong-password-%d" % i)
            self.assert_auth_as_the_site_said("127.0.11.%d" % (1 + split))
            routers = self.sh("exim4 -bP router_list").stdout.split()
            self.assertNotIn("moat_autoreply_gate", routers)
            self.assertNotIn("moat_fetched_unknown", routers)
            self.assertNotIn("moat_rcpt_judge", routers)
            auths = self.sh("exim4 -bP authenticator_list").stdout.split()
            self.assertNotIn("moat_plain_server", auths)
            # Debian's smtp transports as they were (moatctl's .rul copies gone)
            self.assert_no_delivery_events()
        self.assertEqual(self.sh("ls /etc/exim4/conf.d/transport/ | grep -c rul$",
                                 check=False).stdout.strip(), "0")
        self.assertEqual(self.root.read("/var/log/exim4/paniclog"), "")

    def test_07_purge_removes_only_its_own(self):
        r = self.root.run(["apt-get", "purge", "-y", "-q", "exim4-moat"], check=False)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        self.assertFalse(self.root.exists(MOAT_CONF))
        self.assertEqual(self.root.read("/etc/moat/local-notes"), "mine\n")
        self.assertFalse(self.root.exists("/var/lib/moat"))
        for f in ("main/01_moat_macros", "router/01_moat_routers", "router/zz_moat_routers_last",
                  "transport/01_moat_transports", "auth/01_moat_authenticators"):
            self.assertFalse(self.root.exists(EXIM_DIR + "/conf.d/" + f), f)
        self.assertNotIn("BEGIN moat", self.root.read(EXIM_DIR + "/exim4.conf.template"))
        self.assertNotIn("moat: delivery events", self.root.read(EXIM_DIR + "/exim4.conf.template"))
        self.assertNotIn("BEGIN moat", self.root.read(LOCAL_MACROS_UNSPLIT) or "")
        for f in (EXIM_DIR + "/exim4.conf.template",
                  EXIM_DIR + "/conf.d/auth/30_exim4-config_examples"):
            self.assertNotIn("MOAT_AUTHLOCK_WRAPS", self.root.read(f))
        for split in (True, False):
            self.configure(split=split)
            self.assert_exim_checks()
            self.restart_exim()
            self.deliver("127.0.12.%d" % (1 + split))
            self.assert_auth_as_the_site_said("127.0.13.%d" % (1 + split))


if __name__ == "__main__":
    unittest.main(verbosity=2)
