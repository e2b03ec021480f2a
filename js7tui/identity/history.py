"""Login history (reference 3.5): every attempt, its outcome and what each service said."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from js7tui.clock import Clock, from_iso, to_iso


@dataclass(frozen=True)
class LoginAttempt:
    id: int
    created: datetime
    account: str
    source: str
    success: bool
    message: str
    details: tuple[tuple[str, str], ...]


def record(conn: sqlite3.Connection, clock: Clock, *, account: str, source: str, success: bool,
           message: str, details: Sequence[tuple[str, str]]) -> int:
    cursor = conn.execute(
        "INSERT INTO login_history (created, account_name, source, success, message) "
        "VALUES (?, ?, ?, ?, ?)",
        (to_iso(clock.now()), account[:255], source, int(success), message),
    )
    history_id = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO login_history_details (history_id, position, service_name, message) "
        "VALUES (?, ?, ?, ?)",
        [(history_id, i, name, text) for i, (name, text) in enumerate(details)],
    )
    return history_id


def page(conn: sqlite3.Connection, *, account: str | None = None, failed_only: bool = False,
         limit: int = 50, before_id: int | None = None) -> list[LoginAttempt]:
    clauses, args = [], []
    if account:
        clauses.append("account_name = ?")
        args.append(account)
    if failed_only:
        clauses.append("success = 0")
    if before_id is not None:
        clauses.append("id < ?")
        args.append(before_id)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        f"SELECT * FROM login_history{where} ORDER BY id DESC LIMIT ?", [*args, limit]
    ).fetchall()
    out = []
    for row in rows:
        details = tuple(
            (d[0], d[1]) for d in conn.execute(
                "SELECT service_name, message FROM login_history_details WHERE history_id = ? "
                "ORDER BY position", (row["id"],))
        )
        out.append(LoginAttempt(row["id"], from_iso(row["created"]), row["account_name"],
                                row["source"], bool(row["success"]), row["message"], details))
    return out
