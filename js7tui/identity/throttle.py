"""Failed logins slow the next attempt for the same account (no silent lock-out).

Counters live in the store, not in memory, because the CLI is a new process per command. The
delay grows 1, 2, 4, 8, 16 s and stays at 30 s; a success resets it, and a day without failures
forgets it. An attacker is slowed; the owner is never locked out.

The counter is keyed on the account alone: the login's source (the client kind, the OS user,
``SSH_CLIENT``) is recorded in the history and the audit log, but the caller sets it, so it
cannot choose whose counter an attempt counts on. Attempts on one account are serialised
(:func:`serialised`: an exclusive lock file per account beside the store, held from the delay
until the failure is recorded), so parallel attempts wait their turn and each pays the delay
the ones before it earned.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from js7tui.clock import Clock, from_iso, to_iso

DELAYS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
FORGET_AFTER = timedelta(days=1)


# The source column of failed_logins: always this, whatever the caller says it is.
ANY_SOURCE = "*"


def _key(account: str) -> str:
    return account.strip().lower()[:255]


@contextlib.contextmanager
def serialised(store_path: Path | str, account: str) -> Iterator[None]:
    """Hold the account's login lock (``<store>.locks/login-<sha256>.lock``, 0600) while the
    attempt runs: another process's attempt on the same account waits here."""
    if str(store_path) == ":memory:":
        yield
        return
    folder = Path(f"{store_path}.locks")
    folder.mkdir(mode=0o700, exist_ok=True)
    name = hashlib.sha256(_key(account).encode("utf-8")).hexdigest()[:32]
    fd = os.open(folder / f"login-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def failures(conn: sqlite3.Connection, clock: Clock, account: str, source: str = "") -> int:
    """``source`` is accepted for the callers' sake and ignored (see the module text)."""
    row = conn.execute(
        "SELECT failures, last_failure FROM failed_logins WHERE account_name = ? AND source = ?",
        (_key(account), ANY_SOURCE),
    ).fetchone()
    if row is None or clock.now() - from_iso(row[1]) > FORGET_AFTER:
        return 0
    return int(row[0])


def delay_for(conn: sqlite3.Connection, clock: Clock, account: str, source: str = "") -> float:
    return DELAYS[min(failures(conn, clock, account, source), len(DELAYS) - 1)]


def record_failure(conn: sqlite3.Connection, clock: Clock, account: str,
                   source: str = "") -> None:
    count = failures(conn, clock, account, source) + 1
    conn.execute(
        "INSERT INTO failed_logins (account_name, source, failures, last_failure) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(account_name, source) DO UPDATE SET "
        "failures = excluded.failures, last_failure = excluded.last_failure",
        (_key(account), ANY_SOURCE, count, to_iso(clock.now())),
    )


def reset(conn: sqlite3.Connection, account: str, source: str = "") -> None:
    """After a success: the account's counter (and any kept per source by older versions)."""
    conn.execute("DELETE FROM failed_logins WHERE account_name = ?", (_key(account),))
