#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make coverage, last step: line coverage of common/, modules/ and
tools/moatctl/ from the unit tests (gcov data next to the objects in
BUILD/obj) and the integration tests (written under GCOV_PREFIX by every
process, Exim's included, through tests/coverage/exit_shim.c), merged with
gcovr, as a per-file table in docs/coverage.md and a summary on stdout.
Exit status 1 when common/ and modules/ together are under --min-total
or a file there is under --min-file (the targets of issue 24)."""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTERS = ["common/", "modules/", "tools/moatctl/"]


def gcovr_json(search, out, objdir=None):
    cmd = ["gcovr", "-r", ROOT, "--json", out, "--gcov-ignore-parse-errors"]
    for f in FILTERS:
        cmd += ["--filter", os.path.join(ROOT, f)]
    if objdir:
        cmd += ["--object-directory", objdir]
    cmd.append(search)
    subprocess.run(cmd, check=True, cwd=ROOT)


def mirror_gcno(objdir, mirror):
    """The .gcno files beside the .gcda the integration run wrote."""
    for dirpath, _, files in os.walk(objdir):
        for fn in files:
            if fn.endswith(".gcno"):
                dst = os.path.join(mirror, os.path.relpath(dirpath, objdir))
                if os.path.isdir(dst):
                    shutil.copy(os.path.join(dirpath, fn), dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/coverage")
    ap.add_argument("--gcda", required=True, help="GCOV_PREFIX of the integration run")
    ap.add_argument("--out", default="docs/coverage.md")
    ap.add_argument("--min-total", type=float, default=90.0)
    ap.add_argument("--min-file", type=float, default=75.0)
    args = ap.parse_args()
    objdir = os.path.abspath(os.path.join(args.build, "obj"))
    tmp = tempfile.mkdtemp(prefix="moat-coverage-")
    try:
        traces = []
        unit = os.path.join(tmp, "unit.json")
        gcovr_json(objdir, unit)
        traces.append(unit)
        mirror = args.gcda + objdir
        if os.path.isdir(mirror):
            mirror_gcno(objdir, mirror)
            integ = os.path.join(tmp, "integration.json")
            gcovr_json(mirror, integ)
            traces.append(integ)
        summary = os.path.join(tmp, "summary.json")
        cmd = ["gcovr", "-r", ROOT, "--json-summary", summary]
        for t in traces:
            cmd += ["--add-tracefile", t]
        subprocess.run(cmd, check=True, cwd=ROOT)
        with open(summary) as f:
            data = json.load(f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # common/coverage.c is the coverage build's own machinery
    files = sorted((f for f in data["files"] if f["filename"] != "common/coverage.c"),
                   key=lambda f: f["filename"])
    groups = {}
    for f in files:
        top = f["filename"].split("/")[0]
        g = groups.setdefault("tools/moatctl" if top == "tools" else top, [0, 0])
        g[0] += f["line_covered"]
        g[1] += f["line_total"]
    core = [f for f in files if f["filename"].startswith(("common/", "modules/"))]
    covered = sum(f["line_covered"] for f in core)
    total = sum(f["line_total"] for f in core) or 1
    core_pct = 100.0 * covered / total
    low = [f for f in core if f["line_total"] and f["line_percent"] < args.min_file]

    lines = ["# Line coverage",
             "",
             "Written by `make coverage` (%s): the unit tests and the integration tests"
             % datetime.date.today().isoformat(),
             "against a real Exim, every Exim process included (tests/coverage/exit_shim.c",
             "writes the modules' gcov data before Exim's `_exit()`), merged with gcovr.",
             "Targets: at least %.0f %% of common/ and modules/ together, no file there under"
             % args.min_total,
             "%.0f %%." % args.min_file,
             "",
             "| part | lines | covered | % |",
             "|---|---:|---:|---:|"]
    for name in sorted(groups):
        c, t = groups[name]
        lines.append("| %s/ | %d | %d | %.1f |" % (name, t, c, 100.0 * c / (t or 1)))
    lines.append("| **common/ and modules/** | %d | %d | **%.1f** |" % (total, covered, core_pct))
    lines += ["", "| file | lines | covered | % |", "|---|---:|---:|---:|"]
    for f in files:
        mark = " (under %.0f %%)" % args.min_file if f in low else ""
        lines.append("| %s | %d | %d | %.1f%s |" % (f["filename"], f["line_total"],
                                                      f["line_covered"], f["line_percent"], mark))
    with open(os.path.join(ROOT, args.out), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("coverage: common/ and modules/ %.1f %% (%d of %d lines); %d file(s) under %.0f %%: %s"
          % (core_pct, covered, total, len(low), args.min_file,
             ", ".join("%s %.1f" % (f["filename"], f["line_percent"]) for f in low) or "none"))
    print("coverage: per-file table in %s" % args.out)
    return 0 if core_pct >= args.min_total and not low else 1


if __name__ == "__main__":
    sys.exit(main())
