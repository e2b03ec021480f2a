"""Failed logins slow the next attempt for the same account and source (no silent lock-out).

Counters live in the store, not in memory, because the CLI is a new process per command. The
delay grows 1, 2, 4, 8, 16 s and stays at 30 s; a success resets it, and a day without failures
forgets it. An attacker is slowed; the owner is never locked out.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from js7tui.clock import Clock, from_iso, to_iso

DELAYS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
FORGET_AFTER = timedelta(days=1)


def _key(account: str) -> str:
    return account.strip().lower()[:255]


def failures(conn: sqlite3.Connection, clock: Clock, account: str, source: str) -> int:
    row = conn.execute(
        "SELECT failures, last_failure FROM failed_logins WHERE account_name = ? AND source = ?",
        (_key(account), source),
    ).fetchone()
    if row is None or clock.now() - from_iso(row[1]) > FORGET_AFTER:
        return 0
    return int(row[0])


def delay_for(conn: sqlite3.Connection, clock: Clock, account: str, source: str) -> float:
    return DELAYS[min(failures(conn, clock, account, source), len(DELAYS) - 1)]


def record_failure(conn: sqlite3.Connection, clock: Clock, account: str, source: str) -> None:
    count = failures(conn, clock, account, source) + 1
    conn.execute(
        "INSERT INTO failed_logins (account_name, source, failures, last_failure) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(account_name, source) DO UPDATE SET "
        "failures = excluded.failures, last_failure = excluded.last_failure",
        (_key(account), source, count, to_iso(clock.now())),
    )


def reset(conn: sqlite3.Connection, account: str, source: str) -> None:
    conn.execute("DELETE FROM failed_logins WHERE account_name = ? AND source = ?",
                 (_key(account), source))
