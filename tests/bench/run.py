#!/usr/bin/python3
"""make bench: run every benchmark binary (build/bench/bench_*), print their
figures as a table and write BENCHMARKS.md with the machine they ran on."""

import argparse
import glob
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    return "%s, %d cores, %s %s" % (cpu, os.cpu_count() or 0, platform.system(),
                                     platform.release())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    rows = []
    for binary in sorted(glob.glob(os.path.join(args.build, "bench", "bench_*"))):
        out = subprocess.run([binary], capture_output=True, text=True)
        if out.returncode != 0:
            print("%s failed:\n%s" % (binary, out.stderr))
            return 1
        for line in out.stdout.splitlines():
            m = re.match(r"bench (\S+) (\S+)\s+([\d.]+) (\S+)", line)
            if m:
                rows.append(m.groups())
    table = ["| module | case | cost | unit |", "|---|---|---|---|"]
    table += ["| %s | %s | %s | %s |" % r for r in rows]
    print("\n".join(table))
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("# Benchmarks\n\nLast run: %s on %s.\n\n"
                "Per-call cost of each entry point's logic on an LMDB store "
                "(`make bench`; wall-clock, noisy on shared machines).\n\n%s\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine(),
                   "\n".join(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
