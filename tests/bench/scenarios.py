#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make scenarios: the field incidents of DESIGN.md replayed against (a) Exim
with a vacation responder and no moat and (b) the same Exim with moat.
Reports, per scenario: backscatter messages emitted (or, for the victim's
side of a reverse-NDR attack, received), legitimate messages
lost, the attacker's successful logins, and time to block. Writes
SCENARIOS.md. Target: moat emits no backscatter and loses no legitimate
message."""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import Exim, message  # noqa: E402

USERS = ["postmaster", "alice", "bob", "carol", "dave", "erin"]
HOLIDAY = {u: "%s is on holiday." % u for u in ("bob", "carol", "dave", "erin")}
RCPTS = "".join("%s@example.test\n" % u for u in USERS)

# A naive vacation responder: what a site without moat runs (no checks).
PLAIN_VACATION_ROUTER = """plain_vacation:
  driver = accept
  domains = +local_domains
  local_parts = lsearch,ret=key;VACATION_FILE
  transport = plain_vacation_reply
  unseen
  no_verify
"""
PLAIN_VACATION_TRANSPORT = """plain_vacation_reply:
  driver = autoreply
  from = $local_part@$domain
  to = ${if def:h_reply-to: {$h_reply-to:}{$h_from:}}
  subject = Auto: $h_subject:
  text = ${lookup{$local_part}lsearch{VACATION_FILE}}
"""
# Accept any local part of the domain at RCPT and bounce unknown ones later:
# the "accept then bounce" set-up behind reverse-NDR backscatter.
ACCEPT_ALL_RCPT = "  accept  domains = +local_domains\n"


def instance(with_moat, accept_all=False, name="x", batv=False):
    files = {"recipients": RCPTS}
    modules = ["rcpt", "authlock", "autoreply"] + (["batv"] if batv else [])
    ex = Exim(modules=modules if with_moat else [], users=USERS,
              name=name, files=files, vacation=HOLIDAY if with_moat else None,
              extra_acl_rcpt=ACCEPT_ALL_RCPT if accept_all and not with_moat else "")
    ex.prepare()
    if not with_moat:
        with open(ex.path("vacation"), "w") as f:
            f.write("".join("%s: %s\n" % kv for kv in HOLIDAY.items()))
        ex.extra["extra_routers"] = PLAIN_VACATION_ROUTER.replace("VACATION_FILE", ex.path("vacation"))
        ex.extra["extra_transports"] = PLAIN_VACATION_TRANSPORT.replace("VACATION_FILE",
                                                                        ex.path("vacation"))
    ex.write_moat_conf('rcpt {\n  source = file\n  file = "%s"\n  tarpit_base = 0\n'
                       '  ip_threshold = 10\n}\nauthlock {\n  tarpit_base = 0\n'
                       '  user_threshold = 5\n}\nautoreply {\n  local_domains = {"example.test"}\n}\n'
                       % ex.path("recipients")
                       + ('batv {\n  domains = {"example.test"}\n  keys = "%s"\n  grace = 0\n}\n'
                          % ex.path("state", "batv") if batv else ""))
    ex.prepare()
    return ex


def settle(ex):
    ex.wait_queue_empty(30)
    time.sleep(1)
    ex.wait_queue_empty(30)


def holiday_spam(with_moat):
    """40 spam messages with forged senders and 4 personal ones, to 4 users on holiday."""
    ex = instance(with_moat, name="holiday")
    with ex:
        for i in range(40):
            victim = "victim%d@innocent.test" % i
            ex.send(victim, "%s@example.test" % list(HOLIDAY)[i % 4],
                    message(sender=victim, to="x@example.test",
                            headers={"X-Spam-Flag": "YES"}), source="127.5.0.%d" % (i % 200 + 1))
        for i, user in enumerate(HOLIDAY):
            ex.send("friend%d@partner.test" % i, "%s@example.test" % user,
                    message(sender="friend%d@partner.test" % i, to="%s@example.test" % user),
                    source="127.5.1.1")
        settle(ex)
        out = ex.sink.messages
        backscatter = sum(1 for m in out if any(r.startswith("victim") for r in m["rcpts"]))
        answered = sum(1 for m in out if any(r.startswith("friend") for r in m["rcpts"]))
        delivered = sum(len(ex.maildir(u)) for u in HOLIDAY)
        return {"backscatter": backscatter, "lost": 44 - delivered,
                "note": "%d of 4 personal messages answered" % answered}


def reverse_ndr(with_moat):
    """50 messages to made-up recipients with the victim as sender."""
    ex = instance(with_moat, accept_all=True, name="ndr")
    with ex:
        for i in range(50):
            ex.send("victim@innocent.test", "made-up-%d@example.test" % i,
                    message(sender="victim@innocent.test", to="x@example.test"),
                    source="127.6.%d.1" % i)
        ex.send("friend@partner.test", "alice@example.test", source="127.6.100.1")
        settle(ex)
        backscatter = sum(1 for m in ex.sink.messages if "victim@innocent.test" in m["rcpts"])
        return {"backscatter": backscatter, "lost": 1 - len(ex.maildir("alice")), "note": ""}


def forged_bounces(with_moat):
    """The reverse-NDR attack seen from the victim's side: 40 bounces of spam
    forged with our users' addresses arrive from other servers; meanwhile
    alice sends 2 messages whose real bounces come back to her envelope
    sender. Backscatter = forged bounces that reached a mailbox."""
    ex = instance(with_moat, name="victim", batv=True)
    with ex:
        for i in range(2):
            ex.send("alice@example.test", "gone%d@far.test" % i, auth=("alice", "alice-demo-pw"),
                    body=message(sender="alice@example.test", to="gone%d@far.test" % i))
        ex.sink.wait_for(2, timeout=30)
        for i, m in enumerate(ex.sink.messages[:2]):
            ex.send("", m["sender"], source="127.9.0.1",
                    body=message(sender="mailer-daemon@far.test", to=m["sender"],
                                 subject="Undelivered: real %d" % i))
        refused = 0
        for i in range(40):
            rcpt = "%s@example.test" % ("alice", "bob", "carol", "dave")[i % 4]
            r = ex.send("", rcpt, source="127.9.%d.1" % (i + 1),
                        body=message(sender="mailer-daemon@spam-relay%d.test" % i, to=rcpt,
                                     subject="Undelivered: spam %d" % i))
            refused += r[2][0] // 100 == 5
        settle(ex)
        got = [m for u in USERS for m in ex.maildir(u)]
        forged = sum(1 for m in got if b"Undelivered: spam" in m)
        real = sum(1 for m in got if b"Undelivered: real" in m)
        tagged = sum(1 for m in ex.sink.messages[:2] if m["sender"].startswith("prvs="))
        return {"backscatter": forged, "lost": 2 - real,
                "note": "%d of 40 forged bounces refused at RCPT; %d of 2 senders tagged, "
                        "%d of 2 real bounces delivered" % (refused, tagged, real)}


def harvest(with_moat):
    """A dictionary of 200 local parts (the 6 real ones among them) from one client."""
    ex = instance(with_moat, name="harvest")
    with ex:
        words = ["w%d" % i for i in range(194)] + USERS
        confirmed, blocked_after, t0 = 0, None, time.time()
        for n in range(0, len(words), 20):
            c = ex.smtp("127.7.0.1")
            c.ehlo()
            c.mail("harvester@remote.test")
            for w in words[n:n + 20]:
                code = c.rcpt("%s@example.test" % w)[0]
                if code == 250 and w in USERS:
                    confirmed += 1
                if code // 100 == 4 and blocked_after is None:
                    blocked_after = time.time() - t0
            c.quit()
        r = ex.send("friend@partner.test", "alice@example.test", source="127.7.1.1")
        return {"backscatter": 0, "lost": 0 if r[-1][0] == 250 else 1,
                "time_to_block": blocked_after,
                "note": "%d of %d real addresses confirmed to the harvester" % (confirmed, len(USERS))}


def brute_force(with_moat):
    """30 wrong passwords for alice from one network, then the right one, then relaying."""
    ex = instance(with_moat, name="brute")
    with ex:
        t0, blocked_after, logins, relayed = time.time(), None, 0, 0
        for i in range(31):
            c = ex.smtp("127.8.0.%d" % (i % 5 + 1))
            c.ehlo()
            pw = "alice-demo-pw" if i == 30 else "guess%d" % i
            code = c.auth_plain("alice", pw)[0]
            if code == 235:
                logins += 1
                c.mail("alice@example.test")
                if c.rcpt("target@spam-target.test")[0] == 250:
                    relayed += c.data(message(sender="alice@example.test",
                                              to="target@spam-target.test"))[0] == 250
            elif code != 535 and blocked_after is None:
                blocked_after = time.time() - t0
            c.quit()
        settle(ex)
        log = ex.mainlog()
        note = "%d relayed" % relayed
        if "reason=user_locked" in log:
            failures = log[:log.index("reason=user_locked")].count("reason=bad_credentials")
            note += "; locked after %d wrong passwords" % failures
        return {"backscatter": 0, "lost": 0, "logins": logins, "relayed": relayed,
                "time_to_block": blocked_after, "note": note}


FETCHED_CONF = ('rcpt {\n  source = file\n  file = "%s"\n  tarpit_base = 0\n'
                '  fetched {\n    hosts = {"127.0.0.1"}\n    users = {"root"}\n  }\n}\n')


def pop3_instance(with_moat, name):
    """Debian's order for the fetched-mail scenario: localhost relays and is
    accepted before verify = recipient; moat with rcpt { fetched }."""
    ex = Exim(modules=["rcpt"] if with_moat else [], users=USERS, name=name,
              files={"recipients": RCPTS}, relay_from="127.0.0.1")
    ex.prepare()
    ex.write_moat_conf(FETCHED_CONF % ex.path("recipients"))
    return ex


def pop3_connector(with_moat):
    """The POP3-connector incident: an ISP's catch-all mailbox (spam for
    made-up addresses with forged senders, and our users' real mail)
    fetched by fetchmail/getmail multidrop and injected into Exim: 40 spam
    and 4 real messages over SMTP on localhost, 10 spam and 2 real through
    exim -bm (the MDA way). Backscatter: NDRs that left for the forged
    senders."""
    ex = pop3_instance(with_moat, "pop3")
    with ex:
        c = ex.smtp("127.0.0.1")
        c.ehlo("localhost")
        for i in range(44):
            real = i >= 40
            sender = "friend%d@partner.test" % i if real else "forged%d@innocent.test" % i
            rcpt = "%s@example.test" % USERS[1 + i % 5] if real else "made-up-%d@example.test" % i
            c.mail(sender)
            c.rcpt(rcpt)
            c.data(message(sender=sender, to=rcpt, subject="fetched %d" % i))
        c.quit()
        for i in range(12):
            real = i >= 10
            sender = "friend-m%d@partner.test" % i if real else "forged-m%d@innocent.test" % i
            rcpt = "%s@example.test" % USERS[1 + i % 5] if real else "made-up-m%d@example.test" % i
            ex.submit_local(sender, [rcpt], message(sender=sender, to=rcpt, subject="mda %d" % i))
        settle(ex)
        backscatter = sum(1 for m in ex.sink.messages
                          if any(r.startswith("forged") for r in m["rcpts"]))
        delivered = sum(1 for u in USERS for m in ex.maildir(u)
                        if b"Subject: fetched" in m or b"Subject: mda" in m)
        return {"backscatter": backscatter, "lost": 6 - delivered,
                "note": "50 made-up recipients; %d dropped with a log line" %
                        ex.mainlog().count("action=drop reason=fetched_unknown")}


OWN_CONF = ('rcpt {\n  source = file\n  file = "%s"\n  tarpit_base = 0\n'
            '  own_domains {\n    domain "example.test" {\n      policy = reject\n    }\n'
            '    exempt_hosts = {"127.11.9.1"}\n    exempt_senders = {"@lists.partner.test"}\n'
            '  }\n}\n')


def own_domain_spoofing(with_moat):
    """The field report "the from and to fields are the same": 30 spam
    messages from outside, unauthenticated, with one of our users as
    envelope sender or From: and as recipient; and the mail that rightly
    carries our domain from outside or inside: alice authenticated, her
    message brought back by a forwarder, her post through a mailing list,
    plus 2 from partners (5 legitimate)."""
    ex = Exim(modules=["rcpt"] if with_moat else [], users=USERS, name="spoof",
              files={"recipients": RCPTS})
    ex.prepare()
    ex.write_moat_conf(OWN_CONF % ex.path("recipients"))
    with ex:
        for i in range(30):
            user = "%s@example.test" % USERS[1 + i % 5]
            envelope = user if i % 2 else "bulk%d@spam-relay.test" % i
            ex.send(envelope, user, message(sender=user, to=user, subject="spoof %d" % i),
                    source="127.12.%d.1" % (i + 1))
        legit = [("alice@example.test", "alice@example.test", "127.11.100.1",
                  ("alice", "alice-demo-pw")),
                 ("alice@example.test", "alice@example.test", "127.11.9.1", None),
                 ("alice-list-bounces@lists.partner.test", "alice@example.test", "127.11.101.1",
                  None),
                 ("friend1@partner.test", "friend1@partner.test", "127.11.102.1", None),
                 ("friend2@partner.test", "friend2@partner.test", "127.11.103.1", None)]
        for n, (envelope, from_, source, auth) in enumerate(legit):
            ex.send(envelope, "bob@example.test",
                    message(sender=from_, to="bob@example.test", subject="legit %d" % n),
                    source=source, auth=auth)
        settle(ex)
        got = [m for u in USERS for m in ex.maildir(u)]
        forged = sum(1 for m in got if b"Subject: spoof" in m)
        backscatter = sum(1 for m in ex.sink.messages if m["sender"] in ("", "<>"))
        return {"backscatter": backscatter, "forged": forged,
                "lost": 5 - sum(1 for m in got if b"Subject: legit" in m),
                "note": "%d of 30 forged messages delivered" % forged}


SCENARIOS = [("holiday spam, forged senders", holiday_spam),
             ("reverse-NDR attack", reverse_ndr),
             ("reverse-NDR, victim's side (forged bounces to our users)", forged_bounces),
             ("dictionary harvest", harvest),
             ("AUTH brute force, then relay", brute_force),
             ("POP3 connector: ISP catch-all fetched into Exim", pop3_connector),
             ("own domain forged from outside (From: = To:)", own_domain_spoofing)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", help="run the scenarios whose title contains this; SCENARIOS.md "
                                   "is left as it is")
    args = ap.parse_args()
    os.environ["MOAT_BUILD"] = os.path.abspath(args.build)
    rows = ["| scenario | set-up | backscatter | legitimate lost | attacker logins | time to block | note |",
            "|---|---|---|---|---|---|---|"]
    failed = False
    for title, fn in SCENARIOS:
        if args.only and args.only not in title:
            continue
        for with_moat in (False, True):
            r = fn(with_moat)
            ttb = r.get("time_to_block")
            rows.append("| %s | %s | %d | %d | %s | %s | %s |" % (
                title, "moat" if with_moat else "plain Exim", r["backscatter"], r["lost"],
                r.get("logins", "-"), "%.1fs" % ttb if ttb is not None else "-", r["note"]))
            if with_moat and (r["backscatter"] or r["lost"] or r.get("logins", 0) or
                              r.get("forged", 0)):
                failed = True
            print(rows[-1], flush=True)
    text = ("# Field incidents replayed\n\nLast run: %s. `make scenarios` replays each "
            "incident against plain Exim (with a naive vacation responder, and for the "
            "reverse-NDR case an accept-then-bounce RCPT policy) and against the same Exim "
            "with moat. The victim's side of a reverse-NDR attack: our users receive the "
            "bounces of spam forged in their name; backscatter there counts those that reach "
            "a mailbox, and moat runs batv (example.test signed, no grace) so that the real "
            "bounces of mail alice sent still arrive. The POP3 connector: an ISP's "
            "catch-all mailbox fetched by fetchmail/getmail and injected as they do (SMTP on "
            "localhost, a relay host accepted before verify = recipient as in Debian's ACL; "
            "exim -bm), moat with rcpt { fetched }. Own domain forged: moat with rcpt "
            "{ own_domains } policy reject, a forwarder and a list exempt.\n\n%s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                    "\n".join(rows)))
    if not args.only:
        with open(os.path.join(ROOT, "SCENARIOS.md"), "w") as f:
            f.write(text)
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
