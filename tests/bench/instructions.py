# SPDX-License-Identifier: GPL-2.0-or-later
"""Instruction counts for make bench, counted by callgrind (stable where
wall-clock time is not).

Per RCPT: what one RCPT costs when Exim runs moat's rcpt module, and every
module, against Exim's own `verify = recipient` and `ratelimit` doing the
nearest equivalent. Each variant is the same Exim configuration (the
integration harness's), run as `exim -bs` (a whole SMTP session on stdin,
ACLs and all) under valgrind --tool=callgrind, once with 1 RCPT and once
with 1 + RCPTS: the difference divided by RCPTS is the instructions of one
RCPT, process start-up, module loading and configuration parsing excluded.
The cost a check adds is that figure minus the variant that accepts the
recipient unchecked.

Per SMTP session, plain Exim against Exim with every module on: a
connection as e2e.py's connection rate makes it (EHLO, MAIL, RCPT, QUIT)
and a message as its throughput test sends it (MAIL, RCPT, DATA inside a
session; sessions of 1 and 1 + MESSAGES messages, the difference per
message). A connection's figure is the session less `exim -bV` on the same
configuration: process start-up and configuration parsing, which Exim's
daemon does once and not per connection. Module loading, moat.conf and the
store's opening stay in: each connection's process pays them."""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import EXIM, EXIM_USER, Exim  # noqa: E402

RCPTS = 100
MESSAGES = 10
EVERY = ["rcpt", "authlock", "catchall", "autoreply", "batv"]
USERS = ["alice", "bob", "carol", "postmaster"]
ACCEPT_LOCAL = "  accept  domains = +local_domains\n"
RATELIMIT = ("  warn    ratelimit = 1000000 / 1h / per_rcpt / strict / "
             "$sender_host_address\n")
# Thresholds out of reach: every unknown recipient goes through the counting,
# none is turned into a block (which would cost less).
MOAT_RCPT = ('rcpt {\n  source = file\n  file = "%s"\n  ip_threshold = 1000000\n'
             '  net_threshold = 1000000\n  sender_domain_threshold = 1000000\n'
             '  domain_attack_threshold = 1000000\n  session_max_invalid = 1000000\n'
             '  tarpit_base = 0s\n  tarpit_max = 0s\n}\n')

# (name, what it stands for, modules, ACL lines before moat's, ACL lines after)
VARIANTS = [
    ("unchecked", "Exim accepting the recipient unchecked", [], ACCEPT_LOCAL, ""),
    ("verify", "Exim's verify = recipient (routers)", [], "", ""),
    ("ratelimit", "Exim's ratelimit per_rcpt (hints database)", [], RATELIMIT + ACCEPT_LOCAL,
     ""),
    ("moat-rcpt", "moat rcpt as shipped (Exim's verify + the module)", ["rcpt"], "", ""),
    ("moat-every", "every moat module as shipped (%s)" % ", ".join(EVERY), EVERY, "", ""),
]
# A fixed message (e2e.py's size), so that every run counts the same bytes.
BODY = ("From: <load@remote.test>\r\nTo: <alice@example.test>\r\nSubject: bench\r\n"
        "Message-ID: <bench@remote.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        + "x" * 2000 + "\r\n")


def session(recipients):
    lines = ["EHLO bench.remote.test", "MAIL FROM:<someone@remote.test>"]
    lines += ["RCPT TO:<%s@example.test>" % r for r in recipients]
    lines.append("QUIT")
    return "\r\n".join(lines) + "\r\n"


def message_session(messages):
    """An SMTP session sending messages messages of BODY to alice."""
    one = ("MAIL FROM:<load@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
           + BODY + ".\r\n")
    return "EHLO bench.remote.test\r\n" + one * messages + "QUIT\r\n"


SESSION_ARGS = ("-odq", "-oMa", "192.0.2.77", "-bs")   # -odq: queued, no delivery forked


def instructions(ex, exim, recipients, out, text=None, args=SESSION_ARGS):
    """Instructions callgrind counted for one exim -bs session (recipients,
    or the session text), or another exim invocation (args)."""
    # Exim gives up root before it exits, when callgrind writes its counts:
    # the file must already exist and belong to Exim's user.
    with open(out, "w"):
        pass
    pw = pwd.getpwnam(EXIM_USER)
    os.chown(out, pw.pw_uid, pw.pw_gid)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        exim, "-C", ex.path("exim.conf")] + list(args),
                       input=session(recipients) if text is None else text,
                       capture_output=True, text=True, env=ex.exim_env(), timeout=600)
    with open(out) as f:
        m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    if not m:
        raise RuntimeError("callgrind wrote no totals to %s:\n%s" % (out, r.stderr[-2000:]))
    return int(m.group(1))


def per_rcpt(ex, exim, kind, outdir):
    """Instructions of one RCPT of kind (valid or unknown recipients)."""
    if kind == "valid":
        many = [USERS[i % len(USERS)] for i in range(RCPTS + 1)]
    else:
        many = ["nobody%d" % i for i in range(RCPTS + 1)]
    one = instructions(ex, exim, many[:1], os.path.join(outdir, "%s-one.out" % kind))
    all_ = instructions(ex, exim, many, os.path.join(outdir, "%s-many.out" % kind))
    return (all_ - one) / RCPTS


def instance(name, modules, tmp, first="", after=""):
    """A prepared Exim of the harness with moat.conf for the counts."""
    ex = Exim(modules=modules, root_dir=os.path.join(tmp, name), name=name, sink=False,
              files={"recipients": "".join(u + "@example.test\n" for u in USERS)},
              extra_acl_rcpt_first=first, extra_acl_rcpt=after)
    ex.prepare()
    conf = MOAT_RCPT % ex.path("recipients")
    if "batv" in modules:
        conf += 'batv {\n  domains = {"example.test"}\n  keys = "%s"\n}\n' % ex.path("state")
    ex.write_moat_conf(conf)
    return ex


def per_session(ex, exim, outdir):
    """(instructions per connection, per message) of one configuration."""
    name = ex.name
    start = instructions(ex, exim, None, os.path.join(outdir, name + "-bV.out"), text="",
                         args=("-bV",))
    conn = instructions(ex, exim, ["alice"], os.path.join(outdir, name + "-conn.out"))
    one = instructions(ex, exim, None, os.path.join(outdir, name + "-msg1.out"),
                       text=message_session(1))
    many = instructions(ex, exim, None, os.path.join(outdir, name + "-msgN.out"),
                        text=message_session(1 + MESSAGES))
    return conn - start, (many - one) / MESSAGES


def run():
    """{(variant, kind): instructions per RCPT}, and the variants' descriptions;
    kinds valid and unknown, and for "verify" and "moat-every" also
    connection and message (per_session)."""
    if not shutil.which("valgrind"):
        return {}, VARIANTS
    tmp = tempfile.mkdtemp(prefix="moat-insn-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    results = {}
    # valgrind runs no set-user-id program: a plain copy, run as root (-bh
    # delivers nothing, so Exim never needs to regain privilege)
    exim = os.path.join(tmp, "exim")
    shutil.copy(EXIM, exim)
    os.chmod(exim, 0o755)
    outdir = os.path.join(tmp, "callgrind")
    os.mkdir(outdir)
    try:
        for name, _, modules, first, after in VARIANTS:
            ex = instance(name, modules, tmp, first, after)
            for kind in ("valid", "unknown"):
                results[(name, kind)] = per_rcpt(ex, exim, kind, outdir)
            if name in ("verify", "moat-every"):
                results[(name, "connection")], results[(name, "message")] = \
                    per_session(ex, exim, outdir)
    finally:
        if not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return results, VARIANTS


def table(results):
    """Markdown rows: instructions per RCPT and what each check adds."""
    rows = ["| Exim | valid recipient | added | unknown recipient | added |",
            "|---|---|---|---|---|"]
    for name, what, _, _, _ in VARIANTS:
        v, u = results[(name, "valid")], results[(name, "unknown")]
        bv, bu = results[("unchecked", "valid")], results[("unchecked", "unknown")]
        rows.append("| %s | %.0f | %+.0f | %.0f | %+.0f |" % (what, v, v - bv, u, u - bu))
    return "\n".join(rows)


def every_vs_verify(results):
    """(every module's valid RCPT over Exim's verify, moat's addition over
    what Exim's verify adds): the two ratios the target is read from."""
    every, verify = results[("moat-every", "valid")], results[("verify", "valid")]
    unchecked = results[("unchecked", "valid")]
    return every / verify, (every - verify) / (verify - unchecked)


def session_table(results):
    """Markdown rows: instructions per connection and per message, plain and every module."""
    rows = ["| Exim | instructions per connection | ratio | instructions per message | ratio |",
            "|---|---|---|---|---|"]
    pc, pm = results[("verify", "connection")], results[("verify", "message")]
    for name, what in (("verify", "without moat"),
                       ("moat-every", "every module, LMDB")):
        c, m = results[(name, "connection")], results[(name, "message")]
        rows.append("| %s | %.0f | %.2f | %.0f | %.2f |" % (what, c, c / pc, m, m / pm))
    return "\n".join(rows)


if __name__ == "__main__":
    os.environ.setdefault("MOAT_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build"))
    res, _ = run()
    if not res:
        print("valgrind not installed")
    else:
        print(table(res))
        print("every module / Exim's verify: %.1fx; moat's addition / what verify adds: %.1fx"
              % every_vs_verify(res))
        print(session_table(res))
