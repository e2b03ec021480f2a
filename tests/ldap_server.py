"""A private OpenLDAP server (Debian's ``slapd``) for the LDAP tests and the LDAP benchmark.

Why a real slapd and not a mock: the things worth testing are the directory's own answers
(error 49 for a wrong password *and* for an unknown DN, ``memberOf`` kept by the overlay, the
TLS handshake with a CA we made, StartTLS refused by a client that does not trust it). The
instance runs without root on free 127.0.0.1 ports, is built in well under a second and is
stopped by its PID.

Layout of the directory (base ``dc=example,dc=test``):

* ``ou=people``: alice, bob, carol, dave, ``lee, ann (ops)`` (a name with a comma and
  parentheses, to prove that DNs and filters are escaped, not just that bad input fails);
  ``ou=contractors``: erin (found only by a search, not by the people template);
  ``ou=system``: ``cn=js7tui``, the system account for searches.
* ``ou=groups``: groupOfNames ``scheduler-admins`` (alice), ``scheduler-operators`` (alice, bob,
  lee, erin), ``auditors`` (dave), ``scheduler-viewers`` (the *group* auditors: nested), and the
  posixGroup ``posix-ops`` (memberUid bob, carol).
* The memberof overlay maintains ``memberOf`` on users (data is loaded online so it runs).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.processes import stop_process
from tests.system_tools import require

BASE = "dc=example,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "directory-admin-pw"
SYSTEM_DN = f"cn=js7tui,ou=system,{BASE}"
SYSTEM_PASSWORD = "system-bind-pw"
ODD_NAME = "lee, ann (ops)"

# At least 12 characters, so the same password can also be set on a JOC account.
PASSWORDS = {
    "alice": "alice-secret-1", "bob": "bob-secret-22", "carol": "carol-secret-3",
    "dave": "dave-secret-44", ODD_NAME: "lee-secret-555", "erin": "erin-secret-66",
}
ADMINS = f"cn=scheduler-admins,{GROUPS}"
OPERATORS = f"cn=scheduler-operators,{GROUPS}"
AUDITORS = f"cn=auditors,{GROUPS}"
VIEWERS = f"cn=scheduler-viewers,{GROUPS}"
POSIX_OPS = f"cn=posix-ops,{GROUPS}"

MODULES = ("back_mdb", "memberof", "refint")
CLIENT_ENV = {"LDAPNOINIT": "1"}   # the client tools ignore ~/.ldaprc and /etc/ldap/ldap.conf


def user_dn(uid: str) -> str:
    from ldap3.utils.dn import escape_rdn
    ou = "contractors" if uid == "erin" else "people"
    return f"uid={escape_rdn(uid)},ou={ou},{BASE}"


def ssha(password: str) -> str:
    """The {SSHA} form slapd checks (salted SHA-1): test data only, never for the console."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- certificates ---------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "js7tui tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def write_certificates(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate it issued (SAN localhost and 127.0.0.1 only, so 127.0.0.2
    is a host-name mismatch), and a second CA that issued nothing (an untrusting client)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("js7tui test directory CA")
    _, other_cert = _ca("js7tui unrelated CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    server = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                     False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: directory / f"{name}.pem" for name in ("ca", "other_ca", "server", "key")}
    pem = serialization.Encoding.PEM
    paths["ca"].write_bytes(ca_cert.public_bytes(pem))
    paths["other_ca"].write_bytes(other_cert.public_bytes(pem))
    paths["server"].write_bytes(server.public_bytes(pem))
    paths["key"].touch(mode=0o600)
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


# -- configuration and data -----------------------------------------------------------------
SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile  {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
{modules}
TLSCACertificateFile  {ca}
TLSCertificateFile    {server}
TLSCertificateKeyFile {key}

database config
rootdn "cn=admin,cn=config"
rootpw {rootpw}

database mdb
maxsize 67108864
suffix "{base}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
index objectClass eq
index uid,cn,memberUid eq
index member eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay refint
refint_attributes member

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
"""


def _entry(dn: str, *lines: str) -> str:
    return "\n".join([f"dn: {dn}", *lines]) + "\n"


def base_ldif() -> str:
    return "\n".join([
        _entry(BASE, "objectClass: dcObject", "objectClass: organization", "dc: example",
               "o: Example Test"),
        *(_entry(f"ou={ou},{BASE}", "objectClass: organizationalUnit", f"ou: {ou}")
          for ou in ("people", "contractors", "system", "groups")),
    ])


def data_ldif() -> str:
    people = []
    for uid, password in PASSWORDS.items():
        extra = ["objectClass: posixAccount", f"uidNumber: {10000 + len(people)}",
                 "gidNumber: 10000", f"homeDirectory: /home/u{len(people)}"] if uid in (
                     "alice", "bob") else []
        people.append(_entry(user_dn(uid), "objectClass: inetOrgPerson", *extra, f"uid: {uid}",
                             f"cn: {uid.title()}", "sn: Test", f"mail: {len(people)}@example.test",
                             f"userPassword: {ssha(password)}"))
    system = _entry(SYSTEM_DN, "objectClass: organizationalRole",
                    "objectClass: simpleSecurityObject", "cn: js7tui",
                    f"userPassword: {ssha(SYSTEM_PASSWORD)}")

    def group(dn: str, *members: str) -> str:
        return _entry(dn, "objectClass: groupOfNames", f"cn: {dn.split(',')[0][3:]}",
                      *(f"member: {m}" for m in members))

    groups = [
        group(ADMINS, user_dn("alice")),
        group(OPERATORS, *(user_dn(u) for u in ("alice", "bob", ODD_NAME, "erin"))),
        group(AUDITORS, user_dn("dave")),
        group(VIEWERS, AUDITORS),
        _entry(POSIX_OPS, "objectClass: posixGroup", "cn: posix-ops", "gidNumber: 20001",
               "memberUid: bob", "memberUid: carol"),
    ]
    return "\n".join([*people, system, *groups])


# -- the server -----------------------------------------------------------------------------
@dataclass
class Slapd:
    """One private slapd: ``start()`` builds and starts it, ``stop()`` ends it by its PID."""

    directory: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    # A second LDAPS listener on 127.0.0.2, which the server certificate does not name.
    other_ip_tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    certs: dict[str, Path] = field(default_factory=dict)

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ldaps_url_localhost(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    @property
    def ldaps_url_unnamed_ip(self) -> str:
        return f"ldaps://127.0.0.2:{self.other_ip_tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.certs["ca"]

    @property
    def other_ca_file(self) -> Path:
        return self.certs["other_ca"]

    def start(self) -> Slapd:
        require("slapd", "slapadd", "ldapadd")
        d = self.directory
        if d.exists():
            shutil.rmtree(d)
        (d / "db").mkdir(parents=True)
        self.certs = write_certificates(d / "certs")
        conf = d / "slapd.conf"
        conf.write_text(SLAPD_CONF.format(
            dir=d, ca=self.ca_file, server=self.certs["server"], key=self.certs["key"],
            modules="\n".join(f"moduleload {m}" for m in MODULES), rootpw=ssha(ROOT_PASSWORD),
            base=BASE, rootdn=ROOT_DN))
        (d / "base.ldif").write_text(base_ldif())
        (d / "data.ldif").write_text(data_ldif())
        # slapadd creates the mdb environment; overlays do not run here, so only the base.
        self._run([_sbin("slapadd"), "-q", "-f", str(conf), "-l", str(d / "base.ldif")])
        urls = (f"{self.ldap_url}/ {self.ldaps_url}/ "
                f"ldaps://127.0.0.2:{self.other_ip_tls_port}/")
        log = (d / "slapd.log").open("wb")
        # -d 0 keeps slapd in the foreground, so Popen's PID is slapd's PID.
        self.process = subprocess.Popen([_sbin("slapd"), "-f", str(conf), "-h", urls, "-d", "0"],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        self._wait_until_listening()
        # Online, as the rootdn, so the memberof overlay fills memberOf.
        self._run(["ldapadd", "-x", "-H", self.ldap_url, "-D", ROOT_DN, "-w", ROOT_PASSWORD,
                   "-f", str(d / "data.ldif")])
        return self

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              env={**os.environ, **CLIENT_ENV})
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({done.returncode}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")

    def _wait_until_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.directory / "slapd.log").read_text(errors="replace")
                raise RuntimeError(f"slapd ended at start ({self.process.returncode}): {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"slapd did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """SIGTERM to this slapd's PID (and only it); SIGKILL if it has not ended in 10 s."""
        process, self.process = self.process, None
        stop_process(process)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _sbin(tool: str) -> str:
    return shutil.which(tool) or f"/usr/sbin/{tool}"


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One slapd for the whole test session (read-only use: tests do not change its data)."""
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
