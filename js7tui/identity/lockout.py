"""No self-lock-out: at least one usable account must keep the right to manage accounts.

Checked as an invariant at the end of every identity change (inside its transaction), so every
path that could remove the last administrator is covered at once: deleting, disabling or blocking
the account, taking its role away, denying the permission in a role, deleting the role, disabling
or deleting the identity service. Only store-backed accounts count: the roles an external
directory will hand out tomorrow cannot be known today.
"""

from __future__ import annotations

import sqlite3

from js7tui.identity import records
from js7tui.permissions import EffectivePermissions
from js7tui.permissions.names import ACCOUNTS_MANAGE


def account_managers(conn: sqlite3.Connection, permission: str = ACCOUNTS_MANAGE) -> list[str]:
    """Accounts that could log in and hold ``permission``.

    Without required services: ``service/account`` for each enabled, unblocked store account of
    an enabled service. With required services, a login must pass *all* of them, so an account
    counts only if it is enabled in every required service, with the union of its roles there.
    A required service whose roles come from outside (LDAP, OIDC) cannot be judged here; then
    the rule is not enforced (``"(external)"``), rather than refusing every change.
    """
    required = [s for s in records.services(conn)
                if s.required and not s.disabled and not s.second_factor]
    if required:
        return _managers_across_required(conn, required, permission)
    found = []
    for record in records.services(conn):
        if record.disabled or not records.roles_from_store(record):
            continue
        cache: dict[tuple[str, ...], bool] = {}
        for row in conn.execute(
            "SELECT id, name FROM accounts WHERE identity_service_id = ? AND disabled = 0",
            (record.id,),
        ).fetchall():
            if records.is_blocked(conn, row["name"]):
                continue
            roles = tuple(records.account_role_names(conn, row["id"]))
            if roles not in cache:
                perms, folders = records.role_entries(conn, record, roles)
                cache[roles] = EffectivePermissions.compile(perms, folders).is_permitted(
                    permission)
            if cache[roles]:
                found.append(f"{record.name}/{row['name']}")
    return found


def _managers_across_required(conn: sqlite3.Connection, required: list[records.ServiceRecord],
                              permission: str) -> list[str]:
    if any(not records.roles_from_store(s) for s in required):
        return ["(external)"]
    names: set[str] | None = None
    for record in required:
        here = {row["name"] for row in conn.execute(
            "SELECT name FROM accounts WHERE identity_service_id = ? AND disabled = 0",
            (record.id,))}
        names = here if names is None else names & here
    found = []
    for name in sorted(names or ()):
        if records.is_blocked(conn, name):
            continue
        perms, folders = [], []
        for record in required:
            row = records.account(conn, record, name)
            p, f = records.role_entries(conn, record, records.account_role_names(conn, row["id"]))
            perms.extend(p)
            folders.extend(f)
        if EffectivePermissions.compile(perms, folders).is_permitted(permission):
            found.append("+".join(s.name for s in required) + f"/{name}")
    return found
