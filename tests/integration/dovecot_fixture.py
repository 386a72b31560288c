"""A real Dovecot authentication service (Debian's dovecot-core) for tests:
no mail protocols, only the auth service, whose auth-client socket in a
private directory Exim's dovecot authenticator connects to; users and
passwords from a passwd-file. Dovecot 2.4 (trixie) and 2.3 (bookworm) take
differently spelled configurations; the fixture writes the one the
installed version reads."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

DOVECOT = "/usr/sbin/dovecot"

CONF_24 = """dovecot_config_version = {version}
dovecot_storage_version = {version}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols =
ssl = no
auth_mechanisms = plain login
auth_allow_cleartext = yes
auth_failure_delay = 0
passdb passwd-file {{
  passwd_file_path = {dir}/passwd
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""

CONF_23 = """base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols =
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""


def dovecot_version():
    """(major, minor, patch) of the installed Dovecot, or None without one."""
    if not os.path.exists(DOVECOT):
        return None
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True).stdout
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(n) for n in m.groups()) if m else None


class Dovecot:
    """Dovecot's auth service for users {name: password}; .socket is the
    auth-client socket (mode 0666, in a directory anyone may enter)."""

    def __init__(self, users):
        self.users = dict(users)
        self.dir = None
        self.proc = None
        self.socket = None

    def start(self, timeout=15.0):
        version = dovecot_version()
        if version is None:
            raise RuntimeError("dovecot is not installed (make deps installs dovecot-core)")
        self.dir = tempfile.mkdtemp(prefix="moat-dovecot-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for user, password in self.users.items():
                f.write("%s:{PLAIN}%s\n" % (user, password))
        template = CONF_24 if version >= (2, 4) else CONF_23
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(template.format(dir=self.dir, version="%d.%d.%d" % version))
        self.socket = os.path.join(self.dir, "run", "auth-client")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.time() + timeout
        while time.time() < deadline and not os.path.exists(self.socket):
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot did not start: %s %s" % (self.proc.stderr.read(),
                                                                     self.log()))
            time.sleep(0.05)
        if not os.path.exists(self.socket):
            self.stop()
            raise RuntimeError("dovecot made no auth-client socket in %gs" % timeout)
        os.chmod(os.path.join(self.dir, "run"), 0o755)
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.dir and not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
