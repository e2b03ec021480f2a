"""Every operation of a session goes through here: session check, permission, audit.

``Operations.mutate`` is the one road for a change: it re-validates the acting session inside
the operation's transaction, refuses a pending forced password change, checks each permission,
enforces ``force_comments_for_audit_log``, runs the change and writes its audit entry in the same
transaction. A refusal that is a security event (denied permission, session problems, lock-out
attempts) rolls the change back and is then audited in a transaction of its own.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from js7tui import audit
from js7tui.audit import AuditMeta, Category, Outcome
from js7tui.clock import Clock
from js7tui.errors import (
    Conflict,
    Js7Error,
    PasswordChangeRequired,
    PermissionDenied,
    SessionRequired,
    ValidationError,
)
from js7tui.identity import lockout, sessions
from js7tui.identity import settings as identity_settings
from js7tui.identity.sessions import Session
from js7tui.permissions import catalogue
from js7tui.store import Store


class LockoutRefused(Conflict):
    """The change would leave nobody able to manage accounts."""


log = logging.getLogger("js7tui.operations")
SECURITY_EVENTS = (PermissionDenied, PasswordChangeRequired, LockoutRefused)


@dataclass
class Op:
    """One running change: its connection, the fresh session, and the audit entry to write."""

    conn: sqlite3.Connection
    session: Session
    request: str
    category: Category
    meta: AuditMeta
    clock: Clock
    entries: list[audit.AuditEntry] = field(default_factory=list)
    # Who could manage accounts before the change, when the operation guards against lock-out.
    managers_before: list[str] | None = None

    def check_lockout(self) -> None:
        """Refuse now if the change so far leaves nobody able to manage accounts. ``mutate``
        checks at the end anyway; call this earlier before a step outside the store (a provider
        deleting users) that a later refusal could not take back."""
        if self.managers_before and not lockout.account_managers(self.conn):
            raise LockoutRefused(
                "refused: after this change no enabled account could manage accounts "
                f"any more (today: {', '.join(self.managers_before)}); give another account "
                "that right first"
            )

    def record(self, *, path: str = "", folder: str = "", object_type: str = "",
               controller_id: str = "", parameters: dict[str, Any] | None = None,
               commit_id: str = "") -> audit.AuditEntry:
        entry = audit.append(
            self.conn, created=self.clock.now(), account=self.session.account,
            request=self.request, category=self.category, controller_id=controller_id,
            object_type=object_type, path=path, folder=folder, meta=self.meta,
            parameters=parameters, commit_id=commit_id,
        )
        self.entries.append(entry)
        return entry


def _denied_message(permission: str, controller: str) -> str:
    node = catalogue().nodes.get(permission)
    what = f" ({node.description.lower()})" if node else ""
    where = f" on Controller '{controller}'" if controller else ""
    return f"permission denied: {permission}{what} is not granted to you{where}"


class Operations:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        #: Called after each audited change committed (the audit witnesses: it must never
        #: wait for anything; :meth:`js7tui.audit.witness.AuditWitness.notify`).
        self.on_change: Callable[[], None] | None = None

    def changed(self) -> None:
        """After a change committed its audit entry: tell whoever listens (never waits)."""
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception as exc:  # the change stands; a witness is only told later
                log.warning("after a change: %s", exc)

    def _check(self, conn: sqlite3.Connection, session: Session,
               permissions: Sequence[str], controller: str,
               allow_pending_password_change: bool) -> Session:
        fresh = sessions.refresh(conn, self.clock, session.id)
        # The caller's object (a TUI keeps it for hours) follows the store before any check,
        # so what it shows matches what the store would refuse.
        session.grants = fresh.grants
        session.permissions = fresh.permissions
        session.must_change_password = fresh.must_change_password
        session.last_used = fresh.last_used
        if fresh.must_change_password and not allow_pending_password_change:
            raise PasswordChangeRequired(
                f"the account '{fresh.account}' must change its password before anything else "
                "(js7tui passwd)"
            )
        for permission in permissions:
            if not fresh.can(permission, controller):
                raise PermissionDenied(_denied_message(permission, controller),
                                       permission=permission, controller=controller)
        return fresh

    def refuse(self, account: str, request: str, category: Category, reason: str, *,
               controller_id: str = "", parameters: dict[str, Any] | None = None,
               meta: AuditMeta = AuditMeta(), path: str = "") -> None:
        """Audit a refused security event in a transaction of its own."""
        log.warning("refused %s for %r: %s", request, account, reason)
        with self.store.transaction() as conn:
            audit.append(
                conn, created=self.clock.now(), account=account, request=request,
                category=category, outcome=Outcome.REFUSED, controller_id=controller_id,
                path=path, meta=meta,
                parameters={**(parameters or {}), "refused": reason},
            )
        self.changed()

    def authorize(self, session: Session, permissions: Sequence[str] = (), *,
                  controller: str = "", request: str, category: Category,
                  allow_pending_password_change: bool = False) -> Session:
        """For reads: validate and touch the session, check permissions (refusals audited)."""
        try:
            with self.store.transaction() as conn:
                return self._check(conn, session, permissions, controller,
                                   allow_pending_password_change)
        except SessionRequired as exc:
            sessions.forget_ended(self.store.transaction, exc)
            raise
        except SECURITY_EVENTS as exc:
            self.refuse(session.account, request, category, str(exc), controller_id=controller)
            raise

    @contextmanager
    def mutate(self, session: Session, *, request: str, category: Category,
               permissions: Sequence[str] = (), controller: str = "",
               meta: AuditMeta = AuditMeta(), guard_lockout: bool = False,
               parameters: dict[str, Any] | None = None,
               allow_pending_password_change: bool = False) -> Iterator[Op]:
        meta = meta.validated()
        try:
            with self.store.transaction() as conn:
                fresh = self._check(conn, session, permissions, controller,
                                    allow_pending_password_change)
                if not meta.comment and identity_settings.read(
                        conn, "force_comments_for_audit_log"):
                    raise ValidationError(
                        "a comment is required for every change (force_comments_for_audit_log"
                        " is on); give the reason with --comment"
                    )
                op = Op(conn, fresh, request, category, meta, self.clock,
                        managers_before=(lockout.account_managers(conn) if guard_lockout
                                         else None))
                yield op
                op.check_lockout()
                if not op.entries:
                    op.record(parameters=parameters)
            self.changed()  # committed
        except SessionRequired as exc:
            sessions.forget_ended(self.store.transaction, exc)
            raise
        except SECURITY_EVENTS as exc:
            self.refuse(session.account, request, category, str(exc), controller_id=controller,
                        parameters=parameters, meta=meta)
            raise
        except Js7Error:
            raise
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"refused by the store: {exc}") from None
