"""Snapshots of section 4 (Orders and job logs) from deterministic states: a Controller
registered at a dead URL (unreachable), and orders and a job log fed from fixed data through
the screen's ``source`` (the same calls as ``console.orders``), so no time, port or random id
reaches a snapshot. Read-only: no Controller is changed.

Update with ``pytest tests/tui/test_snapshots_ord.py --snapshot-update`` (this file only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from js7tui.console import Console
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD
from tests.order_fixtures import FixedOrders, dead_controller_console
from tests.tui.conftest import login, settle
from tests.tui.test_snapshots import BIG, SMALL, keys, steps, text


@pytest.fixture
def with_ca(tmp_path: Path) -> Iterator[Console]:
    console = dead_controller_console(tmp_path / "ca-home")
    yield console
    console.close()


def as_root(pilot: Pilot) -> Awaitable[None]:
    return login(pilot, "root", ROOT_PASSWORD)


async def fixed(pilot: Pilot) -> None:
    """Feed the Orders screen the fixed data and read again."""
    screen = pilot.app.screen
    screen.source = FixedOrders()
    screen.reload()
    await settle(pilot)


def orders(*more: Callable[[Pilot], Awaitable[None]]) -> Callable[[Pilot], Awaitable[None]]:
    return steps(as_root, keys("4"), fixed, *more)


@pytest.fixture
def signed_in(console: Console) -> Console:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    return console


def test_orders_unreachable(snap_compare, with_ca: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(with_ca, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("4")))


def test_orders(snap_compare, signed_in: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(signed_in, env=env), terminal_size=BIG, run_before=orders())


def test_orders_80x24(snap_compare, signed_in: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(signed_in, env=env), terminal_size=SMALL,
                        run_before=orders())


def test_orders_readonly_ansi_dark(snap_compare, signed_in: Console,
                                   env: dict[str, str]) -> None:
    app = make_app(signed_in, readonly=True, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=BIG, run_before=orders())


def test_add_order_form(snap_compare, signed_in: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(signed_in, env=env), terminal_size=BIG, run_before=orders(
        keys("n"), keys("tab", "ctrl+u"), text("hello-0002"), keys("tab"),
        text("who=world")))


def test_job_log(snap_compare, signed_in: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(signed_in, env=env), terminal_size=BIG,
                        run_before=orders(keys("g", "enter")))
