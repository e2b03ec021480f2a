"""Roles of an identity service: their permission entries, Controller sections and folders."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from js7tui.approval.local import (
    approvable,
    describe_reorder,
    describe_role,
    role_fingerprint,
)
from js7tui.audit import AuditMeta, Category
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity import records
from js7tui.identity.providers.base import ServiceRecord
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions import (
    CONTROLLER,
    DEFAULT_SECTION,
    FolderEntry,
    PermissionEntry,
    catalogue,
    normalize_folder,
)
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.store import Store

CAT = Category.IDENTITY
# JS7 gives a new role this permission (GUI roles.component.ts; KB: needed to log in).
NEW_ROLE_PERMISSION = "sos:products:controller:view"


@dataclass(frozen=True)
class RoleView:
    service: str
    name: str
    ordering: int
    permissions: tuple[PermissionEntry, ...]
    folders: tuple[FolderEntry, ...]
    accounts: tuple[str, ...]

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(sorted({p.controller for p in self.permissions if p.controller}
                            | {f.controller for f in self.folders if f.controller}))


class RoleService:
    def __init__(self, store: Store, ops: Operations) -> None:
        self.store = store
        self.ops = ops

    def _service(self, conn: sqlite3.Connection, session: Session,
                 service: str | None) -> ServiceRecord:
        if service:
            return records.service(conn, service)
        return records.service(conn, session.services[0])

    def _view(self, conn: sqlite3.Connection, record: ServiceRecord, row: sqlite3.Row) -> RoleView:
        perms, folders = records.role_entries(conn, record, [row["name"]])
        accounts = tuple(r[0] for r in conn.execute(
            "SELECT a.name FROM account_roles ar JOIN accounts a ON a.id = ar.account_id "
            "WHERE ar.role_id = ? ORDER BY a.name", (row["id"],)))
        return RoleView(record.name, row["name"], row["ordering"], tuple(perms), tuple(folders),
                        accounts)

    # -- reads ----------------------------------------------------------------------------
    def list(self, session: Session, service: str | None = None) -> list[RoleView]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/roles", category=CAT)
        conn = self.store.conn
        record = self._service(conn, session, service)
        rows = conn.execute("SELECT * FROM roles WHERE identity_service_id = ? "
                            "ORDER BY ordering, name", (record.id,)).fetchall()
        return [self._view(conn, record, row) for row in rows]

    def show(self, session: Session, name: str, service: str | None = None) -> RoleView:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/role", category=CAT)
        conn = self.store.conn
        record = self._service(conn, session, service)
        return self._view(conn, record, records.role(conn, record, name))

    # -- role records ---------------------------------------------------------------------
    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def create(self, session: Session, name: str, *, service: str | None = None,
               empty: bool = False, meta: AuditMeta = AuditMeta()) -> RoleView:
        name = records.check_name("role", name)
        with self.ops.mutate(session, request="./iam/role/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            if op.conn.execute("SELECT 1 FROM roles WHERE identity_service_id = ? AND name = ?",
                               (record.id, name)).fetchone():
                raise Conflict(f"role '{name}' already exists in '{record.name}'")
            ordering = op.conn.execute(
                "SELECT COALESCE(MAX(ordering), -1) + 1 FROM roles WHERE identity_service_id = ?",
                (record.id,)).fetchone()[0]
            cursor = op.conn.execute(
                "INSERT INTO roles (identity_service_id, name, ordering) VALUES (?, ?, ?)",
                (record.id, name, ordering))
            if not empty:
                op.conn.execute("INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)",
                                (cursor.lastrowid, NEW_ROLE_PERMISSION))
            op.record(path=f"{record.name}/{name}", parameters={
                "identityServiceName": record.name, "roleName": name, "ordering": ordering})
            return self._view(op.conn, record, records.role(op.conn, record, name))

    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def rename(self, session: Session, name: str, new_name: str, *, service: str | None = None,
               meta: AuditMeta = AuditMeta()) -> RoleView:
        new_name = records.check_name("role", new_name)
        with self.ops.mutate(session, request="./iam/role/rename", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            row = records.role(op.conn, record, name)
            if op.conn.execute("SELECT 1 FROM roles WHERE identity_service_id = ? AND name = ?",
                               (record.id, new_name)).fetchone():
                raise Conflict(f"role '{new_name}' already exists in '{record.name}'")
            op.conn.execute("UPDATE roles SET name = ? WHERE id = ?", (new_name, row["id"]))
            op.record(path=f"{record.name}/{new_name}", parameters={
                "identityServiceName": record.name, "roleName": name, "roleNewName": new_name})
            return self._view(op.conn, record, records.role(op.conn, record, new_name))

    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def delete(self, session: Session, names: Sequence[str], *, service: str | None = None,
               meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./iam/role/delete", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = self._service(op.conn, session, service)
            for name in names:
                row = records.role(op.conn, record, name)
                op.conn.execute("DELETE FROM roles WHERE id = ?", (row["id"],))
                op.record(path=f"{record.name}/{name}", parameters={
                    "identityServiceName": record.name, "roleName": name})

    @approvable('roles', 'roles', describe=describe_reorder)
    def reorder(self, session: Session, names: Sequence[str], *, service: str | None = None,
                meta: AuditMeta = AuditMeta()) -> list[RoleView]:
        """Put the named roles first, in this order; the others keep theirs after them."""
        with self.ops.mutate(session, request="./iam/roles/reorder", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            for name in names:
                records.role(op.conn, record, name)
            rest = [r[0] for r in op.conn.execute(
                "SELECT name FROM roles WHERE identity_service_id = ? ORDER BY ordering, name",
                (record.id,)) if r[0] not in names]
            for position, name in enumerate([*dict.fromkeys(names), *rest]):
                op.conn.execute("UPDATE roles SET ordering = ? WHERE identity_service_id = ? "
                                "AND name = ?", (position, record.id, name))
            op.record(path=record.name, parameters={
                "identityServiceName": record.name, "roles": list(names)})
        return self.list(session, service)

    # -- permission entries ---------------------------------------------------------------
    def _check_entry(self, permission: str, controller: str) -> str:
        name = catalogue().canonical(permission)
        records.check_controller_id(controller)
        if controller and not (name == CONTROLLER or name.startswith(CONTROLLER + ":")):
            raise ValidationError(
                f"a Controller section holds only Controller permissions ({CONTROLLER}...); "
                f"'{name}' belongs in the default section"
            )
        return name

    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def set_permission(self, session: Session, role: str, permission: str, *,
                       excluded: bool = False, controller: str = DEFAULT_SECTION,
                       service: str | None = None, meta: AuditMeta = AuditMeta()) -> RoleView:
        """Grant (or, with ``excluded``, deny) ``permission`` in a section of the role."""
        name = self._check_entry(permission, controller)
        with self.ops.mutate(session, request="./iam/permissions/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta,
                             guard_lockout=excluded, controller=DEFAULT_SECTION) as op:
            record = self._service(op.conn, session, service)
            row = records.role(op.conn, record, role)
            op.conn.execute(
                "INSERT INTO role_permissions (role_id, controller_id, permission, excluded) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(role_id, controller_id, permission) "
                "DO UPDATE SET excluded = excluded.excluded",
                (row["id"], controller, name, int(excluded)))
            op.record(path=f"{record.name}/{role}", controller_id=controller, parameters={
                "identityServiceName": record.name, "roleName": role, "controllerId": controller,
                "permissionPath": name, "excluded": excluded})
            return self._view(op.conn, record, row)

    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def remove_permission(self, session: Session, role: str, permission: str, *,
                          controller: str = DEFAULT_SECTION, service: str | None = None,
                          meta: AuditMeta = AuditMeta()) -> RoleView:
        name = self._check_entry(permission, controller)
        with self.ops.mutate(session, request="./iam/permissions/delete", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = self._service(op.conn, session, service)
            row = records.role(op.conn, record, role)
            if op.conn.execute(
                    "DELETE FROM role_permissions WHERE role_id = ? AND controller_id = ? "
                    "AND permission = ?", (row["id"], controller, name)).rowcount == 0:
                section = f"Controller '{controller}'" if controller else "the default section"
                raise NotFound(f"role '{role}' has no entry for {name} in {section}")
            op.record(path=f"{record.name}/{role}", controller_id=controller, parameters={
                "identityServiceName": record.name, "roleName": role, "controllerId": controller,
                "permissionPath": name})
            return self._view(op.conn, record, row)

    # -- folders --------------------------------------------------------------------------
    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def add_folder(self, session: Session, role: str, folder: str, *, recursive: bool = True,
                   controller: str = DEFAULT_SECTION, service: str | None = None,
                   meta: AuditMeta = AuditMeta()) -> RoleView:
        path = normalize_folder(folder)
        records.check_controller_id(controller)
        with self.ops.mutate(session, request="./iam/folders/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            row = records.role(op.conn, record, role)
            op.conn.execute(
                "INSERT INTO role_folders (role_id, controller_id, folder, recursive) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(role_id, controller_id, folder) "
                "DO UPDATE SET recursive = excluded.recursive",
                (row["id"], controller, path, int(recursive)))
            op.record(path=f"{record.name}/{role}", folder=path, controller_id=controller,
                      parameters={"identityServiceName": record.name, "roleName": role,
                                  "controllerId": controller, "folder": path,
                                  "recursive": recursive})
            return self._view(op.conn, record, row)

    @approvable('roles', 'roles', describe=describe_role, fingerprint=role_fingerprint)
    def remove_folder(self, session: Session, role: str, folder: str, *,
                      controller: str = DEFAULT_SECTION, service: str | None = None,
                      meta: AuditMeta = AuditMeta()) -> RoleView:
        path = normalize_folder(folder)
        with self.ops.mutate(session, request="./iam/folders/delete", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            row = records.role(op.conn, record, role)
            if op.conn.execute("DELETE FROM role_folders WHERE role_id = ? AND controller_id = ? "
                               "AND folder = ?", (row["id"], controller, path)).rowcount == 0:
                raise NotFound(f"role '{role}' has no folder entry {path}")
            op.record(path=f"{record.name}/{role}", folder=path, controller_id=controller,
                      parameters={"identityServiceName": record.name, "roleName": role,
                                  "controllerId": controller, "folder": path})
            return self._view(op.conn, record, row)
