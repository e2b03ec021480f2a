"""The console's SQLite store: one connection per thread, numbered migrations, one transaction
per operation.

Each thread that touches :attr:`Store.conn` gets a connection of its own (opened on first use,
same pragmas: foreign keys, busy timeout, the store's ``synchronous``), so threads never share
a connection and need no lock between them: WAL lets any number of readers run beside the one
writer, and writers queue on SQLite's own lock (``BEGIN IMMEDIATE``, waiting up to the busy
timeout). The store tracks every connection it opened: :meth:`Store.close` closes them all,
and a thread that ends releases its own (so a pool of worker threads never leaks them).

Writes go through :meth:`Store.transaction`, which takes SQLite's write lock at the start
(``BEGIN IMMEDIATE``) so that reading the audit chain's head and appending to it cannot race
another thread or process. Python's implicit transaction handling is off
(``isolation_level=None``). A write lock still held by someone else when the busy timeout ends
is a :class:`StoreError` that names the holder when the system can tell (``lock_holder``).
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import threading
import time
import weakref
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


def _open(path: Path, synchronous: str = "NORMAL", *, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
          wal: bool = True) -> sqlite3.Connection:
    """One connection with the store's pragmas. ``wal`` sets the journal mode (the first
    connection of a process; it is kept in the file, so later ones skip it).

    ``check_same_thread=False`` only so that :meth:`Store.close` (and the release of a thread
    that ended) may close it from another thread: only its own thread ever uses it."""
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


class _Slot:
    """A thread's connection, kept in the store's thread-local: when the thread ends, Python
    drops its thread-local values, and the finalizer on this slot closes the connection."""

    __slots__ = ("__weakref__", "conn", "thread")

    def __init__(self, conn: sqlite3.Connection, thread: threading.Thread) -> None:
        self.conn = conn
        self.thread = weakref.ref(thread)


class _Connections:
    """Every connection a store opened, with the thread it belongs to; closing is once."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: a finalizer may run inside a sweep
        self.open: dict[int, tuple[sqlite3.Connection, weakref.ref[threading.Thread]]] = {}

    def add(self, slot: _Slot) -> None:
        with self.lock:
            self.open[id(slot.conn)] = (slot.conn, slot.thread)
        weakref.finalize(slot, self.release, slot.conn)

    def release(self, conn: sqlite3.Connection) -> None:
        with self.lock:
            if self.open.pop(id(conn), None) is None:
                return
        conn.close()

    def sweep(self) -> None:
        """Close the connections of threads that ended (should their finalizer not have run:
        a thread-local's clean-up is an interpreter detail)."""
        with self.lock:
            dead = [conn for conn, thread in self.open.values()
                    if (t := thread()) is None or not t.is_alive()]
        for conn in dead:
            self.release(conn)

    def close_all(self) -> None:
        with self.lock:
            conns, self.open = [c for c, _ in self.open.values()], {}
        for conn in conns:
            conn.close()

    def __len__(self) -> int:
        with self.lock:
            return len(self.open)


class Store:
    """An open store. ``Store.create`` for a new home, ``Store.open`` for an existing one.

    ``conn`` is the calling thread's connection (opened on its first use); ``conn`` handed to
    the constructor becomes the creating thread's. ``migrations`` and ``synchronous`` let the
    Controller and Agent journals reuse the same machinery with their own schema (and ``FULL``
    sync: what they acknowledge must survive); they run on one asyncio thread, so they use one
    connection. ``busy_timeout_ms`` is how long a write waits for another writer's lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path,
                 migrations: list[Migration] | None = None, *, synchronous: str = "NORMAL",
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS, per_thread: bool = True) -> None:
        self.path = path
        self.migrations = load_migrations(__name__) if migrations is None else migrations
        self.synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._closed = False
        self._local = threading.local()
        self._connections = _Connections()
        # a memory store has only the one connection (see ``memory``)
        self._only: sqlite3.Connection | None = None if per_thread else conn
        if per_thread:
            self._adopt(conn)

    # -- connections ----------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        if self._only is not None:
            return self._only
        slot = getattr(self._local, "slot", None)
        if slot is not None:
            return slot.conn  # type: ignore[no-any-return]
        return self._thread_connection()

    def _thread_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        self._connections.sweep()
        conn = _open(self.path, self.synchronous, busy_timeout_ms=self.busy_timeout_ms,
                     wal=False)
        self._adopt(conn)
        return conn

    def _adopt(self, conn: sqlite3.Connection) -> None:
        slot = _Slot(conn, threading.current_thread())
        self._local.slot = slot
        self._connections.add(slot)

    @property
    def open_connections(self) -> int:
        """How many connections are open (one per thread that used the store and runs)."""
        if self._only is not None:
            return 0 if self._closed else 1
        return len(self._connections)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, migrations: list[Migration] | None = None,
               synchronous: str = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Store:
        if path.exists():
            raise StoreError(f"a store already exists at {path}")
        path.touch(mode=0o600)
        return cls._opened(path, migrations, synchronous, busy_timeout_ms)

    @classmethod
    def open(cls, path: Path, *, migrations: list[Migration] | None = None,
             synchronous: str = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Store:
        if not path.exists():
            raise StoreError(
                f"no js7tui home at {path.parent}: create one with 'js7tui init "
                "--security-level low|medium|high' (or name another with --home)"
            )
        return cls._opened(path, migrations, synchronous, busy_timeout_ms)

    @classmethod
    def _opened(cls, path: Path, migrations: list[Migration] | None, synchronous: str,
                busy_timeout_ms: int) -> Store:
        conn = _open(path, synchronous, busy_timeout_ms=busy_timeout_ms)
        store = cls(conn, path, migrations, synchronous=synchronous,
                    busy_timeout_ms=busy_timeout_ms)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store (benchmarks); same schema, no file.

        A ``:memory:`` database lives in its one connection, so this store has only that
        one, shared by every thread that uses it (SQLite serialises the calls, but two
        threads' transactions would interleave): use it from one thread at a time."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        store = cls(conn, Path(":memory:"), per_thread=False)
        store.migrate()
        return store

    def reader(self) -> sqlite3.Connection:
        """A separate read-only connection (WAL lets it read while others write), for a long
        read such as counting a million audit entries that a worker may hand to another
        thread. The caller closes it. A memory store has only its own connection."""
        if self._only is not None:
            return self._only
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                               timeout=self.busy_timeout_ms / 1000, check_same_thread=False)
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
        conn = self.conn
        for number, name, sql in self.migrations:
            if number <= current:
                continue
            self._begin(conn)
            try:
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(f"migration {name} failed: {exc}") from exc

    def _begin(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``; a write lock that stayed taken for the whole busy timeout is
        a sentence naming its holder."""
        started = time.monotonic()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            raise StoreError(locked_message(self.path, time.monotonic() - started)) from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the calling thread's connection; committed if the block
        ends normally, rolled back otherwise."""
        conn = self.conn
        if conn.in_transaction:
            raise RuntimeError("nested transaction: an operation must be one transaction")
        self._begin(conn)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection of the store, whichever thread opened it (idempotent)."""
        self._closed = True
        if self._only is not None:
            self._only.close()
            return
        self._connections.close_all()


# -- who holds the write lock ---------------------------------------------------------------
# SQLite's unix VFS takes POSIX (fcntl) byte-range locks: in WAL mode the writer holds a write
# lock on byte 120 of the -shm file (WAL_WRITE_LOCK); in a rollback journal mode a RESERVED,
# PENDING or EXCLUSIVE lock is a write lock on the db file (bytes from 0x40000000).
WAL_WRITE_BYTE = 120
PROC_LOCKS = Path("/proc/locks")


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED ("database is locked"): someone else holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    text = str(exc).lower()
    return "database is locked" in text or "busy" in text


def lock_holder(path: Path) -> list[tuple[int, str]]:
    """The processes (pid, command line) that hold the write lock of the SQLite file
    ``path``, read from ``/proc/locks`` (Linux); empty when it cannot be told."""
    inodes: dict[int, str] = {}
    for suffix, kind in (("", "db"), ("-shm", "shm")):
        try:
            inodes[os.stat(f"{path}{suffix}").st_ino] = kind
        except OSError:
            continue
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return []
    pids: list[int] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or fields[1] == "->" or fields[3] != "WRITE":
            continue  # a waiter (perhaps us), or a shared lock
        try:
            pid = int(fields[4])
            inode = int(fields[5].rsplit(":", 1)[-1])
            start = int(fields[6])
            end = None if fields[7] == "EOF" else int(fields[7])
        except ValueError:
            continue
        kind = inodes.get(inode)
        writes = kind == "db" or (kind == "shm" and start <= WAL_WRITE_BYTE
                                  and (end is None or end >= WAL_WRITE_BYTE))
        if writes and pid > 0 and pid not in pids:
            pids.append(pid)
    return [(pid, _command_line(pid)) for pid in pids]


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    text = " ".join(" ".join(part.decode("utf-8", "replace").split())
                    for part in raw.split(b"\0") if part)
    return text if len(text) <= 160 else text[:157] + "..."


def locked_message(path: Path, waited: float) -> str:
    """Why a write could not start: who holds the store's write lock, and how long we
    waited for it. Computed on the error path only."""
    holders = lock_holder(path)
    wait = f"waited {waited:.1f} s for it"
    if not holders:
        return (f"the store {path} is busy: another js7tui process (a command or a console "
                f"of this home) holds its write lock; {wait}. Try again when it is done.")
    named = []
    for pid, command in holders:
        who = "this process" if pid == os.getpid() else "process"
        named.append(f"{who} {pid}" + (f" ({command})" if command else ""))
    tail = (" (another of its own connections: a change still under way)"
            if all(pid == os.getpid() for pid, _ in holders) else "")
    return (f"the store {path} is busy: {', '.join(named)} holds its write lock{tail}; "
            f"{wait}. Try again when it is done, or end that process if it hangs.")


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
