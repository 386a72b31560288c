# SPDX-License-Identifier: GPL-2.0-or-later
"""Fake remote MX hosts (python3-aiosmtpd) with the behaviours a catch-all
probe meets, and a real DNS resolver (Debian's dnsmasq) on 127.0.0.1 that
points test domains at them."""

import os
import socket
import subprocess
import tempfile
import threading

from harness import _live, free_port, wait_port

BEHAVIOURS = ("catchall", "strict", "greylist", "452_after_first", "hang")


class FakeMX:
    """An SMTP server on ip:port answering RCPT per behaviour."""

    def __init__(self, ip, port, behaviour):
        self.ip, self.port, self.behaviour = ip, port, behaviour
        self._controller = None
        self._hang = None

    def start(self):
        if self.behaviour == "hang":
            self._hang = socket.socket()
            self._hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._hang.bind((self.ip, self.port))
            self._hang.listen(16)   # accepts connections and never says a word
            _live.append(self)
            return self
        from aiosmtpd.controller import Controller
        behaviour = self.behaviour

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if behaviour == "catchall":
                    return "250 2.1.5 OK"
                if behaviour == "strict":
                    return "550 5.1.1 No such user"
                if behaviour == "greylist":
                    return "451 4.7.1 Greylisted, try again later"
                if not envelope.rcpt_tos:
                    envelope.rcpt_tos.append(address)
                    return "250 2.1.5 OK"
                return "452 4.5.3 Too many recipients"

        self._controller = Controller(Handler(), hostname=self.ip, port=self.port)
        self._controller.start()
        _live.append(self)
        return self

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None
        if self._hang:
            self._hang.close()
            self._hang = None
        if self in _live:
            _live.remove(self)


class Dnsmasq:
    """dnsmasq on 127.0.0.1:port serving MX and A records for test domains."""

    def __init__(self, records):
        # records: {domain: mx_ip}
        self.records = records
        self.port = free_port()
        self.proc = None

    def start(self):
        args = ["/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
                "--port=%d" % self.port, "--user=root", "--log-facility=-"]
        for domain, ip in self.records.items():
            args.append("--mx-host=%s,mx.%s,10" % (domain, domain))
            args.append("--host-record=mx.%s,%s" % (domain, ip))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # dnsmasq answers on UDP; wait for its TCP listener as the sign of life
        if not wait_port(self.port, timeout=10):
            raise RuntimeError("dnsmasq did not start")
        _live.append(self)
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
        if self in _live:
            _live.remove(self)


class ScriptedMX:
    """A plain-socket SMTP server on ip:port for the answers aiosmtpd will
    not give: "no_ehlo" (500 to EHLO, then a catch-all after HELO),
    "bad_greeting" (554 at connect), "mail_refused" (550 to MAIL FROM:<>),
    "drop_at_rcpt" (closes the connection at the first RCPT), "refuse_helo"
    (500 to EHLO and HELO)."""

    def __init__(self, ip, port, behaviour):
        self.ip, self.port, self.behaviour = ip, port, behaviour
        self._sock = None
        self._thread = None

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.ip, self.port))
        self._sock.listen(16)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        _live.append(self)
        return self

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        b = self.behaviour
        try:
            f = conn.makefile("rb")
            if b == "bad_greeting":
                conn.sendall(b"554 5.3.2 not today\r\n")
                return
            conn.sendall(b"220 scripted ESMTP\r\n")
            for line in f:
                verb = line[:4].upper()
                if verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                if verb == b"EHLO" or (verb == b"HELO" and b == "refuse_helo"):
                    answer = b"500 5.5.1 command unrecognized\r\n" \
                        if b in ("no_ehlo", "refuse_helo") else b"250 scripted\r\n"
                elif verb == b"HELO":
                    answer = b"250 scripted\r\n"
                elif verb == b"MAIL":
                    answer = b"550 5.7.1 no bounces here\r\n" if b == "mail_refused" \
                        else b"250 OK\r\n"
                elif verb == b"RCPT":
                    if b == "drop_at_rcpt":
                        return
                    answer = b"250 OK\r\n"
                else:
                    answer = b"502 5.5.2 no\r\n"
                conn.sendall(answer)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        if self._sock:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)   # wakes the accept()
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        if self in _live:
            _live.remove(self)
