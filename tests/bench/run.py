#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: run every benchmark binary (build/bench/bench_*), print their
figures as a table and write BENCHMARKS.md with the machine they ran on."""

import argparse
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import instructions  # noqa: E402
import memory  # noqa: E402
import session  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PER_CALL_RUNS = 5   # runs of each per-call benchmark; each case keeps its best


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


def ratelimit_note(insn):
    """The sentence that puts the per-call counts beside one Exim ratelimit."""
    try:
        added = insn[("ratelimit", "valid")] - insn[("unchecked", "valid")]
    except (KeyError, TypeError):
        return ""
    return ("For comparison, one Exim `ratelimit` check adds %.0f instructions to a RCPT "
            "(above)." % added)


def every_note(insn):
    """The sentence that reads the every-module row against Exim's own verify."""
    if not insn:
        return ""
    total, added = instructions.every_vs_verify(insn)
    return ("With every module on, a valid RCPT costs %.2fx what it costs with Exim's own "
            "`verify = recipient` alone; moat adds %.2fx what that verify adds." % (total, added))


def callgrind_counts(binary, factor):
    """{(module, case): (instructions, calls)} of one run of binary under callgrind."""
    counts = {}
    with tempfile.TemporaryDirectory(prefix="moat-bench-cg-") as d:
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                        os.path.join(d, "cg"), binary], capture_output=True, cwd=ROOT,
                       env=dict(os.environ, MOAT_BENCH_CALLS_FACTOR=str(factor)))
        for dump in glob.glob(os.path.join(d, "cg.*")):
            with open(dump) as f:
                text = f.read()
            desc = re.search(r"^desc: Trigger: Client Request: (\S+) (\S+) (\d+)$", text, re.M)
            total = re.search(r"^summary: (\d+)$", text, re.M)
            if desc and total:
                counts[(desc.group(1), desc.group(2))] = (int(total.group(1)),
                                                          int(desc.group(3)))
    return counts


def count_instructions(binary):
    """Each case's instructions per call: the bench run twice more under
    callgrind, the second time with twice the calls (tests/bench/measure.h);
    the difference per call, so what a case does once cancels."""
    if not shutil.which("valgrind"):
        return {}
    once, twice = callgrind_counts(binary, 1), callgrind_counts(binary, 2)
    return {k: (twice[k][0] - once[k][0]) / (twice[k][1] - once[k][1])
            for k in once if k in twice and twice[k][1] > once[k][1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    rows, scale, best, insns = [], {}, {}, {}
    for binary in sorted(glob.glob(os.path.join(args.build, "bench", "bench_*"))):
        if not binary.endswith("bench_store_scale"):
            insns.update(count_instructions(binary))
        # The per-call benchmarks run PER_CALL_RUNS times and keep each case's
        # best: other guests of a shared machine only ever make a run slower.
        for _ in range(PER_CALL_RUNS):
            out = subprocess.run([binary], capture_output=True, text=True)
            if out.returncode != 0:
                print("%s failed:\n%s" % (binary, out.stderr))
                return 1
            for line in out.stdout.splitlines():
                m = re.match(r"bench (\S+) (\S+)\s+([\d.]+) (ns/call|MB|ms)$", line)
                if m and m.group(1) == "store-scale":
                    size, what = re.match(r"lmdb-(\w+)-keys-([\w-]+)", m.group(2)).groups()
                    value = float(m.group(3))
                    if (size, what) not in scale or value < scale[(size, what)][0]:
                        scale[(size, what)] = (value, m.group(4))
                elif m:
                    key = (m.group(1), m.group(2))
                    if key not in best:
                        rows.append(key)
                    if key not in best or float(m.group(3)) < float(best[key][2]):
                        best[key] = m.groups()
    table = ["| module | case | ns per call | instructions per call |", "|---|---|---|---|"]
    table += ["| %s | %s | %s | %s |" % (k[0], k[1], best[k][2], "%.0f" % insns[k] if k in insns
                                         else "") for k in rows]
    rows = [best[k] for k in rows]
    print("\n".join(table))
    scale_table = scale_rows(scale)
    print(scale_table)
    os.environ["MOAT_BUILD"] = os.path.abspath(args.build)
    insn, _ = instructions.run()
    insn_table = instructions.table(insn) if insn else "(valgrind is not installed)"
    session_table = instructions.session_table(insn) if insn else ""
    print(insn_table)
    print(session_table)
    sess = session.run()
    sess_table = session.table(sess) if sess else "(valgrind is not installed)"
    print(sess_table)
    mem_table = memory.table(memory.run())
    print(mem_table)
    load_before = os.getloadavg()
    runs = e2e.run()
    res, e2e_seconds = e2e.summary(runs), e2e.round_seconds(runs)
    load = "load average %.1f before, %.1f after" % (load_before[0], os.getloadavg()[0])
    e2e_table = ["| Exim | messages/s | ratio | lowest, highest | connections/s | ratio "
                 "| lowest, highest |", "|---|---|---|---|---|---|---|"]
    for kind in e2e.KINDS:
        m, c, rm, rc = res[kind]
        messages = "| - | - | - " if m is None else "| %.0f | %.2f | %.2f, %.2f " % (
            m, rm[0], rm[1], rm[2])
        e2e_table.append("| %s %s| %.0f | %.2f | %.2f, %.2f |" % (
            {"plain": "without moat", "empty-dlfunc": "without moat, one empty ${dlfunc}",
             "design-floor": "without moat, two empty ${dlfunc} objects sharing an empty "
                             "runtime object (the design floor)",
             "moat-loaded": "without moat's snippets, two empty ${dlfunc} objects linking "
                            "libmoat.so.0 (moat loaded, nothing called)",
             "lmdb": "every module, LMDB",
             "redis": "every module, Redis",
             "lmdb-full": "every module, LMDB holding {:,} keys".format(e2e.FULL_STORE_KEYS)
             }[kind], messages, c, rc[0], rc[1], rc[2]))
    print("\n".join(e2e_table))
    print(load)
    plot = write_plot(res)
    kept = measured_once()
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("# Benchmarks\n\nLast run: %s on %s.\n\n"
                "## End to end\n\nExim accepting mail (queue_only) from %d parallel sessions of "
                "%d messages each, and %d connections (connect, EHLO, MAIL, RCPT, QUIT), spool "
                "and state on tmpfs, with every module on (%s); ratios against the same "
                "Exim without moat's snippets, measured in the same run: %d interleaved "
                "rounds, a round's ratio taken against plain Exim's figure of that round; "
                "the table gives the median of the rounds and the lowest and highest ratio. "
                "Each kind's measurement took %.0f s (median). The machine is shared: %s. "
                "Wall-clock ratios move with the other guests' load; the instruction counts "
                "per connection and per message below them do not. The second row is "
                "plain Exim calling one `${dlfunc}` of an object that does nothing "
                "(tests/bench/empty_dlfunc.c) in its connect ACL: what loading any module "
                "costs a connection on this machine (Exim forks a process per connection, "
                "and each dlopens its modules), the floor under every moat figure. The next "
                "two, connections only (they add nothing per message): the design floor, "
                "two such objects that share a third object which needs nothing "
                "(tests/bench/empty_runtime.c): moat's shape in a connection's process "
                "(the rcpt and authlock objects called at connect, one runtime library) "
                "with none of its weight; and the two objects linking libmoat.so.0 the way "
                "a module's glue does: moat's objects and libraries loaded, nothing of "
                "moat called, no moat.conf read. The last "
                "row is the LMDB one again with its store filled beforehand (counters under "
                "the keys rcpt and authlock keep per client, for random addresses), to show "
                "what a full store costs Exim. Target: ratios of at least 0.98.\n\n%s\n\n%s\n"
                "Instructions per SMTP session, counted by callgrind: a connection as above "
                "(its `exim -bs` session less `exim -bV` on the same configuration, i.e. "
                "less process start-up and configuration parsing, which Exim's daemon does "
                "once; module loading, moat.conf and the store's opening stay in: each "
                "connection's process pays them), and a message inside a session (sessions "
                "of 1 and %d + 1 messages of the same 2 kB, the difference per message).\n\n"
                "%s\n\n"
                "## Instructions per RCPT, against Exim's own checks\n\n"
                "Counted by callgrind (stable where time is not): `exim -bs` sessions of 1 and "
                "%d + 1 RCPTs through the same configuration; the difference per RCPT, so "
                "start-up, module loading and configuration parsing are left out. \"added\" "
                "is the cost over Exim accepting the recipient unchecked. Every row after "
                "the first verifies local recipients as Debian's ACL does (`deny ... "
                "!verify = recipient` after relay hosts and authenticated clients); moat's "
                "rcpt decides while Exim routes the recipient for that verification (a "
                "first `verify_only` router: one `${dlfunc}` with two arguments), and what "
                "is left of moat's ACL statements on a recipient's path counts (each costs "
                "Exim 4.96 some thousands of instructions). Unknown recipients are counted "
                "(harvest detection, thresholds out of reach so none is blocked).\n\n%s\n\n%s\n\n"
                "## Instructions per SMTP session\n\nCounted by callgrind: one whole "
                "`exim -bs` session (EHLO, a failed AUTH, a bounce to a local user, RSET, a "
                "message from a remote sender to a local user, QUIT), %d runs each; "
                "with every module on, everything a connection process does once is in it: "
                "loading the module objects and libmoat.so.0, parsing moat.conf, opening the "
                "store (tests/bench/session.py). Exim's own start-up (an exec here, a fork in "
                "the daemon) is in both.\n\n%s\n\n"
                "## Memory per Exim process\n\nOne SMTP session held open after a valid RCPT "
                "(every module loaded, moat.conf parsed, the store opened), read from "
                "/proc/PID/smaps_rollup. Private memory is what each concurrent session "
                "costs.\n\n%s\n\n"
                "## The LMDB store as it fills\n\n%s\n\n%s\n\n"
                "## Per call\n\nThe logic of each entry point on an LMDB store "
                "(`make bench`; wall-clock ns per call, the best of five runs: noisy on shared "
                "machines; instructions per call counted by callgrind, stable from run to "
                "run: two more runs with fewer calls, the second with twice as many, the "
                "difference per call, so what a case does only once is left out; valgrind's CPU has no SHA instructions, "
                "so hashing counts more than it costs natively). %s The attacks come from one client address, and (*-new-address*) "
                "from a new one on every attempt, as from a botnet, where each call also "
                "creates the address's keys. The near-miss search over 10000 addresses "
                "(*nearmiss-*: numbered ones, the worst case, and first.last names; the first "
                "search after the list is loaded also indexes it) is not a hot path: it runs "
                "for a client's first 3 unknown recipients only (docs/rcpt.md). "
                "Target: every hot path under 10 us.\n\n%s\n\n"
                "## Against the targets\n\n%s\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine(),
                   e2e.SESSIONS, e2e.MESSAGES_PER_SESSION, e2e.CONNECTIONS,
                   ", ".join(e2e.MODULES), e2e.ROUNDS, e2e_seconds, load,
                   "\n".join(e2e_table), "![throughput ratios](%s)\n" % plot if plot else "",
                   instructions.MESSAGES, session_table,
                   instructions.RCPTS, insn_table, every_note(insn), session.RUNS, sess_table,
                   mem_table, SCALE_TEXT, scale_table, ratelimit_note(insn), "\n".join(table),
                   verdicts(res, rows, scale, insn)))
        f.write(kept)
    return 0


def measured_once():
    """The sections of the present BENCHMARKS.md headed "## Measured once: ..."
    (a comparison made for one change, such as a build before and after it),
    which make bench cannot redo: kept at the end as they are."""
    try:
        with open(os.path.join(ROOT, "BENCHMARKS.md")) as f:
            text = f.read()
    except OSError:
        return ""
    parts = re.split(r"(?m)^(?=## )", text)
    return "".join("\n" + p.rstrip("\n") + "\n" for p in parts
                   if p.startswith("## Measured once:"))


SCALE_TEXT = (
    "`tests/bench/bench_store_scale.c` fills one store with 1k, 100k and 1M counters (the best "
    "of five runs, like the per-call figures). At each size: a counter picked at random, read "
    "20000 times in one process (*lookup*); the same reads by LMDB alone on the same file "
    "(`mdb_get` in one read transaction, keys built the same way: the floor of any store kept "
    "in LMDB); reads by 200 new processes 8 times each after opening the store, as each SMTP "
    "session meets it (*lookup in a new process*: its first touch of a page is a page fault); "
    "an update; the pages LMDB holds (the file itself is reserved at the map's size, see "
    "docs/store.md); a full sweep (every record examined). Then, with the store at that size, "
    "the calls SMTP sessions make, 6000 of each from new client addresses: an attack's (an "
    "unknown recipient, a failed login) and legitimate mail's (a valid recipient, a successful "
    "login). Target: at 1M keys within 2x of 1k keys.\n\n"
    "A lone random lookup at 1M keys is bound by memory latency: the tree (over 200 MB) is 4 "
    "levels deep, its leaves are far larger than every CPU cache, and the binary search in a "
    "leaf touches several cache lines, each a miss to DRAM; in a new process each page's first "
    "touch is also a page fault. At 1k keys the whole tree is in the cache and the lookup "
    "costs little more than the call itself. LMDB's own lookup grows the same way: moat's "
    "store adds about the same few tens of ns at every size (within the noise), so the ratio measures the machine's "
    "memory, not moat. What an SMTP session's calls cost, writes and all, hardly moves with "
    "the size.")


def verdicts(res, rows, scale, insn):
    """One line per target (issues 8 and 19): met or not, with the figure."""
    out = []
    for kind in ("lmdb", "redis"):
        for i, what in ((2, "throughput"), (3, "connection rate")):
            r, low, high = res[kind][i]
            floor = ""
            if i == 3 and all(k in res for k in e2e.EMPTY_OBJECTS):
                floor = (" (the floors here: one empty ${dlfunc} at connect %.3f; the "
                         "design floor, two empty objects sharing an empty runtime %.3f; "
                         "moat's objects loaded, nothing called %.3f)"
                         % tuple(res[k][3][0] for k in e2e.EMPTY_OBJECTS))
            out.append("- %s ratio, %s: %.3f (rounds %.2f to %.2f; target >= 0.98): %s%s"
                       % (what, kind.upper() if kind == "lmdb" else "Redis", r, low, high,
                          "met" if r >= 0.98 else "NOT met", floor))
    if insn:
        total, added = instructions.every_vs_verify(insn)
        out.append("- a valid RCPT with every module on within 2x of Exim's own verify = "
                   "recipient: %.2fx (moat's addition %.2fx what the verify adds): %s"
                   % (total, added, "met" if total <= 2 else "NOT met"))
    slow = ["%s %s %.1f us" % (m, c, float(v) / 1000) for m, c, v, u in rows
            if u == "ns/call" and m != "store" and "nearmiss" not in c and float(v) >= 10000]
    out.append("- every hot path under 10 us with LMDB: %s" % (
        "met" if not slow else "NOT met by " + ", ".join(slow)))
    if "lmdb-full" in res:
        full = [res["lmdb-full"][i] / res["lmdb"][i] for i in (0, 1)]   # medians
        out.append("- what a full store costs Exim, within 2x: with every module on and "
                   "{:,} keys in the LMDB store, throughput %.2f and connection rate %.2f of the "
                   "same with a few hundred: %s".format(e2e.FULL_STORE_KEYS)
                   % (full[0], full[1], "met" if min(full) >= 0.5 else "NOT met"))
    if all((z, w) in scale for z in ("1k", "1M") for w in SCALE_CALLS):
        calls = {w: scale[("1M", w)][0] / scale[("1k", w)][0] for w in SCALE_CALLS}
        worst = max(calls.values())
        out.append("- what an SMTP session's calls cost at 1M keys within 2x of 1k keys: %s: %s"
                   % (", ".join("%s %.1fx" % (w, r) for w, r in calls.items()),
                      "met" if worst <= 2 else "NOT met"))
    moat_ops = [w for w in SCALE_OPS if w != "lmdb-read"]
    if all((z, w) in scale for z in ("1k", "1M") for w in SCALE_OPS):
        ops = {w: scale[("1M", w)][0] / scale[("1k", w)][0] for w in moat_ops}
        floor = scale[("1M", "lmdb-read")][0] / scale[("1k", "lmdb-read")][0]
        out.append("- a single store operation at 1M keys within 2x of 1k keys: %s "
                   "(LMDB alone on the same file: read %.1fx): %s"
                   % (", ".join("%s %.1fx" % (w, r) for w, r in ops.items()), floor,
                      "met" if max(ops.values()) <= 2 else
                      "NOT met (see \"The LMDB store as it fills\")"))
    return "\n".join(out)


SCALE_OPS = ("read", "lmdb-read", "session-read", "update")
SCALE_CALLS = ("rcpt-unknown", "login-failure", "rcpt-valid", "login-success")


def ratio_row(scale, cols):
    """The 1M / 1k cells of a scale table's columns."""
    return " | ".join("%.1fx" % (scale[("1M", c)][0] / scale[("1k", c)][0])
                      if scale.get(("1k", c), (0,))[0] and ("1M", c) in scale else ""
                      for c in cols)


def scale_rows(scale):
    """Markdown tables of the store at each size (operations, then calls), with 1M/1k."""
    sizes = [z for z in ("1k", "100k", "1M") if (z, "read") in scale]
    ops = ["| keys | lookup ns | LMDB alone ns | lookup in a new process ns | update ns "
           "| MB in use | sweep ms |", "|---|---|---|---|---|---|---|"]
    calls = ["| keys | unknown RCPT ns | failed login ns | valid RCPT ns | successful login ns |",
             "|---|---|---|---|---|"]
    for z in sizes:
        ops.append("| %s | %s | %.1f | %.1f |" % (
            z, " | ".join("%.0f" % scale.get((z, c), (0,))[0] for c in SCALE_OPS),
            scale.get((z, "used"), (0,))[0], scale.get((z, "sweep"), (0,))[0]))
        calls.append("| %s | %s |" % (
            z, " | ".join("%.0f" % scale.get((z, c), (0,))[0] for c in SCALE_CALLS)))
    if "1k" in sizes and "1M" in sizes:
        ops.append("| 1M / 1k | %s | | |" % ratio_row(scale, SCALE_OPS))
        calls.append("| 1M / 1k | %s |" % ratio_row(scale, SCALE_CALLS))
    return "\n".join(ops) + "\n\n" + "\n".join(calls)


def write_plot(res):
    """benchmarks.svg: the ratios as bars (gnuplot); its name, or "" without gnuplot."""
    import shutil as sh
    if not sh.which("gnuplot"):
        return ""
    data = os.path.join(ROOT, "build", "bench-ratios.dat")
    with open(data, "w") as f:
        for kind, label in (("lmdb", "LMDB"), ("redis", "Redis")):
            f.write("%s %.3f %.3f\n" % (label, res[kind][2][0], res[kind][3][0]))
    script = ('set terminal svg size 560,320; set output "%s/benchmarks.svg"; '
              'set style data histograms; set style fill solid 0.8; set yrange [0:1.2]; '
              'set ylabel "ratio to Exim without moat"; set key top left; '
              'set arrow from graph 0, first 0.98 to graph 1, first 0.98 nohead dt 2; '
              'plot "%s" using 2:xtic(1) title "messages/s", "" using 3 title "connections/s"'
              % (ROOT, data))
    subprocess.run(["gnuplot", "-e", script], check=False)
    return "benchmarks.svg" if os.path.exists(os.path.join(ROOT, "benchmarks.svg")) else ""


if __name__ == "__main__":
    sys.exit(main())
