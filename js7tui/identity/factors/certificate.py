"""Checks of a user certificate for the CERTIFICATE identity service.

Chain: ``cryptography.x509.verification`` to the service's trust anchor (this home's CA, or an
organisation's CA certificates given in the service's settings), at the login's time. The EE
policy requires extended key usage clientAuth, and digitalSignature when the certificate has a
key usage (the key signs the login challenge); SAN and AKI are not required, so certificates of
an organisation's CA that carry neither still verify.

Revocation (JS7 checks none; we do): every certificate of the verified chain below the anchor is
looked up in a CRL of its issuer that verifies with the issuer's key and is current. No current
CRL for an issuer refuses the login (fail closed): a CA whose CRLs are not kept up to date here
cannot prove that a key it certified was not reported lost. The built-in CA's CRLs are the
store's (:func:`js7tui.pki.crl.held_crls` holds the same); an organisation's CRLs are imported
into the service's settings (``iamCertificateCrls``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from js7tui.pki import records as pki_records
from js7tui.pki.records import CaRole

BUILT_IN = "built-in"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.S)


class CertificateRefused(Exception):
    """``str()`` is the reason for the login history and the audit log."""


@dataclass(frozen=True)
class Anchor:
    name: str
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]


@dataclass(frozen=True)
class Verified:
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    cn: str
    spki_sha256: str


def load_certificates(data: bytes | str) -> list[x509.Certificate]:
    raw = data.encode("ascii") if isinstance(data, str) else data
    if b"-----BEGIN" not in raw:
        return [x509.load_der_x509_certificate(raw)] if raw else []
    return [x509.load_pem_x509_certificate(block) for block in _PEM_CERT.findall(raw)]


def load_crls(data: bytes | str) -> list[x509.CertificateRevocationList]:
    raw = data.encode("ascii") if isinstance(data, str) else data
    return [x509.load_pem_x509_crl(block) for block in _PEM_CRL.findall(raw)]


def spki_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise CertificateRefused(f"the certificate '{cert.subject.rfc4514_string()}' has "
                                 f"{len(names)} common names; exactly one names the account")
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def anchor(conn: sqlite3.Connection, trust: str | None, crls_pem: str | None) -> Anchor:
    """The trust anchor of a service: ``built-in`` (this home's CA and its CRLs) or the PEM of
    an organisation's CA certificates (self-signed ones are roots, the rest intermediates)."""
    if not trust or trust.strip().lower() == BUILT_IN:
        found = pki_records.authorities(conn)
        if CaRole.ROOT not in found or CaRole.INTERMEDIATE not in found:
            raise CertificateRefused("this home has no CA yet, so no certificate can chain to "
                                     "the built-in trust anchor")
        crls = [x509.load_pem_x509_crl(record.crl_pem.encode("ascii"))
                for role in (CaRole.INTERMEDIATE, CaRole.ROOT)
                if (record := pki_records.crl(conn, role)) is not None]
        return Anchor(BUILT_IN, (found[CaRole.ROOT].cert,), (found[CaRole.INTERMEDIATE].cert,),
                      tuple(crls))
    certs = load_certificates(trust)
    if not certs:
        raise CertificateRefused("the service's trust anchor holds no certificate")
    roots = tuple(c for c in certs if c.subject == c.issuer)
    if not roots:
        raise CertificateRefused("the service's trust anchor holds no root (self-signed) CA")
    return Anchor("organisation", roots, tuple(c for c in certs if c.subject != c.issuer),
                  tuple(load_crls(crls_pem or "")))


def _client_auth(policy: object, cert: x509.Certificate,
                 eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is None or ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise ValueError("extended key usage clientAuth missing")


def _signs(policy: object, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is not None and not usage.digital_signature:
        raise ValueError("key usage digitalSignature missing")


def verify(leaf: x509.Certificate, presented: Sequence[x509.Certificate], trust: Anchor,
           now: datetime) -> Verified:
    ee = (ExtensionPolicy.permit_all()
          .require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _client_auth)
          .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _signs))
    verifier = (PolicyBuilder().store(Store(list(trust.roots))).time(now)
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ee)
                .build_client_verifier())
    try:
        chain = tuple(verifier.verify(leaf, [*trust.intermediates, *presented]).chain)
    except VerificationError as exc:
        text = str(exc)
        if "not valid at validation time" in text or "expired" in text:
            raise CertificateRefused(
                f"the certificate '{leaf.subject.rfc4514_string()}' is not valid now (valid "
                f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d})"
            ) from None
        raise CertificateRefused(
            f"the certificate '{leaf.subject.rfc4514_string()}' (issuer "
            f"'{leaf.issuer.rfc4514_string()}') does not chain to the {trust.name} trust "
            f"anchor: {text}") from None
    _check_revocation(chain, trust, now)
    return Verified(leaf, chain, common_name(leaf), spki_sha256(leaf))


def _check_revocation(chain: Sequence[x509.Certificate], trust: Anchor, now: datetime) -> None:
    for cert, issuer in itertools.pairwise(chain):
        current = []
        for crl in trust.crls:
            if crl.issuer != issuer.subject:
                continue
            try:
                if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                    continue
            except (TypeError, ValueError):
                continue
            if crl.next_update_utc is not None and crl.next_update_utc <= now:
                continue
            current.append(crl)
        if not current:
            raise CertificateRefused(
                f"no current CRL of '{issuer.subject.rfc4514_string()}' is held, so the "
                f"revocation of '{cert.subject.rfc4514_string()}' cannot be checked (import "
                "or sign a current CRL)")
        for crl in current:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                reason = "unspecified"
                with contextlib.suppress(x509.ExtensionNotFound):
                    reason = entry.extensions.get_extension_for_class(
                        x509.CRLReason).value.reason.value
                raise CertificateRefused(
                    f"the certificate '{cert.subject.rfc4514_string()}' (serial "
                    f"{format(cert.serial_number, 'x')}) was revoked on "
                    f"{entry.revocation_date_utc:%Y-%m-%d %H:%M} UTC ({reason})")
