"""Effective permissions and explanations for accounts, as administrators ask for them."""

from __future__ import annotations

from js7tui.audit import Category
from js7tui.errors import ValidationError
from js7tui.identity import records
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.evaluator import DEFAULT_SECTION, EffectivePermissions, Explanation
from js7tui.permissions.folders import normalize_folder
from js7tui.permissions.names import ACCOUNTS_VIEW
from js7tui.permissions.tree import catalogue
from js7tui.store import Store


class PermissionService:
    def __init__(self, store: Store, ops: Operations) -> None:
        self.store = store
        self.ops = ops

    def effective(self, session: Session, account: str | None = None,
                  service: str | None = None) -> EffectivePermissions:
        """The merged permissions of ``account`` (default: the caller, as logged in)."""
        own = account is None or (account == session.account and service is None)
        fresh = self.ops.authorize(session, [] if own else [ACCOUNTS_VIEW],
                                   request="./iam/account/permissions",
                                   category=Category.IDENTITY,
                                   allow_pending_password_change=own)
        if own:
            return fresh.permissions
        conn = self.store.conn
        holders = [s for s in records.services(conn) if records.roles_from_store(s)
                   and (service is None or s.name.lower() == service.lower())
                   and records.find_account(conn, s, account)]
        if not holders:
            where = f" in '{service}'" if service else ""
            raise ValidationError(f"no account '{account}'{where} with roles in the store")
        if len(holders) > 1:
            raise ValidationError(f"account '{account}' exists in "
                                  + ", ".join(s.name for s in holders)
                                  + "; name one with --identity-service")
        return records.compile_permissions(
            conn, account, [records.Grant(holders[0].name, "store")])

    def explain(self, session: Session, permission: str, *, account: str | None = None,
                controller: str = DEFAULT_SECTION, folder: str | None = None,
                service: str | None = None) -> Explanation:
        name = catalogue().canonical(permission)
        records.check_controller_id(controller)
        path = normalize_folder(folder) if folder is not None else None
        return self.effective(session, account, service).explain(name, controller, path)
