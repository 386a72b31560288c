#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the integration tests (tests/integration/test_*.py, or those named)
against a real Exim. Needs root (Exim's daemon, client source addresses in
127.0.0.0/8, directories owned by the Exim user)."""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SLOWEST = 8   # test classes listed by the time they took


class TimedResult(unittest.TextTestResult):
    """Records the wall time since the previous test ended, per test class:
    its tests and its class set-up (an Exim started, a fixture written), so
    the run can name where the suite's time goes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last = time.time()
        self.per_class = {}

    def stopTest(self, test):
        super().stopTest(test)
        now = time.time()
        name = test.id().rsplit(".", 1)[0]
        self.per_class[name] = self.per_class.get(name, 0.0) + now - self.last
        self.last = now


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("tests", nargs="*", help="test files or names (default: all)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("integration tests need root: they start Exim's daemon and create "
              "directories owned by Debian-exim (run: sudo make integration)")
        return 2
    os.environ["MOAT_BUILD"] = os.path.abspath(args.build)
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    names = args.tests or sorted(f for f in os.listdir(HERE)
                                 if f.startswith("test_") and f.endswith(".py"))
    for name in names:
        name = os.path.basename(name)
        mod = name[:-3] if name.endswith(".py") else name
        suite.addTests(loader.loadTestsFromName(mod))
    start = time.time()
    result = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult).run(suite)
    print("integration: %d tests, %d failures, %d errors, %d skipped in %.0fs" % (
        result.testsRun, len(result.failures), len(result.errors), len(result.skipped),
        time.time() - start))
    slowest = sorted(result.per_class.items(), key=lambda kv: -kv[1])[:SLOWEST]
    print("  slowest: " + ", ".join("%s %.0fs" % (name, secs) for name, secs in slowest))
    for test, _ in result.failures + result.errors:
        print("  failed: %s" % test.id())
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
