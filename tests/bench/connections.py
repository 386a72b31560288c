# SPDX-License-Identifier: GPL-2.0-or-later
"""Connection rate of Exim with moat (every module e2e.py turns on, LMDB)
over the same Exim without moat's snippets, for one build or several
compared in the same run: each round measures every Exim in turn (e2e.py's
connection_rate: SESSIONS parallel clients, each connection a new Exim
process doing EHLO, MAIL, RCPT, QUIT), so the machine's noise hits all
alike; the figures are each round's ratio to plain Exim, their median and
spread. Timed: run it under `flock /tmp/moat-heavy.lock`.

usage: connections.py [--rounds N] [--connections N] BUILD_DIR...   (as root)"""

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import e2e  # noqa: E402
from harness import Exim  # noqa: E402


def make(name, build, tmp):
    """A started Exim: plain (build None) or with e2e.py's modules from build."""
    if build:
        os.environ["MOAT_BUILD"] = build      # the harness copies the modules at prepare()
    ex = Exim(modules=[] if build is None else ["rcpt", "authlock", "catchall", "autoreply"],
              root_dir=os.path.join(tmp, name), name=name, sink=False,
              files={"recipients": e2e.RCPTS}, extra_main="queue_only = true\n",
              map_size="64M")
    ex.prepare()
    ex.write_moat_conf('rcpt {\n  source = file\n  file = "%s"\n}\n' % ex.path("recipients"))
    return ex.start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--connections", type=int, default=e2e.CONNECTIONS)
    ap.add_argument("builds", nargs="+")
    args = ap.parse_args()
    e2e.CONNECTIONS = args.connections
    tmp = tempfile.mkdtemp(prefix="moat-conn-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                           else "/var/tmp")
    os.chmod(tmp, 0o755)
    exims = {}
    try:
        exims["plain"] = make("plain", None, tmp)
        for i, b in enumerate(args.builds):
            exims[b] = make("moat%d" % i, os.path.abspath(b), tmp)
        rates = {k: [] for k in exims}
        for r in range(args.rounds):
            for k, ex in exims.items():
                rates[k].append(e2e.connection_rate(ex))
            print("round %d: %s" % (r + 1, "  ".join(
                "%s %.1f/s" % (k, v[-1]) for k, v in rates.items())), flush=True)
        print("%d rounds of %d connections (%d parallel) per Exim"
              % (args.rounds, e2e.CONNECTIONS, e2e.SESSIONS))
        for k in args.builds:
            ratios = sorted(m / p for m, p in zip(rates[k], rates["plain"]))
            print("%s: connections/s ratio to plain Exim: median %.3f, min %.3f, max %.3f"
                  % (k, ratios[len(ratios) // 2], ratios[0], ratios[-1]))
        plain = sorted(rates["plain"])
        print("plain Exim: median %.1f connections/s (min %.1f, max %.1f)"
              % (plain[len(plain) // 2], plain[0], plain[-1]))
    finally:
        for ex in exims.values():
            ex.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
