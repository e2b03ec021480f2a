"""How every command ends: a refusal is one sentence on stderr with the exit code its class
decides, never a traceback; the console is closed whatever happens.

What else ends as one sentence here, whichever command met it:

- a closed standard output (``js7tui audit list | head``): the rest of the output is thrown
  away (stdout is pointed at /dev/null, as the Python documentation advises for SIGPIPE), no
  message, exit 141 like a tool killed by SIGPIPE. Commands write their files before they
  report them, so a closed pipe never falls between two writes that belong together;
- a store SQLite cannot use (locked, full, truncated, "file is not a database"), naming the
  store: exit 7;
- an operating-system error (permission, no such file, a file where a directory is needed),
  naming the file: exit 7;
- a number too large for the store: exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from js7tui.cli.context import CliContext
from js7tui.errors import Js7Error

if TYPE_CHECKING:
    import argparse

SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what `yes | head -1` reports for yes


def guarded(ctx: CliContext, func: Callable[[CliContext, argparse.Namespace], int | None],
            args: argparse.Namespace) -> int:
    try:
        code = int(func(ctx, args) or 0)
        ctx.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return closed_stdout(ctx.stdout)
    except Js7Error as exc:
        ctx.warn(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.warn("interrupted")
        return 130
    except Exception as exc:
        described = describe(exc, ctx)
        if described is None:
            raise
        message, code = described
        with contextlib.suppress(BrokenPipeError):
            ctx.warn(message)
        return code
    finally:
        ctx.close()


def closed_stdout(stdout: IO[str]) -> int:
    """Whoever read our output has gone: drop what is still buffered, quietly."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return SIGPIPE_EXIT  # not a real file (a test's StringIO)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    return SIGPIPE_EXIT


def describe(exc: BaseException, ctx: CliContext) -> tuple[str, int] | None:
    """One sentence and an exit code for an error no service put into words, or None for a
    programming error (which keeps its traceback)."""
    if is_store_error(exc):
        locked = store_error_text(ctx, exc)
        if locked != str(exc):  # busy: the sentence names the store and who holds it
            return locked, 7
        store = _store_path(ctx)
        text = str(exc)
        hint = ""
        if "malformed" in text or "not a database" in text:
            hint = "; it is damaged or not a js7tui store: restore it from a backup"
        return f"the store {store} cannot be used: {text}{hint}", 7
    if isinstance(exc, OSError):
        return os_error_sentence(exc), 7
    if isinstance(exc, OverflowError):
        return f"a number is out of range: {exc}", 2
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text: {exc}", 2
    return None


def os_error_sentence(exc: OSError) -> str:
    reason = exc.strerror or os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.filename is None:
        return f"the operating system refused: {reason or exc}"
    target = f" (with {exc.filename2})" if exc.filename2 else ""
    extra = ""
    if exc.errno in (errno.EACCES, errno.EPERM):
        extra = "; check its owner and mode"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        extra = "; a directory is needed there"
    return f"{exc.filename}{target}: {reason}{extra}"


def _store_path(ctx: CliContext) -> str:
    try:
        return str(ctx.home.db_path)
    except Exception:
        return "js7tui.db"


def is_store_error(exc: BaseException) -> bool:
    """An SQLite error the store did not turn into words (locked, disk full, not a database,
    malformed). ``sqlite3`` is looked up, not imported: if no command loaded it, this is not
    one, and the console's first frame does not wait for the import."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError)


def store_error_text(ctx: CliContext, exc: BaseException) -> str:
    """The error in words; "database is locked" names who holds the write lock (a write
    that did not go through ``Store.transaction``, which says so itself)."""
    console = ctx.console_if_open
    from js7tui.store import is_busy, locked_message
    if console is None or not is_busy(exc):
        return str(exc)
    store = console.store
    return locked_message(store.path, store.busy_timeout_ms / 1000)
