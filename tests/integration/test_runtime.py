# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 19: one moat runtime per Exim process. A live SMTP session that
calls every module (connect, a failed AUTH, a bounce, MAIL, RCPT, DATA)
runs in one Exim process; while the connection is still open, that
process's /proc/PID/maps must show every module object and libmoat.so.0
loaded once, and the LMDB environment (lock.mdb, data.mdb) mapped once:
LMDB forbids opening one environment twice in a process (a second
mdb_env_open resets the reader table, closing one breaks the other's
locks), which is what a runtime per module did."""

import os
import re
import subprocess
import unittest

from harness import ALL_MODULES, Exim, RedisServer, message, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
# The libraries of libmoat's backends (common/backend.h): mapped only into
# the processes of a site whose configuration uses them.
BACKEND_LIBRARIES = {"redis": "libhiredis", "geoip": "libmaxminddb", "cdb": "libcdb"}


def children(pid):
    """The pids whose parent is pid (from /proc/*/stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def session_maps(ex, converse):
    """The /proc/PID/maps of the process of one SMTP session, read after
    converse(client) while the connection is still open. An earlier
    session's process may still be ending (Exim waits for the client to
    close after QUIT): the session starts once the daemon has no child."""
    wait_until(lambda: not children(ex.proc.pid), timeout=10, interval=0.02)
    c = ex.smtp("127.0.19.1")
    converse(c)
    wait_until(lambda: len(children(ex.proc.pid)) == 1, timeout=10, interval=0.02)
    pids = children(ex.proc.pid)
    if len(pids) != 1:
        raise AssertionError("the daemon's children: %s" % pids)
    with open("/proc/%d/maps" % pids[0]) as f:
        maps = f.read()
    c.quit()
    return maps


def backend_mappings(counts, lib):
    """{what: count} of the backends and their libraries in a map's loads."""
    found = {}
    for path, n in counts.items():
        base = os.path.basename(path)
        if path.startswith(os.path.join(lib, "backends") + "/"):
            found[os.path.relpath(path, lib)] = n
        for library in BACKEND_LIBRARIES.values():
            if base.startswith(library + "."):
                found[library] = n
    return found


def loads(maps_text):
    """{path: how many times it is mapped}: one count per mapping that
    starts at file offset 0 (each mmap of a whole file, each load of a
    shared object, however many segments or split areas follow)."""
    counts = {}
    for line in maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and int(parts[2], 16) == 0:
            path = parts[5].replace(" (deleted)", "")
            counts[path] = counts.get(path, 0) + 1
    return counts


class RuntimeTest(unittest.TestCase):

    def test_a_session_through_every_module_maps_one_runtime_and_one_store(self):
        with Exim(extra_main="queue_only = true\n") as ex:
            c = ex.smtp("127.0.19.1")
            self.assertEqual(c.banner[0], 220)                        # rcpt, authlock
            self.assertEqual(c.ehlo()[0], 250)
            self.assertEqual(c.auth_plain("alice", "not-her-password")[0], 535)  # authlock
            c.mail("")                                    # a bounce: batv (in rcpt's router)
            c.rcpt("alice@example.test")
            c.rset()
            self.assertEqual(c.mail("someone@remote.test")[0], 250)
            self.assertEqual(c.rcpt("bob@example.test")[0], 250)     # rcpt (and catchall)
            self.assertEqual(c.data(message(sender="someone@remote.test",
                                            to="bob@example.test"))[0], 250)  # autoreply

            # The connection is open: its process is the daemon's only child.
            wait_until(lambda: len(children(ex.proc.pid)) == 1, timeout=10, interval=0.02)
            pids = children(ex.proc.pid)
            self.assertEqual(len(pids), 1, "the daemon's children: %s" % pids)
            with open("/proc/%d/maps" % pids[0]) as f:
                maps = f.read()
            c.quit()

            counts = loads(maps)
            lib = os.path.realpath(ex.path("lib"))
            state = os.path.realpath(ex.path("state"))
            # what a failure shows: moat's part of the map
            maps = "\n".join(l for l in maps.splitlines() if lib in l or state in l)
            # (catchall's and batv's RCPT decisions are taken by rcpt's
            # router call, in libmoat: with rcpt on, catchall.so and batv.so
            # are not needed in an SMTP session without a sender probe or an
            # auto-reply)
            judged_by_rcpt = ("catchall", "batv")
            for m in ALL_MODULES:
                self.assertEqual(counts.get(os.path.join(lib, m + ".so")),
                                 None if m in judged_by_rcpt else 1,
                                 "%s.so loaded once (called in the session):\n%s" % (m, maps))
            self.assertEqual(counts.get(os.path.join(lib, "libmoat.so.0")), 1, maps)
            for f in ("lock.mdb", "data.mdb"):
                self.assertEqual(counts.get(os.path.join(state, f)), 1,
                                 "%s mapped once:\n%s" % (f, maps))
            # Nothing else of moat's is mapped: no second libmoat under another name.
            ours = sorted(p for p in counts if p.startswith(lib + "/"))
            self.assertEqual(ours, sorted([os.path.join(lib, m + ".so") for m in ALL_MODULES
                                           if m not in judged_by_rcpt]
                                          + [os.path.join(lib, "libmoat.so.0")]))
            # A site on LMDB without GeoIP or a CDB directory: no backend
            # is loaded, and neither hiredis, libmaxminddb nor tinycdb mapped.
            self.assertEqual(backend_mappings(counts, lib), {}, maps)
            self.assertIsNone(re.search(r"moat .*error", ex.mainlog()), ex.mainlog())
            self.assertEqual(ex.paniclog(), "")


def backend_site(redis, recipients="alice@example.test\nbob@example.test\n"):
    """An Exim whose moat.conf uses every backend: the Redis store, GeoIP
    databases (authlock) and a CDB directory (rcpt)."""
    ex = Exim(modules=["rcpt", "authlock"], store="redis", redis=redis,
              files={"recipients": recipients}, extra_main="queue_only = true\n")
    ex.prepare()
    mmdb = ex.path("geo.mmdb")
    subprocess.run(["perl", os.path.join(HERE, "mmdb_writer.pl"), mmdb,
                    "127.0.19.0/24=DE:64500"], check=True)
    os.chmod(mmdb, 0o644)
    comp = ex.moatctl("rcpt", "compile", ex.path("recipients"), ex.path("recipients.cdb"))
    assert comp.returncode == 0, comp.stderr
    os.chmod(ex.path("recipients.cdb"), 0o644)
    ex.write_moat_conf('rcpt {\n  source = cdb\n  cdb = "%s"\n}\n'
                       'geoip {\n  country_db = "%s"\n  asn_db = "%s"\n}\n'
                       % (ex.path("recipients.cdb"), mmdb, mmdb))
    return ex


def converse(codes):
    """A session that needs every backend: a failed AUTH (authlock: GeoIP,
    Redis), a known and an unknown recipient (rcpt: CDB, Redis)."""
    def run(c):
        c.ehlo()
        codes.append(c.auth_plain("alice", "not-her-password")[0])
        codes.append(c.mail("someone@remote.test")[0])
        codes.append(c.rcpt("alice@example.test")[0])
        codes.append(c.rcpt("nobody@example.test")[0])
    return run


class BackendTest(unittest.TestCase):
    """Redis, GeoIP and the CDB directory are backends of libmoat, each a
    shared object with its library, loaded by the process whose
    configuration uses it, once."""

    def setUp(self):
        self.redis = RedisServer().start()

    def tearDown(self):
        self.redis.stop()

    def test_a_site_that_uses_them_loads_each_backend_once(self):
        with backend_site(self.redis) as ex:
            codes = []
            counts = loads(session_maps(ex, converse(codes)))
            self.assertEqual(codes, [535, 250, 250, 550])
            lib = os.path.realpath(ex.path("lib"))
            expected = {os.path.join("backends", b + ".so"): 1 for b in BACKEND_LIBRARIES}
            expected.update({library: 1 for library in BACKEND_LIBRARIES.values()})
            self.assertEqual(backend_mappings(counts, lib), expected)
            # the failed AUTH was located (GeoIP) and counted (Redis)
            self.assertRegex(ex.mainlog(), r"moat authlock: .*country=DE")
            self.assertTrue(self.redis.cli("--scan", "--pattern", "*").strip())
            self.assertIsNone(re.search(r"moat .*error", ex.mainlog()), ex.mainlog())
            self.assertEqual(ex.paniclog(), "")

    def test_a_missing_backend_is_named_and_mail_still_flows(self):
        ex = backend_site(self.redis)

        def missing(backend):
            return r"cannot load backend %s: /\S+/lib/backends/%s\.so: cannot open" % (
                backend, backend)
        with ex:
            # GeoIP's gone and CDB's not one of this version (a broken
            # installation; a process older than an upgrade): moat's own
            # fault, on_error = accept (the default) lets the session go
            # on; Exim's own checks still refuse the AUTH and the unknown
            os.rename(ex.path("lib", "backends", "geoip.so"), ex.path("lib", "backends", "cdb.so"))
            codes = []
            session_maps(ex, converse(codes))
            self.assertEqual(codes, [535, 250, 250, 550])
            log = ex.mainlog()
            self.assertRegex(log, r"moat geo: geo rules are off: " + missing("geoip"))
            self.assertRegex(log, r"moat rcpt: error: /\S+/lib/backends/cdb\.so has no "
                                  r"moat_backend_cdb_v1: not a moat backend of this version")
            # and then Redis's, in the next connection's process
            os.unlink(ex.path("lib", "backends", "redis.so"))
            codes = []
            session_maps(ex, converse(codes))
            self.assertEqual(codes, [535, 250, 250, 550])
            self.assertRegex(ex.mainlog(), r"moat rcpt: error: the redis store: "
                             + missing("redis") + r".*\(answering per on_error=accept\)")
            self.assertEqual(ex.paniclog(), "")


if __name__ == "__main__":
    unittest.main()
