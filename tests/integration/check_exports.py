#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The export test: each module .so must
  - export nothing but its dlfunc entry points, functions named moat_*
    (no helper, no variable, nothing of the libraries linked statically);
  - need no symbol that neither Exim nor the .so's own libraries provide:
    Debian's exim exports only the local_scan.h API, and a symbol missing
    there must fail at dlopen, not kill an SMTP process at call time;
  - be linked with -z now (BIND_NOW), so that failure happens at load.
Exim's exports are read from the installed binary (EXIM, default the
target of /usr/sbin/exim4). Prints one line per problem; exit 1 on any.

usage: check_exports.py [--exim BINARY] MODULE.so...
"""

import argparse
import os
import re
import subprocess
import sys

# Defined dynamic symbols the toolchain adds to every shared object.
TOOLCHAIN_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def dynamic_symbols(path, which):
    """{name: kind} of path's dynamic symbol table; which is --defined-only
    or --undefined-only. Version suffixes (@GLIBC_2.3) are dropped."""
    out = subprocess.run(["nm", "-D", which, path], capture_output=True, text=True,
                         check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            syms[parts[-1].split("@")[0]] = parts[-2]
    return syms


def provided_by(path):
    """Names a binary or library makes available to others (absolute
    version-node symbols excluded)."""
    return {n for n, kind in dynamic_symbols(path, "--defined-only").items() if kind != "A"}


def needed_libraries(so):
    """The libraries the loader maps for so (its NEEDED entries and theirs),
    as paths; the names of NEEDED libraries that cannot be found."""
    out = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    found = [m.group(1) for m in re.finditer(r"=>\s+(/\S+)", out)]
    missing = re.findall(r"^\s*(\S+) => not found", out, re.M)
    return found, missing


def check(so, exim_symbols):
    """The problems of one module, as printable lines."""
    problems = []
    defined = dynamic_symbols(so, "--defined-only")
    ours = {n: k for n, k in defined.items() if n not in TOOLCHAIN_SYMBOLS and k != "A"}
    stray = sorted(n for n in ours if not n.startswith("moat_"))
    not_functions = sorted(n for n, k in ours.items() if n.startswith("moat_") and k != "T")
    entries = sorted(n for n, k in ours.items() if n.startswith("moat_") and k == "T")
    if stray:
        problems.append("exports symbols that are not entry points: " + " ".join(stray))
    if not_functions:
        problems.append("exports moat_* symbols that are not functions: " + " ".join(not_functions))
    if not entries:
        problems.append("exports no moat_* entry point")

    libraries, unfound = needed_libraries(so)
    for name in unfound:
        problems.append("needs library %s, which is not installed" % name)
    available = set(exim_symbols)
    for lib in libraries:
        available |= provided_by(lib)
    undefined = {n for n, k in dynamic_symbols(so, "--undefined-only").items() if k == "U"}
    missing = sorted(undefined - available)
    if missing:
        problems.append("needs symbols neither Exim nor its own libraries export: "
                        + " ".join(missing))

    dynamic = subprocess.run(["readelf", "-d", so], capture_output=True, text=True,
                             check=True).stdout
    if not re.search(r"\(FLAGS\)\s.*\bBIND_NOW\b", dynamic) and \
            not re.search(r"\(FLAGS_1\)\s.*\bNOW\b", dynamic):
        problems.append("not linked with -z now: a missing symbol would fail at call time")
    return entries, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exim", default=os.path.realpath("/usr/sbin/exim4"))
    ap.add_argument("modules", nargs="+")
    args = ap.parse_args()
    exim_symbols = provided_by(args.exim)
    failed = 0
    for so in args.modules:
        if not os.path.exists(so):
            print("%s: no such file" % so)
            failed += 1
            continue
        entries, problems = check(so, exim_symbols)
        for p in problems:
            print("%s: %s" % (so, p))
        if problems:
            failed += 1
        else:
            print("%s: ok: exports %s; every needed symbol resolves; BIND_NOW" % (
                so, " ".join(entries)))
    print("export test: %d of %d modules with problems" % (failed, len(args.modules)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
