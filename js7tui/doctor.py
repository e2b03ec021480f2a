"""``js7tui doctor``: read-only health checks of a home, one sentence per warning.

It needs no session: whoever can read the home's 0600 store can read everything it reports,
and a monitoring job should be able to run it. Checks are added here as features arrive.
"""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime
from typing import TYPE_CHECKING

from js7tui.home import Home
from js7tui.pki import health

if TYPE_CHECKING:
    from js7tui.console import Console


def _file_modes(home: Home) -> list[str]:
    found = []
    for path, wanted in ((home.root, 0o700), (home.db_path, 0o600), (home.keys_dir, 0o700)):
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            found.append(f"{path} is readable by others (mode {mode:o}, expected {wanted:o}): "
                         f"chmod {wanted:o} {path}")
    return found


def examine(home: Home, conn: sqlite3.Connection, now: datetime) -> list[str]:
    return _file_modes(home) + health.findings(conn, now)


def examine_console(console: Console) -> list[str]:
    """The findings for an opened console (what ``js7tui doctor`` prints)."""
    if console.home is None:
        return health.findings(console.store.conn, console.clock.now())
    return examine(console.home, console.store.conn, console.clock.now())
