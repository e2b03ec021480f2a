"""Account administration: every method takes the acting session and is checked and audited.

Passwords: a new account gets the given password (policy-checked) or the initial password;
an account whose password is the initial password is always flagged for a forced change.
Services whose provider keeps the accounts too (VAULT-JOC-ACTIVE, an AccountSync provider) get
the same change inside the operation (see provider_accounts); they need a password chosen for
each account, since the console knows the initial password only as a hash.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from js7tui import audit
from js7tui.approval.local import account_fingerprint, approvable, describe_account_update
from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    ProviderRefused,
    ValidationError,
)
from js7tui.identity import records, sessions, throttle
from js7tui.identity import settings as identity_settings
from js7tui.identity.passwords import PasswordHasher, check_new_password
from js7tui.identity.provider_accounts import ProviderAccounts, provider_changes
from js7tui.identity.providers.base import (
    Authenticated,
    LoginRequest,
    ProviderContext,
    ProviderRegistry,
    Rejected,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.sessions import Session
from js7tui.identity.types import SERVICE_TYPES
from js7tui.operations import Operations
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.secrets import SecretBox
from js7tui.store import Store

CAT = Category.IDENTITY
log = logging.getLogger("js7tui.accounts")


UNCHANGED = object()  # update(): leave this field as it is


@dataclass(frozen=True)
class AccountView:
    service: str
    name: str
    roles: tuple[str, ...]
    email: str | None
    force_password_change: bool
    disabled: bool
    blocked: bool
    block_comment: str
    has_password: bool

    @property
    def state(self) -> str:
        words = [w for w, on in (("blocked", self.blocked), ("disabled", self.disabled),
                                 ("must change password", self.force_password_change)) if on]
        return ", ".join(words) or "active"


def _stores_password(record: ServiceRecord) -> bool:
    kind = SERVICE_TYPES.get(record.type)
    return bool(kind and kind.stores_password)


def _manages_password(record: ServiceRecord) -> bool:
    """The console sets this service's passwords: as a hash in the store, or in the provider."""
    kind = SERVICE_TYPES.get(record.type)
    return bool(kind and kind.manages_password)


def _needs_chosen_password(record: ServiceRecord) -> ValidationError:
    return ValidationError(
        f"'{record.name}' ({record.type}) keeps its passwords in the provider, which needs a "
        "password chosen for the account (the console knows the initial password only as a "
        "hash): give one with --password-prompt or --password-stdin")


def _password_keeper(record: ServiceRecord) -> str:
    kind = SERVICE_TYPES.get(record.type)
    return (kind.password_keeper if kind and kind.password_keeper
            else f"the {record.type} identity provider")


def _keeps_no_passwords(record: ServiceRecord) -> ValidationError:
    return ValidationError(
        f"identity service '{record.name}' ({record.type}) keeps no passwords: its accounts' "
        f"passwords are kept in {_password_keeper(record)}; change them there")


def _elsewhere_hint(services: Sequence[ServiceRecord]) -> str:
    """For a refused password change: which enabled services keep their passwords elsewhere
    (said whatever the account, so it reveals nothing about accounts)."""
    by_keeper: dict[str, list[str]] = {}
    for s in services:
        kind = SERVICE_TYPES.get(s.type)
        if not s.disabled and kind and kind.password_keeper and not kind.manages_password:
            by_keeper.setdefault(kind.password_keeper, []).append(f"{s.name} ({s.type})")
    if not by_keeper:
        return ""
    return "; " + "; ".join(f"accounts of {', '.join(names)} change their password in {keeper}"
                            for keeper, names in by_keeper.items()) + ", not here"


def _require_store_accounts(record: ServiceRecord) -> None:
    if not records.roles_from_store(record):
        raise ValidationError(
            f"identity service '{record.name}' ({record.type}) takes accounts and roles from its "
            "provider; accounts are managed there"
        )


class AccountService:
    def __init__(self, store: Store, clock: Clock, hasher: PasswordHasher,
                 ops: Operations, registry: ProviderRegistry | None = None,
                 secrets: SecretBox | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher
        self.ops = ops
        self.registry = registry
        self.secrets = secrets or SecretBox()

    def _context(self) -> ProviderContext:
        return ProviderContext(self.store.conn, self.hasher, self.clock, self.secrets)

    def _provider_changes(self) -> AbstractContextManager[ProviderAccounts]:
        return provider_changes(self.registry, self._context)

    # -- helpers --------------------------------------------------------------------------
    def _view(self, conn: sqlite3.Connection, record: ServiceRecord,
              row: sqlite3.Row) -> AccountView:
        blocked = records.is_blocked(conn, row["name"])
        return AccountView(
            record.name, row["name"], tuple(records.account_role_names(conn, row["id"])),
            row["email"], bool(row["force_password_change"]), bool(row["disabled"]),
            blocked is not None, blocked["comment"] if blocked else "",
            row["password_hash"] is not None,
        )

    def _service(self, conn: sqlite3.Connection, session: Session,
                 service: str | None) -> ServiceRecord:
        """The named service, else the first store-backed service that logged the session in."""
        if service:
            return records.service(conn, service)
        for name in session.services:
            record = records.service(conn, name)
            if records.roles_from_store(record):
                return record
        raise ValidationError("name the identity service with --identity-service")

    def _password_fields(self, conn: sqlite3.Connection, record: ServiceRecord,
                         password: str | None) -> tuple[str | None, bool]:
        """(hash, force change) for a new password, or for the initial one when None. A
        password the provider keeps is checked alike, but no hash is returned."""
        if not _manages_password(record):
            if password is not None:
                raise _keeps_no_passwords(record)
            return None, False
        stores = _stores_password(record)
        if password is None and not stores:
            raise _needs_chosen_password(record)
        initial_hash = identity_settings.initial_password_hash(conn)
        if password is None:
            return initial_hash, True
        new_hash = self.hasher.hash(password) if stores else None
        if self.hasher.verify(initial_hash, password):
            return new_hash, True
        check_new_password(password, minimum_length=identity_settings.read(
            conn, "minimum_password_length"))
        return new_hash, False

    def _set_roles(self, conn: sqlite3.Connection, record: ServiceRecord, account_id: int,
                   roles: Sequence[str]) -> None:
        role_ids = [records.role(conn, record, name)["id"] for name in dict.fromkeys(roles)]
        conn.execute("DELETE FROM account_roles WHERE account_id = ?", (account_id,))
        conn.executemany("INSERT INTO account_roles (account_id, role_id) VALUES (?, ?)",
                         [(account_id, role_id) for role_id in role_ids])

    # -- reads ----------------------------------------------------------------------------
    def list(self, session: Session, service: str | None = None) -> list[AccountView]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/accounts", category=CAT)
        conn = self.store.conn
        record = self._service(conn, session, service)
        rows = conn.execute(
            "SELECT * FROM accounts WHERE identity_service_id = ? ORDER BY name", (record.id,)
        ).fetchall()
        return [self._view(conn, record, row) for row in rows]

    def show(self, session: Session, name: str, service: str | None = None) -> AccountView:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/account", category=CAT)
        conn = self.store.conn
        record = self._service(conn, session, service)
        return self._view(conn, record, records.account(conn, record, name))

    # -- changes --------------------------------------------------------------------------
    @approvable('accounts', 'accounts', fingerprint=account_fingerprint, sealed=("password",))
    def create(self, session: Session, name: str, *, service: str | None = None,
               password: str | None = None, roles: Sequence[str] = (),
               email: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        name = records.check_name("account", name)
        with self._provider_changes() as provider, self.ops.mutate(
                session, request="./iam/account/store", category=CAT,
                permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            _require_store_accounts(record)
            if records.find_account(op.conn, record, name):
                raise Conflict(f"account '{name}' already exists in '{record.name}'")
            password_hash, force = self._password_fields(op.conn, record, password)
            cursor = op.conn.execute(
                "INSERT INTO accounts (identity_service_id, name, password_hash, email,"
                " force_password_change, created) VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, name, password_hash, email, int(force), to_iso(self.clock.now())),
            )
            self._set_roles(op.conn, record, int(cursor.lastrowid or 0), roles)
            if password is not None:
                provider.create(record, name, password)
            op.record(path=f"{record.name}/{name}", parameters={
                "identityServiceName": record.name, "accountName": name, "roles": list(roles),
                "password": password or "", "initialPassword": password is None})
            return self._view(op.conn, record, records.account(op.conn, record, name))

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint, sealed=("password",))
    def copy(self, session: Session, source: str, name: str, *, service: str | None = None,
             password: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        """A new account with the roles of ``source`` and the initial password (or the given
        one, which a provider-kept service needs)."""
        name = records.check_name("account", name)
        with self._provider_changes() as provider, self.ops.mutate(
                session, request="./iam/account/store", category=CAT,
                permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            _require_store_accounts(record)
            original = records.account(op.conn, record, source)
            if records.find_account(op.conn, record, name):
                raise Conflict(f"account '{name}' already exists in '{record.name}'")
            password_hash, force = self._password_fields(op.conn, record, password)
            cursor = op.conn.execute(
                "INSERT INTO accounts (identity_service_id, name, password_hash, email,"
                " force_password_change, created) VALUES (?, ?, ?, NULL, ?, ?)",
                (record.id, name, password_hash, int(force), to_iso(self.clock.now())),
            )
            roles = records.account_role_names(op.conn, original["id"])
            self._set_roles(op.conn, record, int(cursor.lastrowid or 0), roles)
            if password is not None:
                provider.create(record, name, password)
            op.record(path=f"{record.name}/{name}", parameters={
                "identityServiceName": record.name, "accountName": name, "copiedFrom": source})
            return self._view(op.conn, record, records.account(op.conn, record, name))

    def _update(self, session: Session, name: str, service: str | None, request: str,
                meta: AuditMeta, sql: str, args: tuple[object, ...],
                parameters: dict[str, object], guard_lockout: bool = False) -> AccountView:
        with self.ops.mutate(session, request=request, category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta,
                             guard_lockout=guard_lockout) as op:
            record = self._service(op.conn, session, service)
            row = records.account(op.conn, record, name)
            op.conn.execute(sql, (*args, row["id"]))
            op.record(path=f"{record.name}/{name}",
                      parameters={"identityServiceName": record.name, "accountName": name,
                                  **parameters})
            return self._view(op.conn, record, records.account(op.conn, record, name))

    @approvable('accounts', 'accounts',
                describe=describe_account_update, fingerprint=account_fingerprint)
    def update(self, session: Session, name: str, *, email: str | object | None = UNCHANGED,
               roles: Sequence[str] | None = None, service: str | None = None,
               meta: AuditMeta = AuditMeta()) -> AccountView:
        """The e-mail and/or the roles (all of them, replacing the current ones) in one
        transaction and one audit entry: the account form saves both at once, and a refusal
        of one leaves the other unchanged too."""
        with self.ops.mutate(session, request="./iam/account/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta,
                             guard_lockout=roles is not None) as op:
            record = self._service(op.conn, session, service)
            row = records.account(op.conn, record, name)
            parameters: dict[str, object] = {"identityServiceName": record.name,
                                             "accountName": name}
            if email is not UNCHANGED:
                op.conn.execute("UPDATE accounts SET email = ? WHERE id = ?", (email, row["id"]))
                parameters["email"] = email
            if roles is not None:
                _require_store_accounts(record)
                self._set_roles(op.conn, record, row["id"], roles)
                parameters["roles"] = list(roles)
            op.record(path=f"{record.name}/{name}", parameters=parameters)
            return self._view(op.conn, record, records.account(op.conn, record, name))

    def set_email(self, session: Session, name: str, email: str | None, *,
                  service: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        return self.update(session, name, email=email, service=service, meta=meta)

    def set_roles(self, session: Session, name: str, roles: Sequence[str], *,
                  service: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        return self.update(session, name, roles=roles, service=service, meta=meta)

    def add_roles(self, session: Session, name: str, roles: Sequence[str], *,
                  service: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        current = self.show(session, name, service).roles
        return self.set_roles(session, name, [*current, *roles], service=service, meta=meta)

    def remove_roles(self, session: Session, name: str, roles: Sequence[str], *,
                     service: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        view = self.show(session, name, service)
        missing = [r for r in roles if r not in view.roles]
        if missing:
            raise NotFound(f"account '{name}' does not have the role(s) {', '.join(missing)}")
        return self.set_roles(session, name, [r for r in view.roles if r not in roles],
                              service=service, meta=meta)

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint, sealed=("password",))
    def reset_password(self, session: Session, name: str, *, service: str | None = None,
                       password: str | None = None,
                       meta: AuditMeta = AuditMeta()) -> AccountView:
        """Back to the initial password, or to ``password`` (which a provider-kept service
        needs); either way the account must change it at its next login."""
        with self._provider_changes() as provider, self.ops.mutate(
                session, request="./iam/accounts/resetpassword", category=CAT,
                permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            if not _manages_password(record):
                raise _keeps_no_passwords(record)
            row = records.account(op.conn, record, name)
            if password is None:
                if not _stores_password(record):
                    raise _needs_chosen_password(record)
                new_hash: str | None = identity_settings.initial_password_hash(op.conn)
            else:
                check_new_password(password, minimum_length=identity_settings.read(
                    op.conn, "minimum_password_length"))
                new_hash = self.hasher.hash(password) if _stores_password(record) else None
            op.conn.execute(
                "UPDATE accounts SET password_hash = ?, force_password_change = 1 WHERE id = ?",
                (new_hash, row["id"]))
            if password is not None:
                provider.set_password(record, name, password)
            op.record(path=f"{record.name}/{name}", parameters={
                "identityServiceName": record.name, "accountName": name,
                "initialPassword": password is None})
            return self._view(op.conn, record, records.account(op.conn, record, name))

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def force_password_change(self, session: Session, name: str, *, service: str | None = None,
                              meta: AuditMeta = AuditMeta()) -> AccountView:
        return self._update(session, name, service, "./iam/accounts/forcepasswordchange", meta,
                            "UPDATE accounts SET force_password_change = 1 WHERE id = ?", (),
                            {})

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def set_disabled(self, session: Session, name: str, disabled: bool, *,
                     service: str | None = None, meta: AuditMeta = AuditMeta()) -> AccountView:
        """Disabling ends the account's sessions at once; enabling never revives them."""
        request = "./iam/accounts/disable" if disabled else "./iam/accounts/enable"
        with self.ops.mutate(session, request=request, category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta,
                             guard_lockout=disabled) as op:
            record = self._service(op.conn, session, service)
            row = records.account(op.conn, record, name)
            op.conn.execute("UPDATE accounts SET disabled = ? WHERE id = ?",
                            (int(disabled), row["id"]))
            if disabled:
                sessions.end_account_sessions(op.conn, name)
            op.record(path=f"{record.name}/{name}",
                      parameters={"identityServiceName": record.name, "accountName": name})
            return self._view(op.conn, record, records.account(op.conn, record, name))

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def rename(self, session: Session, name: str, new_name: str, *, service: str | None = None,
               meta: AuditMeta = AuditMeta()) -> AccountView:
        new_name = records.check_name("account", new_name)
        with self._provider_changes() as provider, self.ops.mutate(
                session, request="./iam/account/rename", category=CAT,
                permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            record = self._service(op.conn, session, service)
            row = records.account(op.conn, record, name)
            if records.find_account(op.conn, record, new_name):
                raise Conflict(f"account '{new_name}' already exists in '{record.name}'")
            op.conn.execute("UPDATE accounts SET name = ? WHERE id = ?", (new_name, row["id"]))
            provider.rename(record, name, new_name)
            # Sessions name the account; they end with the old name.
            sessions.end_account_sessions(op.conn, name)
            op.record(path=f"{record.name}/{new_name}", parameters={
                "identityServiceName": record.name, "accountName": name,
                "accountNewName": new_name})
            return self._view(op.conn, record, records.account(op.conn, record, new_name))

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def delete(self, session: Session, names: Sequence[str], *, service: str | None = None,
               meta: AuditMeta = AuditMeta()) -> None:
        with self._provider_changes() as provider, self.ops.mutate(
                session, request="./iam/accounts/delete", category=CAT,
                permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            record = self._service(op.conn, session, service)
            for name in names:
                row = records.account(op.conn, record, name)
                op.conn.execute("DELETE FROM accounts WHERE id = ?", (row["id"],))
                sessions.end_account_sessions(op.conn, name)
                op.record(path=f"{record.name}/{name}", parameters={
                    "identityServiceName": record.name, "accountName": name})
            op.check_lockout()   # before Vault deletes users a lock-out refusal could not restore
            for name in names:
                provider.delete(record, name)

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def block(self, session: Session, name: str, comment: str, *,
              meta: AuditMeta = AuditMeta()) -> None:
        """Block an account name in every identity service (reference: IAM_BLOCKLIST)."""
        name = records.check_name("account", name)
        with self.ops.mutate(session, request="./iam/blockedAccount/store", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta, guard_lockout=True) as op:
            if records.is_blocked(op.conn, name):
                raise Conflict(f"account '{name}' is already blocked")
            op.conn.execute(
                "INSERT INTO blocklist (account_name, comment, since, blocked_by) "
                "VALUES (?, ?, ?, ?)", (name, comment, to_iso(self.clock.now()), session.account))
            sessions.end_account_sessions(op.conn, name)
            op.record(path=name, parameters={"accountName": name, "blockComment": comment})

    @approvable('accounts', 'accounts', fingerprint=account_fingerprint)
    def unblock(self, session: Session, name: str, *, meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./iam/blockedAccounts/delete", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            if op.conn.execute("DELETE FROM blocklist WHERE account_name = ?",
                               (name,)).rowcount == 0:
                raise NotFound(f"account '{name}' is not blocked")
            op.record(path=name, parameters={"accountName": name})

    def blocked(self, session: Session) -> list[tuple[str, str, str, str]]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/blockedAccounts",
                           category=CAT)
        return [(r[0], r[1], r[2], r[3]) for r in self.store.conn.execute(
            "SELECT account_name, comment, since, blocked_by FROM blocklist ORDER BY since")]

    # -- own password ---------------------------------------------------------------------
    def change_password(self, *, account: str, old: str, new: str, repeated: str | None = None,
                        service: str | None = None, source: str = "local") -> None:
        """Change a password with the old one (also a forced change); no session needed.
        Attempts on one account run one at a time, across processes (see ``throttle``)."""
        with throttle.serialised(self.store.path, account):
            self._change_password(account=account, old=old, new=new, repeated=repeated,
                                  service=service, source=source)

    def _change_password(self, *, account: str, old: str, new: str, repeated: str | None,
                         service: str | None, source: str) -> None:
        conn = self.store.conn
        if service:
            named = records.service(conn, service)
            if not _manages_password(named):
                raise _keeps_no_passwords(named)
        candidates = [s for s in records.services(conn)
                      if _manages_password(s) and not s.disabled
                      and (service is None or s.name.lower() == service.lower())]
        holders = [s for s in candidates if records.find_account(conn, s, account)]
        if service and not candidates:
            raise ValidationError(f"identity service '{service}' is disabled; its passwords "
                                  "cannot be changed now")
        if len(holders) > 1:
            raise ValidationError(
                f"account '{account}' exists in several identity services ("
                + ", ".join(s.name for s in holders) + "); name one with --identity-service")
        delay = throttle.delay_for(conn, self.clock, account, source)
        if delay:
            self.clock.sleep(delay)
        record = holders[0] if holders else None
        row = records.find_account(conn, record, account) if record else None
        if record is None or row is None or not self._current_password_ok(record, row, old,
                                                                          source):
            with self.store.transaction() as tx:
                throttle.record_failure(tx, self.clock, account, source)
            self.ops.refuse(account[:255], "./iam/account/changepassword", CAT,
                            "wrong account name or current password",
                            parameters={"source": source})
            raise AuthenticationError("password not changed: wrong account name or current "
                                      "password" + ("" if service else
                                                    _elsewhere_hint(records.services(conn))))
        if records.is_blocked(conn, account) or row["disabled"]:
            raise AuthenticationError(f"password not changed: the account '{account}' is "
                                      "blocked or disabled")
        with self._provider_changes() as provider, self.store.transaction() as tx:
            check_new_password(new, repeated=repeated, minimum_length=identity_settings.read(
                tx, "minimum_password_length"))
            if new == old:
                raise ValidationError("the new password must differ from the current one")
            if self.hasher.verify(identity_settings.initial_password_hash(tx), new):
                raise ValidationError("the new password must differ from the initial password")
            tx.execute("UPDATE accounts SET password_hash = ?, force_password_change = 0 "
                       "WHERE id = ?",
                       (self.hasher.hash(new) if _stores_password(record) else None, row["id"]))
            throttle.reset(tx, account, source)
            audit.append(tx, created=self.clock.now(), account=account,
                         request="./iam/account/changepassword", category=CAT,
                         path=f"{record.name}/{account}",
                         parameters={"identityServiceName": record.name, "accountName": account,
                                     "source": source})
            provider.set_password(record, account, new)

    def _current_password_ok(self, record: ServiceRecord, row: sqlite3.Row, password: str,
                             source: str) -> bool:
        """The store's hash decides, or for a provider-kept password a login at the provider
        (whose token is revoked at once)."""
        if _stores_password(record):
            return self.hasher.verify(row["password_hash"], password)
        provider = self.registry.get(record.type) if self.registry else None
        if provider is None:
            raise ProviderRefused(f"password not changed: identity service type {record.type} "
                                  "is not available in this js7tui")
        context = self._context()
        try:
            outcome = provider.authenticate(record, LoginRequest(row["name"], password, source),
                                            context)
        except Exception as exc:  # a provider bug must refuse, not crash the form
            outcome = Unreachable(f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Authenticated):
            if outcome.state is not None and hasattr(provider, "end"):
                try:
                    provider.end(record, outcome.state, context)
                except Exception as exc:
                    log.warning("could not revoke the token of a password check in %s: %s",
                                record.name, exc)
            return True
        if isinstance(outcome, Rejected):
            return False
        raise ProviderRefused(f"password not changed: '{record.name}' could not check the "
                              f"current password ({getattr(outcome, 'reason', outcome)})")
