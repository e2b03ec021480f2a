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

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity import records
from js7tui.identity.factors import certificate as certs
from js7tui.identity.providers.base import ServiceRecord
from js7tui.identity.providers.certificate import bind
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.store import Store

CAT = Category.IDENTITY


def _typed(conn: sqlite3.Connection, name: str, kind: str) -> ServiceRecord:
    record = records.service(conn, name)
    if record.type != kind:
        raise ValidationError(f"'{record.name}' is a {record.type} service, not {kind}")
    return record


class SecondFactorAdmin:
    def __init__(self, store: Store, clock: Clock, ops: Operations) -> None:
        self.store = store
        self.clock = clock
        self.ops = ops

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
               "FROM fido_devices WHERE service_id = ?")
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
            row = op.conn.execute("SELECT * FROM fido_devices WHERE id = ? AND service_id = ?",
                                  (device_id, record.id)).fetchone()
            if row is None:
                raise NotFound(f"no device {device_id} in '{record.name}'")
            op.conn.execute("DELETE FROM fido_devices WHERE id = ?", (device_id,))
            op.record(path=record.name, parameters={
                "identityServiceName": record.name, "accountName": row["account_name"],
                "device": row["name"], "credentialId": row["credential_id"]})

    def reset_devices(self, session: Session, service: str, account: str, *,
                      meta: AuditMeta = AuditMeta()) -> int:
        """Recovery: remove every device of ``account`` (it registers anew)."""
        with self.ops.mutate(session, request="./iam/fido/remove_devices", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = _typed(op.conn, service, "FIDO")
            gone = op.conn.execute("DELETE FROM fido_devices WHERE service_id = ? AND "
                                   "account_name = ?", (record.id, account)).rowcount
            op.record(path=record.name, parameters={"identityServiceName": record.name,
                                                    "accountName": account, "removed": gone})
            return int(gone)
