"""Issuing leaf certificates inside the caller's transaction.

These functions take a connection and do no permission check or audit: the session-taking
:class:`js7tui.pki.service.CertificateService` wraps them for administrators, and other domain
services (deployment signing keys) call them inside their own audited operation.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.errors import Conflict, ValidationError
from js7tui.pki import authority, records, sealed, signing_ca
from js7tui.pki.builder import LEAF_DAYS, build_leaf
from js7tui.pki.keys import (
    DEFAULT_KEY_TYPE,
    KeyType,
    PrivateKey,
    check_acceptable_public_key,
    key_type_of,
    private_pem,
    same_public_key,
    signature_hash,
)
from js7tui.pki.pem import certs_pem, load_certs
from js7tui.pki.profiles import (
    Purpose,
    check_name,
    default_san,
    parse_san,
    san_strings,
    subject_for,
)
from js7tui.pki.records import CertRecord, Status
from js7tui.pki.verify import verify_leaf

KEY_TYPE_SETTING = "leaf_key_type"
MAX_DAYS = 3650


@dataclass(frozen=True)
class IssueRequest:
    """What to issue. ``san`` entries are ``DNS:x``/``IP:x``/``email:x``/``URI:x``; empty means
    the purpose's default (``localhost``/``127.0.0.1`` for servers, else e-mail or URN)."""

    purpose: Purpose
    name: str
    owner: str = ""
    san: Sequence[str] = ()
    email: str | None = None
    key_type: KeyType | None = None
    days: int = LEAF_DAYS
    keep_key: bool = False

    def __post_init__(self) -> None:
        # callers may say purpose="signing"; everything below works with the enum
        if not isinstance(self.purpose, Purpose):
            object.__setattr__(self, "purpose", Purpose.parse(str(self.purpose)))
        if self.purpose is Purpose.ENCIPHERMENT:
            raise ValidationError("encipherment certificates are issued, imported and assigned "
                                  "to Agents with 'js7tui encipherment' (they have an alias)")


@dataclass(frozen=True)
class Issued:
    """A freshly issued certificate; ``key`` is None when the requester kept its own (CSR)."""

    record: CertRecord
    cert: x509.Certificate
    chain: list[x509.Certificate]          # leaf, intermediate, root
    key: PrivateKey | None = field(default=None, repr=False)

    @property
    def cert_chain_pem(self) -> bytes:
        """Leaf then intermediate: what a TLS peer sends."""
        return certs_pem(self.chain[:2])

    def key_pem(self, password: bytes | None = None) -> bytes:
        if self.key is None:
            raise ValidationError("this certificate was issued from a request; its key stays "
                                  "with the requester")
        return private_pem(self.key, password)


class SigningKeyAtHigh(ValidationError):
    """Security level HIGH: a signing key is never made or kept inside the console."""


def _installation(conn: sqlite3.Connection) -> str:
    from js7tui.security_level import installation_id
    return installation_id(conn)


def refuse_signing_key_at_high(conn: sqlite3.Connection, request: IssueRequest) -> None:
    """At HIGH no command makes a signing key here (nor keeps one): the key must stay with
    its owner, outside the console, who sends a certificate signing request."""
    from js7tui import security_level
    if request.purpose is not Purpose.SIGNING:
        return
    if security_level.read(conn) is security_level.SecurityLevel.HIGH:
        raise SigningKeyAtHigh(
            "security level HIGH: no signing key may be made or kept inside the console. "
            "Make the key and a certificate signing request where the key stays (for example "
            "'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
            "KEY -out REQ.csr -subj /CN=NAME'), then: js7tui cert issue signing NAME --csr "
            "REQ.csr --out-cert FILE")


def default_key_type(conn: sqlite3.Connection) -> KeyType:
    return KeyType(records.setting(conn, KEY_TYPE_SETTING, DEFAULT_KEY_TYPE.value))


def _check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"validity must be 1 to {MAX_DAYS} days, not {days}")
    return days


def _san(request: IssueRequest) -> list[x509.GeneralName]:
    return parse_san(request.san or default_san(request.purpose, request.name, request.email))


def _issue_for_key(conn: sqlite3.Connection, now: datetime, request: IssueRequest,
                   public_key: CertificatePublicKeyTypes, san: list[x509.GeneralName],
                   *, created_by: str, key_pem: str | None,
                   replaces_id: int | None) -> tuple[CertRecord, x509.Certificate,
                                                     list[x509.Certificate]]:
    check_name(request.purpose, request.name)
    if request.purpose is Purpose.SIGNING:  # never the TLS issuing CA (issue 16)
        signer, ca = signing_ca.issuer(conn, now, _installation(conn))
    else:
        signer = authority.issuer(conn, now)
        ca = authority.chain(conn)
    subject = subject_for(request.purpose, request.name)
    cert = build_leaf(request.purpose, subject, public_key, san, signer, now,
                      _check_days(request.days))
    chain = verify_leaf(cert, ca, request.purpose, now)
    record = records.insert_certificate(
        conn, purpose=request.purpose.value, name=request.name,
        owner=request.owner or (request.name if request.purpose in (Purpose.USER,
                                                                     Purpose.SIGNING) else ""),
        subject=subject.rfc4514_string(), key_type=key_type_of(public_key),
        status=Status.VALID, created_by=created_by, now=now, cert=cert,
        san=san_strings(san), key_pem=key_pem, keep_key=request.keep_key,
        replaces_id=replaces_id)
    return record, cert, chain


def issue(conn: sqlite3.Connection, now: datetime, request: IssueRequest, *, created_by: str,
          hold_key: bool = False, replaces_id: int | None = None) -> Issued:
    """Generate a key and issue its certificate. The key is stored when ``keep_key`` is asked,
    for the console's own certificates, or (``hold_key``) until its bundle is exported."""
    refuse_signing_key_at_high(conn, request)
    key = (request.key_type or default_key_type(conn)).generate()
    store_key = request.keep_key or hold_key or request.purpose.profile.key_held
    record, cert, chain = _issue_for_key(
        conn, now, request, key.public_key(), _san(request), created_by=created_by,
        key_pem=private_pem(key).decode("ascii") if store_key else None,
        replaces_id=replaces_id)
    return Issued(record, cert, chain, key)


def _load_csr(data: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = (x509.load_pem_x509_csr(data) if b"-----BEGIN" in data
               else x509.load_der_x509_csr(data))
        extensions = list(csr.extensions)
    except ValueError:
        raise ValidationError("the request is not a well-formed PKCS#10 certificate signing "
                              "request (PEM or DER)") from None
    if not csr.is_signature_valid:
        raise ValidationError("the request's self-signature does not verify: it was altered "
                              "or not signed with the key it carries")
    for ext in extensions:
        if isinstance(ext.value, x509.BasicConstraints) and ext.value.ca:
            raise ValidationError("the request asks for a CA certificate (BasicConstraints "
                                  "CA=true); this console issues leaf certificates only")
        if isinstance(ext.value, x509.KeyUsage) and (ext.value.key_cert_sign
                                                    or ext.value.crl_sign):
            raise ValidationError("the request asks for certificate or CRL signing; this "
                                  "console issues leaf certificates only")
    return csr


def issue_from_csr(conn: sqlite3.Connection, now: datetime, csr_data: bytes,
                   request: IssueRequest, *, created_by: str) -> Issued:
    """Certify the key of an outside PKCS#10 request. The subject follows this console's DN
    scheme; SANs are the request's unless ``request.san`` gives them."""
    csr = _load_csr(csr_data)
    public_key = csr.public_key()
    check_acceptable_public_key(public_key)
    san = parse_san(request.san) if request.san else []
    if not san:
        try:
            san = list(csr.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            san = _san(request)
    record, cert, chain = _issue_for_key(conn, now, request, public_key,  # type: ignore[arg-type]
                                         san, created_by=created_by, key_pem=None,
                                         replaces_id=None)
    return Issued(record, cert, chain, None)


def create_csr(conn: sqlite3.Connection, now: datetime, request: IssueRequest, *,
               created_by: str) -> tuple[CertRecord, bytes]:
    """External-CA posture: a key held here and a request for the organisation's CA to sign
    (with the purpose's SAN, key usage and EKU as requested extensions)."""
    check_name(request.purpose, request.name)
    refuse_signing_key_at_high(conn, request)
    key = (request.key_type or default_key_type(conn)).generate()
    subject = subject_for(request.purpose, request.name)
    san = _san(request)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .add_extension(x509.SubjectAlternativeName(san), critical=False)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.ExtendedKeyUsage(list(request.purpose.profile.ekus)),
                          critical=False)
           .sign(key, signature_hash(key)))
    pem = csr.public_bytes(Encoding.PEM)
    record = records.insert_certificate(
        conn, purpose=request.purpose.value, name=request.name,
        owner=request.owner or (request.name if request.purpose in (Purpose.USER,
                                                                     Purpose.SIGNING) else ""),
        subject=subject.rfc4514_string(), key_type=key_type_of(key), status=Status.PENDING,
        created_by=created_by, now=now, san=san_strings(san),
        key_pem=private_pem(key).decode("ascii"), keep_key=request.keep_key,
        csr_pem=pem.decode("ascii"))
    return record, pem


def import_signed(conn: sqlite3.Connection, now: datetime, data: bytes) -> CertRecord:
    """Take in the certificate an outside CA signed for one of our pending requests."""
    certs = load_certs(data, "the file")
    leaf = certs[0]
    pending = [r for r in records.certificates(conn, status=Status.PENDING) if r.key_pem]
    match = next((r for r in pending if same_public_key(
        sealed.open_key(conn, r.key_pem, f"the key of {r.label}").public_key(),
        leaf.public_key())), None)
    if match is None:
        if any(r.serial == format(leaf.serial_number, "x")
               for r in records.certificates(conn)):
            raise Conflict("this certificate is already in the store")
        raise ValidationError("no pending request of this console matches the certificate's "
                              "key (js7tui cert list --all shows pending requests)")
    verify_leaf(leaf, authority.chain(conn), Purpose(match.purpose), now)
    san: list[str] = []
    with contextlib.suppress(x509.ExtensionNotFound):
        san = san_strings(list(leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value))
    records.complete_pending(conn, match.id, leaf, san)
    return records.certificate_by_id(conn, match.id)
