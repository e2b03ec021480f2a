"""Encipherment certificates in the console's store (issue 21): rows, checks, deliveries.

Only this module speaks SQL for encipherment. Functions take the caller's connection; the
session-taking :class:`js7tui.encipherment.service.EnciphermentService` checks permissions and
audits. Private keys are sealed with the home's secrets key while held and are never part of
a record's ``repr``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from js7tui.clock import from_iso, to_iso
from js7tui.encipherment import envelope
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.pki.keys import key_type_of
from js7tui.pki.pem import cert_pem

_TLS_OR_SIGNING = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH,
                   ExtendedKeyUsageOID.CODE_SIGNING)


@dataclass(frozen=True)
class EncCert:
    id: int
    alias: str
    fingerprint: str
    subject: str
    issuer: str
    key_type: str
    not_after: datetime
    cert_pem: str
    origin: str
    state: str
    replaces_id: int | None
    created: str
    created_by: str
    key_removed: str | None
    retired: str | None
    key_sealed: str | None = field(default=None, repr=False)

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode("ascii"))

    @property
    def key_held(self) -> bool:
        return self.key_sealed is not None

    def describe(self) -> dict[str, Any]:
        return {"alias": self.alias, "fingerprint": self.fingerprint, "subject": self.subject,
                "issuer": self.issuer, "keyType": self.key_type, "state": self.state,
                "notAfter": to_iso(self.not_after), "origin": self.origin}


def check_encipherment_cert(cert: x509.Certificate, now: datetime) -> None:
    """An encipherment certificate encrypts only: RSA with keyEncipherment or EC with
    keyAgreement, no signature usage, not a CA, not a TLS or code-signing certificate."""
    public = cert.public_key()
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise ValidationError("the certificate has no key usage; an encipherment certificate "
                              "carries keyEncipherment (RSA) or keyAgreement (EC) only") from None
    if isinstance(public, rsa.RSAPublicKey):
        if not usage.key_encipherment or public.key_size < 2048:
            raise ValidationError("an RSA encipherment certificate needs keyEncipherment and "
                                  "a key of at least 2048 bits")
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if not usage.key_agreement:
            raise ValidationError("an EC encipherment certificate needs keyAgreement")
    else:
        raise ValidationError("an encipherment certificate holds an RSA or EC key")
    if usage.digital_signature or usage.content_commitment or usage.key_cert_sign \
            or usage.crl_sign:
        raise ValidationError("the certificate may also sign (digitalSignature, keyCertSign "
                              "...): an encipherment certificate is for encryption only, "
                              "apart from TLS and signing certificates")
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ValidationError("a CA certificate cannot be an encipherment certificate")
    except x509.ExtensionNotFound:
        pass
    try:
        ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if any(oid in ekus for oid in _TLS_OR_SIGNING):
            raise ValidationError("the certificate is for TLS or code signing (extended key "
                                  "usage); use a certificate for encryption only")
    except x509.ExtensionNotFound:
        pass
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise ValidationError(f"the certificate is not valid now (valid "
                              f"{cert.not_valid_before_utc:%Y-%m-%d} to "
                              f"{cert.not_valid_after_utc:%Y-%m-%d})")


def _row(row: sqlite3.Row) -> EncCert:
    return EncCert(id=row["id"], alias=row["alias"], fingerprint=row["fingerprint"],
                   subject=row["subject"], issuer=row["issuer"], key_type=row["key_type"],
                   not_after=from_iso(row["not_after"]), cert_pem=row["cert_pem"],
                   origin=row["origin"], state=row["state"], replaces_id=row["replaces_id"],
                   created=row["created"], created_by=row["created_by"],
                   key_removed=row["key_removed"], retired=row["retired"],
                   key_sealed=row["key_pem"])


def insert(conn: sqlite3.Connection, *, alias: str, cert: x509.Certificate,
           key_sealed: str | None, origin: str, created_by: str, now: datetime,
           replaces_id: int | None = None) -> EncCert:
    fp = envelope.fingerprint(cert)
    if conn.execute("SELECT 1 FROM encipherment_certificates WHERE fingerprint = ?",
                    (fp,)).fetchone():
        raise Conflict(f"this certificate ({fp[:16]}…) is already stored")
    cursor = conn.execute(
        "INSERT INTO encipherment_certificates (alias, fingerprint, subject, issuer, key_type,"
        " not_after, cert_pem, key_pem, origin, state, replaces_id, created, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CURRENT', ?, ?, ?)",
        (alias, fp, cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
         key_type_of(cert.public_key()), to_iso(cert.not_valid_after_utc),
         cert_pem(cert),
         key_sealed, origin, replaces_id, to_iso(now), created_by))
    return by_id(conn, int(cursor.lastrowid or 0))


def by_id(conn: sqlite3.Connection, cert_id: int) -> EncCert:
    row = conn.execute("SELECT * FROM encipherment_certificates WHERE id = ?",
                       (cert_id,)).fetchone()
    if row is None:
        raise NotFound(f"no encipherment certificate {cert_id}")
    return _row(row)


def all_certificates(conn: sqlite3.Connection) -> list[EncCert]:
    return [_row(r) for r in conn.execute(
        "SELECT * FROM encipherment_certificates ORDER BY alias, id").fetchall()]


def current(conn: sqlite3.Connection, alias: str) -> EncCert | None:
    row = conn.execute("SELECT * FROM encipherment_certificates WHERE alias = ? AND "
                       "state = 'CURRENT'", (alias,)).fetchone()
    return _row(row) if row else None


def of_alias(conn: sqlite3.Connection, alias: str) -> list[EncCert]:
    return [_row(r) for r in conn.execute(
        "SELECT * FROM encipherment_certificates WHERE alias = ? ORDER BY id",
        (alias,)).fetchall()]


def by_fingerprint(conn: sqlite3.Connection, fp: str) -> EncCert | None:
    row = conn.execute("SELECT * FROM encipherment_certificates WHERE fingerprint = ?",
                       (fp,)).fetchone()
    return _row(row) if row else None


def supersede(conn: sqlite3.Connection, cert_id: int) -> None:
    conn.execute("UPDATE encipherment_certificates SET state = 'SUPERSEDED' WHERE id = ?",
                 (cert_id,))


def retire(conn: sqlite3.Connection, cert_id: int, now: datetime) -> None:
    conn.execute("UPDATE encipherment_certificates SET state = 'RETIRED', retired = ?, "
                 "key_pem = NULL, key_removed = COALESCE(key_removed, ?) WHERE id = ?",
                 (to_iso(now), to_iso(now), cert_id))


def drop_key(conn: sqlite3.Connection, cert_id: int, now: datetime) -> None:
    conn.execute("UPDATE encipherment_certificates SET key_pem = NULL, key_removed = ? "
                 "WHERE id = ? AND key_pem IS NOT NULL", (to_iso(now), cert_id))


# -- assignments and deliveries -----------------------------------------------------------
def assign(conn: sqlite3.Connection, alias: str, agent: str, now: datetime) -> bool:
    cursor = conn.execute("INSERT OR IGNORE INTO encipherment_assignments (alias, agent, "
                          "assigned) VALUES (?, ?, ?)", (alias, agent, to_iso(now)))
    return cursor.rowcount > 0


def unassign(conn: sqlite3.Connection, alias: str, agent: str) -> bool:
    cursor = conn.execute("DELETE FROM encipherment_assignments WHERE alias = ? AND agent = ?",
                          (alias, agent))
    return cursor.rowcount > 0


def agents_of(conn: sqlite3.Connection, alias: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT agent FROM encipherment_assignments WHERE "
                                       "alias = ? ORDER BY agent", (alias,)).fetchall()]


def aliases_of(conn: sqlite3.Connection, agent: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT alias FROM encipherment_assignments WHERE "
                                       "agent = ? ORDER BY alias", (agent,)).fetchall()]


def deliveries(conn: sqlite3.Connection, cert_id: int) -> dict[str, str | None]:
    """{agent: when told to remove the key, or None while it holds it}."""
    return {r["agent"]: r["removed"] for r in conn.execute(
        "SELECT agent, removed FROM encipherment_deliveries WHERE cert_id = ? ORDER BY agent",
        (cert_id,)).fetchall()}


def record_delivery(conn: sqlite3.Connection, cert_id: int, agent: str, now: datetime) -> None:
    conn.execute("INSERT INTO encipherment_deliveries (cert_id, agent, delivered) VALUES "
                 "(?, ?, ?) ON CONFLICT(cert_id, agent) DO UPDATE SET delivered = "
                 "excluded.delivered, removed = NULL", (cert_id, agent, to_iso(now)))


def record_removal(conn: sqlite3.Connection, cert_id: int, agent: str, now: datetime) -> None:
    conn.execute("UPDATE encipherment_deliveries SET removed = ? WHERE cert_id = ? AND "
                 "agent = ?", (to_iso(now), cert_id, agent))


# -- where encrypted values sit in the inventory -----------------------------------------
@dataclass(frozen=True)
class Holder:
    """One encrypted value in an inventory object."""

    object_type: str
    name: str
    folder: str
    where: str           # e.g. variables.password, jobs.load.executable.env.DB_PASSWORD
    binding: str         # what the Agent binds it to (empty: not a place the Agent reads)
    kind: str            # "js7tui" or "js7" (unauthenticated)
    fingerprint: str     # empty for JS7's format (it names no certificate)


def _literal(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text if envelope.looks_encrypted(text) else None


def places(object_type: str, name: str, content: dict[str, Any]
           ) -> Iterator[tuple[tuple[str, ...], str, object]]:
    """(keys in the object's JSON, binding, value) of every place the Agent decrypts: a job
    resource's variables and env, a job's env and default arguments."""
    if object_type == "JOBRESOURCE":
        for var, value in (content.get("variables") or {}).items():
            yield ("variables", var), f"jobresource:{name}:{var}", value
        for var, value in (content.get("env") or {}).items():
            yield ("env", var), f"jobresource:{name}:env:{var}", value
        return
    for job, raw in (content.get("jobs") or {}).items():
        if not isinstance(raw, dict):
            continue
        executable = raw.get("executable") if isinstance(raw.get("executable"), dict) else {}
        for var, value in (executable.get("env") or {}).items():
            yield ("jobs", job, "executable", "env", var), f"workflow:{name}:{job}:env:{var}", \
                value
        for var, value in (raw.get("defaultArguments") or {}).items():
            yield ("jobs", job, "defaultArguments", var), f"workflow:{name}:{job}:arg:{var}", \
                value


def put(content: dict[str, Any], keys: tuple[str, ...], value: str) -> dict[str, Any]:
    """A copy of ``content`` with the expression at ``keys`` replaced by the literal
    ``value`` (an encrypted value holds no quote)."""
    copy = json.loads(json.dumps(content))
    target = copy
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = f"'{value}'"
    return copy


def holders(conn: sqlite3.Connection) -> list[Holder]:
    found = []
    for row in conn.execute("SELECT object_type, name, folder, content FROM inventory_objects "
                            "ORDER BY folder, name").fetchall():
        if "enc:" not in row["content"]:
            continue
        try:
            content = json.loads(row["content"])
        except ValueError:
            continue
        for keys, bound, value in places(row["object_type"], row["name"], content):
            where = ".".join(keys)
            text = _literal(value)
            if text is None:
                continue
            kind = envelope.kind_of(text) or "damaged"
            fp = ""
            if kind == "js7tui":
                try:
                    fp = envelope.parse(text).fingerprint
                except envelope.DecryptionRefused:
                    kind = "damaged"
            found.append(Holder(row["object_type"], row["name"], row["folder"], where, bound,
                                kind, fp))
    return found
