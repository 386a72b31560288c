# SPDX-License-Identifier: GPL-2.0-or-later
"""Memory for make bench: what moat adds to each Exim process. One SMTP
session (EHLO, MAIL, a valid RCPT: every module loaded, moat.conf parsed,
the store opened) is held open against Exim with every module on and
against the same Exim without moat's snippets; the session's process is
read from /proc/PID/smaps_rollup. Private memory is what each concurrent
session really costs; PSS shares the common pages out among processes."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import Exim  # noqa: E402

RCPTS = "alice@example.test\n"


def session_process(daemon_pid, before):
    """The pid of the daemon's child that is not in before (the new session)."""
    for _ in range(100):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(daemon_pid)],
                             capture_output=True, text=True).stdout.split()
        new = [int(p) for p in out if int(p) not in before]
        if new:
            return new[0]
        time.sleep(0.02)
    raise RuntimeError("no session process under the daemon %d" % daemon_pid)


def rollup(pid):
    """{field: kB} from /proc/PID/smaps_rollup."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"^(\w+):\s+(\d+) kB", f.read(), re.M)}


def measure(ex):
    daemon = ex.proc.pid
    before = {int(p) for p in subprocess.run(["ps", "-o", "pid=", "--ppid", str(daemon)],
                                             capture_output=True, text=True).stdout.split()}
    c = ex.smtp("127.11.0.1")
    c.ehlo()
    c.mail("someone@remote.test")
    c.rcpt("alice@example.test")
    pid = session_process(daemon, before)
    r = rollup(pid)
    c.quit()
    return {"rss": r.get("Rss", 0), "pss": r.get("Pss", 0),
            "private": r.get("Private_Clean", 0) + r.get("Private_Dirty", 0)}


def run():
    """{"plain": {...}, "moat": {...}} in kB."""
    tmp = tempfile.mkdtemp(prefix="moat-mem-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    res = {}
    try:
        for kind, modules in (("plain", []), ("moat", ["rcpt", "authlock", "catchall",
                                                       "autoreply"])):
            ex = Exim(modules=modules, root_dir=os.path.join(tmp, kind), name=kind, sink=False,
                      files={"recipients": RCPTS})
            ex.prepare()
            ex.write_moat_conf('rcpt {\n  source = file\n  file = "%s"\n}\n'
                               % ex.path("recipients"))
            ex.start()
            try:
                samples = [measure(ex) for _ in range(3)]
            finally:
                ex.stop()
            res[kind] = {k: min(s[k] for s in samples) for k in samples[0]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def table(res):
    rows = ["| Exim session process | RSS kB | PSS kB | private kB |", "|---|---|---|---|"]
    for kind, label in (("plain", "without moat"), ("moat", "every module, LMDB")):
        r = res[kind]
        rows.append("| %s | %d | %d | %d |" % (label, r["rss"], r["pss"], r["private"]))
    rows.append("| added by moat | %+d | %+d | %+d |" % tuple(
        res["moat"][k] - res["plain"][k] for k in ("rss", "pss", "private")))
    return "\n".join(rows)


if __name__ == "__main__":
    os.environ.setdefault("MOAT_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build"))
    print(table(run()))
