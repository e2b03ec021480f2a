"""Reading identity records from the store: services, accounts, roles and their entries.

One place for these queries, so the chain, the sessions and the services agree on what an
account's roles and permissions are.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from js7tui.errors import NotFound, ValidationError
from js7tui.identity.providers.base import ServiceRecord
from js7tui.identity.types import SERVICE_TYPES, RolesFrom
from js7tui.permissions import EffectivePermissions, FolderEntry, PermissionEntry
from js7tui.text import for_terminal, nfc, unsafe_character

MAX_NAME = 255
_CONTROLLER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(kind: str, name: str) -> str:
    """Names of accounts, roles and services, returned in NFC: non-empty, no edge blanks, no
    control, invisible or bidirectional-control character (js7tui.text). Callers store the
    returned name."""
    name = nfc(name) if isinstance(name, str) else name
    if not name or not name.strip():
        raise ValidationError(f"the {kind} name is empty")
    if name != name.strip():
        raise ValidationError(f"the {kind} name '{name}' starts or ends with white space")
    if len(name) > MAX_NAME:
        raise ValidationError(f"the {kind} name is longer than {MAX_NAME} characters")
    bad = unsafe_character(name)
    if bad is not None:
        raise ValidationError(f"the {kind} name {for_terminal(repr(name))} contains {bad}; "
                              "names may not hold invisible or control characters")
    return name


def check_controller_id(controller: str) -> str:
    if controller and not _CONTROLLER_ID.match(controller):
        raise ValidationError(
            f"'{controller}' is not a Controller id (letters, digits, '.', '_', '-')"
        )
    return controller


def _service(row: sqlite3.Row, names: dict[int, str]) -> ServiceRecord:
    return ServiceRecord(
        id=row["id"], name=row["name"], type=row["type"], ordering=row["ordering"],
        required=bool(row["required"]), disabled=bool(row["disabled"]),
        auth_scheme=row["auth_scheme"], second_factor=bool(row["second_factor"]),
        second_factor_service=names.get(row["second_factor_service_id"]),
        settings=json.loads(row["settings"]),
    )


def services(conn: sqlite3.Connection) -> list[ServiceRecord]:
    rows = conn.execute("SELECT * FROM identity_services ORDER BY ordering, id").fetchall()
    names = {row["id"]: row["name"] for row in rows}
    return [_service(row, names) for row in rows]


def service(conn: sqlite3.Connection, name: str) -> ServiceRecord:
    for record in services(conn):
        if record.name.lower() == name.lower():
            return record
    known = ", ".join(s.name for s in services(conn)) or "none"
    raise NotFound(f"no identity service '{name}' (identity services: {known})")


def roles_from_store(record: ServiceRecord) -> bool:
    kind = SERVICE_TYPES.get(record.type)
    return kind is None or kind.roles_from is RolesFrom.STORE


def account(conn: sqlite3.Connection, record: ServiceRecord, name: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM accounts WHERE identity_service_id = ? AND name = ?", (record.id, name)
    ).fetchone()
    if row is None:
        raise NotFound(f"no account '{name}' in identity service '{record.name}'")
    return row


def find_account(conn: sqlite3.Connection, record: ServiceRecord, name: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM accounts WHERE identity_service_id = ? AND name = ?", (record.id, name)
    ).fetchone()


def role(conn: sqlite3.Connection, record: ServiceRecord, name: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM roles WHERE identity_service_id = ? AND name = ?", (record.id, name)
    ).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute(
            "SELECT name FROM roles WHERE identity_service_id = ? ORDER BY ordering", (record.id,))]
        raise NotFound(
            f"no role '{name}' in identity service '{record.name}' (roles: "
            f"{', '.join(known) or 'none'})"
        )
    return row


def role_names(conn: sqlite3.Connection, record: ServiceRecord) -> list[str]:
    """The roles defined in a service, in their order."""
    return [row[0] for row in conn.execute(
        "SELECT name FROM roles WHERE identity_service_id = ? ORDER BY ordering, name",
        (record.id,))]


def account_role_names(conn: sqlite3.Connection, account_id: int) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT r.name FROM account_roles ar JOIN roles r ON r.id = ar.role_id "
        "WHERE ar.account_id = ? ORDER BY r.ordering, r.name", (account_id,))]


def is_blocked(conn: sqlite3.Connection, account_name: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM blocklist WHERE account_name = ?", (account_name,)
    ).fetchone()


@dataclass(frozen=True)
class Grant:
    """The part one identity service contributes to a session: which roles, from where."""

    service: str
    roles_from: str
    roles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"service": self.service, "roles_from": self.roles_from, "roles": list(self.roles)}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Grant:
        return cls(str(raw["service"]), str(raw["roles_from"]),
                   tuple(str(r) for r in raw.get("roles", [])))  # type: ignore[union-attr]


def role_entries(
    conn: sqlite3.Connection, record: ServiceRecord, role_names: Iterable[str]
) -> tuple[list[PermissionEntry], list[FolderEntry]]:
    names = list(dict.fromkeys(role_names))
    if not names:
        return [], []
    marks = ",".join("?" * len(names))
    perms = [
        PermissionEntry(row["permission"], bool(row["excluded"]), row["controller_id"],
                        row["role"], record.name)
        for row in conn.execute(
            "SELECT p.permission, p.excluded, p.controller_id, r.name AS role "
            "FROM role_permissions p JOIN roles r ON r.id = p.role_id "
            f"WHERE r.identity_service_id = ? AND r.name IN ({marks}) "
            "ORDER BY r.ordering, p.controller_id, p.permission",
            (record.id, *names),
        )
    ]
    folders = [
        FolderEntry(row["folder"], bool(row["recursive"]), row["controller_id"], row["role"],
                    record.name)
        for row in conn.execute(
            "SELECT f.folder, f.recursive, f.controller_id, r.name AS role "
            "FROM role_folders f JOIN roles r ON r.id = f.role_id "
            f"WHERE r.identity_service_id = ? AND r.name IN ({marks}) "
            "ORDER BY r.ordering, f.folder",
            (record.id, *names),
        )
    ]
    return perms, folders


def grant_roles(conn: sqlite3.Connection, record: ServiceRecord, account_name: str,
                grant: Grant) -> list[str]:
    """The roles a grant stands for *now*: store-backed roles are re-read on every use, so a
    role taken away applies to running sessions at once."""
    if grant.roles_from == RolesFrom.STORE:
        row = find_account(conn, record, account_name)
        return account_role_names(conn, row["id"]) if row else []
    return list(grant.roles)


def compile_permissions(
    conn: sqlite3.Connection, account_name: str, grants: Iterable[Grant]
) -> EffectivePermissions:
    perms: list[PermissionEntry] = []
    folders: list[FolderEntry] = []
    for grant in grants:
        record = service(conn, grant.service)
        p, f = role_entries(conn, record, grant_roles(conn, record, account_name, grant))
        perms.extend(p)
        folders.extend(f)
    return EffectivePermissions.compile(perms, folders)
