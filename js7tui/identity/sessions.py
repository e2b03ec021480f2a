"""Console sessions: random tokens stored only as SHA-256 hashes, idle timeout, touched on use.

A session is re-validated on every use: an account blocked, disabled or deleted, or an identity
service disabled, ends its sessions at once; store-backed roles are re-read, so a permission
taken away applies to a running session immediately.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from js7tui.clock import Clock, from_iso, to_iso
from js7tui.durations import format_duration
from js7tui.errors import NotFound, SessionRequired
from js7tui.identity import records
from js7tui.identity.types import SERVICE_TYPES, RolesFrom
from js7tui.permissions import EffectivePermissions

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Session:
    id: int
    account: str
    grants: tuple[records.Grant, ...]
    permissions: EffectivePermissions
    must_change_password: bool
    source: str
    created: datetime
    last_used: datetime
    idle_timeout: int
    token: str | None = field(default=None, repr=False)
    # When an external provider's token ends (OIDC, Vault); None for store-backed sessions.
    valid_until: datetime | None = None

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(grant.service for grant in self.grants)

    @property
    def expires_at(self) -> datetime | None:
        """When the session ends if nothing happens: idle timeout or the provider's token,
        whichever comes first."""
        idle_end = (None if self.idle_timeout < 0
                    else self.last_used + timedelta(seconds=self.idle_timeout))
        ends = [t for t in (idle_end, self.valid_until) if t is not None]
        return min(ends) if ends else None

    def can(self, permission: str, controller: str = "") -> bool:
        return self.permissions.is_permitted(permission, controller)


def create(
    conn: sqlite3.Connection, clock: Clock, *, account: str, grants: list[records.Grant],
    source: str, idle_timeout: int, provider_state: dict[str, dict[str, Any]] | None = None,
    valid_until: datetime | None = None,
) -> tuple[int, str]:
    """A new session; ``provider_state`` maps a service to its sealed state and limit (see
    :func:`provider_state_entry` and providers.base.Authenticated.state)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = to_iso(clock.now())
    cursor = conn.execute(
        "INSERT INTO sessions (token_hash, account_name, grants, source, created, last_used,"
        " idle_timeout, provider_state, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (hash_token(token), account, json.dumps([g.to_json() for g in grants]), source, now,
         now, idle_timeout, json.dumps(provider_state or {}),
         to_iso(valid_until) if valid_until else None),
    )
    return int(cursor.lastrowid or 0), token


def provider_states(conn: sqlite3.Connection, session_id: int) -> dict[str, dict[str, Any]]:
    """Service name -> {"sealed": sealed state, "valid_until": iso or None} ({} if none)."""
    row = conn.execute("SELECT provider_state FROM sessions WHERE id = ?",
                       (session_id,)).fetchone()
    return json.loads(row["provider_state"]) if row else {}


def provider_state_entry(sealed: str, valid_until: datetime | None) -> dict[str, Any]:
    return {"sealed": sealed, "valid_until": to_iso(valid_until) if valid_until else None}


def set_provider_states(conn: sqlite3.Connection, session_id: int,
                        updates: dict[str, dict[str, Any]]) -> None:
    """Replace some services' entries after a refresh; the session's validity becomes the
    earliest of all its providers' limits."""
    states = {**provider_states(conn, session_id), **updates}
    limits = [from_iso(e["valid_until"]) for e in states.values() if e.get("valid_until")]
    conn.execute("UPDATE sessions SET provider_state = ?, valid_until = ? WHERE id = ?",
                 (json.dumps(states), to_iso(min(limits)) if limits else None, session_id))


def _ended(conn: sqlite3.Connection, session_id: int, why: str) -> SessionRequired:
    """The refusal for a session that is over; the caller's transaction rolls back, so the row
    is deleted by whoever catches it (:func:`forget_ended`)."""
    return SessionRequired(f"{why}; log in again", ended_session_id=session_id)


def forget_ended(store_transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 error: SessionRequired) -> None:
    """Delete the session an error found to be over, in a transaction of its own."""
    if error.ended_session_id is not None:
        with store_transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (error.ended_session_id,))


def end_account_sessions(conn: sqlite3.Connection, account: str) -> int:
    return conn.execute("DELETE FROM sessions WHERE account_name = ?", (account,)).rowcount


def end_service_sessions(conn: sqlite3.Connection, service: str) -> int:
    ended = 0
    for row in conn.execute("SELECT id, grants FROM sessions").fetchall():
        if any(g["service"] == service for g in json.loads(row["grants"])):
            ended += delete(conn, row["id"])
    return ended


def _idle_limit(conn: sqlite3.Connection, own: int) -> int:
    """The session's idle timeout, or the current setting when that is shorter: lowering
    ``idle_session_timeout`` applies to sessions that exist already (-1 is "never")."""
    from js7tui.identity import settings as identity_settings
    current = identity_settings.read(conn, "idle_session_timeout")
    if current < 0:
        return own
    return current if own < 0 else min(own, current)


def _load_row(conn: sqlite3.Connection, clock: Clock, row: sqlite3.Row | None,
              touch: bool, check_valid_until: bool = True) -> Session:
    if row is None:
        raise SessionRequired("no valid session (it was logged out, cancelled or never existed);"
                              " log in with 'js7tui login'")
    now = clock.now()
    last_used = from_iso(row["last_used"])
    idle = _idle_limit(conn, row["idle_timeout"])
    if idle >= 0 and now - last_used > timedelta(seconds=idle):
        raise _ended(conn, row["id"],
                     f"the session ended after {format_duration(idle)} without activity")
    valid_until = from_iso(row["valid_until"]) if row["valid_until"] else None
    if check_valid_until and valid_until is not None and now >= valid_until:
        raise _ended(conn, row["id"], "the identity provider's token has expired")
    account_name = row["account_name"]
    if records.is_blocked(conn, account_name):
        raise _ended(conn, row["id"], f"the account '{account_name}' is blocked")
    grants = tuple(records.Grant.from_json(g) for g in json.loads(row["grants"]))
    must_change = False
    for grant in grants:
        try:
            record = records.service(conn, grant.service)
        except NotFound:
            raise _ended(conn, row["id"],
                         f"the identity service '{grant.service}' no longer exists") from None
        if record.disabled:
            raise _ended(conn, row["id"], f"the identity service '{record.name}' is disabled")
        if grant.roles_from == RolesFrom.STORE:
            account = records.find_account(conn, record, account_name)
            if account is None:
                raise _ended(conn, row["id"], f"the account '{account_name}' no longer exists")
            if account["disabled"]:
                raise _ended(conn, row["id"], f"the account '{account_name}' is disabled")
            kind = SERVICE_TYPES.get(record.type)
            if kind and kind.manages_password and account["force_password_change"]:
                must_change = True
    if touch:
        conn.execute("UPDATE sessions SET last_used = ? WHERE id = ?", (to_iso(now), row["id"]))
        last_used = now
    return Session(
        id=row["id"], account=account_name, grants=grants,
        permissions=records.compile_permissions(conn, account_name, grants),
        must_change_password=must_change, source=row["source"],
        created=from_iso(row["created"]), last_used=last_used, idle_timeout=idle,
        valid_until=valid_until,
    )


def resume(conn: sqlite3.Connection, clock: Clock, token: str, *, touch: bool = True,
           check_valid_until: bool = True) -> Session:
    """The live session of ``token``. ``check_valid_until=False`` lets a session whose provider
    token is due for confirmation through, so the caller can ask the provider first."""
    row = conn.execute(
        "SELECT * FROM sessions WHERE token_hash = ?", (hash_token(token),)
    ).fetchone()
    return _load_row(conn, clock, row, touch, check_valid_until)


def refresh(conn: sqlite3.Connection, clock: Clock, session_id: int) -> Session:
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return _load_row(conn, clock, row, touch=True)


def delete(conn: sqlite3.Connection, session_id: int) -> bool:
    return conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0


@dataclass(frozen=True)
class SessionInfo:
    id: int
    account: str
    services: tuple[str, ...]
    source: str
    created: datetime
    last_used: datetime
    expires_at: datetime | None


def list_all(conn: sqlite3.Connection, clock: Clock) -> list[SessionInfo]:
    """Live sessions (expired ones are dropped on the way)."""
    out = []
    now = clock.now()
    for row in conn.execute("SELECT * FROM sessions ORDER BY last_used DESC").fetchall():
        last_used = from_iso(row["last_used"])
        idle = _idle_limit(conn, row["idle_timeout"])
        expires = None if idle < 0 else last_used + timedelta(seconds=idle)
        if row["valid_until"]:
            valid_until = from_iso(row["valid_until"])
            expires = valid_until if expires is None else min(expires, valid_until)
        if expires is not None and expires < now:
            continue
        services = tuple(g["service"] for g in json.loads(row["grants"]))
        out.append(SessionInfo(row["id"], row["account_name"], services, row["source"],
                               from_iso(row["created"]), last_used, expires))
    return out
