"""No self-lock-out: at least one usable account must keep the right to manage accounts.

Checked as an invariant at the end of every identity change (inside its transaction), so every
path that could remove the last administrator is covered at once: deleting, disabling or blocking
the account, taking its role away, denying the permission in a role, deleting the role, disabling
or deleting the identity service, resetting a person's second factor. Only store-backed
accounts count: the roles an external directory will hand out tomorrow cannot be known today.

An account counts only if it can pass every factor its service requires (:func:`factors_ok`):
of a TWO-FACTOR service only accounts with a usable second factor (a registered FIDO device; a
bound certificate, or, where the service takes the built-in CA's certificates without a
binding, a valid user certificate for the account from that CA); of a CERTIFICATE or FIDO
service as the first factor likewise.
"""

from __future__ import annotations

import sqlite3

from js7tui.identity import records
from js7tui.identity.types import TWO_FACTOR
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
            if cache[roles] and factors_ok(conn, record, row["name"]):
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
        if EffectivePermissions.compile(perms, folders).is_permitted(permission) and all(
                factors_ok(conn, record, name) for record in required):
            found.append("+".join(s.name for s in required) + f"/{name}")
    return found


def factors_ok(conn: sqlite3.Connection, record: records.ServiceRecord, account: str) -> bool:
    """``account`` can pass what ``record`` asks besides its password: its own proof when it is
    a CERTIFICATE or FIDO service, and its second factor when it is TWO-FACTOR."""
    if not _proof_ok(conn, record, account):
        return False
    if record.auth_scheme != TWO_FACTOR:
        return True
    if not record.second_factor_service:
        return False
    second = records.service(conn, record.second_factor_service)
    return not second.disabled and _proof_ok(conn, second, account)


def _proof_ok(conn: sqlite3.Connection, record: records.ServiceRecord, account: str) -> bool:
    if record.type == "FIDO":
        return conn.execute("SELECT 1 FROM fido_devices WHERE service_id = ? AND "
                            "account_name = ? AND removed IS NULL",
                            (record.id, account)).fetchone() is not None
    if record.type != "CERTIFICATE":
        return True
    if conn.execute("SELECT 1 FROM certificate_bindings WHERE service_id = ? AND "
                    "account_name = ?", (record.id, account)).fetchone() is not None:
        return True
    settings = record.settings
    if settings.get("iamCertificateBinding") == "REQUIRED":
        return False
    anchor = settings.get("iamCertificateTrustAnchor")
    if anchor and str(anchor).strip().lower() != "built-in":
        return False   # an organisation's CA: whether the person holds a certificate is unknown
    return conn.execute("SELECT 1 FROM pki_certificates WHERE purpose = 'user' AND name = ? "
                        "AND status = 'VALID'", (account,)).fetchone() is not None
