# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end SMTP figures for make bench: message throughput and
connection rate of Exim with every moat module on (LMDB, Redis) over the
same Exim without moat's snippets, measured in the same run, spool and
state on tmpfs so disk syncs do not hide CPU cost; and the LMDB one again
with FULL_STORE_KEYS keys in its store, as a busy server's would hold; and
plain Exim calling one ${dlfunc} of an empty object at connect
(empty_dlfunc.c): what loading any module costs a connection here, the
floor under every moat figure. Two more floors, connection rate only (they
add nothing per message): the design floor, two empty objects sharing a
runtime object that needs nothing (empty_runtime.c), moat's shape with none
of its weight; and moat's objects loaded, two empty objects linking
libmoat.so.0 as a module's glue does, nothing of moat called.

ROUNDS interleaved rounds, each kind measured once per round, so that the
machine's noise hits every kind alike; a round's ratio is a kind's figure
over plain Exim's in the same round. summary() gives the median of the
rounds and the spread (lowest and highest ratio)."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import Exim, RedisServer, build_dir, exim_ids, message  # noqa: E402

SESSIONS = 8
# 8,000 messages a throughput measurement (several seconds): with 2,000 a
# round's ratio ranged from 0.58 to 1.48 on an idle 2-core machine.
MESSAGES_PER_SESSION = 1000
CONNECTIONS = 480
ROUNDS = int(os.environ.get("MOAT_E2E_ROUNDS", "7"))
FULL_STORE_KEYS = 1000000
KINDS = ("plain", "empty-dlfunc", "design-floor", "moat-loaded", "lmdb", "redis", "lmdb-full")
# Kinds whose connect ACL calls empty ${dlfunc} objects (tests/bench/), and which.
EMPTY_OBJECTS = {"empty-dlfunc": ("empty_dlfunc.so",),
                 "design-floor": ("floor_a.so", "floor_b.so"),
                 "moat-loaded": ("loaded_a.so", "loaded_b.so")}
CONNECTIONS_ONLY = ("design-floor", "moat-loaded")   # throughput not measured
MODULES = ["rcpt", "authlock", "catchall", "autoreply", "batv"]
RCPTS = "alice@example.test\nbob@example.test\npostmaster@example.test\ncarol@example.test\n"
BODY = message(sender="load@remote.test", to="alice@example.test", body="x" * 2000 + "\n")


def empty_dlfuncs(kind):
    """The connect ACL statements of a floor kind: one ${dlfunc} of each of
    its objects, each of which does nothing (empty_dlfunc.c)."""
    return "".join("warn set acl_m_empty = ${dlfunc{%s}{moat_bench_empty}}\n"
                   % os.path.join(build_dir(), "bench", name)
                   for name in EMPTY_OBJECTS.get(kind, ()))


def make(kind, tmp, redis=None):
    modules = [] if kind == "plain" or kind in EMPTY_OBJECTS else MODULES
    ex = Exim(modules=modules, root_dir=os.path.join(tmp, kind), name=kind,
              store="redis" if kind == "redis" else "lmdb", redis=redis, sink=False,
              files={"recipients": RCPTS}, extra_main="queue_only = true\n",
              map_size="512M" if kind == "lmdb-full" else "64M",
              extra_acl_connect=empty_dlfuncs(kind))
    ex.prepare()
    ex.write_moat_conf('rcpt {\n  source = file\n  file = "%s"\n}\n' % ex.path("recipients")
                       + 'batv {\n  domains = {"example.test"}\n  keys = "%s"\n}\n'
                       % ex.path("state"))
    if kind == "lmdb-full":
        fill(ex)
    return ex


def fill(ex):
    """FULL_STORE_KEYS counters in ex's store (bench_store_scale fill), owned by Exim's user."""
    subprocess.run([os.path.join(build_dir(), "bench", "bench_store_scale"), "fill",
                    ex.path("moat.conf"), str(FULL_STORE_KEYS)], check=True)
    uid, gid = exim_ids()
    for name in os.listdir(ex.path("state")):
        os.chown(ex.path("state", name), uid, gid)


def throughput(ex):
    """Messages accepted per second by SESSIONS parallel sessions."""
    def worker(n):
        c = ex.smtp("127.9.%d.1" % n)
        c.ehlo()
        for _ in range(MESSAGES_PER_SESSION):
            c.mail("load@remote.test")
            c.rcpt("alice@example.test")
            c.data(BODY)
        c.quit()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(SESSIONS)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return SESSIONS * MESSAGES_PER_SESSION / (time.time() - t0)


def connection_rate(ex):
    """Connections per second: connect, EHLO, MAIL, RCPT, QUIT, each a new process."""
    per = CONNECTIONS // SESSIONS

    def worker(n):
        for i in range(per):
            c = ex.smtp("127.10.%d.%d" % (n, i % 250 + 1))
            c.ehlo()
            c.mail("load@remote.test")
            c.rcpt("alice@example.test")
            c.quit()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(SESSIONS)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * SESSIONS / (time.time() - t0)


def run():
    """{kind: [(messages/s or None, connections/s, seconds) per round]}"""
    tmp = tempfile.mkdtemp(prefix="moat-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                           else "/var/tmp")
    os.chmod(tmp, 0o755)
    redis = RedisServer().start()
    results = {}
    try:
        exims = {k: make(k, tmp, redis) for k in KINDS}
        for ex in exims.values():
            ex.start()
        for _ in range(ROUNDS):
            for kind, ex in exims.items():
                t0 = time.time()
                m = None if kind in CONNECTIONS_ONLY else throughput(ex)
                c = connection_rate(ex)
                results.setdefault(kind, []).append((m, c, time.time() - t0))
        for ex in exims.values():
            ex.stop()
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def summary(results):
    """{kind: (median messages/s, median connections/s, (median, low, high)
    throughput ratio, (median, low, high) connection-rate ratio)}; the
    throughput figures None for a kind measured for connections only"""
    plain = results["plain"]
    out = {}
    for kind, rounds in results.items():
        rc = [r[1] / p[1] for r, p in zip(rounds, plain)]
        if rounds[0][0] is None:
            m, tm = None, None
        else:
            rm = [r[0] / p[0] for r, p in zip(rounds, plain)]
            m, tm = median(r[0] for r in rounds), (median(rm), min(rm), max(rm))
        out[kind] = (m, median(r[1] for r in rounds), tm, (median(rc), min(rc), max(rc)))
    return out


def round_seconds(results):
    """How long one kind's measurement (throughput, then connection rate) took,
    median (the kinds measured for connections only left out)."""
    return median(r[2] for kind, rounds in results.items() if kind not in CONNECTIONS_ONLY
                  for r in rounds)
