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
