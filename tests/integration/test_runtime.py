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
import unittest

from harness import ALL_MODULES, Exim, message, wait_until


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
            self.assertIsNone(re.search(r"moat .*error", ex.mainlog()), ex.mainlog())
            self.assertEqual(ex.paniclog(), "")


if __name__ == "__main__":
    unittest.main()
