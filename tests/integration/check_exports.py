#!/usr/bin/python3
"""The export test: every module exports only its dlfunc entry points
(moat_*), needs no symbol that Exim or its own libraries do not provide (a
missing symbol must fail at load, not kill an SMTP process at call time),
and is linked with -z now. Exit 1 on any problem."""

import os
import re
import subprocess
import sys


def nm(args, path):
    out = subprocess.run(["nm", "-D"] + args + [path], capture_output=True, text=True,
                         check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if parts:
            syms.add((parts[-2] if len(parts) >= 2 else "", parts[-1].split("@")[0]))
    return syms


def defined(path):
    return {name for kind, name in nm(["--defined-only"], path) if kind not in ("U", "w", "v")}


def needed_libs(so):
    out = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    return [m.group(1) for m in re.finditer(r"=>\s+(/\S+)", out)]


def main(paths):
    exim = os.path.realpath("/usr/sbin/exim4")
    exim_syms = defined(exim)
    problems = 0
    for so in paths:
        before = problems
        exported = {name for kind, name in nm(["--defined-only"], so) if kind in ("T", "W", "D", "B")}
        stray = sorted(s for s in exported if not s.startswith("moat_"))
        entries = sorted(s for s in exported if s.startswith("moat_"))
        if stray:
            print("%s: exports more than its entry points: %s" % (so, " ".join(stray)))
            problems += 1
        if not entries:
            print("%s: exports no moat_* entry point" % so)
            problems += 1
        provided = set(exim_syms)
        for lib in needed_libs(so):
            provided |= defined(lib)
        undefined = {name for kind, name in nm(["--undefined-only"], so) if kind == "U"}
        missing = sorted(undefined - provided)
        if missing:
            print("%s: needs symbols neither Exim nor its libraries export: %s" % (
                so, " ".join(missing)))
            problems += 1
        dyn = subprocess.run(["readelf", "-d", so], capture_output=True, text=True).stdout
        if "BIND_NOW" not in dyn and not re.search(r"FLAGS.*\bNOW\b", dyn):
            print("%s: not linked with -z now" % so)
            problems += 1
        if problems == before:
            print("%s: exports %s; every needed symbol resolves" % (so, " ".join(entries)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
