"""``js7tui doctor``: read-only health checks of a home, one sentence per warning.

It needs no session: whoever can read the home's 0600 store can read everything it reports,
and a monitoring job should be able to run it. Checks are added here as features arrive.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING

from js7tui.findings import PROBLEM, WARNING, Finding
from js7tui.home import Home, guarded_paths, mode_problems
from js7tui.pki import health

if TYPE_CHECKING:
    from js7tui.console import Console


def _file_modes(home: Home) -> list[str]:
    """What every start checks (js7tui.home.guarded_paths), each named as what it is:
    writable by others (every other command refuses the home) or readable by others."""
    return [Finding(p.sentence(), PROBLEM if p.writable else WARNING)
            for p in mode_problems(guarded_paths(home))]


def examine(home: Home, conn: sqlite3.Connection, now: datetime) -> list[str]:
    return _file_modes(home) + health.findings(conn, now)


def examine_console(console: Console) -> list[str]:
    """The findings for an opened console (what ``js7tui doctor`` prints)."""
    if console.home is None:
        return health.findings(console.store.conn, console.clock.now())
    return examine(console.home, console.store.conn, console.clock.now())
