"""Identity services: create, rename, delete, reorder, required/optional, disabled, two-factor."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from js7tui.approval.local import approvable, service_fingerprint
from js7tui.audit import AuditMeta, Category
from js7tui.errors import Conflict, ValidationError
from js7tui.identity import records, sessions
from js7tui.identity.providers.base import ProviderRegistry, ServiceRecord
from js7tui.identity.service_settings import SettingView
from js7tui.identity.sessions import Session
from js7tui.identity.types import SCHEMES, SERVICE_TYPES, TWO_FACTOR
from js7tui.operations import Operations
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.secrets import SecretBox
from js7tui.store import Store

CAT = Category.IDENTITY


class IdentityServiceAdmin:
    def __init__(self, store: Store, ops: Operations, registry: ProviderRegistry,
                 secrets: SecretBox | None = None) -> None:
        self.store = store
        self.ops = ops
        self.registry = registry
        self.secrets = secrets or SecretBox()

    def list(self, session: Session) -> list[ServiceRecord]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/identityservices",
                           category=CAT)
        return records.services(self.store.conn)

    def show(self, session: Session, name: str) -> ServiceRecord:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/identityservice",
                           category=CAT)
        return records.service(self.store.conn, name)

    def _check_type(self, type_name: str) -> str:
        kind = type_name.strip().upper()
        if kind not in SERVICE_TYPES:
            raise ValidationError(f"unknown identity service type '{type_name}'; types: "
                                  + ", ".join(SERVICE_TYPES))
        if not self.registry.available(kind):
            raise ValidationError(
                f"identity service type {kind} is not available in this js7tui yet; available: "
                + ", ".join(self.registry.types()))
        return kind

    def _check_two_factor(self, conn: sqlite3.Connection, record: ServiceRecord) -> None:
        if record.auth_scheme != TWO_FACTOR:
            return
        if not record.second_factor_service:
            raise ValidationError(f"'{record.name}' is TWO-FACTOR: name its second-factor "
                                  "service (a CERTIFICATE or FIDO service)")
        second = records.service(conn, record.second_factor_service)
        if not SERVICE_TYPES[second.type].can_be_second_factor:
            raise ValidationError(
                f"'{second.name}' is of type {second.type}; a second factor must be a "
                "CERTIFICATE or FIDO service")
        if second.id == record.id:
            raise ValidationError("a service cannot be its own second factor")

    @approvable('identity-services', 'identity_services',
                fingerprint=service_fingerprint, sealed=("settings",))
    def create(self, session: Session, name: str, type_name: str, *, required: bool = False,
               disabled: bool = False, auth_scheme: str = "SINGLE-FACTOR",
               second_factor_service: str | None = None, second_factor: bool = False,
               settings: dict[str, object] | None = None,
               meta: AuditMeta = AuditMeta()) -> ServiceRecord:
        name = records.check_name("identity service", name)
        kind = self._check_type(type_name)
        if auth_scheme not in SCHEMES:
            raise ValidationError(f"authentication scheme must be one of {', '.join(SCHEMES)}")
        with self.ops.mutate(session, request="./iam/identityservice/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            if any(s.name.lower() == name.lower() for s in records.services(op.conn)):
                raise Conflict(f"identity service '{name}' already exists")
            if second_factor and not SERVICE_TYPES[kind].can_be_second_factor:
                raise ValidationError(f"a {kind} service cannot serve as a second factor")
            second_id = (records.service(op.conn, second_factor_service).id
                         if second_factor_service else None)
            stored = self.registry.schema(kind).checked(settings or {}, self.secrets)
            ordering = op.conn.execute(
                "SELECT COALESCE(MAX(ordering), -1) + 1 FROM identity_services").fetchone()[0]
            op.conn.execute(
                "INSERT INTO identity_services (name, type, ordering, required, disabled,"
                " auth_scheme, second_factor, second_factor_service_id, settings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, kind, ordering, int(required), int(disabled), auth_scheme,
                 int(second_factor), second_id, json.dumps(stored)))
            record = records.service(op.conn, name)
            self._check_two_factor(op.conn, record)
            op.record(path=name, parameters={
                "settings": self.registry.schema(kind).audit_parameters(settings or {}),
                "identityServiceName": name, "identityServiceType": kind, "required": required,
                "disabled": disabled, "serviceAuthenticationScheme": auth_scheme,
                "secondFactorIdentityServiceName": second_factor_service,
                "secondFactor": second_factor})
            return record

    @approvable('identity-services', 'identity_services', fingerprint=service_fingerprint)
    def update(self, session: Session, name: str, *, required: bool | None = None,
               disabled: bool | None = None, auth_scheme: str | None = None,
               second_factor_service: str | None = None, second_factor: bool | None = None,
               settings: dict[str, object] | None = None,
               meta: AuditMeta = AuditMeta()) -> ServiceRecord:
        if auth_scheme is not None and auth_scheme not in SCHEMES:
            raise ValidationError(f"authentication scheme must be one of {', '.join(SCHEMES)}")
        with self.ops.mutate(session, request="./iam/identityservice/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta,
                             guard_lockout=True) as op:
            record = records.service(op.conn, name)
            changes: dict[str, object] = {}
            if required is not None:
                changes["required"] = int(required)
            if disabled is not None:
                changes["disabled"] = int(disabled)
            if auth_scheme is not None:
                changes["auth_scheme"] = auth_scheme
            if second_factor is not None:
                if second_factor and not SERVICE_TYPES[record.type].can_be_second_factor:
                    raise ValidationError(
                        f"a {record.type} service cannot serve as a second factor")
                changes["second_factor"] = int(second_factor)
            if second_factor_service is not None:
                changes["second_factor_service_id"] = (
                    records.service(op.conn, second_factor_service).id
                    if second_factor_service else None)
            if settings is not None:
                changes["settings"] = json.dumps(
                    self.registry.schema(record.type).checked(settings, self.secrets))
            if not changes:
                raise ValidationError("nothing to change")
            assignments = ", ".join(f"{column} = ?" for column in changes)
            op.conn.execute(f"UPDATE identity_services SET {assignments} WHERE id = ?",
                            (*changes.values(), record.id))
            updated = records.service(op.conn, record.name)
            self._check_two_factor(op.conn, updated)
            if updated.disabled and not record.disabled:
                sessions.end_service_sessions(op.conn, record.name)
            op.record(path=record.name, parameters={
                "identityServiceName": record.name,
                **{k: v for k, v in changes.items() if k != "second_factor_service_id"},
                **({"secondFactorIdentityServiceName": second_factor_service}
                   if second_factor_service is not None else {}),
                **({"settings": self.registry.schema(record.type).audit_parameters(settings)}
                   if settings is not None else {})})
            return updated

    # -- per-type settings ------------------------------------------------------------------
    def settings(self, session: Session, name: str) -> list[SettingView]:
        """The service's settings as the schema of its type describes them; secrets are shown
        only as set or not."""
        record = self.show(session, name)
        return self.registry.schema(record.type).views(record.settings)

    @approvable('identity-services', 'identity_services',
                fingerprint=service_fingerprint, sealed=("changes",))
    def set_settings(self, session: Session, name: str, changes: dict[str, object | None], *,
                     meta: AuditMeta = AuditMeta()) -> list[SettingView]:
        """Change some settings: text as typed (parsed by the schema) or typed values; None
        returns a key to its default. Unknown keys and bad values change nothing."""
        if not changes:
            raise ValidationError("nothing to change: name at least one setting")
        with self.ops.mutate(session, request="./iam/identityservice/settings/store",
                             category=CAT, permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = records.service(op.conn, name)
            schema = self.registry.schema(record.type)
            updated = schema.apply(record.settings, changes, self.secrets)
            op.conn.execute("UPDATE identity_services SET settings = ? WHERE id = ?",
                            (json.dumps(updated), record.id))
            op.record(path=record.name, parameters={
                "identityServiceName": record.name,
                "settings": schema.audit_parameters(changes)})
            return schema.views(updated)

    @approvable('identity-services', 'identity_services', fingerprint=service_fingerprint)
    def rename(self, session: Session, name: str, new_name: str, *,
               meta: AuditMeta = AuditMeta()) -> ServiceRecord:
        new_name = records.check_name("identity service", new_name)
        with self.ops.mutate(session, request="./iam/identityservice/rename", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = records.service(op.conn, name)
            if any(s.name.lower() == new_name.lower() and s.id != record.id
                   for s in records.services(op.conn)):
                raise Conflict(f"identity service '{new_name}' already exists")
            op.conn.execute("UPDATE identity_services SET name = ? WHERE id = ?",
                            (new_name, record.id))
            # Sessions name their services; rewrite them so they stay valid.
            for row in op.conn.execute("SELECT id, grants FROM sessions").fetchall():
                grants = json.loads(row["grants"])
                if any(g["service"] == record.name for g in grants):
                    for grant in grants:
                        if grant["service"] == record.name:
                            grant["service"] = new_name
                    op.conn.execute("UPDATE sessions SET grants = ? WHERE id = ?",
                                    (json.dumps(grants), row["id"]))
            op.record(path=new_name, parameters={"identityServiceName": name,
                                                 "identityServiceNewName": new_name})
            return records.service(op.conn, new_name)

    @approvable('identity-services', 'identity_services', fingerprint=service_fingerprint)
    def delete(self, session: Session, name: str, *, meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./iam/identityservice/delete", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = records.service(op.conn, name)
            users = [s.name for s in records.services(op.conn)
                     if s.second_factor_service == record.name]
            if users:
                raise Conflict(f"'{record.name}' is the second factor of {', '.join(users)}; "
                               "change those first")
            op.conn.execute("DELETE FROM identity_services WHERE id = ?", (record.id,))
            sessions.end_service_sessions(op.conn, record.name)
            op.record(path=record.name, parameters={"identityServiceName": record.name})

    @approvable('identity-services', 'identity_services', fingerprint=service_fingerprint)
    def reorder(self, session: Session, names: Sequence[str], *,
                meta: AuditMeta = AuditMeta()) -> list[ServiceRecord]:
        """Put the named services first, in this order; the rest follow in their order."""
        with self.ops.mutate(session, request="./iam/identityservices/reorder", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            current = records.services(op.conn)
            wanted = [records.service(op.conn, n).name for n in dict.fromkeys(names)]
            order = [*wanted, *(s.name for s in current if s.name not in wanted)]
            for position, service_name in enumerate(order):
                op.conn.execute("UPDATE identity_services SET ordering = ? WHERE name = ?",
                                (position, service_name))
            op.record(parameters={"identityServices": order})
            return records.services(op.conn)

    @approvable('identity-services', 'identity_services', fingerprint=service_fingerprint)
    def move(self, session: Session, name: str, offset: int, *,
             meta: AuditMeta = AuditMeta()) -> list[ServiceRecord]:
        """Move a service up (negative offset) or down in the ordering."""
        order = [s.name for s in records.services(self.store.conn)]
        record = records.service(self.store.conn, name)
        index = order.index(record.name)
        target = max(0, min(len(order) - 1, index + offset))
        order.insert(target, order.pop(index))
        return self.reorder(session, order, meta=meta)
