"""A small test PKI (cryptography) that writes the component bundle layout of ``import-bundle``.

Root CA (pathlen 1) -> issuing intermediate (pathlen 0) -> leaves: Controller/Agent (serverAuth +
clientAuth, SAN localhost/127.0.0.1), console clients (clientAuth), code signers (codeSigning,
RSA/EC/Ed25519). The intermediate's CRL revokes what ``revoke`` was given. Stand-in for
``js7tui.pki`` until that lands on main; modeled on the mTLS recipe.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)
PURPOSES = {
    "server": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
    "signing": [ExtendedKeyUsageOID.CODE_SIGNING],
}


def new_key(kind: str = "ec") -> PrivateKeyTypes:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(ser.Encoding.PEM) for c in certs)


def key_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKeyTypes
    chain: list[x509.Certificate]

    @property
    def dn(self) -> str:
        return self.cert.subject.rfc4514_string()

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """``stem.crt`` (leaf + chain) and ``stem.key`` (0600)."""
        directory.mkdir(parents=True, exist_ok=True)
        crt, key = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt.write_bytes(pem(self.cert, *self.chain))
        write_private(key, key_pem(self.key))
        return crt, key


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class TestPki:
    __test__ = False  # not a test class, whatever its name

    org: str = "js7tui Test"
    root: Issued = field(init=False)
    intermediate: Issued = field(init=False)
    revoked: list[x509.Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        root_key = new_key()
        root = self._build(_name(f"{self.org} Root CA", self.org), root_key, None, root_key,
                           ca=True, pathlen=1, days=3650)
        self.root = Issued(root, root_key, [])
        inter_key = new_key()
        inter = self._build(_name(f"{self.org} Issuing CA", self.org), inter_key, self.root.cert,
                            root_key, ca=True, pathlen=0, days=1825)
        self.intermediate = Issued(inter, inter_key, [])

    @staticmethod
    def _build(subject: x509.Name, key: PrivateKeyTypes, issuer: x509.Certificate | None,
               issuer_key: PrivateKeyTypes, *, ca: bool = False, pathlen: int | None = None,
               ekus: list[x509.ObjectIdentifier] | None = None,
               san: list[x509.GeneralName] | None = None, days: int = 30,
               not_before: dt.datetime | None = None,
               not_after: dt.datetime | None = None) -> x509.Certificate:
        start = not_before or NOW - dt.timedelta(minutes=5)
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(issuer.subject if issuer else subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start)
                   .not_valid_after(not_after or NOW + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False))
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False)
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True)
        else:
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True)
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus or []), critical=False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        return builder.sign(issuer_key, algorithm)  # type: ignore[arg-type]

    def issue(self, cn: str, purpose: str = "client", *, key_kind: str = "ec",
              not_before: dt.datetime | None = None,
              not_after: dt.datetime | None = None) -> Issued:
        key = new_key(key_kind)
        san: list[x509.GeneralName] = []
        if purpose == "server":
            san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        elif purpose == "signing":
            san = [x509.RFC822Name(f"{cn}@example.test")]
        cert = self._build(_name(cn, self.org), key, self.intermediate.cert,
                           self.intermediate.key, ekus=PURPOSES[purpose], san=san,
                           not_before=not_before, not_after=not_after)
        return Issued(cert, key, [self.intermediate.cert])

    def revoke(self, issued: Issued) -> None:
        self.revoked.append(issued.cert)

    def crl_pem(self) -> bytes:
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(self.intermediate.cert.subject)
                   .last_update(NOW - dt.timedelta(minutes=1))
                   .next_update(NOW + dt.timedelta(days=7))
                   .add_extension(x509.CRLNumber(len(self.revoked) + 1), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.intermediate.key.public_key()), critical=False))
        for cert in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                .revocation_date(NOW - dt.timedelta(minutes=1)).build())
        return builder.sign(self.intermediate.key, hashes.SHA256()).public_bytes(
            ser.Encoding.PEM)

    def ca_pem(self) -> bytes:
        return pem(self.root.cert, self.intermediate.cert)

    def write_crl(self, directory: Path) -> None:
        """Replace DIR/tls/crl.pem atomically (as a CA helper would)."""
        target = directory / "tls" / "crl.pem"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(self.crl_pem())
        os.replace(temporary, target)

    def write_bundle(self, directory: Path, component: str, name: str, leaf: Issued,
                     allowed: list[tuple[str, str]], *,
                     trusted: list[x509.Certificate] | None = None) -> None:
        """DIR/bundle.toml, DIR/tls/{https-cert,https-key,ca,crl}.pem,
        DIR/trusted-x509-keys/*.pem: the layout ``import-bundle`` writes."""
        tls = directory / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        (tls / "https-cert.pem").write_bytes(pem(leaf.cert, *leaf.chain))
        write_private(tls / "https-key.pem", key_pem(leaf.key))
        (tls / "ca.pem").write_bytes(self.ca_pem())
        self.write_crl(directory)
        keys = directory / "trusted-x509-keys"
        keys.mkdir(exist_ok=True)
        for index, cert in enumerate(trusted if trusted is not None else [self.root.cert]):
            (keys / f"trusted-{index}.pem").write_bytes(pem(cert))
        clients = "".join(f'\n[[allowed_clients]]\ndn = "{dn}"\nuser = "{user}"\n'
                          for dn, user in allowed)
        (directory / "bundle.toml").write_text(
            f'component = "{component}"\nname = "{name}"\nsubject = "{leaf.dn}"\n\n'
            '[tls]\ncert = "tls/https-cert.pem"\nkey = "tls/https-key.pem"\n'
            'ca = "tls/ca.pem"\ncrl = "tls/crl.pem"\n' + clients)
