"""The console's CA: a built-in Root and issuing Intermediate, or an imported one.

Three postures:

* **built-in** (``js7tui init``): root and intermediate generated here; the root key can be
  exported and removed (:func:`export_root_key`), the intermediate keeps issuing.
* **imported issuing CA**: the organisation's root certificate plus its issuing CA with key;
  the console issues with that key.
* **external** (``js7tui init --no-ca`` then ``cert ca import`` without a key): the console
  never holds a CA key; certificates come from ``cert csr`` + ``cert import``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.pki import records, sealed
from js7tui.pki.builder import Issuer, build_intermediate, build_root, ca_name, is_ca
from js7tui.pki.keys import KeyType, key_type_of, load_private_pem, private_pem, same_public_key
from js7tui.pki.records import Authority, CaRole

BUILT_IN = "BUILT-IN"
IMPORTED = "IMPORTED"


@dataclass(frozen=True)
class CaChain:
    """The trust chain every bundle and client carries: root first, then the issuing CA."""

    root: x509.Certificate
    intermediate: x509.Certificate

    @property
    def certs(self) -> list[x509.Certificate]:
        return [self.root, self.intermediate]


def describe_posture(authorities: dict[CaRole, Authority]) -> str:
    inter = authorities.get(CaRole.INTERMEDIATE)
    if inter is None:
        return "no CA yet"
    if inter.origin == BUILT_IN:
        return "built-in CA"
    return "imported issuing CA (key held)" if inter.key_online else "external CA (no CA key)"


def chain(conn: sqlite3.Connection) -> CaChain:
    found = records.authorities(conn)
    if CaRole.ROOT not in found or CaRole.INTERMEDIATE not in found:
        raise NotFound("this home has no CA yet: create one with 'js7tui cert ca create', or "
                       "import your organisation's with 'js7tui cert ca import'")
    return CaChain(found[CaRole.ROOT].cert, found[CaRole.INTERMEDIATE].cert)


def check_valid_at(cert: x509.Certificate, what: str, now: datetime) -> None:
    if cert.not_valid_after_utc <= now:
        raise ValidationError(f"the {what} '{cert.subject.rfc4514_string()}' expired on "
                              f"{cert.not_valid_after_utc:%Y-%m-%d}; it cannot be used any more")
    if cert.not_valid_before_utc > now:
        raise ValidationError(f"the {what} '{cert.subject.rfc4514_string()}' is not valid before "
                              f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")


def issuer(conn: sqlite3.Connection, now: datetime) -> Issuer:
    """The issuing CA with its key, refused clearly when it cannot sign."""
    found = records.authorities(conn)
    inter = found.get(CaRole.INTERMEDIATE)
    if inter is None:
        raise NotFound("this home has no CA: create one with 'js7tui cert ca create', or work "
                       "with your organisation's CA (js7tui cert ca import, cert csr, cert import)")
    if inter.key_pem is None:
        raise ValidationError(
            "the issuing CA's key is not in this store (external CA): create a request with "
            "'js7tui cert csr', have your CA sign it, and import it with 'js7tui cert import'")
    cert = inter.cert
    check_valid_at(cert, "issuing CA", now)
    check_valid_at(found[CaRole.ROOT].cert, "root CA", now)
    return Issuer(cert, sealed.open_key(conn, inter.key_pem, "the issuing CA's key"))


def root_issuer(conn: sqlite3.Connection, now: datetime) -> Issuer:
    root = records.authorities(conn).get(CaRole.ROOT)
    if root is None or root.key_pem is None:
        raise ValidationError("the root CA's key is not in this store (exported or external); "
                              "the root cannot sign here")
    check_valid_at(root.cert, "root CA", now)
    return Issuer(root.cert, sealed.open_key(conn, root.key_pem, "the root CA's key"))


def create_builtin(conn: sqlite3.Connection, now: datetime, key_type: KeyType,
                   installation: str) -> CaChain:
    """Root (10 years) and intermediate (5 years) in the caller's transaction."""
    if records.authorities(conn):
        raise Conflict("this home already has a CA; it is never replaced silently")
    root_key = key_type.generate()
    root = build_root(root_key, ca_name("Root CA", installation), now)
    inter_key = key_type.generate()
    inter = build_intermediate(inter_key, ca_name("Issuing CA", installation),
                               Issuer(root, root_key), now)
    records.put_authority(conn, CaRole.ROOT, root, private_pem(root_key).decode("ascii"),
                          key_type.value, BUILT_IN, now)
    records.put_authority(conn, CaRole.INTERMEDIATE, inter,
                          private_pem(inter_key).decode("ascii"), key_type.value, BUILT_IN, now)
    return CaChain(root, inter)


def import_authority(conn: sqlite3.Connection, now: datetime, root: x509.Certificate,
                     intermediate: x509.Certificate, key_pem: bytes | None,
                     key_password: bytes | None = None) -> CaChain:
    """Take over an organisation's CA: its root (trust anchor) and issuing CA, key optional."""
    if records.authorities(conn):
        raise Conflict("this home already has a CA; it is never replaced silently")
    for cert, what in ((root, "root CA"), (intermediate, "issuing CA")):
        if not is_ca(cert):
            raise ValidationError(f"the {what} certificate '{cert.subject.rfc4514_string()}' is "
                                  "not a CA certificate (BasicConstraints CA=true missing)")
        check_valid_at(cert, what, now)
    if root.subject != root.issuer:
        raise ValidationError("the root CA certificate is not self-signed; give the top of your "
                              "chain as --root")
    if root == intermediate:
        raise ValidationError("the issuing CA must be a different certificate from the root")
    try:
        intermediate.verify_directly_issued_by(root)
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise ValidationError("the issuing CA certificate was not signed by the given root "
                              "CA") from None
    key_text = None
    if key_pem is not None:
        try:
            key = load_private_pem(key_pem, key_password)
        except (ValueError, TypeError):
            raise ValidationError("the issuing CA key cannot be read (wrong password, or not a "
                                  "PEM private key)") from None
        if not same_public_key(key.public_key(), intermediate.public_key()):
            raise ValidationError("the key does not belong to the issuing CA certificate")
        key_text = private_pem(key).decode("ascii")
    records.put_authority(conn, CaRole.ROOT, root, None, key_type_of(root.public_key()),
                          IMPORTED, now)
    records.put_authority(conn, CaRole.INTERMEDIATE, intermediate, key_text,
                          key_type_of(intermediate.public_key()), IMPORTED, now)
    return CaChain(root, intermediate)


def export_root_key(conn: sqlite3.Connection, now: datetime, password: bytes | None) -> bytes:
    """The root key as PKCS#8 PEM (encrypted when a password is given), removed from the store
    in the caller's transaction: if writing the file fails, the caller rolls back."""
    root = records.authorities(conn).get(CaRole.ROOT)
    if root is None:
        raise NotFound("this home has no root CA")
    if root.key_pem is None:
        raise Conflict("the root CA's key is not in this store any more (exported on "
                       f"{(root.key_removed or 'import')[:10]}, or an external CA)")
    pem = private_pem(sealed.open_key(conn, root.key_pem, "the root CA's key"), password)
    records.remove_authority_key(conn, CaRole.ROOT, now)
    return pem
