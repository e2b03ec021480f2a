"""The store for many users at once: one connection per thread (WAL lets a reader run beside a
writer), every connection closed with the store or when its thread ends, and a write lock held
past the busy timeout named by the process that holds it. Real threads, a real second process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from js7tui.errors import StoreError
from js7tui.store import BUSY_TIMEOUT_MS, Store

TIMEOUT = 10  # seconds any wait in these tests may take before it counts as a hang


@pytest.fixture
def store(tmp_path: Path):
    store = Store.create(tmp_path / "js7tui.db")
    store.conn.execute("CREATE TABLE t (thread TEXT, n INTEGER)")
    yield store
    store.close()


def in_thread(fn) -> threading.Thread:
    """Run ``fn`` in a thread; an exception in it is re-raised by ``join_all``."""
    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            thread.error = exc  # type: ignore[attr-defined]
    thread = threading.Thread(target=run, daemon=True)
    thread.error = None  # type: ignore[attr-defined]
    thread.start()
    return thread


def join_all(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread hung"
        if thread.error is not None:  # type: ignore[attr-defined]
            raise thread.error  # type: ignore[attr-defined]


def test_two_threads_write_at_once_each_on_its_own_connection(store: Store) -> None:
    seen: dict[str, int] = {}
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        seen[name] = id(store.conn)
        start.wait(TIMEOUT)
        for n in range(200):
            with store.transaction() as conn:
                conn.execute("INSERT INTO t VALUES (?, ?)", (name, n))

    join_all(in_thread(lambda: writer("a")), in_thread(lambda: writer("b")))
    assert len({seen["a"], seen["b"], id(store.conn)}) == 3
    counts = dict(store.conn.execute("SELECT thread, COUNT(*) FROM t GROUP BY thread"))
    assert counts == {"a": 200, "b": 200}


def test_a_thread_keeps_its_connection(store: Store) -> None:
    ids: list[int] = []
    join_all(in_thread(lambda: ids.extend([id(store.conn), id(store.conn)])))
    assert ids[0] == ids[1] != id(store.conn)


def test_a_thread_connection_has_the_store_pragmas(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "full.db", synchronous="FULL", busy_timeout_ms=1234)
    found: dict[str, int] = {}

    def read() -> None:
        conn = store.conn
        for pragma in ("foreign_keys", "busy_timeout", "synchronous"):
            found[pragma] = conn.execute(f"PRAGMA {pragma}").fetchone()[0]
        found["wal"] = conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    try:
        join_all(in_thread(read))
    finally:
        store.close()
    assert found == {"foreign_keys": 1, "busy_timeout": 1234, "synchronous": 2, "wal": True}


def test_a_reader_reads_while_another_thread_holds_the_write_transaction(store: Store
                                                                         ) -> None:
    with store.transaction() as conn:
        conn.execute("INSERT INTO t VALUES ('committed', 1)")
    holding, done = threading.Event(), threading.Event()
    read: list[list[str]] = []

    def writer() -> None:
        with store.transaction() as conn:
            conn.execute("INSERT INTO t VALUES ('uncommitted', 2)")
            holding.set()
            assert done.wait(TIMEOUT)

    def reader() -> None:
        assert holding.wait(TIMEOUT)
        started = time.monotonic()
        read.append([r[0] for r in store.conn.execute("SELECT thread FROM t")])
        read.append([str(time.monotonic() - started < 1.0)])
        done.set()

    join_all(in_thread(writer), in_thread(reader))
    assert read == [["committed"], ["True"]]   # the last commit, at once, not the writer's


def test_a_transaction_on_one_thread_is_not_nested_on_another(store: Store) -> None:
    holding, done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            holding.set()
            assert done.wait(TIMEOUT)

    thread = in_thread(writer)
    assert holding.wait(TIMEOUT)
    assert not store.conn.in_transaction  # this thread's connection is not in the other's
    done.set()
    join_all(thread)
    with store.transaction(), pytest.raises(RuntimeError, match="nested"), \
            store.transaction():
        pass


def test_closing_the_store_closes_the_connections_of_running_threads(store: Store) -> None:
    opened, closed = threading.Event(), threading.Event()
    conns: list[sqlite3.Connection] = []

    def worker() -> None:
        conns.append(store.conn)
        conns[0].execute("SELECT 1")
        opened.set()
        assert closed.wait(TIMEOUT)

    thread = in_thread(worker)
    assert opened.wait(TIMEOUT)
    assert store.open_connections == 2
    store.close()
    closed.set()
    join_all(thread)
    assert store.open_connections == 0
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conns[0].execute("SELECT 1")
    with pytest.raises(StoreError, match="closed"):
        join_all(in_thread(lambda: store.conn))


def test_a_thread_that_ends_releases_its_connection(store: Store) -> None:
    conns: list[sqlite3.Connection] = []

    def worker() -> None:
        conns.append(store.conn)
        conns[-1].execute("SELECT COUNT(*) FROM t").fetchone()

    for _ in range(20):
        join_all(in_thread(worker))
    assert store.open_connections == 1          # the creating thread's only
    for conn in conns:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


def test_a_pool_of_workers_keeps_one_connection_per_thread(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=3) as pool:
        ids = set(pool.map(lambda _: id(store.conn), range(50)))
        assert len(ids) <= 3
        assert store.open_connections <= 4
    store.conn.execute("SELECT 1")  # the pool's end released its threads' connections
    assert store.open_connections == 1


def test_a_memory_store_has_one_connection_for_every_thread() -> None:
    store = Store.memory()
    try:
        ids: list[int] = []
        join_all(in_thread(lambda: ids.append(id(store.conn))))
        assert ids == [id(store.conn)]
        assert store.open_connections == 1
    finally:
        store.close()


# -- who holds the lock -------------------------------------------------------------------
HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_write_lock_held_by_another_process_is_named_by_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "js7tui.db"
    store = Store.create(path, busy_timeout_ms=150)
    script = tmp_path / "lock_holder_marker.py"
    script.write_text(HOLD)
    holder = subprocess.Popen([sys.executable, str(script), str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        started = time.monotonic()
        with pytest.raises(StoreError) as caught, store.transaction():
            pass
        assert time.monotonic() - started < 3        # the short timeout, not the default
        text = str(caught.value)
        assert f"process {holder.pid} (" in text and "lock_holder_marker.py" in text
        assert "holds its write lock" in text and "waited 0." in text
        assert str(path) in text
    finally:
        holder.communicate("done\n", timeout=TIMEOUT)
        store.close()
    # once released, the store writes again
    store = Store.open(path)
    try:
        with store.transaction():
            pass
    finally:
        store.close()


def test_the_default_busy_timeout_is_still_five_seconds(store: Store) -> None:
    assert store.busy_timeout_ms == BUSY_TIMEOUT_MS == 5000
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_the_cli_names_the_holder_of_a_lock_a_bare_write_met(tmp_path: Path) -> None:
    """A write outside ``Store.transaction`` (an SQLite error the store did not word) gets
    the same sentence from the CLI's guard."""
    import io

    from js7tui.cli.context import CliContext
    from js7tui.cli.guard import guarded
    from js7tui.console import Console

    path = tmp_path / "js7tui.db"
    console = Console(Store.create(path, busy_timeout_ms=100))
    err = io.StringIO()
    ctx = CliContext(env={}, stdin=io.StringIO(), stdout=io.StringIO(), stderr=err,
                     _console=console)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        code = guarded(ctx, lambda c, a: c.console.store.conn.execute(
            "PRAGMA user_version = 1"), None)  # type: ignore[arg-type]
    finally:
        holder.communicate("done\n", timeout=TIMEOUT)
    assert code == 7
    assert f"process {holder.pid}" in err.getvalue()
    assert f"the store {path} is busy" in err.getvalue(), err.getvalue()
