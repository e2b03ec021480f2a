"""Single-use login challenges (table ``login_challenges``).

A challenge is issued for one service and one account (or none, for a single-factor login that
names no account) and lives a short time. :func:`take` marks it used with one conditional
``UPDATE`` (atomic in SQLite's autocommit mode, whichever process races), *before* the response
is checked: a challenge answers exactly one attempt, right or wrong, so a replayed response
finds it used.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from js7tui.clock import Clock, from_iso, to_iso

DEFAULT_LIFETIME = 120       # seconds
KEEP_USED = timedelta(days=1)


class ChallengeRefused(Exception):
    """The challenge is unknown, used, expired or for another service/account/kind."""


@dataclass(frozen=True)
class Challenge:
    id: str
    service_id: int
    account: str
    kind: str
    payload: dict[str, Any]
    pending_id: str | None
    expires: str


def issue(conn: sqlite3.Connection, clock: Clock, *, service_id: int, account: str, kind: str,
          payload: dict[str, Any], lifetime: int = DEFAULT_LIFETIME,
          pending_id: str | None = None, challenge_id: str | None = None) -> Challenge:
    now = clock.now()
    cid = challenge_id or secrets.token_urlsafe(16)
    expires = to_iso(now + timedelta(seconds=max(10, lifetime)))
    conn.execute("DELETE FROM login_challenges WHERE expires < ?",
                 (to_iso(now - KEEP_USED),))
    conn.execute(
        "INSERT INTO login_challenges (id, service_id, account_name, kind, payload, pending_id,"
        " created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (cid, service_id, account, kind, json.dumps(payload), pending_id, to_iso(now), expires))
    return Challenge(cid, service_id, account, kind, payload, pending_id, expires)


def take(conn: sqlite3.Connection, clock: Clock, challenge_id: str, *, service_id: int,
         kind: str, account: str | None = None) -> Challenge:
    """The challenge, now marked used; ChallengeRefused saying why when it cannot answer."""
    row = conn.execute("SELECT * FROM login_challenges WHERE id = ?",
                       (str(challenge_id),)).fetchone()
    if row is None or row["service_id"] != service_id or row["kind"] != kind:
        raise ChallengeRefused("unknown challenge")
    if row["used"] is not None:
        raise ChallengeRefused(f"challenge already used at {row['used']} (a replay)")
    if from_iso(row["expires"]) <= clock.now():
        raise ChallengeRefused(f"challenge expired at {row['expires']}")
    if account is not None and row["account_name"] and row["account_name"] != account:
        raise ChallengeRefused(f"challenge was issued for '{row['account_name']}'")
    taken = conn.execute("UPDATE login_challenges SET used = ? WHERE id = ? AND used IS NULL",
                         (to_iso(clock.now()), row["id"])).rowcount
    if taken != 1:
        raise ChallengeRefused("challenge already used (a replay)")
    return Challenge(row["id"], row["service_id"], row["account_name"], row["kind"],
                     json.loads(row["payload"]), row["pending_id"], row["expires"])
