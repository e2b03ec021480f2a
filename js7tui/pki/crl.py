"""Certificate revocation lists: signed by the CA level they cover, with CRLNumber and AKI.

The intermediate's CRL lists revoked leaves and is re-signed on every revocation and whenever
less than half of its validity is left when a bundle or export needs it. The root's CRL (no
intermediate revoked) is signed at CA creation, valid until the intermediate expires: once the
root key is exported it cannot be re-signed here.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.errors import NotFound, ValidationError
from js7tui.pki import records
from js7tui.pki.authority import issuer, root_issuer
from js7tui.pki.builder import BACKDATE, Issuer
from js7tui.pki.keys import signature_hash
from js7tui.pki.records import CaRole, CrlRecord
from js7tui.signing.revocation import CrlSet

CRL_DAYS_SETTING = "crl_next_update_days"
DEFAULT_CRL_DAYS = 30
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def parse_reason(text: str) -> str:
    for name in REASONS:
        if name.lower() == text.strip().lower().replace("-", "").replace("_", ""):
            return name
    raise ValidationError(f"unknown revocation reason '{text}'; choose one of "
                          + ", ".join(REASONS))


def crl_days(conn: sqlite3.Connection) -> int:
    return int(records.setting(conn, CRL_DAYS_SETTING, str(DEFAULT_CRL_DAYS)))


def set_crl_days(conn: sqlite3.Connection, days: int) -> None:
    if not 1 <= days <= 366:
        raise ValidationError("the CRL's next update must be 1 to 366 days ahead")
    records.put_setting(conn, CRL_DAYS_SETTING, str(days))


def _sign(conn: sqlite3.Connection, role: CaRole, signer: Issuer, now: datetime,
          next_update: datetime, entries: list[records.CertRecord]) -> CrlRecord:
    previous = records.crl(conn, role)
    number = (previous.crl_number if previous else 0) + 1
    # Backdated like certificates: a server whose clock is a little behind ours would refuse
    # every client with "CRL is not yet valid".
    last_update = now - BACKDATE
    builder = (x509.CertificateRevocationListBuilder().issuer_name(signer.cert.subject)
               .last_update(last_update).next_update(next_update)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   signer.key.public_key()), critical=False))
    for entry in entries:
        revoked = (x509.RevokedCertificateBuilder().serial_number(int(entry.serial or "0", 16))
                   .revocation_date(datetime.fromisoformat(entry.revoked_at or now.isoformat())))
        reason = REASONS.get(entry.revocation_reason or "unspecified")
        if reason is not None and reason is not x509.ReasonFlags.unspecified:
            revoked = revoked.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    pem = builder.sign(signer.key, signature_hash(signer.key)).public_bytes(Encoding.PEM)
    records.put_crl(conn, role, number, last_update, next_update, pem.decode("ascii"))
    return records.crl(conn, role)  # type: ignore[return-value]


def sign_intermediate_crl(conn: sqlite3.Connection, now: datetime,
                          days: int | None = None) -> CrlRecord:
    signer = issuer(conn, now)
    subject = signer.cert.subject.rfc4514_string()
    entries = [c for c in records.revoked(conn) if c.issuer == subject and c.serial]
    next_update = min(now + timedelta(days=days or crl_days(conn)),
                      signer.cert.not_valid_after_utc)
    return _sign(conn, CaRole.INTERMEDIATE, signer, now, next_update, entries)


def sign_root_crl(conn: sqlite3.Connection, now: datetime) -> CrlRecord:
    signer = root_issuer(conn, now)
    inter = records.authorities(conn)[CaRole.INTERMEDIATE].cert
    return _sign(conn, CaRole.ROOT, signer, now, inter.not_valid_after_utc, [])


def fresh_intermediate_crl(conn: sqlite3.Connection, now: datetime) -> CrlRecord:
    """The CRL to hand out now: the stored one while more than half its life is left, else a
    newly signed one (built-in or key-holding CA); an external CA's must be imported."""
    current = records.crl(conn, CaRole.INTERMEDIATE)
    inter = records.authorities(conn).get(CaRole.INTERMEDIATE)
    if current is not None:
        half = (current.next_update - current.last_update) / 2
        if current.next_update - now > half:
            return current
    if inter is not None and inter.key_online:
        return sign_intermediate_crl(conn, now)
    if current is None:
        raise NotFound("there is no CRL of the issuing CA yet: import your CA's current CRL "
                       "with 'js7tui cert crl import FILE'")
    if current.next_update <= now:
        raise ValidationError(
            f"the issuing CA's CRL expired on {current.next_update:%Y-%m-%d}; servers that check "
            "revocation would refuse every client. Import a current one with 'js7tui cert crl "
            "import FILE'")
    return current


def import_crl(conn: sqlite3.Connection, now: datetime, data: bytes) -> CrlRecord:
    """Take over an external CA's CRL: signature, issuer, number and dates checked; the serials
    it lists are marked revoked here too."""
    try:
        crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data
               else x509.load_der_x509_crl(data))
    except ValueError:
        raise ValidationError("the file is not a PEM or DER certificate revocation list") from None
    inter = records.authorities(conn).get(CaRole.INTERMEDIATE)
    if inter is None:
        raise NotFound("this home has no CA to take a CRL for (js7tui cert ca import)")
    cert = inter.cert
    if crl.issuer != cert.subject or not crl.is_signature_valid(cert.public_key()):
        raise ValidationError("the CRL was not signed by this home's issuing CA "
                              f"'{inter.subject}'")
    if crl.next_update_utc is None or crl.next_update_utc <= now:
        raise ValidationError("the CRL has no next update in the future; it is out of date")
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        raise ValidationError("the CRL has no CRLNumber extension; servers such as rustls "
                              "refuse it") from None
    previous = records.crl(conn, CaRole.INTERMEDIATE)
    if previous is not None and number <= previous.crl_number:
        raise ValidationError(f"the CRL's number {number} is not newer than the one already "
                              f"held ({previous.crl_number})")
    revoked_serials = {format(r.serial_number, "x"): r for r in crl}
    for record in records.certificates(conn, status=records.Status.VALID):
        entry = revoked_serials.get(record.serial or "")
        if entry is not None and record.issuer == inter.subject:
            records.mark_revoked(conn, record.id, entry.revocation_date_utc, "unspecified")
    records.put_crl(conn, CaRole.INTERMEDIATE, number, crl.last_update_utc,
                    crl.next_update_utc, crl.public_bytes(Encoding.PEM).decode("ascii"))
    return records.crl(conn, CaRole.INTERMEDIATE)  # type: ignore[return-value]


def held_crls(conn: sqlite3.Connection) -> CrlSet:
    """The console's CRLs (every CA level of this home) for the signer checks of an import,
    the same check the Controller and the Agent make with the CRLs they hold."""
    crls = [x509.load_pem_x509_crl(record.crl_pem.encode("ascii"))
            for role in CaRole if (record := records.crl(conn, role)) is not None]
    issuers = [authority.cert for authority in records.authorities(conn).values()]
    return CrlSet.of(crls, issuers)
