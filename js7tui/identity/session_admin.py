"""Sessions seen from outside: resume by token, log out, list and cancel (with permission)."""

from __future__ import annotations

from collections.abc import Sequence

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock
from js7tui.errors import NotFound, SessionRequired
from js7tui.identity import history, sessions
from js7tui.identity.provider_sessions import ProviderSessions
from js7tui.identity.sessions import Session, SessionInfo
from js7tui.operations import Operations
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.store import Store

CAT = Category.IDENTITY


class SessionAdmin:
    def __init__(self, store: Store, clock: Clock, ops: Operations,
                 providers: ProviderSessions) -> None:
        self.store = store
        self.clock = clock
        self.ops = ops
        self.providers = providers

    def resume(self, token: str) -> Session:
        """The live session of ``token`` (touched), or SessionRequired saying why not. A
        session backed by a provider's token is refreshed shortly before that token's
        ``valid_until``, or on its first use after it (a session idle beyond a provider's check
        interval is confirmed by the provider, not ended); a provider that refuses ends it, one
        that cannot be reached lets it end at ``valid_until``."""
        try:
            with self.store.transaction() as conn:
                session = sessions.resume(conn, self.clock, token, check_valid_until=False)
            if self.providers.due(session):
                self.providers.refresh(session)
                with self.store.transaction() as conn:
                    session = sessions.resume(conn, self.clock, token)
        except SessionRequired as exc:
            sessions.forget_ended(self.store.transaction, exc)
            raise
        session.token = token
        return session

    def logout(self, token: str) -> bool:
        """Invalidate the token (and revoke any provider token behind it); True if it was a
        live session."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT id FROM sessions WHERE token_hash = ?",
                               (sessions.hash_token(token),)).fetchone()
            if row is None:
                return False
            ending = self.providers.states([row["id"]])
            sessions.delete(conn, row["id"])
        self.providers.end(ending)
        return True

    def list(self, session: Session) -> list[SessionInfo]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./iam/sessions", category=CAT)
        return sessions.list_all(self.store.conn, self.clock)

    def cancel(self, session: Session, session_ids: Sequence[int] = (), *,
               account: str | None = None, meta: AuditMeta = AuditMeta()) -> int:
        """End sessions by id, or all sessions of ``account``; returns how many ended."""
        with self.ops.mutate(session, request="./iam/sessions/cancel", category=CAT,
                             permissions=[ACCOUNTS_MANAGE], meta=meta) as op:
            ids = list(session_ids)
            if account:
                ids += [row["id"] for row in op.conn.execute(
                    "SELECT id FROM sessions WHERE account_name = ?", (account,))]
            ending = self.providers.states(ids)
            ended = 0
            for session_id in dict.fromkeys(ids):
                if not sessions.delete(op.conn, session_id) and session_id in session_ids:
                    raise NotFound(f"no session {session_id}")
                ended += 1
            op.record(path=account or "", parameters={"ids": list(session_ids),
                                                      "accountName": account, "ended": ended})
        self.providers.end(ending)
        return ended

    def login_history(self, session: Session, *, account: str | None = None,
                      failed_only: bool = False, limit: int = 50,
                      before_id: int | None = None) -> list[history.LoginAttempt]:
        self.ops.authorize(session, [ACCOUNTS_VIEW], request="./audit_log/login_history",
                           category=CAT)
        return history.page(self.store.conn, account=account, failed_only=failed_only,
                            limit=limit, before_id=before_id)
