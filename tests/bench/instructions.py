# SPDX-License-Identifier: GPL-2.0-or-later
"""Instruction counts for make bench: what one RCPT costs when Exim runs
moat's rcpt module, against Exim's own `verify = recipient` and
`ratelimit` doing the nearest equivalent, counted by callgrind (stable
where wall-clock time is not).

Each variant is the same Exim configuration (the integration harness's),
run as `exim -bh` (a whole SMTP session on stdin, ACLs and all, nothing
delivered) under valgrind --tool=callgrind, once with 1 RCPT and once
with 1 + RCPTS: the difference divided by RCPTS is the instructions of one
RCPT, process start-up, module loading and configuration parsing excluded.
The cost a check adds is that figure minus the variant that accepts the
recipient unchecked."""

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
]


def session(recipients):
    lines = ["EHLO bench.remote.test", "MAIL FROM:<someone@remote.test>"]
    lines += ["RCPT TO:<%s@example.test>" % r for r in recipients]
    lines.append("QUIT")
    return "\r\n".join(lines) + "\r\n"


def instructions(ex, exim, recipients, out):
    """Instructions callgrind counted for one exim -bh session."""
    # Exim gives up root before it exits, when callgrind writes its counts:
    # the file must already exist and belong to Exim's user.
    with open(out, "w"):
        pass
    pw = pwd.getpwnam(EXIM_USER)
    os.chown(out, pw.pw_uid, pw.pw_gid)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                    exim, "-C", ex.path("exim.conf"), "-bs", "-oMa", "192.0.2.77"],
                   input=session(recipients), capture_output=True, text=True,
                   env=ex.exim_env(), timeout=600)
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


def run():
    """{(variant, kind): instructions per RCPT}, and the variants' descriptions."""
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
            ex = Exim(modules=modules, root_dir=os.path.join(tmp, name), name=name, sink=False,
                      files={"recipients": "".join(u + "@example.test\n" for u in USERS)},
                      extra_acl_rcpt_first=first, extra_acl_rcpt=after)
            ex.prepare()
            ex.write_moat_conf(MOAT_RCPT % ex.path("recipients"))
            for kind in ("valid", "unknown"):
                results[(name, kind)] = per_rcpt(ex, exim, kind, outdir)
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


if __name__ == "__main__":
    os.environ.setdefault("MOAT_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build"))
    res, _ = run()
    print(table(res) if res else "valgrind not installed")
