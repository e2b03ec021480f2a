"""The PKI's rows in the store: CA certificates, issued certificates, CRLs, settings.

Only this module (and the migration) speaks SQL for the PKI. Keys are written sealed with the
home's secret box (js7tui.pki.sealed) and come back as the stored, sealed text: the domain
code that needs a key opens it with ``sealed.open_key``, which refuses a clear value. Keys are
never part of a record's ``describe`` or ``repr``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cryptography import x509

from js7tui.clock import from_iso, to_iso
from js7tui.errors import NotFound, ValidationError
from js7tui.pki import sealed
from js7tui.pki.pem import cert_pem, serial_hex


class CaRole(StrEnum):
    ROOT = "ROOT"
    INTERMEDIATE = "INTERMEDIATE"


class Status(StrEnum):
    PENDING = "PENDING"
    VALID = "VALID"
    REVOKED = "REVOKED"


def days_between(now: datetime, then: datetime) -> int:
    """Whole days from ``now`` to ``then``, counted toward zero: 23 hours left is 0, one day
    and an hour after expiry is -1 (``timedelta.days`` would say -2)."""
    seconds = (then - now).total_seconds()
    return int(seconds // 86400) if seconds >= 0 else -int(-seconds // 86400)


def time_left(now: datetime, then: datetime) -> str:
    """``in 3 days``, ``in 23 hours``, ``in 40 minutes``: whole units, never "in 0 days"."""
    seconds = int((then - now).total_seconds())
    if seconds >= 86400:
        days = seconds // 86400
        return f"in {days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = seconds // 3600
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    minutes = max(seconds // 60, 0)
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class Authority:
    role: CaRole
    subject: str
    serial: str
    key_type: str
    not_before: datetime
    not_after: datetime
    cert_pem: str
    origin: str
    key_removed: str | None
    key_pem: str | None = field(default=None, repr=False)

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode("ascii"))

    @property
    def key_online(self) -> bool:
        return self.key_pem is not None


@dataclass(frozen=True)
class CertRecord:
    id: int
    serial: str | None
    purpose: str
    name: str
    owner: str
    subject: str
    issuer: str
    san: tuple[str, ...]
    key_type: str
    not_before: datetime | None
    not_after: datetime | None
    status: Status
    cert_pem: str | None
    keep_key: bool
    replaces_id: int | None
    exported: str | None
    import_confirmed: str | None
    revoked_at: str | None
    revocation_reason: str | None
    created: str
    created_by: str
    csr_pem: str | None = field(default=None, repr=False)
    key_pem: str | None = field(default=None, repr=False)

    @property
    def cert(self) -> x509.Certificate:
        if not self.cert_pem:
            raise ValidationError(f"certificate {self.label} is still waiting for its "
                                  "signed certificate (js7tui cert import)")
        return x509.load_pem_x509_certificate(self.cert_pem.encode("ascii"))

    @property
    def key_held(self) -> bool:
        return self.key_pem is not None

    @property
    def label(self) -> str:
        return f"{self.purpose} '{self.name}'" + (f" (serial {self.serial})"
                                                  if self.serial else " (pending CSR)")

    def days_left(self, now: datetime) -> int | None:
        if self.not_after is None:
            return None
        return days_between(now, self.not_after)

    def state(self, now: datetime) -> str:
        """The state an administrator reads: words, not colours."""
        if self.status is not Status.VALID or self.not_after is None:
            return self.status.value.lower()
        if self.not_after <= now:
            return "expired"
        if self.replaces_id is not None and not self.import_confirmed:
            return "valid (renewal, import not confirmed)"
        return "valid"


def _dt(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def _authority(row: sqlite3.Row) -> Authority:
    return Authority(role=CaRole(row["role"]), subject=row["subject"], serial=row["serial"],
                     key_type=row["key_type"], not_before=from_iso(row["not_before"]),
                     not_after=from_iso(row["not_after"]), cert_pem=row["cert_pem"],
                     origin=row["origin"], key_removed=row["key_removed"],
                     key_pem=row["key_pem"])


def authorities(conn: sqlite3.Connection) -> dict[CaRole, Authority]:
    rows = conn.execute("SELECT * FROM pki_authorities").fetchall()
    return {CaRole(row["role"]): _authority(row) for row in rows}


def put_authority(conn: sqlite3.Connection, role: CaRole, cert: x509.Certificate,
                  key_pem: str | None, key_type: str, origin: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO pki_authorities (role, subject, serial, key_type, not_before, not_after,"
        " cert_pem, key_pem, origin, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (role.value, cert.subject.rfc4514_string(), serial_hex(cert), key_type,
         to_iso(cert.not_valid_before_utc), to_iso(cert.not_valid_after_utc),
         cert_pem(cert), sealed.seal(conn, key_pem), origin, to_iso(now)))


def remove_authority_key(conn: sqlite3.Connection, role: CaRole, now: datetime) -> None:
    conn.execute("UPDATE pki_authorities SET key_pem = NULL, key_removed = ? WHERE role = ?",
                 (to_iso(now), role.value))


def _cert(row: sqlite3.Row) -> CertRecord:
    return CertRecord(
        id=row["id"], serial=row["serial"], purpose=row["purpose"], name=row["name"],
        owner=row["owner"], subject=row["subject"], issuer=row["issuer"],
        san=tuple(json.loads(row["san"])), key_type=row["key_type"],
        not_before=_dt(row["not_before"]), not_after=_dt(row["not_after"]),
        status=Status(row["status"]), cert_pem=row["cert_pem"], keep_key=bool(row["keep_key"]),
        replaces_id=row["replaces_id"], exported=row["exported"],
        import_confirmed=row["import_confirmed"], revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"], created=row["created"],
        created_by=row["created_by"], csr_pem=row["csr_pem"], key_pem=row["key_pem"])


def insert_certificate(conn: sqlite3.Connection, *, purpose: str, name: str, owner: str,
                       subject: str, key_type: str, status: Status, created_by: str,
                       now: datetime, cert: x509.Certificate | None = None,
                       san: list[str] | None = None, key_pem: str | None = None,
                       keep_key: bool = False, csr_pem: str | None = None,
                       replaces_id: int | None = None) -> CertRecord:
    cursor = conn.execute(
        "INSERT INTO pki_certificates (serial, purpose, name, owner, subject, issuer, san,"
        " key_type, not_before, not_after, status, cert_pem, key_pem, keep_key, csr_pem,"
        " replaces_id, created, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (serial_hex(cert) if cert else None, purpose, name, owner, subject,
         cert.issuer.rfc4514_string() if cert else "", json.dumps(san or []), key_type,
         to_iso(cert.not_valid_before_utc) if cert else None,
         to_iso(cert.not_valid_after_utc) if cert else None, status.value,
         cert_pem(cert) if cert else None, sealed.seal(conn, key_pem), int(keep_key), csr_pem,
         replaces_id, to_iso(now), created_by))
    return certificate_by_id(conn, int(cursor.lastrowid or 0))


def certificate_by_id(conn: sqlite3.Connection, cert_id: int) -> CertRecord:
    row = conn.execute("SELECT * FROM pki_certificates WHERE id = ?", (cert_id,)).fetchone()
    if row is None:
        raise NotFound(f"no certificate with id {cert_id}")
    return _cert(row)


def find_certificate(conn: sqlite3.Connection, serial: str) -> CertRecord:
    """By serial (hex, any case, ':' allowed) or an unambiguous prefix of at least 6 digits."""
    wanted = serial.strip().lower().replace(":", "").removeprefix("0x")
    if not wanted or any(c not in "0123456789abcdef" for c in wanted):
        raise ValidationError(f"'{serial}' is not a certificate serial (hexadecimal)")
    rows = conn.execute("SELECT * FROM pki_certificates WHERE serial = ?", (wanted,)).fetchall()
    if not rows and len(wanted) >= 6:
        rows = conn.execute("SELECT * FROM pki_certificates WHERE serial LIKE ? || '%'",
                            (wanted,)).fetchall()
    if not rows:
        raise NotFound(f"no certificate with serial {serial} (js7tui cert list shows them)")
    if len(rows) > 1:
        raise ValidationError(f"the serial prefix {serial} matches {len(rows)} certificates; "
                              "give more digits")
    return _cert(rows[0])


def certificates(conn: sqlite3.Connection, *, purpose: str | None = None,
                 name: str | None = None, status: Status | None = None) -> list[CertRecord]:
    where, params = [], []
    for column, value in (("purpose", purpose), ("name", name),
                          ("status", status.value if status else None)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT * FROM pki_certificates"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_cert(row) for row in conn.execute(sql + " ORDER BY id", params).fetchall()]


def complete_pending(conn: sqlite3.Connection, cert_id: int, cert: x509.Certificate,
                     san: list[str]) -> None:
    conn.execute(
        "UPDATE pki_certificates SET serial = ?, issuer = ?, subject = ?, san = ?, "
        "not_before = ?, not_after = ?, status = 'VALID', cert_pem = ? WHERE id = ?",
        (serial_hex(cert), cert.issuer.rfc4514_string(), cert.subject.rfc4514_string(),
         json.dumps(san), to_iso(cert.not_valid_before_utc), to_iso(cert.not_valid_after_utc),
         cert_pem(cert), cert_id))


def mark_exported(conn: sqlite3.Connection, cert_id: int, now: datetime,
                  drop_key: bool) -> None:
    conn.execute(
        "UPDATE pki_certificates SET exported = ?, "
        "key_pem = CASE WHEN ? THEN NULL ELSE key_pem END WHERE id = ?",
        (to_iso(now), int(drop_key), cert_id))


def mark_revoked(conn: sqlite3.Connection, cert_id: int, now: datetime, reason: str) -> None:
    conn.execute("UPDATE pki_certificates SET status = 'REVOKED', revoked_at = ?, "
                 "revocation_reason = ?, key_pem = NULL WHERE id = ?",
                 (to_iso(now), reason, cert_id))


def mark_confirmed(conn: sqlite3.Connection, cert_id: int, now: datetime) -> None:
    conn.execute("UPDATE pki_certificates SET import_confirmed = ? WHERE id = ?",
                 (to_iso(now), cert_id))


def revoked(conn: sqlite3.Connection) -> list[CertRecord]:
    return certificates(conn, status=Status.REVOKED)


@dataclass(frozen=True)
class CrlRecord:
    role: CaRole
    crl_number: int
    last_update: datetime
    next_update: datetime
    crl_pem: str


def crl(conn: sqlite3.Connection, role: CaRole) -> CrlRecord | None:
    row = conn.execute("SELECT * FROM pki_crls WHERE role = ?", (role.value,)).fetchone()
    if row is None:
        return None
    return CrlRecord(CaRole(row["role"]), row["crl_number"], from_iso(row["last_update"]),
                     from_iso(row["next_update"]), row["crl_pem"])


def put_crl(conn: sqlite3.Connection, role: CaRole, number: int, last_update: datetime,
            next_update: datetime, pem: str) -> None:
    conn.execute(
        "INSERT INTO pki_crls (role, crl_number, last_update, next_update, crl_pem) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(role) DO UPDATE SET crl_number = excluded.crl_number,"
        " last_update = excluded.last_update, next_update = excluded.next_update,"
        " crl_pem = excluded.crl_pem",
        (role.value, number, to_iso(last_update), to_iso(next_update), pem))


def setting(conn: sqlite3.Connection, key: str, default: str) -> str:
    row = conn.execute("SELECT value FROM pki_settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else default


def put_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO pki_settings (key, value) VALUES (?, ?) ON CONFLICT(key) "
                 "DO UPDATE SET value = excluded.value", (key, value))
