"""The signing CA: an intermediate of the root used only to issue code-signing certificates.

Controllers and Agents get it (not the root, not the TLS issuing CA) as their trust anchor
for signed items, beside the explicitly registered signer certificates; so a code-signing
certificate made by the TLS issuing CA, or any certificate of the root, deploys nothing unless
it was registered to an account. Built at ``init`` with the other CA certificates; in a home
older than it, on first use while the root key is in the store.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.clock import to_iso
from js7tui.errors import NotFound, ValidationError
from js7tui.pki import records, sealed
from js7tui.pki.authority import CaChain, check_valid_at, root_issuer
from js7tui.pki.builder import BACKDATE, Issuer, build_intermediate, ca_name
from js7tui.pki.crl import REASONS
from js7tui.pki.keys import (
    DEFAULT_KEY_TYPE,
    KeyType,
    key_type_of,
    private_pem,
    signature_hash,
)
from js7tui.pki.pem import cert_pem, serial_hex
from js7tui.pki.records import CaRole

LABEL = "Signing CA"


@dataclass(frozen=True)
class SigningCa:
    cert: x509.Certificate
    key_pem: str | None
    crl_pem: str | None
    crl_number: int

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


def read(conn: sqlite3.Connection) -> SigningCa | None:
    row = conn.execute("SELECT * FROM pki_signing_ca WHERE id = 1").fetchone()
    if row is None:
        return None
    return SigningCa(x509.load_pem_x509_certificate(row["cert_pem"].encode("ascii")),
                     row["key_pem"], row["crl_pem"], row["crl_number"])


def create(conn: sqlite3.Connection, now: datetime, installation: str) -> SigningCa:
    """Make the signing CA under the root (its key must be in the store) and sign its CRL."""
    if read(conn) is not None:
        raise ValidationError("this home has a signing CA already")
    root = root_issuer(conn, now)
    try:
        key_type = KeyType(key_type_of(root.cert.public_key()))
    except ValueError:
        key_type = DEFAULT_KEY_TYPE
    ca_key = key_type.generate()
    cert = build_intermediate(ca_key, ca_name(LABEL, installation), root, now)
    conn.execute(
        "INSERT INTO pki_signing_ca (id, subject, serial, key_type, not_before, not_after, "
        "cert_pem, key_pem, created) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        (cert.subject.rfc4514_string(), serial_hex(cert), key_type.value,
         to_iso(cert.not_valid_before_utc), to_iso(cert.not_valid_after_utc), cert_pem(cert),
         sealed.seal(conn, private_pem(ca_key)), to_iso(now)))
    sign_crl(conn, now)
    found = read(conn)
    assert found is not None
    return found


def ensure(conn: sqlite3.Connection, now: datetime, installation: str) -> SigningCa | None:
    """The signing CA, made now if this home has none and the root key is here; None when it
    cannot be made (root key offline, external CA)."""
    found = read(conn)
    if found is not None:
        return found
    root = records.authorities(conn).get(CaRole.ROOT)
    if root is None or root.key_pem is None:
        return None
    return create(conn, now, installation)


def issuer(conn: sqlite3.Connection, now: datetime, installation: str) -> tuple[Issuer, CaChain]:
    """What signs a code-signing certificate: the signing CA, with the chain to verify it."""
    found = ensure(conn, now, installation)
    if found is None or found.key_pem is None:
        raise NotFound(
            "this home has no signing CA (it is made from the root key, which is not in the "
            "store): signing certificates come from your organisation's CA (js7tui cert csr "
            "signing NAME, then js7tui deploy key register)")
    check_valid_at(found.cert, "signing CA", now)
    root = records.authorities(conn)[CaRole.ROOT].cert
    return (Issuer(found.cert, sealed.open_key(conn, found.key_pem, "the signing CA's key")),
            CaChain(root, found.cert))


def sign_crl(conn: sqlite3.Connection, now: datetime, days: int = 30) -> str:
    """A new CRL of the signing CA listing the revoked certificates it issued."""
    found = read(conn)
    if found is None or found.key_pem is None:
        raise NotFound("this home has no signing CA whose key is here")
    key = sealed.open_key(conn, found.key_pem, "the signing CA's key")
    number = found.crl_number + 1
    last_update = now - BACKDATE
    next_update = min(now + timedelta(days=days), found.cert.not_valid_after_utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(found.cert.subject)
               .last_update(last_update).next_update(next_update)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   key.public_key()), critical=False))
    for entry in records.revoked(conn):
        if entry.issuer != found.subject or not entry.serial:
            continue
        revoked = (x509.RevokedCertificateBuilder().serial_number(int(entry.serial, 16))
                   .revocation_date(datetime.fromisoformat(entry.revoked_at or to_iso(now))))
        reason = REASONS.get(entry.revocation_reason or "unspecified")
        if reason is not None and reason is not x509.ReasonFlags.unspecified:
            revoked = revoked.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    pem = builder.sign(key, signature_hash(key)).public_bytes(Encoding.PEM).decode("ascii")
    conn.execute("UPDATE pki_signing_ca SET crl_number = ?, crl_last_update = ?, "
                 "crl_next_update = ?, crl_pem = ? WHERE id = 1",
                 (number, to_iso(last_update), to_iso(next_update), pem))
    return pem


def crls_pem(conn: sqlite3.Connection) -> str:
    """The CRLs an engine checks signer chains with besides its TLS CRL: the signing CA's and
    the root's (which would list a revoked signing CA), concatenated PEM."""
    parts = []
    found = read(conn)
    if found is not None and found.crl_pem:
        parts.append(found.crl_pem)
    root = records.crl(conn, CaRole.ROOT)
    if root is not None:
        parts.append(root.crl_pem)
    return "".join(parts)


def personal_signers(conn: sqlite3.Connection) -> list[x509.Certificate]:
    """The signer certificates registered to accounts whose key is outside the console (a
    person's own key; never a key the console holds, such as LOW's shared installation key):
    at HIGH the only ones an engine accepts (``[trust] registered_signers``). At HIGH every
    registered certificate is such (the store's triggers keep keys out)."""
    return [x509.load_pem_x509_certificate(row[0].encode("ascii"))
            for row in conn.execute("SELECT cert_pem FROM signing_keys WHERE key_sealed IS NULL "
                                    "ORDER BY account")]


def registered_signers(conn: sqlite3.Connection) -> list[x509.Certificate]:
    """The signer certificates registered to accounts (``deploy key``), as explicit anchors."""
    return [x509.load_pem_x509_certificate(row[0].encode("ascii"))
            for row in conn.execute("SELECT cert_pem FROM signing_keys ORDER BY account")]
