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
    """``service/account`` names of enabled, unblocked store accounts holding ``permission``."""
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
