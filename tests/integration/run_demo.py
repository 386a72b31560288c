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
# debug: a line for every decision, rcpt's accepted recipients included
log {
    level = debug
}
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
    # run/moat.local.conf adds to these settings: libconfuse merges a section
    # given twice option by option, so only the options it names change (a
    # list is replaced; `name += {...}` appends to it)
    custom = os.path.join(d, "moat.local.conf")
    if os.path.exists(custom):
        with open(custom) as f:
            conf_text += "\n# ---- from %s ----\n" % custom + f.read()
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


def shown(d):
    """d as the README writes it: run/... when it is the checkout's run/."""
    link = os.path.join(ROOT, "run")
    if os.path.realpath(d) == os.path.realpath(link) and os.getcwd() == ROOT:
        return "run"
    return d


def moatctl_line(d):
    """The moatctl command line for this demo: --exim-config alone, moatctl
    reads moat.conf, the modules and the snippets from its macros."""
    ctl = os.path.relpath(harness.moatctl_path()) if os.getcwd() == ROOT else harness.moatctl_path()
    return "%s --exim-config %s/exim.conf" % (ctl, shown(d))


def banner(ex, port, d):
    r = shown(d)
    print("""moat demo: Exim on 127.0.0.1:%(port)d, every module on (%(modules)s)
  domain example.test, mailboxes postmaster alice bob carol -> %(r)s/mail/<user>/new/
  AUTH PLAIN/LOGIN (no TLS, loopback only): alice / alice-demo-pw, bob / bob-demo-pw
  bob is on vacation; mail that would leave the server stays in %(r)s/outbound/new/
  state (LMDB): %(r)s/state   logs: %(r)s/log/   configs: %(r)s/exim.conf, %(r)s/moat.conf
  your settings: %(r)s/moat.local.conf (added to the demo's at the next make run)

moatctl against this demo:
  %(ctl)s status

Try, in another terminal:
  swaks --server 127.0.0.1:%(port)d --from someone@remote.test --to alice@example.test
  swaks --server 127.0.0.1:%(port)d --from someone@remote.test --to nobody@example.test
  swaks --server 127.0.0.1:%(port)d --auth PLAIN --auth-user alice --auth-password alice-demo-pw \\
        --from alice@example.test --to bob@example.test
  swaks --server 127.0.0.1:%(port)d --from '<>' --to alice@example.test
  tail -f %(r)s/log/mainlog
The README's "Try it" has more. Ctrl-C stops Exim.
""" % dict(port=port, modules=" ".join(ex.modules), r=r, ctl=moatctl_line(d)), flush=True)


def run_foreground(ex, port, d):
    """Run the daemon until Ctrl-C, SIGTERM or SIGHUP. Exim runs in a
    session of its own, so that stopping it (and what it forked) is done
    once, here."""
    stopping = []
    proc = None

    def stop(signum, frame):
        stopping.append(signum)
        if proc is not None and proc.returncode is None:
            os.kill(proc.pid, signal.SIGTERM)   # not reaped: the pid is still ours

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
    # until the daemon exits; then its group (queue runner, deliveries in
    # flight), while the daemon is not yet reaped (harness.end_session)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    rc = harness.end_session(proc)
    ex.proc = None
    if stopping:
        print("\nmoat demo stopped; mail and logs stay in %s" % d)
        return 0
    print("Exim exited with status %d (see above and %s/log/)" % (rc, d))
    return 1


def relay_stderr(stream):
    """Exim's stderr to ours."""
    for line in iter(stream.readline, b""):
        sys.stderr.buffer.write(line)
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
