# SPDX-License-Identifier: GPL-2.0-or-later
r"""Integration harness: a real Exim daemon on 127.0.0.1 with moat's shipped
snippets, driven over SMTP by clients that bind any 127.x source address.

Example::

    from harness import Exim, SmtpSink, message

    peer = SmtpSink().start()                       # a remote MX that records mail
    with Exim(modules=["rcpt"],                     # default: every module
              moat_conf="rcpt {\n  ip_threshold = 3\n}\n",
              routes={"other.test": ("127.0.0.1", peer.port)},
              extra_acl_rcpt="  warn log_message = verdict: $acl_m_moat_rcpt") as ex:
        c = ex.smtp(source="127.0.0.5")             # acts as host 127.0.0.5
        c.ehlo("client.test")
        assert c.mail("someone@remote.test").code == 250
        assert c.rcpt("nobody@example.test").code == 550
        assert c.rcpt("alice@example.test").code == 250
        assert c.data(message(to="alice@example.test")).code == 250
        c.quit()
        assert ex.wait_maildir("alice", 1)
        assert ex.wait_for_log(r"verdict: action=accept")
    peer.stop()

Exim(...) writes everything into a private directory under /var/tmp that
the Exim user can reach (the checkout may not be): the built modules
(MOAT_BUILD, default build/) are copied to <dir>/lib, conf/exim to
<dir>/snippets, moat.conf to <dir>/moat.conf (a store section for this
instance - LMDB in <dir>/state, or Redis - followed by moat_conf), and an
Exim configuration <dir>/exim.conf that includes the snippets exactly as
README tells a user to, with MOAT_CONFIG, MOAT_LIBDIR, MOAT_SNIPPETS and
MOAT_ENABLE_<MODULE> for each module in `modules`.

Mail setup: the local domain (`domain`, default example.test) has the
mailboxes `users` (default postmaster alice bob carol), delivered as the
Exim user to maildirs <dir>/mail/<user>/. AUTH PLAIN and LOGIN are offered
to 127.0.0.0/8 without TLS for `passwords` (default alice/alice-demo-pw,
bob/bob-demo-pw), through authlock's shipped authenticators when authlock is
on, plain ones otherwise (or `authenticators` given verbatim). Mail to other
domains goes to `routes` ({domain: (host, port)}) or else to the default
sink (ex.sink, an SmtpSink started with the instance unless sink=False);
nothing is ever delivered to the real system (with batv on, remote_smtp
signs through return_path = MOAT_BATV_RETURN_PATH, as docs/batv.md tells a
user to). 127.0.0.0/8 is not a relay
network unless `relay_from` says so ("<;"-list of hosts).

Constructor hooks (text pasted into the generated config): extra_macros,
extra_main, extra_acl_connect, extra_acl_auth, extra_acl_mail,
extra_acl_rcpt_first (before moat's rcpt snippet), extra_acl_rcpt (after it),
extra_acl_data, extra_acl_not_smtp, extra_routers (after moat's routers,
before the routes and the local router; MOAT_SNIPPETS/routers-last.conf
comes after the local router), extra_transports; files={name:
text} writes extra files into <dir>; vacation={user: text} turns on
autoreply's vacation router; extra_ports listens on more ports; port fixes
the port (default: a free one, ex.port, readable before start() - e.g. for
another instance's routes - and then kept; unread, start() replaces it if
another daemon took it meanwhile).

Instance methods:
  prepare() / start() / stop() / restart(), or `with Exim(...) as ex:`.
    start() runs `exim4 -C <dir>/exim.conf -bdf -oX port` and returns when
    the daemon logs that it listens; it raises with the mainlog and paniclog
    when Exim fails. stop() ends the daemon and its children and removes the
    directory (MOAT_KEEP=1 keeps it). An atexit hook stops what is left.
  write_moat_conf(text, raw=False): rewrite moat.conf (raw: exactly text, no
    store section; for broken-file tests). Read once per Exim process, so it
    applies from the next connection.
  smtp(source="127.0.0.1") -> Client: an smtplib.SMTP bound to that source;
    ehlo, mail, rcpt, data(msg), auth_plain(u, p), auth_login(u, p), quit
    each return Reply(code, text) (also .code/.text) and never raise;
    c.banner is the greeting; send_message_simple(sender, rcpts, body).
  send(sender, rcpts, body=None, source=..., auth=(u, p)): one connection,
    the list of replies.
  mainlog(), paniclog(), rejectlog(),
  wait_for_log(regex, timeout) -> match or None, maildir(user) -> [bytes],
  wait_maildir(user, n), queue() -> [message ids], wait_queue_empty(),
  wait_idle() (no process of the instance at work and the queue empty: all
  mail sent so far has arrived wherever it goes; wait_idle(a, b) for two
  instances that send to each other), busy() (pids of its working processes),
  exim(*args) (any exim command line on this config), exim_bt(address),
  submit_local(sender, rcpts, msg) (the non-SMTP path), moatctl(*args)
  (build/moatctl --config <dir>/moat.conf), check_config() (exim -bV),
  path(*parts) (a path in <dir>).

Other fixtures: SmtpSink(port=None, reject={rcpt: "550 ..."}).start():
an aiosmtpd server on 127.0.0.1 recording each message in .messages
(sender, rcpts, data, peer); wait_for(n). RedisServer().start(): a real
redis-server on a free port (no persistence), kill(), pause()/resume()
(SIGSTOP/SIGCONT), cli(*args), stop(); several Exim(store="redis",
redis=server) instances share its state, like several MX hosts. message()
builds a small RFC 5322 message. free_port(), wait_port().

Set MOAT_KEEP=1 to keep the directories of a run for inspection, and
MOAT_ASAN=1 when the modules are ASan+UBSan builds (make asan-integration),
MOAT_COVERAGE=<exit_shim.so> for gcov builds (make coverage).
"""

import atexit
import base64
import glob
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXIM = shutil.which("exim4") or "/usr/sbin/exim4"
EXIM_USER = "Debian-exim"
ALL_MODULES = ["rcpt", "authlock", "catchall", "autoreply", "batv"]
DEFAULT_USERS = ["postmaster", "alice", "bob", "carol"]
DEFAULT_PASSWORDS = {"alice": "alice-demo-pw", "bob": "bob-demo-pw"}
ASAN_PRELOAD = "/usr/lib/x86_64-linux-gnu/libasan.so.8 /usr/lib/x86_64-linux-gnu/libubsan.so.1"

_live = []


def exim_version():
    """The installed Exim's version as a tuple of ints, (4, 96) or (4, 98, 2)."""
    out = subprocess.run([EXIM, "-bV"], capture_output=True, text=True).stdout
    m = re.search(r"Exim version (\d+(?:\.\d+)+)", out)
    return tuple(int(n) for n in m.group(1).split(".")) if m else (0,)


def _cleanup_all():
    for obj in list(_live):
        try:
            obj.stop()
        except Exception:
            pass


atexit.register(_cleanup_all)


def end_session(proc, timeout=10.0, sig=signal.SIGTERM):
    """Stop proc, a Popen started with start_new_session=True, and everything
    in its process group (connections, deliveries, queue runners). The group
    is signalled while proc is not yet reaped - a zombie still holds its pid,
    so the group id cannot have been given to anyone else - and only then is
    proc reaped. A proc already reaped (returncode set) is not signalled: its
    pid may be someone else's now."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            break
        time.sleep(0.02)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    # wait for the rest of the group (deliveries finishing, say) to go
    deadline = time.monotonic() + timeout
    while group_members(proc.pid, but=proc.pid):
        if time.monotonic() > deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            break
        time.sleep(0.02)
    return proc.wait()


def group_members(pgid, but=None):
    """The pids of the live processes in process group pgid (from /proc),
    but the one given."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == but:
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...; a zombie has nothing left to do
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(name))
    return out


def kill_pidfile_session(pid_file, marker):
    """SIGTERM the process group of the pid in pid_file, only when that
    process is still the one the file was written for: its command line
    contains marker (the path of its own configuration, say) and it leads
    its group. A recycled pid is left alone."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().split()[0])
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        if marker in cmdline and os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
            return True
    except (OSError, ValueError, IndexError):
        pass
    return False


def instance_pids(marker, but=None):
    """The live processes whose command line contains marker (an instance's
    private directory: every Exim process of that instance runs with -C
    <dir>/exim.conf, its moatctl with --config <dir>/moat.conf), but the one
    given. The directory is the test's own, so these are the test's own."""
    needle = marker.encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == but:
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read()
            with open("/proc/%s/stat" % name) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmdline and state != "Z":
            out.append(int(name))
    return out


def wait_until(condition, timeout=10.0, interval=0.05):
    """Poll condition() until it gives a true value or timeout seconds have
    passed; its last value. The one way tests wait: for a condition, with a
    deadline sized for a loaded machine, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_idle(*exims, timeout=30.0):
    """Wait until every instance is idle at once: no process of it at work
    (connections, deliveries, auto-replies being submitted) and nothing in
    its queue. A message is always in a spool or in a process handling it,
    so this is when all the mail sent so far has gone where it goes."""
    return wait_until(lambda: not any(ex.busy() for ex in exims) and
                      not any(ex.queue() for ex in exims) and
                      not any(ex.busy() for ex in exims), timeout)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def exim_ids():
    pw = pwd.getpwnam(EXIM_USER)
    return pw.pw_uid, pw.pw_gid


def build_dir():
    return os.environ.get("MOAT_BUILD", os.path.join(ROOT, "build"))


def moatctl_path():
    return os.path.join(build_dir(), "moatctl")


class Reply(tuple):
    """(code, text) of one SMTP reply."""

    @property
    def code(self):
        return self[0]

    @property
    def text(self):
        return self[1]


class Client(smtplib.SMTP):
    """An SMTP client bound to a chosen 127.x source address. Every command
    helper returns Reply(code, text) and never raises on a 4xx/5xx; a
    connection dropped by the server gives code 421 or -1."""

    def __init__(self, port, source="127.0.0.1", timeout=30):
        super().__init__(timeout=timeout, source_address=(source, 0))
        self.source = source
        self.banner = Reply(self.connect("127.0.0.1", port))

    def _cmd(self, cmd, arg=""):
        try:
            return Reply(self.docmd(cmd, arg))
        except smtplib.SMTPServerDisconnected:
            return Reply((-1, b"disconnected"))
        except OSError:
            return Reply((-1, b"connection error"))

    def ehlo(self, name="client.test"):
        try:
            return Reply(super().ehlo(name))
        except smtplib.SMTPServerDisconnected:
            return Reply((-1, b"disconnected"))

    def mail(self, sender, options=""):
        return self._cmd("MAIL", "FROM:<%s>%s" % (sender, (" " + options) if options else ""))

    def rcpt(self, recip, options=""):
        return self._cmd("RCPT", "TO:<%s>%s" % (recip, (" " + options) if options else ""))

    def data(self, msg):
        """Send DATA and the message; the reply to the final dot."""
        r = self._cmd("DATA")
        if r[0] != 354:
            return r
        if isinstance(msg, str):
            msg = msg.encode()
        msg = re.sub(rb"(?<!\r)\n", b"\r\n", msg)
        if not msg.endswith(b"\r\n"):
            msg += b"\r\n"
        msg = re.sub(rb"(?m)^\.", b"..", msg)
        try:
            self.send(msg + b".\r\n")
            return Reply(self.getreply())
        except smtplib.SMTPServerDisconnected:
            return Reply((-1, b"disconnected"))

    def auth_plain(self, user, password):
        token = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        return self._cmd("AUTH", "PLAIN " + token)

    def auth_login(self, user, password):
        r = self._cmd("AUTH", "LOGIN")
        if r[0] != 334:
            return r
        r = self._cmd(base64.b64encode(user.encode()).decode())
        if r[0] != 334:
            return r
        return self._cmd(base64.b64encode(password.encode()).decode())

    def quit(self):
        try:
            r = Reply(self.docmd("QUIT"))
        except (smtplib.SMTPServerDisconnected, OSError):
            r = Reply((-1, b"disconnected"))
        self.close()
        return r

    def send_message_simple(self, sender, recipients, body, helo="client.test"):
        """One transaction; returns the list of replies (ehlo, mail, rcpts..., data)."""
        replies = [self.ehlo(helo), self.mail(sender)]
        if isinstance(recipients, str):
            recipients = [recipients]
        ok = False
        for r in recipients:
            rr = self.rcpt(r)
            replies.append(rr)
            ok = ok or rr[0] == 250
        replies.append(self.data(body) if ok else Reply((0, b"no data sent")))
        return replies


def message(sender="someone@remote.test", to="alice@example.test", subject="hello",
            body="Hello there.\n", headers=None):
    """A small RFC 5322 message as text."""
    lines = ["From: <%s>" % sender, "To: <%s>" % to, "Subject: %s" % subject,
             "Message-ID: <%s@remote.test>" % os.urandom(6).hex(),
             "Date: Mon, 23 Nov 2026 10:00:00 +0000"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return "\n".join(lines) + "\n\n" + body


class SmtpSink:
    """An SMTP server on 127.0.0.1 recording every message it accepts.
    reject maps a recipient (lower case) to a reply such as "550 5.1.1 no"."""

    def __init__(self, port=None, reject=None):
        self.port = port or free_port()
        self.messages = []   # dicts: sender, rcpts, data (bytes), peer
        self.reject = dict((k.lower(), v) for k, v in (reject or {}).items())
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                answer = sink.reject.get(address.lower())
                if answer:
                    return answer
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                sink.messages.append({"sender": envelope.mail_from,
                                      "rcpts": list(envelope.rcpt_tos),
                                      "data": envelope.original_content or envelope.content,
                                      "peer": session.peer})
                return "250 OK queued"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        _live.append(self)
        return self

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None
        if self in _live:
            _live.remove(self)

    def wait_for(self, count, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return len(self.messages) >= count


class RedisServer:
    """A real redis-server on 127.0.0.1, free port, temporary directory."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = None
        self.proc = None

    def start(self):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (make deps installs it)")
        self.dir = self.dir or tempfile.mkdtemp(prefix="moat-redis-", dir="/var/tmp")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            raise RuntimeError("redis-server did not start on port %d" % self.port)
        _live.append(self)
        return self

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True).stdout

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
        if self.dir and not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live:
            _live.remove(self)


EXIM_TEMPLATE = r"""# Generated by tests/integration/harness.py for {name}: a real Exim with moat's shipped snippets.
MOAT_CONFIG = {dir}/moat.conf
MOAT_LIBDIR = {dir}/lib
MOAT_SNIPPETS = {dir}/snippets
MOAT_AUTH_PASSWORDS = {dir}/passwd
# This configuration sets acl_smtp_auth and acl_not_smtp itself, to ACLs that
# include moat's aggregators (what moat(7) asks of a site's own ACLs; moatctl
# status reads these as "the site wires these ACLs itself").
MOAT_KEEP_ACL_SMTP_AUTH = yes
MOAT_KEEP_ACL_NOT_SMTP = yes
{module_macros}
{extra_macros}
.include {dir}/snippets/moat-macros.conf
.include_if_exists MOAT_SNIPPETS/main.conf

primary_hostname = {hostname}
qualify_domain = {domain}
domainlist local_domains = {domain}
hostlist relay_from_hosts = <; {relay_from}
exim_user = {exim_user}
exim_group = {exim_user}
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
pid_file_path = {dir}/exim.pid
log_selector = +pid +smtp_protocol_error +smtp_syntax_error +incoming_port +incoming_interface \
               +smtp_connection +received_recipients +deliver_time +subject
host_lookup =
rfc1413_hosts =
local_interfaces = 127.0.0.1
daemon_smtp_ports = {ports}
smtp_accept_max = 300
smtp_accept_max_per_host = 300
smtp_accept_queue_per_connection = 0
smtp_connect_backlog = 256
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number moat-test
auth_advertise_hosts = 127.0.0.0/8
tls_advertise_hosts =
daemon_startup_retries = 0
keep_environment = {keep_environment}
# Deliveries run as the Exim user (every transport here does anyway): Exim
# re-executes itself for them with -C, which gives an untrusted configuration
# no root; without this option each delivery writes "exim user lost privilege
# for using -C option" to the paniclog. (Exim's trusted-config mechanism,
# TRUSTED_CONFIG_LIST, is /etc/exim4/trusted_configs on Debian: the machine's
# own /etc, which neither a test nor the demo changes.)
deliver_drop_privilege = true
{asan_main}received_headers_max = 30
delay_warning =
ignore_bounce_errors_after = 1m
timeout_frozen_after = 1h
acl_smtp_connect = acl_connect
acl_smtp_auth = acl_auth
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
acl_smtp_quit = acl_quit
acl_smtp_notquit = acl_notquit
acl_not_smtp = acl_not_smtp
{extra_main}

begin acl

acl_connect:
.include_if_exists MOAT_SNIPPETS/acl-connect.conf
{extra_acl_connect}
  accept

acl_auth:
.include_if_exists MOAT_SNIPPETS/acl-auth.conf
{extra_acl_auth}
  accept

acl_mail:
.include_if_exists MOAT_SNIPPETS/acl-mail.conf
{extra_acl_mail}
  accept

acl_rcpt:
{extra_acl_rcpt_first}
.include_if_exists MOAT_SNIPPETS/acl-rcpt.conf
{extra_acl_rcpt}
  deny    domains = +local_domains
          !hosts = +relay_from_hosts
          !authenticated = *
          !verify = recipient
  accept  domains = +local_domains
  accept  hosts = +relay_from_hosts
  accept  authenticated = *
  deny    message = 550 5.7.1 Relaying not permitted

acl_data:
.include_if_exists MOAT_SNIPPETS/acl-data.conf
{extra_acl_data}
  accept

acl_quit:
.include_if_exists MOAT_SNIPPETS/acl-quit.conf
  accept

acl_notquit:
.include_if_exists MOAT_SNIPPETS/acl-notquit.conf
  accept

acl_not_smtp:
.include_if_exists MOAT_SNIPPETS/acl-not-smtp.conf
{extra_acl_not_smtp}
  accept

begin routers

.include_if_exists MOAT_SNIPPETS/routers.conf
{extra_routers}
{route_routers}
localuser:
  driver = accept
  domains = +local_domains
  local_parts = lsearch,ret=key;{dir}/mailboxes
  transport = maildir

.include_if_exists MOAT_SNIPPETS/routers-last.conf

begin transports

.include_if_exists MOAT_SNIPPETS/transports.conf
{extra_transports}
remote_smtp:
  driver = smtp
  allow_localhost
  hosts_avoid_esmtp =
  hosts_try_chunking =
  hosts_try_prdr =
  hosts_try_fastopen =
  connect_timeout = 5s
  command_timeout = 10s
.ifdef MOAT_EVENT
  event_action = MOAT_EVENT
.endif
.ifdef MOAT_ENABLE_BATV
  return_path = MOAT_BATV_RETURN_PATH
.endif

maildir:
  driver = appendfile
  directory = {dir}/mail/$local_part_data
  maildir_format
  create_directory
  directory_mode = 0750
  mode = 0640
  delivery_date_add
  envelope_to_add
  return_path_add
  user = {exim_user}
  group = {exim_user}

begin retry
*   *   F,1h,1m

begin authenticators
{authenticators}
"""

PLAIN_AUTHENTICATORS = r"""
plain_server:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if eq{$auth3}{${lookup{$auth2}lsearch{MOAT_AUTH_PASSWORDS}{$value}{*}}}}
  server_set_id = $auth2

login_server:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = ${if eq{$auth2}{${lookup{$auth1}lsearch{MOAT_AUTH_PASSWORDS}{$value}{*}}}}
  server_set_id = $auth1
"""


def check_entry_points(snippets, libdir):
    """Raise when a snippet calls an entry point its module does not export:
    the .so files are older than the snippets (run make), and Exim would
    answer 451 at that ACL with a paniclog line, which no test should have
    to puzzle out."""
    calls, macros = set(), {}
    for dirpath, _, filenames in os.walk(snippets):
        for fn in filenames:
            with open(os.path.join(dirpath, fn), errors="replace") as f:
                text = f.read()
            calls |= set(re.findall(r"dlfunc\{MOAT_LIBDIR/(\w+)\.so\}\{(\w+)\}", text))
            for name, value in re.findall(r"^(MOAT_\w+) = (moat_\w+)$", text, re.M):
                macros.setdefault(name, set()).add(value)
    # an entry point named by a macro (rcpt/main.conf's MOAT_RCPT_JUDGE_FIRST): each value
    calls = {(m, e) for module, entry in calls for m, e in
             ((module, v) for v in sorted(macros.get(entry, {entry})))}
    exported = {}
    stale = []
    for module, entry in sorted(calls):
        so = os.path.join(libdir, module + ".so")
        if not os.path.exists(so):
            continue
        if so not in exported:
            out = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True,
                                 text=True).stdout
            exported[so] = {line.split()[-1] for line in out.splitlines() if line.strip()}
        if entry not in exported[so]:
            stale.append("%s.so has no %s" % (module, entry))
    if stale:
        raise RuntimeError("the modules in %s are older than conf/exim (%s): run make"
                           % (build_dir(), "; ".join(stale)))


class Exim:
    """A real Exim daemon with moat; see the module docstring."""

    def __init__(self, modules=None, moat_conf=None, store="lmdb", redis=None,
                 domain="example.test", users=None, passwords=None, routes=None,
                 relay_from="", port=None, name="exim", hostname=None, root_dir=None,
                 extra_macros="", extra_main="", extra_acl_connect="", extra_acl_auth="",
                 extra_acl_mail="", extra_acl_rcpt_first="", extra_acl_rcpt="",
                 extra_acl_data="", extra_acl_not_smtp="", extra_routers="",
                 extra_transports="", authenticators=None, files=None, sink=True,
                 vacation=None, extra_ports=None, map_size="64M"):
        self.modules = list(ALL_MODULES if modules is None else modules)
        self.moat_conf_text = moat_conf or ""
        self.store = store
        self.map_size = map_size
        self.redis = redis
        self.domain = domain
        self.users = list(users or DEFAULT_USERS)
        self.passwords = dict(DEFAULT_PASSWORDS if passwords is None else passwords)
        self.routes = dict(routes or {})
        self.relay_from = relay_from
        self._port = port or free_port()
        self._port_chosen_here = port is None
        self._port_published = False
        self.name = name
        self.hostname = hostname or "mx.%s" % domain
        self.root_dir = root_dir
        self.extra = dict(extra_macros=extra_macros, extra_main=extra_main,
                          extra_acl_connect=extra_acl_connect, extra_acl_auth=extra_acl_auth,
                          extra_acl_mail=extra_acl_mail,
                          extra_acl_rcpt_first=extra_acl_rcpt_first,
                          extra_acl_rcpt=extra_acl_rcpt, extra_acl_data=extra_acl_data,
                          extra_acl_not_smtp=extra_acl_not_smtp, extra_routers=extra_routers,
                          extra_transports=extra_transports)
        self.authenticators = authenticators
        self.files = dict(files or {})
        self.want_sink = sink
        self.vacation = dict(vacation or {})
        self.extra_ports = list(extra_ports or [])
        self.sink = None
        self.proc = None
        self._own_session = False
        self.dir = None

    # ------------------------------------------------------------ set-up

    def _mkdir(self, path, owner_exim=False, mode=0o755):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        if owner_exim:
            uid, gid = exim_ids()
            os.chown(path, uid, gid)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def store_section(self):
        if self.store == "redis":
            # timeouts for a loaded test machine (the production defaults,
            # 50/100 ms, are what test_faults.py's own store sections test)
            return ('store {\n  backend = redis\n  redis {\n    host = "127.0.0.1"\n'
                    '    port = %d\n    prefix = "moat:"\n    connect_timeout_ms = 5000\n'
                    '    command_timeout_ms = 10000\n  }\n}\n' % self.redis.port)
        return ('store {\n  backend = lmdb\n  path = "%s"\n  map_size = %s\n}\n'
                % (self.path("state"), self.map_size))

    def write_moat_conf(self, text=None, raw=False):
        """(Re)write moat.conf: the store section for this instance, then text.
        raw=True writes text alone (for broken-file tests)."""
        if text is not None:
            self.moat_conf_text = text
        content = self.moat_conf_text if raw else self.store_section() + self.moat_conf_text
        with open(self.path("moat.conf"), "w") as f:
            f.write(content)
        os.chmod(self.path("moat.conf"), 0o644)

    def _route_routers(self):
        out = []
        for i, (dom, (host, port)) in enumerate(sorted(self.routes.items())):
            out.append("route_%d:\n  driver = manualroute\n  domains = %s\n"
                       "  route_list = * %s::%d byname\n  transport = remote_smtp\n"
                       "  self = send\n" % (i, dom, host, port))
        if self.sink:
            out.append("to_sink:\n  driver = manualroute\n  domains = ! +local_domains\n"
                       "  route_list = * 127.0.0.1::%d byname\n  transport = remote_smtp\n"
                       "  self = send\n" % self.sink.port)
        return "\n".join(out)

    def _authenticators(self):
        if self.authenticators is not None:
            return self.authenticators
        snippet = self.path("snippets", "authlock", "authenticators.conf")
        if "authlock" in self.modules and os.path.exists(snippet):
            return ".include MOAT_SNIPPETS/authlock/authenticators.conf\n"
        return PLAIN_AUTHENTICATORS

    def prepare(self):
        """Create the directory and every file Exim needs; no daemon yet."""
        if self.dir is None:
            if self.root_dir:
                self.dir = self.root_dir
                os.makedirs(self.dir, exist_ok=True)
            else:
                self.dir = tempfile.mkdtemp(prefix="moat-%s-" % self.name, dir="/var/tmp")
        if self not in _live:
            _live.append(self)      # removed at exit even if never started
        os.chmod(self.dir, 0o755)
        for sub in ("spool", "log", "mail", "state"):
            self._mkdir(self.path(sub), owner_exim=True, mode=0o750)
        self._mkdir(self.path("lib"))
        # The modules and libmoat.so.0 beside them (their RUNPATH is $ORIGIN),
        # and its backends in backends/ (loaded when a configuration uses them).
        self._mkdir(self.path("lib", "backends"))
        for so in glob.glob(os.path.join(build_dir(), "modules", "*.so*")) + \
                glob.glob(os.path.join(build_dir(), "modules", "backends", "*.so")):
            dst = self.path("lib", os.path.relpath(so, os.path.join(build_dir(), "modules")))
            shutil.copy(so, dst)
            os.chmod(dst, 0o644)
        snippets = self.path("snippets")
        if os.path.exists(snippets):
            shutil.rmtree(snippets)
        shutil.copytree(os.path.join(ROOT, "conf", "exim"), snippets)
        try:
            check_entry_points(snippets, self.path("lib"))
        except RuntimeError:
            if not self.root_dir:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None
            raise
        for dirpath, dirnames, filenames in os.walk(snippets):
            os.chmod(dirpath, 0o755)
            for fn in filenames:
                os.chmod(os.path.join(dirpath, fn), 0o644)
        with open(self.path("mailboxes"), "w") as f:
            f.write("".join("%s:\n" % u for u in self.users))
        # passwords: readable by root and the Exim user's group only
        fd = os.open(self.path("passwd"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write("".join("%s: %s\n" % (u, p) for u, p in self.passwords.items()))
        os.chmod(self.path("passwd"), 0o640)
        os.chown(self.path("passwd"), 0, exim_ids()[1])
        for name, content in self.files.items():
            with open(self.path(name), "w") as f:
                f.write(content)
            os.chmod(self.path(name), 0o644)
        if self.vacation:
            with open(self.path("vacation"), "w") as f:
                f.write("".join("%s: %s\n" % kv for kv in self.vacation.items()))
            os.chmod(self.path("vacation"), 0o644)
        if self.want_sink and self.sink is None:
            self.sink = SmtpSink().start()
        self.write_moat_conf()
        macros = "\n".join("MOAT_ENABLE_%s = yes" % m.upper() for m in self.modules)
        if self.vacation:
            # The vacation transport runs moatctl, which hands the reply to
            # this Exim: the same -C, and under ASan the same preloads.
            shutil.copy(moatctl_path(), self.path("lib", "moatctl"))
            os.chmod(self.path("lib", "moatctl"), 0o755)
            macros += "\nMOAT_AUTOREPLY_VACATION = %s" % self.path("vacation")
            macros += "\nMOAT_CTL = %s" % self.path("lib", "moatctl")
            macros += "\nMOAT_AUTOREPLY_SUBMIT_OPTIONS = -C %s" % self.path("exim.conf")
            if self.preload_vars():
                macros += "\nMOAT_AUTOREPLY_PIPE_ENVIRONMENT = <; " + " ; ".join(
                    "%s=%s" % kv for kv in sorted(self.preload_vars().items()))
        conf = EXIM_TEMPLATE.format(
            name=self.name, dir=self.dir, module_macros=macros, hostname=self.hostname,
            domain=self.domain, relay_from=self.relay_from, exim_user=EXIM_USER,
            ports=" : ".join(str(p) for p in [self._port] + self.extra_ports), route_routers=self._route_routers(),
            keep_environment=" : ".join(sorted(self.preload_vars())),
            asan_main=self._asan_main(),
            authenticators=self._authenticators(), **self.extra)
        with open(self.path("exim.conf"), "w") as f:
            f.write(conf)
        os.chmod(self.path("exim.conf"), 0o644)
        return self

    def _asan_main(self):
        """MOAT_ASAN=1: Exim runs from a copy without the set-user-id bit, and
        re-executes that copy (exim_path) for deliveries and the messages it
        submits itself: glibc drops LD_PRELOAD for a set-user-id program, so
        the ASan runtime would be missing exactly there. Without the bit no
        process can regain root, so deliveries run as the Exim user
        (deliver_drop_privilege, set for every instance)."""
        if not self.preload_vars():
            return ""
        shutil.copy(EXIM, self.path("exim"))
        os.chmod(self.path("exim"), 0o755)
        return "exim_path = %s\n" % self.path("exim")

    def binary(self):
        """The Exim program this instance runs (see _asan_main)."""
        return self.path("exim") if self.preload_vars() else EXIM

    def check_config(self):
        """exim -bV on the generated configuration; (ok, output)."""
        r = subprocess.run([self.binary(), "-C", self.path("exim.conf"), "-bV"],
                           capture_output=True, text=True)
        return r.returncode == 0, r.stdout + r.stderr

    # ------------------------------------------------------------ daemon

    def exim_env(self):
        """The environment for Exim commands. MOAT_ASAN=1: the modules are
        ASan+UBSan builds; preload the runtimes into the daemon (and, through
        keep_environment, Exim's children) and send reports to <dir>/asan.*"""
        env = dict(os.environ)
        env.update(self.preload_vars())
        return env

    def preload_vars(self):
        """What Exim and its children need in their environment beyond the
        usual, in a sanitizer or coverage run ({} otherwise). MOAT_ASAN=1:
        the ASan and UBSan runtimes. MOAT_COVERAGE=<shim.so> (make coverage):
        the shim that makes every process write the modules' gcov data before
        it ends (tests/coverage/exit_shim.c), and where that data goes."""
        out = {}
        if os.environ.get("MOAT_ASAN"):
            out["LD_PRELOAD"] = ASAN_PRELOAD
            out["ASAN_OPTIONS"] = ("detect_leaks=0:abort_on_error=0:halt_on_error=1:"
                                   "log_path=%s/asan" % self.dir)
            out["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:log_path=%s/asan" % self.dir
        elif os.environ.get("MOAT_COVERAGE"):
            out["LD_PRELOAD"] = os.environ["MOAT_COVERAGE"]
            for k in ("GCOV_PREFIX", "GCOV_PREFIX_STRIP"):
                if os.environ.get(k):
                    out[k] = os.environ[k]
        return out

    def sanitizer_reports(self):
        """The ASan/UBSan reports the modules produced (MOAT_ASAN=1)."""
        out = []
        for p in glob.glob(self.path("asan*")):
            with open(p, errors="replace") as f:
                out.append(f.read())
        return out

    def start(self, foreground_output=False):
        if self.dir is None:
            self.prepare()
        ok, out = self.check_config()
        if not ok:
            raise RuntimeError("Exim config does not check:\n" + out)
        if self not in _live:
            _live.append(self)
        for attempt in range(3):
            logged = self._log_size("paniclog")
            self.proc = subprocess.Popen(
                [self.binary(), "-C", self.path("exim.conf"), "-bdf",
                 "-oX", ":".join(str(p) for p in [self._port] + self.extra_ports),
                 "-oP", self.path("exim.pid")],
                stdout=None if foreground_output else subprocess.DEVNULL,
                stderr=None if foreground_output else subprocess.DEVNULL,
                start_new_session=not foreground_output, env=self.exim_env())
            self._own_session = not foreground_output
            if self.wait_started(timeout=15):
                return self
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            # A free port picked at construction may have been taken since by
            # another test's daemon; when nobody has been told this one yet
            # (ex.port unread), take another.
            in_use = "Address already in use" in self._log_since("paniclog", logged)
            if not (in_use and self._port_chosen_here and not self._port_published):
                break
            # The abandoned daemon's line is the harness's, not the test's:
            # moved aside, so that a test asserting an empty paniclog sees
            # only what Exim and moat logged after the start that counted.
            self._move_log_tail("paniclog", logged, "paniclog.port-retry")
            old_port, self._port = self._port, free_port()
            print("harness: %s: port %d was taken by another process after it was picked; "
                  "starting Exim on port %d instead" % (self.name, old_port, self._port),
                  file=sys.stderr, flush=True)
        log, panic = self.mainlog()[-3000:], self.paniclog()[-3000:]
        self.stop()
        raise RuntimeError("Exim did not start on port %d:\n%s\n%s" % (self._port, log, panic))

    @property
    def port(self):
        """The SMTP port; once read, start() keeps it whatever happens."""
        self._port_published = True
        return self._port

    def wait_started(self, timeout):
        """Wait for the daemon's "daemon started: pid=N" line, which Exim
        writes once every listening socket is bound (so no probe connection
        shows up in the logs or in moat's counters); False as soon as the
        daemon exits (a port in use, a config error) or on timeout."""
        started = re.compile(r"daemon started: pid=%d\b" % self.proc.pid)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if started.search(self.mainlog()):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def stop(self):
        """Stop the daemon and whatever it forked (connections, deliveries,
        queue runners), remove the directory unless MOAT_KEEP=1."""
        if self.proc and self.dir:
            # sessions closing after QUIT and deliveries finishing end by
            # themselves (their work, and in coverage builds their gcov
            # data, complete); what is still busy after a while is ended
            wait_until(lambda: not self.busy(), timeout=5, interval=0.02)
        if self.proc:
            if self._own_session:
                end_session(self.proc)
            else:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.dir:
            # deliveries Exim started in sessions of their own: found by the
            # instance's directory in their command line
            left = self.busy()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while left and time.monotonic() < deadline:
                time.sleep(0.02)
                left = self.busy()
        if self.sink:
            self.sink.stop()
            self.sink = None
        if self in _live:
            _live.remove(self)
        reports = self.sanitizer_reports() if self.dir else []
        if self.dir and not self.root_dir and not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if reports:
            raise AssertionError("sanitizer reports from the modules:\n" + "\n".join(reports)[:20000])

    def busy(self):
        """The pids of this instance's processes at work (all but the daemon)."""
        if self.dir is None:
            return []
        return instance_pids(self.dir + "/", but=self.proc.pid if self.proc else None)

    def wait_idle(self, timeout=30.0):
        """See wait_idle(): no process of this instance at work, its queue empty."""
        return wait_idle(self, timeout=timeout)

    def restart(self):
        if self.proc:
            if self._own_session:
                end_session(self.proc)
            else:
                self.proc.terminate()
                self.proc.wait()
            self.proc = None
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ SMTP

    def smtp(self, source="127.0.0.1", timeout=30, port=None):
        return Client(port or self.port, source=source, timeout=timeout)

    def send(self, sender, recipients, body=None, source="127.0.0.1", auth=None):
        """One message in one connection; the list of replies."""
        c = self.smtp(source)
        replies = [c.ehlo()]
        if auth:
            replies.append(c.auth_plain(*auth))
        replies.append(c.mail(sender))
        recipients = [recipients] if isinstance(recipients, str) else recipients
        ok = False
        for r in recipients:
            rr = c.rcpt(r)
            replies.append(rr)
            ok = ok or rr[0] == 250
        if ok:
            replies.append(c.data(body if body is not None else message(
                sender=sender or "mailer-daemon@remote.test", to=recipients[0])))
        c.quit()
        return replies

    # ------------------------------------------------------------ observing

    def _read(self, name):
        try:
            with open(self.path("log", name), errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def mainlog(self):
        return self._read("mainlog")

    def paniclog(self):
        return self._read("paniclog")

    def _log_size(self, name):
        """The size in bytes of <dir>/log/<name> (0 when not written yet)."""
        try:
            return os.path.getsize(self.path("log", name))
        except OSError:
            return 0

    def _log_since(self, name, offset):
        """What <dir>/log/<name> gained after offset bytes."""
        try:
            with open(self.path("log", name), "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _move_log_tail(self, name, offset, to):
        """Cut <dir>/log/<name> back to offset bytes, appending the rest to <dir>/log/<to>."""
        tail = self._log_since(name, offset)
        with open(self.path("log", to), "a") as f:
            f.write(tail)
        os.truncate(self.path("log", name), offset)

    def rejectlog(self):
        return self._read("rejectlog")

    def wait_for_log(self, regex, timeout=10.0, log="mainlog"):
        deadline = time.time() + timeout
        pattern = re.compile(regex)
        while time.time() < deadline:
            m = pattern.search(self._read(log))
            if m:
                return m
            time.sleep(0.05)
        return None

    def maildir(self, user):
        """Raw messages delivered to user's maildir (new/ and cur/)."""
        out = []
        for sub in ("new", "cur"):
            for p in sorted(glob.glob(self.path("mail", user, sub, "*"))):
                with open(p, "rb") as f:
                    out.append(f.read())
        return out

    def wait_maildir(self, user, count, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.maildir(user)) >= count:
                return True
            time.sleep(0.05)
        return len(self.maildir(user)) >= count

    def exim(self, *args, input=None):
        return subprocess.run([self.binary(), "-C", self.path("exim.conf")] + list(args),
                              capture_output=True, text=True, input=input,
                              env=self.exim_env())

    def queue(self):
        """Message ids waiting in the queue (16 characters up to Exim 4.96, 23 from 4.97)."""
        out = self.exim("-bp").stdout
        return re.findall(r"^\s*\S+\s+\S+\s+([0-9A-Za-z]{6}-(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{2}|"
                          r"[0-9A-Za-z]{11}-[0-9A-Za-z]{4}))\s", out, re.M)

    def wait_queue_empty(self, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.queue():
                return True
            time.sleep(0.1)
        return not self.queue()

    def exim_bt(self, address):
        return self.exim("-bt", address)

    def moatctl(self, *args, input=None):
        return subprocess.run([moatctl_path(), "--config", self.path("moat.conf")] + list(args),
                              capture_output=True, text=True, input=input)

    def submit_local(self, sender, recipients, msg):
        """Submit a message on the command line (exim -f sender -- rcpts), the
        non-SMTP path (acl_not_smtp)."""
        recipients = [recipients] if isinstance(recipients, str) else recipients
        return self.exim("-odi", "-f", sender, "--", *recipients, input=msg)
