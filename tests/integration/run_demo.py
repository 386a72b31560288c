#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make run: a real Exim in the foreground on 127.0.0.1:PORT with every moat
module on through the shipped snippets, the LMDB store under run/state,
mail in run/mail/<user>/, logs in run/log/. Mail for other domains
(auto-replies included) is kept in the maildir run/outbound/: the demo never
sends anything out. Ctrl-C stops it. --dir DIR uses DIR instead of run/.

The Exim user must reach every directory Exim uses. When the checkout is
not reachable by Debian-exim (a private home directory), the real directory
is created under /var/lib/moat-run and run/ becomes a symlink to it."""

import argparse
import os
import signal
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402

DEMO_CONF = """# moat.conf of `make run` (the store section above is written by the harness)
rcpt {
}
authlock {
}
catchall {
}
autoreply {
    local_domains = {"example.test"}
}
batv {
    domains = {"example.test"}
    keys = "%(keys)s"
    grace = 0
}
"""

# Mail for other domains is kept on the machine, in one maildir, so a demo
# never sends anything anywhere (auto-replies and bounces included).
OUTBOUND_ROUTER = """demo_outbound:
  driver = accept
  domains = ! +local_domains
  transport = demo_outbound
"""
OUTBOUND_TRANSPORT = """demo_outbound:
  driver = appendfile
  directory = %s
  maildir_format
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  user = Debian-exim
  group = Debian-exim
.ifdef MOAT_ENABLE_BATV
  return_path = MOAT_BATV_RETURN_PATH
.endif
"""


def reachable_by_exim(path):
    return subprocess.run(["runuser", "-u", harness.EXIM_USER, "--", "test", "-x", path],
                          capture_output=True).returncode == 0


def run_dir():
    link = os.path.join(ROOT, "run")
    if os.path.islink(link):
        return os.path.realpath(link)
    if reachable_by_exim(ROOT):
        os.makedirs(link, exist_ok=True)
        return link
    real = "/var/lib/moat-run"
    os.makedirs(real, exist_ok=True)
    if os.path.isdir(link):
        os.rename(link, link + ".old")
    os.symlink(real, link)
    print("run/: the checkout is not reachable by %s; using %s" % (harness.EXIM_USER, real))
    return real


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", help="directory instead of run/ (it must be reachable by %s)"
                    % harness.EXIM_USER)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("make run needs root: Exim's daemon starts as root and gives up privileges")
        return 2
    os.environ["MOAT_BUILD"] = os.path.abspath(os.path.join(ROOT, args.build))
    d = os.path.abspath(args.dir) if args.dir else run_dir()
    # batv: no grace (the demo has no history), keys next to the demo's state
    conf_text = DEMO_CONF % {"keys": os.path.join(d, "state", "batv")}
    custom = os.path.join(d, "moat.local.conf")
    if os.path.exists(custom):
        with open(custom) as f:
            conf_text = f.read()
    ex = harness.Exim(root_dir=d, port=args.port, name="run", moat_conf=conf_text, sink=False,
                      relay_from="", extra_routers=OUTBOUND_ROUTER,
                      extra_transports=OUTBOUND_TRANSPORT % ex_dir(d),
                      vacation={"bob": "Bob is on vacation; your message will be read later."})
    ex.prepare()
    ex._mkdir(ex_dir(d), owner_exim=True, mode=0o750)
    ok, out = ex.check_config()
    if not ok:
        print(out)
        return 1
    return run_foreground(ex, args.port, d)


def ex_dir(d):
    return os.path.join(d, "outbound")


def banner(ex, port, d):
    print("""moat demo: Exim on 127.0.0.1:%d, every module on (%s)
  domain example.test, mailboxes postmaster alice bob carol -> %s/mail/<user>/new/
  AUTH PLAIN/LOGIN (no TLS, loopback only): alice / alice-demo-pw, bob / bob-demo-pw
  bob is on vacation; mail that would leave the server stays in %s/outbound/new/
  state (LMDB): %s/state   logs: %s/log/   configs: %s/exim.conf, %s/moat.conf

Try, in another terminal:
  swaks --server 127.0.0.1:%d --from someone@remote.test --to alice@example.test
  swaks --server 127.0.0.1:%d --from someone@remote.test --to nobody@example.test
  swaks --server 127.0.0.1:%d --auth PLAIN --auth-user alice --auth-password alice-demo-pw \\
        --from alice@example.test --to bob@example.test
  # batv: alice's mail to the outside leaves with a prvs= envelope sender
  # (Return-path in %s/outbound/new/); a forged bounce to her is refused:
  swaks --server 127.0.0.1:%d --auth PLAIN --auth-user alice --auth-password alice-demo-pw \
        --from alice@example.test --to friend@remote.test
  swaks --server 127.0.0.1:%d --from '<>' --to alice@example.test
  tail -f %s/log/mainlog
Ctrl-C stops Exim.
""" % (port, " ".join(ex.modules), d, d, d, d, d, d, port, port, port, d, port, port, d),
          flush=True)


def run_foreground(ex, port, d):
    """Run the daemon until Ctrl-C, SIGTERM or SIGHUP. Exim runs in a
    session of its own, so that stopping it (and what it forked) is done
    once, here."""
    stopping = []
    proc = None

    def stop(signum, frame):
        stopping.append(signum)
        if proc is not None and proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)        # the terminal went away
    proc = subprocess.Popen([harness.EXIM, "-C", ex.path("exim.conf"), "-bdf", "-oX",
                             str(port), "-oP", ex.path("exim.pid"), "-q1m"],
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=ex.exim_env())
    threading.Thread(target=relay_stderr, args=(proc.stderr,), daemon=True).start()
    ex.proc = proc
    if ex.wait_started(timeout=15):
        banner(ex, port, d)
    rc = proc.wait()
    ex.proc = None
    try:
        os.killpg(proc.pid, signal.SIGTERM)    # queue runner, deliveries in flight
    except ProcessLookupError:
        pass
    if stopping:
        print("\nmoat demo stopped; mail and logs stay in %s" % d)
        return 0
    print("Exim exited with status %d (see above and %s/log/)" % (rc, d))
    return 1


def relay_stderr(stream):
    """Exim's stderr to ours, less the line every delivery writes because the
    demo runs Exim with -C as root (see harness.Exim.HARNESS_PANIC)."""
    for line in iter(stream.readline, b""):
        if harness.Exim.HARNESS_PANIC.encode() not in line:
            sys.stderr.buffer.write(line)
            sys.stderr.flush()

if __name__ == "__main__":
    sys.exit(main())
