# SPDX-License-Identifier: GPL-2.0-or-later
"""Instructions per SMTP session for make bench: what a whole connection
costs Exim with every moat module on against the same Exim without moat's
snippets, counted by callgrind (stable where wall-clock time is not).

Unlike instructions.py (the cost of one more RCPT, start-up left out) this
counts everything a connection process does once: loading the modules,
parsing moat.conf, opening the store, as well as each module's calls. The
session, fed to `exim -bs` as from 127.0.0.77 (AUTH is offered there):
EHLO, a failed AUTH, a bounce to a local user (batv), RSET, a message from
a remote sender to a local user (rcpt, catchall, autoreply), QUIT; the
message is queued (queue_only), not delivered. Each variant runs RUNS
times; the figures are the median and the spread (max - min).

usage: session.py [--runs N]   (as root, with MOAT_BUILD naming the build)"""

import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import ALL_MODULES, EXIM, EXIM_USER, Exim, message  # noqa: E402
from instructions import USERS  # noqa: E402

RUNS = 5
MOAT_CONF = 'rcpt {\n  source = file\n  file = "%s"\n}\n'
VARIANTS = [("plain", "Exim without moat", []),
            ("moat", "Exim with every module on (LMDB)", ALL_MODULES)]


def session():
    body = message(sender="someone@remote.test", to="alice@example.test")
    body = re.sub(r"(?<!\r)\n", "\r\n", body)
    lines = ["EHLO bench.remote.test",
             "AUTH PLAIN AGFsaWNlAG5vdC1oZXItcGFzc3dvcmQ=",   # alice, a wrong password
             "MAIL FROM:<>", "RCPT TO:<alice@example.test>", "RSET",
             "MAIL FROM:<someone@remote.test>", "RCPT TO:<alice@example.test>", "DATA"]
    return "\r\n".join(lines) + "\r\n" + body + ".\r\nQUIT\r\n"


def count(ex, exim, out):
    """Instructions callgrind counted for one exim -bs session."""
    # Exim gives up root before it exits, when callgrind writes its counts:
    # the file must already exist and belong to Exim's user.
    with open(out, "w"):
        pass
    pw = pwd.getpwnam(EXIM_USER)
    os.chown(out, pw.pw_uid, pw.pw_gid)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        exim, "-C", ex.path("exim.conf"), "-bs", "-oMa", "127.0.0.77"],
                       input=session(), capture_output=True, text=True,
                       env=ex.exim_env(), timeout=600)
    if not re.search(r"^250 OK id=", r.stdout, re.M):
        raise RuntimeError("the session's message was not accepted:\n%s" % r.stdout[-3000:])
    with open(out) as f:
        m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    if not m:
        raise RuntimeError("callgrind wrote no totals to %s:\n%s" % (out, r.stderr[-2000:]))
    return int(m.group(1))


def run(runs=RUNS):
    """{variant: [instructions of each run]}"""
    if not shutil.which("valgrind"):
        return {}
    tmp = tempfile.mkdtemp(prefix="moat-session-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    exim = os.path.join(tmp, "exim")       # valgrind runs no set-user-id program
    shutil.copy(EXIM, exim)
    os.chmod(exim, 0o755)
    results = {}
    try:
        for name, _, modules in VARIANTS:
            ex = Exim(modules=modules, root_dir=os.path.join(tmp, name), name=name, sink=False,
                      files={"recipients": "".join(u + "@example.test\n" for u in USERS)},
                      extra_main="queue_only = true\n")
            ex.prepare()
            ex.write_moat_conf(MOAT_CONF % ex.path("recipients"))
            results[name] = [count(ex, exim, os.path.join(tmp, "%s-%d.out" % (name, i)))
                             for i in range(runs)]
    finally:
        if not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def table(results):
    """Markdown rows: instructions per session, median and spread, and moat's addition."""
    rows = ["| Exim | instructions per session (median) | spread (max - min) | added |",
            "|---|---|---|---|"]
    base = sorted(results["plain"])[len(results["plain"]) // 2]
    for name, what, _ in VARIANTS:
        v = sorted(results[name])
        med = v[len(v) // 2]
        rows.append("| %s | %d | %d | %+d |" % (what, med, v[-1] - v[0], med - base))
    return "\n".join(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    os.environ.setdefault("MOAT_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build"))
    res = run(args.runs)
    print(table(res) if res else "valgrind not installed")
