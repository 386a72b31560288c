# SPDX-License-Identifier: GPL-2.0-or-later
"""A real OpenLDAP server (Debian's slapd) on 127.0.0.1 for tests: a
temporary mdb database with inetOrgPerson entries carrying mail addresses,
and Active Directory-style entries carrying only proxyAddresses
("SMTP:primary@dom", "smtp:alias@dom"; AD's attribute, OID and
case-insensitive matching)."""

import os
import shutil
import signal
import subprocess
import tempfile

from harness import free_port, wait_port

# Active Directory's proxyAddresses (its real OID), for entries shaped like AD's.
AD_SCHEMA = """attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.99999.42.1 NAME 'moatTestADRecipient' SUP top AUXILIARY
  MAY proxyAddresses )
"""

CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {dir}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
suffix "{base}"
rootdn "{admin}"
rootpw {password}
directory {dir}/db
maxsize 10485760
"""


class Slapd:
    base = "dc=example,dc=test"
    admin_dn = "cn=admin,dc=example,dc=test"
    password = "moat-test-ldap-pw"

    def __init__(self, users=(), ad_users=None, port=None, tls=False):
        self.tls = tls   # StartTLS with a self-signed certificate for 127.0.0.1 (self.ca_file)
        self.ca_file = None
        self.users = list(users)
        self.ad_users = dict(ad_users or {})   # cn: [proxyAddresses values]
        self.port = port or free_port()
        self.uri = "ldap://127.0.0.1:%d/" % self.port
        self.dir = None
        self.proc = None

    def start(self):
        if not os.path.exists("/usr/sbin/slapd"):
            raise RuntimeError("slapd is not installed (make deps installs it)")
        self.dir = tempfile.mkdtemp(prefix="moat-slapd-", dir="/var/tmp")
        os.makedirs(os.path.join(self.dir, "db"))
        conf = os.path.join(self.dir, "slapd.conf")
        with open(os.path.join(self.dir, "ad.schema"), "w") as f:
            f.write(AD_SCHEMA)
        tls_conf = ""
        if self.tls:
            self.ca_file = os.path.join(self.dir, "cert.pem")
            key = os.path.join(self.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", self.ca_file, "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True)
            os.chmod(self.ca_file, 0o644)
            os.chmod(self.dir, 0o755)
            tls_conf = "TLSCertificateFile %s\nTLSCertificateKeyFile %s\n" % (self.ca_file, key)
        with open(conf, "w") as f:
            f.write(tls_conf + CONF.format(dir=self.dir, base=self.base, admin=self.admin_dn,
                                           password=self.password))
        self.proc = subprocess.Popen(["/usr/sbin/slapd", "-f", conf, "-h", self.uri, "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, timeout=10):
            raise RuntimeError("slapd did not start")
        ldif = ["dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n"
                "o: Example\n" % self.base]
        for i, mail in enumerate(self.users):
            uid = mail.split("@")[0]
            ldif.append("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n"
                        "mail: %s\n" % (uid, self.base, uid, uid, uid, mail))
        for cn, proxies in self.ad_users.items():
            ldif.append("dn: cn=%s,%s\nobjectClass: person\nobjectClass: moatTestADRecipient\n"
                        "cn: %s\nsn: %s\n%s" % (cn, self.base, cn, cn, "".join(
                            "proxyAddresses: %s\n" % p for p in proxies)))
        env = dict(os.environ, LDAPTLS_REQCERT="never")
        r = subprocess.run(["ldapadd", "-x", "-H", self.uri, "-D", self.admin_dn, "-w",
                            self.password], input="\n".join(ldif), capture_output=True, text=True,
                           env=env)
        if r.returncode != 0:
            raise RuntimeError("ldapadd failed: " + r.stderr)
        return self

    def write_password_file(self, path):
        with open(path, "w") as f:
            f.write(self.password + "\n")
        os.chmod(path, 0o644)
        return path

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.dir and not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
