"""How every command ends: a refusal is one sentence on stderr with the exit code its class
decides, never a traceback; the console is closed whatever happens."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from js7tui.cli.context import CliContext
from js7tui.errors import Js7Error

if TYPE_CHECKING:
    import argparse


def guarded(ctx: CliContext, func: Callable[[CliContext, argparse.Namespace], int | None],
            args: argparse.Namespace) -> int:
    try:
        return int(func(ctx, args) or 0)
    except Js7Error as exc:
        ctx.warn(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.warn("interrupted")
        return 130
    except Exception as exc:
        if not is_store_error(exc):
            raise
        ctx.warn(f"the store cannot be used: {store_error_text(ctx, exc)}")
        return 7
    finally:
        ctx.close()


def is_store_error(exc: BaseException) -> bool:
    """An SQLite error the store did not turn into words (locked, disk full, not a database).
    ``sqlite3`` is looked up, not imported: if no command loaded it, this is not one, and the
    console's first frame does not wait for the import."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.OperationalError)


def store_error_text(ctx: CliContext, exc: BaseException) -> str:
    """The error in words; "database is locked" names who holds the write lock (a write
    that did not go through ``Store.transaction``, which says so itself)."""
    console = ctx.console_if_open
    from js7tui.store import is_busy, locked_message
    if console is None or not is_busy(exc):
        return str(exc)
    store = console.store
    return locked_message(store.path, store.busy_timeout_ms / 1000)
