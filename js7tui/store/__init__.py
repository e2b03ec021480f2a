"""The console's SQLite store: one connection per process, numbered migrations, one transaction
per operation.

Writes go through :meth:`Store.transaction`, which takes SQLite's write lock at the start
(``BEGIN IMMEDIATE``) so that reading the audit chain's head and appending to it cannot race
another process. Python's implicit transaction handling is off (``isolation_level=None``).
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from js7tui.errors import StoreError

BUSY_TIMEOUT_MS = 5000


Migration = tuple[int, str, str]


@cache
def load_migrations(package: str) -> list[Migration]:
    """The numbered ``migrations/NNNN_*.sql`` of ``package`` (the console store's here; the
    Controller and Agent journals bring their own), read once per process.

    The folder is read beside the package's ``__init__`` (js7tui is installed as files, never
    zipped): ``importlib.resources`` would add its import to every console start."""
    module = importlib.import_module(package)
    folder = Path(module.__file__ or "").parent / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def __getattr__(name: str) -> Any:
    """``MIGRATIONS`` and ``SCHEMA_VERSION`` (the console store's), read on first use."""
    if name == "MIGRATIONS":
        return load_migrations(__name__)
    if name == "SCHEMA_VERSION":
        migrations = load_migrations(__name__)
        return migrations[-1][0] if migrations else 0
    raise AttributeError(name)


def _open(path: Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    # The console calls services from worker threads (one at a time, under the TUI's lock),
    # so the connection may be used by a thread other than the one that opened it.
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


class Store:
    """An open store. ``Store.create`` for a new home, ``Store.open`` for an existing one.

    ``migrations`` and ``synchronous`` let the Controller and Agent journals reuse the same
    machinery with their own schema (and ``FULL`` sync: what they acknowledge must survive)."""

    def __init__(self, conn: sqlite3.Connection, path: Path,
                 migrations: list[Migration] | None = None) -> None:
        self.conn = conn
        self.path = path
        self.migrations = load_migrations(__name__) if migrations is None else migrations

    @classmethod
    def create(cls, path: Path, *, migrations: list[Migration] | None = None,
               synchronous: str = "NORMAL") -> Store:
        if path.exists():
            raise StoreError(f"a store already exists at {path}")
        path.touch(mode=0o600)
        store = cls(_open(path, synchronous), path, migrations)
        store.migrate()
        return store

    @classmethod
    def open(cls, path: Path, *, migrations: list[Migration] | None = None,
             synchronous: str = "NORMAL") -> Store:
        if not path.exists():
            raise StoreError(
                f"no js7tui home at {path.parent}: create one with 'js7tui init "
                "--security-level low|medium|high' (or name another with --home)"
            )
        store = cls(_open(path, synchronous), path, migrations)
        store.migrate()
        return store

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store (benchmarks); same schema, no file."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        store = cls(conn, Path(":memory:"))
        store.migrate()
        return store

    def reader(self) -> sqlite3.Connection:
        """A separate read-only connection (WAL lets it read while the main one writes), for a
        long read such as counting a million audit entries, so it never holds up the store's
        own connection. The caller closes it. A memory store has only its own connection."""
        if str(self.path) == ":memory:":
            return self.conn
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply the migrations the store has not seen, each in its own transaction."""
        current = self.schema_version
        newest = self.migrations[-1][0] if self.migrations else 0
        if current > newest:
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this js7tui "
                f"({newest}); upgrade js7tui"
            )
        for number, name, sql in self.migrations:
            if number <= current:
                continue
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                raise StoreError(f"migration {name} failed: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed if the block ends normally, rolled back otherwise."""
        if self.conn.in_transaction:
            raise RuntimeError("nested transaction: an operation must be one transaction")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers contain ';' inside BEGIN ... END)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
