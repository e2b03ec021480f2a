"""No lock around service calls: while the Orders section waits on a Controller that accepts the
connection and never answers, another section's store reads and the audit comment asked
before a change answer at once (each thread has its own store connection; nothing queues
behind the Controller)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.tui.app import make_app
from js7tui.tui.screens.accounts import AccountsScreen
from js7tui.tui.screens.orders import OrdersScreen
from js7tui.tui.widgets.modals import CommentModal, ConfirmModal
from tests.conftest import ROOT_PASSWORD, login
from tests.order_fixtures import dead_controller_console
from tests.tui.conftest import login as tui_login
from tests.tui.conftest import settle

PROMPT = 3.0  # seconds: "at once" on a loaded test machine; the Controller's wait is 30 s


class SilentController:
    """A TCP port on 127.0.0.1 that refuses until ``listen``, then accepts every connection
    and never sends a byte (a hung Controller: the TLS handshake waits for its timeout)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def listen(self) -> None:
        self.sock.listen(8)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        """Hang up: every waiting call fails at once."""
        with contextlib.suppress(OSError):               # (never listened)
            self.sock.shutdown(socket.SHUT_RDWR)         # wakes the blocked accept()
        self.sock.close()
        for conn in self.conns:
            conn.close()
        if self._thread is not None:
            self._thread.join(5)


@pytest.fixture
def silent() -> Iterator[SilentController]:
    server = SilentController()
    yield server
    server.close()


@pytest.fixture
def hung(tmp_path: Path, silent: SilentController) -> Iterator[Console]:
    console = dead_controller_console(tmp_path / "home")
    admin = login(console, "root", ROOT_PASSWORD)
    console.controllers.remove(admin, "controller-down", meta=AuditMeta())
    console.controllers.register(admin, "silent", silent.url, "console", "hop-secret",
                                 meta=AuditMeta())
    yield console
    console.close()


async def wait_for(pilot, what: str, check, timeout: float = PROMPT) -> None:
    """Pump the app until ``check()`` (fails after ``timeout``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what} took over {timeout} s"
        await pilot.pause(0.02)


async def promptly(pilot, what: str, keys: list[str], check) -> None:
    """Press ``keys`` and wait for ``check()``: all of it (the presses too, which a UI thread
    blocked behind a lock would hold up) within ``PROMPT`` seconds."""
    started = time.monotonic()
    await pilot.press(*keys)
    await wait_for(pilot, what, check)
    took = time.monotonic() - started
    assert took < PROMPT, f"{what} took {took:.1f} s"


async def test_store_calls_answer_while_a_controller_call_hangs(
        hung: Console, silent: SilentController, env: dict[str, str]) -> None:
    app = make_app(hung, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_login(pilot, "root", ROOT_PASSWORD)   # the dashboard's probe is refused
        silent.listen()
        await pilot.press("4")
        orders = app.screen
        assert isinstance(orders, OrdersScreen)
        await wait_for(pilot, "the Controller call", silent.accepted.is_set, 10)
        assert orders.polling                            # in flight, waiting for an answer

        # another section's store reads (an authorization is a write: the session is touched)
        await promptly(pilot, "the Accounts section", ["7"], lambda: isinstance(
            app.screen, AccountsScreen) and "root" in app.screen.table.visible_keys)

        # the audit comment asked before a change (the comment settings are read on the UI
        # thread), even while another thread holds the store's write transaction (as a
        # deploy does while it waits for its Controllers)
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with hung.store.transaction():
                holding.set()
                release.wait(30)
        held = threading.Thread(target=writer, daemon=True)
        held.start()
        assert holding.wait(5)
        try:
            await promptly(pilot, "the confirmation", ["ctrl+t", "x"],
                           lambda: isinstance(app.screen, ConfirmModal))
            await promptly(pilot, "the comment modal", ["y"],
                           lambda: isinstance(app.screen, CommentModal))
            await promptly(pilot, "backing out", ["escape"],
                           lambda: isinstance(app.screen, AccountsScreen))
        finally:
            release.set()
            held.join(5)
        assert orders.polling                            # the Controller still has not answered

        silent.close()                                   # the hung call fails now
        await settle(pilot)
    root = login(hung, "root", ROOT_PASSWORD)
    assert not any(a.disabled for a in hung.accounts.list(root, "JOC-INITIAL"))
