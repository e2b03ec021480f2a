"""Administration of second factors: certificate bindings, FIDO devices and registration
requests, and recovery (an administrator resets a person's devices or binding).

Every change needs ``administration:accounts:manage``, is audited, and runs under the
last-administrator guard (:mod:`js7tui.identity.lockout`), which counts only administrators
who can still pass the factors their service requires: removing the last device or binding of
the last administrator of a TWO-FACTOR service is refused.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from js7tui import audit
from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity import records
from js7tui.identity.factors import certificate as certs
from js7tui.identity.factors.challenges import ChallengeRefused
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import ProviderContext, ProviderRegistry, ServiceRecord
from js7tui.identity.providers.certificate import bind
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.secrets import SecretBox
from js7tui.store import Store

CAT = Category.IDENTITY


def _typed(conn: sqlite3.Connection, name: str, kind: str) -> ServiceRecord:
    record = records.service(conn, name)
    if record.type != kind:
        raise ValidationError(f"'{record.name}' is a {record.type} service, not {kind}")
    return record


class SecondFactorAdmin:
    def __init__(self, store: Store, clock: Clock, ops: Operations, registry: ProviderRegistry,
                 hasher: PasswordHasher, secrets: SecretBox) -> None:
        self.store = store
        self.clock = clock
        self.ops = ops
        self.registry = registry
        self.hasher = hasher
        self.secrets = secrets

    # -- certificate bindings -----------------------------------------------------------
    def certificate_bindings(self, session: Session, service: str) -> list[dict[str, Any]]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/certificates",
                           category=CAT)
        record = _typed(self.store.conn, service, "CERTIFICATE")
        return [dict(row) for row in self.store.conn.execute(
            "SELECT account_name, subject, issuer, serial, not_after, bound, bound_by "
            "FROM certificate_bindings WHERE service_id = ? ORDER BY account_name",
            (record.id,))]

    def bind_certificate(self, session: Session, service: str, account: str, pem: bytes, *,
                         replace: bool = False, meta: AuditMeta = AuditMeta()) -> None:
        """Bind the key of ``pem``'s first certificate to ``account`` (its CN must be the
        account); the certificate is also what a login over SSH presents without a file."""
        chain = certs.load_certificates(pem)
        if not chain:
            raise ValidationError("no certificate in the file")
        cn = certs.common_name(chain[0])
        if cn != account:
            raise ValidationError(f"the certificate's CN '{cn}' is not the account '{account}'")
        with self.ops.mutate(session, request="./iam/certificate/bind", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = _typed(op.conn, service, "CERTIFICATE")
            exists = op.conn.execute("SELECT 1 FROM certificate_bindings WHERE service_id = ? "
                                     "AND account_name = ?", (record.id, account)).fetchone()
            if exists and not replace:
                raise Conflict(f"'{account}' has a bound certificate in '{record.name}'; reset "
                               "it first (or replace it)")
            bind(op.conn, record, account, chain[0], self.clock.now(), session.account,
                 replace=True)
            op.record(path=record.name, parameters={
                "identityServiceName": record.name, "accountName": account,
                "subject": chain[0].subject.rfc4514_string(),
                "serial": format(chain[0].serial_number, "x")})

    def reset_certificate(self, session: Session, service: str, account: str, *,
                          meta: AuditMeta = AuditMeta()) -> bool:
        """Recovery: forget the key bound to ``account`` (a new certificate binds next)."""
        with self.ops.mutate(session, request="./iam/certificate/reset", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = _typed(op.conn, service, "CERTIFICATE")
            gone = op.conn.execute("DELETE FROM certificate_bindings WHERE service_id = ? AND "
                                   "account_name = ?", (record.id, account)).rowcount
            op.record(path=record.name, parameters={"identityServiceName": record.name,
                                                    "accountName": account,
                                                    "reset": bool(gone)})
            return bool(gone)

    # -- FIDO devices ---------------------------------------------------------------------
    def devices(self, session: Session, service: str,
                account: str | None = None) -> list[dict[str, Any]]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/fido/devices",
                           category=CAT)
        record = _typed(self.store.conn, service, "FIDO")
        sql = ("SELECT id, account_name, name, sign_count, created, last_used, credential_id "
               "FROM fido_devices WHERE service_id = ? AND removed IS NULL")
        args: list[Any] = [record.id]
        if account:
            sql += " AND account_name = ?"
            args.append(account)
        return [dict(r) for r in self.store.conn.execute(sql + " ORDER BY account_name, id",
                                                         args)]

    def remove_device(self, session: Session, service: str, device_id: int, *,
                      meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./iam/fido/remove_devices", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = _typed(op.conn, service, "FIDO")
            row = op.conn.execute("SELECT * FROM fido_devices WHERE id = ? AND service_id = ? "
                                  "AND removed IS NULL", (device_id, record.id)).fetchone()
            if row is None:
                raise NotFound(f"no device {device_id} in '{record.name}'")
            op.conn.execute("UPDATE fido_devices SET removed = ? WHERE id = ?",
                            (to_iso(self.clock.now()), device_id))
            op.record(path=record.name, parameters={
                "identityServiceName": record.name, "accountName": row["account_name"],
                "device": row["name"], "credentialId": row["credential_id"]})

    def reset_devices(self, session: Session, service: str, account: str, *,
                      meta: AuditMeta = AuditMeta()) -> int:
        """Recovery: remove every device of ``account`` (it registers anew)."""
        with self.ops.mutate(session, request="./iam/fido/remove_devices", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = _typed(op.conn, service, "FIDO")
            gone = op.conn.execute("UPDATE fido_devices SET removed = ? WHERE service_id = ? "
                                   "AND account_name = ? AND removed IS NULL",
                                   (to_iso(self.clock.now()), record.id, account)).rowcount
            op.record(path=record.name, parameters={"identityServiceName": record.name,
                                                    "accountName": account, "removed": gone})
            return int(gone)

    # -- FIDO registration --------------------------------------------------------------
    def _provider_context(self) -> tuple[Any, ProviderContext]:
        provider = self.registry.get("FIDO")
        if provider is None:
            raise ValidationError("the FIDO identity service type is not available")
        return provider, ProviderContext(self.store.conn, self.hasher, self.clock, self.secrets)

    def registration_challenge(self, service: str, account: str) -> dict[str, Any]:
        """Options for a new credential of ``account`` (anybody may ask: what the response
        registers is a request an administrator approves, unless a session adds it)."""
        records.check_name("account", account)
        provider, context = self._provider_context()
        record = _typed(self.store.conn, service, "FIDO")
        return dict(provider.registration_challenge(record, account, context))

    def register(self, service: str, account: str, evidence: dict[str, Any], *,
                 device_name: str = "security key", email: str | None = None,
                 session: Session | None = None, source: str = "local",
                 meta: AuditMeta = AuditMeta()) -> str:
        """Check a registration response. With a session of the account itself (one more
        device) or of an administrator (``accounts:manage``): the device is added at once
        ("added"). Without: a registration request waits for approval ("pending")."""
        provider, context = self._provider_context()
        record = _typed(self.store.conn, service, "FIDO")
        try:
            credential_id, data, counter = provider.registration_result(
                record, account, evidence, context)
        except (ValueError, KeyError, TypeError, ChallengeRefused) as exc:
            raise ValidationError(f"the registration was not accepted: {exc}") from None
        name = device_name.strip()[:100] or "security key"
        if session is not None:
            own = session.account == account
            with self.ops.mutate(session, request="./iam/fido/add_device", category=CAT,
                                 permissions=[] if own else [ACCOUNTS_MANAGE], meta=meta) as op:
                self._insert_device(op.conn, record, account, credential_id, data, counter,
                                    name)
                op.record(path=record.name, parameters={
                    "identityServiceName": record.name, "accountName": account,
                    "device": name, "credentialId": credential_id})
            return "added"
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM fido_registrations WHERE service_id = ? AND "
                            "account_name = ? AND state = 'pending'",
                            (record.id, account)).fetchone():
                raise Conflict(f"a registration for '{account}' is already waiting for "
                               "approval")
            conn.execute(
                "INSERT INTO fido_registrations (service_id, account_name, email, credential_id,"
                " credential_data, sign_count, device_name, state, requested, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (record.id, account, email, credential_id, data, counter, name,
                 to_iso(self.clock.now()), source))
            audit.append(conn, created=self.clock.now(), account=account[:255],
                         request="./iam/fidoregistration/store", category=CAT,
                         path=record.name, parameters={
                             "identityServiceName": record.name, "accountName": account,
                             "email": email, "device": name, "source": source})
        return "pending"

    def _insert_device(self, conn: sqlite3.Connection, record: ServiceRecord, account: str,
                       credential_id: str, data: str, counter: int, name: str) -> None:
        conn.execute("DELETE FROM fido_devices WHERE service_id = ? AND credential_id = ? AND "
                     "removed IS NOT NULL", (record.id, credential_id))
        if conn.execute("SELECT 1 FROM fido_devices WHERE service_id = ? AND credential_id = ?",
                        (record.id, credential_id)).fetchone():
            raise Conflict("this credential is registered already")
        conn.execute("INSERT INTO fido_devices (service_id, account_name, credential_id,"
                     " credential_data, sign_count, name, created) VALUES (?,?,?,?,?,?,?)",
                     (record.id, account, credential_id, data, counter, name,
                      to_iso(self.clock.now())))

    def registrations(self, session: Session, service: str | None = None,
                      state: str | None = None) -> list[dict[str, Any]]:
        self.ops.authorize(session, [ACCOUNTS_MANAGE], request="./iam/fidoregistrations",
                           category=CAT)
        sql = ("SELECT r.id, s.name AS service, r.account_name, r.email, r.device_name, r.state,"
               " r.requested, r.source, r.decided, r.decided_by FROM fido_registrations r"
               " JOIN identity_services s ON s.id = r.service_id WHERE 1")
        args: list[Any] = []
        if service:
            sql += " AND r.service_id = ?"
            args.append(_typed(self.store.conn, service, "FIDO").id)
        if state:
            sql += " AND r.state = ?"
            args.append(state)
        return [dict(r) for r in self.store.conn.execute(sql + " ORDER BY r.id", args)]

    def approve(self, session: Session, registration_id: int, *,
                meta: AuditMeta = AuditMeta()) -> None:
        """Approve a request: the device is added, and the account created (no roles yet)
        when the service keeps accounts and has none of that name."""
        with self.ops.mutate(session, request="./iam/fidoregistration/approve", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            row = self._registration(op.conn, registration_id)
            record = self._service_by_id(op.conn, row["service_id"])
            created = False
            if not record.second_factor and records.find_account(
                    op.conn, record, row["account_name"]) is None:
                op.conn.execute("INSERT INTO accounts (identity_service_id, name, password_hash,"
                                " email, created) VALUES (?, ?, NULL, ?, ?)",
                                (record.id, row["account_name"], row["email"],
                                 to_iso(self.clock.now())))
                created = True
            self._insert_device(op.conn, record, row["account_name"], row["credential_id"],
                                row["credential_data"], row["sign_count"], row["device_name"])
            op.conn.execute("UPDATE fido_registrations SET state = 'approved', decided = ?, "
                            "decided_by = ? WHERE id = ?",
                            (to_iso(self.clock.now()), session.account, registration_id))
            op.record(path=record.name, parameters={
                "identityServiceName": record.name, "accountName": row["account_name"],
                "registration": registration_id, "accountCreated": created})

    def defer(self, session: Session, registration_id: int, *,
              meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./iam/fidoregistration/deferr", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            row = self._registration(op.conn, registration_id)
            op.conn.execute("UPDATE fido_registrations SET state = 'deferred', decided = ?, "
                            "decided_by = ? WHERE id = ?",
                            (to_iso(self.clock.now()), session.account, registration_id))
            op.record(parameters={"accountName": row["account_name"],
                                  "registration": registration_id})

    def _registration(self, conn: sqlite3.Connection, registration_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM fido_registrations WHERE id = ?",
                           (registration_id,)).fetchone()
        if row is None:
            raise NotFound(f"no registration {registration_id}")
        if row["state"] == "approved":
            raise Conflict(f"registration {registration_id} was approved already")
        return row

    @staticmethod
    def _service_by_id(conn: sqlite3.Connection, service_id: int) -> ServiceRecord:
        return next(s for s in records.services(conn) if s.id == service_id)
