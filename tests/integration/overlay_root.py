# SPDX-License-Identifier: GPL-2.0-or-later
"""An isolated root for tests that install packages and change /etc: the
machine's own / as the lower layer of an overlayfs whose upper and work
directories are in a temporary directory, mounted in a private mount
namespace, with proc, dev, sys and a fresh /run and /tmp inside.

The namespace is held by one helper process (unshare --mount, then
sleep); every command runs in it through nsenter and chroot. The
machine's mutable state (/etc, /var/lib, ...) is copied into the upper
layer at start, so the root does not see later changes of the machine's. Nothing the
commands do reaches the machine's file systems: apt, dpkg, update-exim4.conf
and Exim write to the upper layer, which stop() throws away. The network
and process namespaces stay shared, so a daemon started inside listens on
the machine's 127.0.0.1 (on a free port) and tests connect to it directly.

    root = OverlayRoot().start()
    root.run(["apt-get", "install", "-y", "/tmp/x.deb"])
    root.write("/etc/exim4/passwd", "alice:...\\n")
    text = root.read("/var/log/exim4/mainlog")
    root.stop()
"""

import os
import shutil
import subprocess
import tempfile
import time

# The machine's state that apt, dpkg, Exim and tests change, copied at start.
SNAPSHOT = ["/etc", "/var/lib", "/var/spool", "/var/log", "/var/mail", "/home",
            "/var/cache/debconf"]

SETUP = r"""
set -e
m="$1"
mount -t overlay overlay -o "lowerdir=/,upperdir=$2,workdir=$3" "$m"
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
mount --rbind /sys "$m/sys"
mount -t tmpfs -o mode=0755 tmpfs "$m/run"
mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
touch "$4"
exec sleep infinity
"""


class OverlayRoot:
    def __init__(self, base=None):
        self.dir = tempfile.mkdtemp(prefix="moat-root.", dir=base or "/var/tmp")
        self.merged = os.path.join(self.dir, "merged")
        self.holder = None

    def start(self):
        for d in ("upper", "work", "merged"):
            os.mkdir(os.path.join(self.dir, d))
        self.snapshot()
        ready = os.path.join(self.dir, "ready")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", SETUP, "setup",
             self.merged, os.path.join(self.dir, "upper"), os.path.join(self.dir, "work"),
             ready], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(ready):
            if self.holder.poll() is not None or time.time() > deadline:
                err = self.holder.stderr.read().decode(errors="replace") if \
                    self.holder.poll() is not None else "timeout"
                self.stop()
                raise RuntimeError("overlay root did not come up: " + err)
            time.sleep(0.05)
        return self

    def snapshot(self):
        """Copies of the machine's mutable state in the upper layer, each
        marked opaque, so that what the machine's own apt, dpkg or Exim do
        to them while the root lives (another test, an admin) is not seen
        through the lower layer."""
        upper = os.path.join(self.dir, "upper")
        for path in SNAPSHOT:
            if not os.path.lexists(path):
                continue
            dest = upper + path
            parent = os.path.dirname(dest)
            if not os.path.isdir(parent):
                os.makedirs(parent)
                shutil.copystat(os.path.dirname(path), parent)
            subprocess.run(["cp", "-a", path, dest], check=True)
            if os.path.isdir(dest) and not os.path.islink(dest):
                os.setxattr(dest, "trusted.overlay.opaque", b"y")

    def command(self, argv):
        """argv wrapped to run inside the root (nsenter --root: the holder's root
        directory, which is not "/" when the whole test runs in a chroot)."""
        return ["nsenter", "--target", str(self.holder.pid), "--mount", "--root", "--",
                "chroot", self.merged] + list(argv)

    def run(self, argv, check=True, env=None, input=None, timeout=600):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
             "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        e.update(env or {})
        r = subprocess.run(self.command(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=e, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("in the overlay root: %s failed (%d):\n%s"
                                 % (" ".join(argv), r.returncode, r.stdout))
        return r

    def sh(self, script, check=True):
        return self.run(["sh", "-c", script], check=check)

    def copy_in(self, host_path, path):
        """A file of the machine's into the root (the holder's namespace sees both)."""
        subprocess.run(["nsenter", "--target", str(self.holder.pid), "--mount", "--root", "--", "cp",
                        host_path, self.merged + path], check=True)

    def write(self, path, text, mode=0o644):
        self.run(["sh", "-c", 'cat > "$1" && chmod %o "$1"' % mode, "write", path],
                 input=text)

    def read(self, path):
        r = self.run(["cat", path], check=False)
        return r.stdout if r.returncode == 0 else None

    def exists(self, path):
        return self.run(["test", "-e", path], check=False).returncode == 0

    def processes(self):
        """Ids of the processes running inside the root (started by the tests), the
        holder excepted."""
        try:
            ns = os.readlink("/proc/%d/ns/mnt" % self.holder.pid)
        except OSError:
            return []
        pids = []
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) != self.holder.pid:
                try:
                    if os.readlink("/proc/%s/ns/mnt" % p) == ns:
                        pids.append(int(p))
                except OSError:
                    pass
        return pids

    def stop(self):
        if self.holder is not None and self.holder.poll() is None:
            # what the tests left running inside (an Exim daemon), then the
            # holder: the namespace, and with it every mount, goes with them
            for pid in self.processes():
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            self.holder.kill()
            self.holder.wait()
        self.holder = None
        shutil.rmtree(self.dir, ignore_errors=True)
