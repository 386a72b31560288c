#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The export test: each module .so must
  - export nothing but its dlfunc entry points, functions named moat_*
    (no helper, no variable, nothing of the libraries it links);
  - need no symbol that neither Exim nor the .so's own libraries provide:
    Debian's exim exports only the local_scan.h API, and a symbol missing
    there must fail at dlopen, not kill an SMTP process at call time;
  - be linked with -z now (BIND_NOW), so that failure happens at load;
  - with --libmoat: take its runtime from libmoat.so.0 (NEEDED, found by
    RUNPATH $ORIGIN beside it, moat_runtime_get not its own), so that the
    modules of one Exim process share one config, store and log-once table.
libmoat.so.0 (--libmoat) must
  - carry its soname, BIND_NOW and -Bsymbolic (its own calls never bind to
    a same-named symbol of Exim's);
  - export functions only, and exactly those the modules call: nothing
    more (moatctl and the tests link the static archive);
  - export no name that Exim or a library Exim loads already exports (the
    loader would bind a module's call to that one: the global scope first);
  - need nothing from Exim: every undefined symbol is its libraries'.
Each backend (--backend backends/NAME.so, loaded by libmoat when a
configuration uses it) must
  - export one symbol, its table moat_backend_NAME_VERSION (VERSION as
    common/backend.h's MOAT_BACKEND_VERSION says), and nothing else;
  - need libmoat.so.0 and take from it only what libmoat exports;
  - be linked with -z now, and need nothing else its libraries lack.
libmoat's exports then count as called when a backend calls them.
Exim's exports are read from the installed binary (EXIM, default the
target of /usr/sbin/exim4). Prints one line per problem; exit 1 on any.

usage: check_exports.py [--exim BINARY] [--libmoat libmoat.so.0]
                        [--backend BACKEND.so]... MODULE.so...
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


def dynamic_section(path):
    return subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                          check=True).stdout


def bind_now(dynamic):
    return bool(re.search(r"\(FLAGS\)\s.*\bBIND_NOW\b", dynamic) or
                re.search(r"\(FLAGS_1\)\s.*\bNOW\b", dynamic))


def unresolved(so, provided, whose, skip=None):
    """Problems of so's needs: a needed library not installed, and symbols
    that neither provided (a set of names) nor its own libraries (but skip,
    a soname whose exports are in provided) export; whose names provided."""
    problems = []
    libraries, unfound = needed_libraries(so)
    for name in unfound:
        problems.append("needs library %s, which is not installed" % name)
    available = set(provided)
    for lib in libraries:
        if os.path.basename(lib) != skip:
            available |= provided_by(lib)
    undefined = {n for n, k in dynamic_symbols(so, "--undefined-only").items() if k == "U"}
    missing = sorted(undefined - available)
    if missing:
        problems.append("needs symbols neither %s nor its own libraries export: %s"
                        % (whose, " ".join(missing)))
    return problems


def check(so, exim_symbols, libmoat=None):
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

    problems += unresolved(so, exim_symbols, "Exim")
    undefined = {n for n, k in dynamic_symbols(so, "--undefined-only").items() if k == "U"}

    dynamic = dynamic_section(so)
    if not bind_now(dynamic):
        problems.append("not linked with -z now: a missing symbol would fail at call time")
    if libmoat:
        soname = os.path.basename(libmoat)
        if not re.search(r"\(NEEDED\)\s.*\[%s\]" % re.escape(soname), dynamic):
            problems.append("does not need %s: it carries a runtime of its own" % soname)
        if not re.search(r"\(RUNPATH\)\s.*\[\$ORIGIN\]", dynamic):
            problems.append("RUNPATH is not $ORIGIN: it would not find %s beside it" % soname)
        if "moat_runtime_get" in defined or "moat_runtime_get" not in undefined:
            problems.append("does not take moat_runtime_get from %s" % soname)
    return entries, problems


def exim_libraries_symbols(exim):
    """What the libraries Exim links export (a module's call to such a
    name would bind there, not to libmoat)."""
    libraries, _ = needed_libraries(exim)
    names = set()
    for lib in libraries:
        names |= provided_by(lib)
    return names


def backend_version():
    """MOAT_BACKEND_VERSION of common/backend.h: the suffix of every table's name."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "common", "backend.h")) as f:
        return re.search(r'#define MOAT_BACKEND_VERSION "(\w+)"', f.read()).group(1)


def check_backend(so, libmoat_exports, libmoat):
    """The problems of one backend object, as printable lines."""
    problems = []
    name = os.path.splitext(os.path.basename(so))[0]
    defined = dynamic_symbols(so, "--defined-only")
    ours = {n: k for n, k in defined.items() if n not in TOOLCHAIN_SYMBOLS and k != "A"}
    wanted = "moat_backend_%s_%s" % (name, backend_version())
    if set(ours) != {wanted}:
        problems.append("exports %s, not only its table %s"
                        % (" ".join(sorted(ours)) or "nothing", wanted))
    elif ours[wanted] not in ("D", "R", "d", "r"):
        problems.append("%s is not data (a table)" % wanted)
    dynamic = dynamic_section(so)
    if not bind_now(dynamic):
        problems.append("not linked with -z now: a missing symbol would fail at call time")
    soname = os.path.basename(libmoat)
    if not re.search(r"\(NEEDED\)\s.*\[%s\]" % re.escape(soname), dynamic):
        problems.append("does not need %s" % soname)
    problems += unresolved(so, libmoat_exports, "libmoat", skip=soname)
    return problems


def check_libmoat(lib, modules, exim_symbols, exim_lib_symbols):
    """The problems of libmoat.so.0, as printable lines; its exports."""
    problems = []
    dynamic = dynamic_section(lib)
    soname = os.path.basename(lib)
    if not re.search(r"\(SONAME\)\s.*\[%s\]" % re.escape(soname), dynamic):
        problems.append("has no soname %s" % soname)
    if not bind_now(dynamic):
        problems.append("not linked with -z now")
    if not re.search(r"\(FLAGS\)\s.*\bSYMBOLIC\b", dynamic):
        problems.append("not linked with -Bsymbolic: its own calls could bind to Exim's symbols")
    defined = dynamic_symbols(lib, "--defined-only")
    ours = {n: k for n, k in defined.items() if n not in TOOLCHAIN_SYMBOLS and k != "A"}
    not_functions = sorted(n for n, k in ours.items() if k != "T")
    if not_functions:
        problems.append("exports symbols that are not functions: " + " ".join(not_functions))
    wanted = set()
    for so in modules:
        if os.path.exists(so):
            wanted |= {n for n, k in dynamic_symbols(so, "--undefined-only").items()
                       if k == "U" and n in ours}
    unused = sorted(set(ours) - wanted)
    if unused:
        problems.append("exports what no module calls: " + " ".join(unused))
    clash = sorted(set(ours) & (exim_symbols | exim_lib_symbols))
    if clash:
        problems.append("exports names Exim or its libraries export too: " + " ".join(clash))
    libraries, unfound = needed_libraries(lib)
    for name in unfound:
        problems.append("needs library %s, which is not installed" % name)
    available = set()
    for l in libraries:
        available |= provided_by(l)
    undefined = {n for n, k in dynamic_symbols(lib, "--undefined-only").items() if k == "U"}
    missing = sorted(undefined - available)
    if missing:
        problems.append("needs symbols its own libraries do not export (Exim's?): "
                        + " ".join(missing))
    return sorted(ours), problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exim", default=os.path.realpath("/usr/sbin/exim4"))
    ap.add_argument("--libmoat", help="the shared runtime the modules link (libmoat.so.0)")
    ap.add_argument("--backend", action="append", default=[],
                    help="a backend object libmoat loads (backends/NAME.so); repeatable")
    ap.add_argument("modules", nargs="+")
    args = ap.parse_args()
    exim_symbols = provided_by(args.exim)
    failed = 0
    if args.backend and not args.libmoat:
        print("--backend needs --libmoat")
        return 1
    if args.libmoat:
        if not os.path.exists(args.libmoat):
            print("%s: no such file" % args.libmoat)
            return 1
        exports, problems = check_libmoat(args.libmoat, args.modules + args.backend,
                                          exim_symbols, exim_libraries_symbols(args.exim))
        for p in problems:
            print("%s: %s" % (args.libmoat, p))
        if problems:
            failed += 1
        else:
            print("%s: ok: %d functions, each called by a module or backend, none Exim's; "
                  "soname, BIND_NOW, SYMBOLIC; needs nothing of Exim's"
                  % (args.libmoat, len(exports)))
        for so in args.backend:
            problems = check_backend(so, exports, args.libmoat) if os.path.exists(so) \
                else ["no such file"]
            for p in problems:
                print("%s: %s" % (so, p))
            if problems:
                failed += 1
            else:
                print("%s: ok: exports its table only; needs libmoat.so.0; BIND_NOW" % so)
    for so in args.modules:
        if not os.path.exists(so):
            print("%s: no such file" % so)
            failed += 1
            continue
        entries, problems = check(so, exim_symbols, args.libmoat)
        for p in problems:
            print("%s: %s" % (so, p))
        if problems:
            failed += 1
        else:
            print("%s: ok: exports %s; every needed symbol resolves; BIND_NOW" % (
                so, " ".join(entries)))
    print("export test: %d of %d objects with problems"
          % (failed, len(args.modules) + len(args.backend) + (1 if args.libmoat else 0)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
