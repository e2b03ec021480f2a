"""Snapshots of section 4 (Orders and job logs) from deterministic states: a Controller
registered at a dead URL (unreachable), and orders and a job log fed from fixed data through
the screen's ``source`` (the same calls as ``console.orders``), so no time, port or random id
reaches a snapshot. Read-only: no Controller is changed.

Update with ``pytest tests/tui/test_snapshots_ord.py --snapshot-update`` (this file only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from js7tui.client.controller import Order, Output, Step
from js7tui.console import Console
from js7tui.engine.shapes import output_slice
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD
from tests.order_fixtures import dead_controller_console
from tests.tui.conftest import login, settle
from tests.tui.test_snapshots import BIG, SMALL, keys, steps, text


def at(minute: int, second: int = 0) -> str:
    return f"2026-01-15T08:{minute:02d}:{second:02d}.000000+00:00"


def step(position: int, job: str, agent: str, state: str, rc: int | None = None, *,
         message: str = "", stdout: str = "", stderr: str = "") -> Step:
    return Step(position, job, agent, state, rc, message, at(position), None, None,
                stdout, stderr)


ORDERS = [
    Order("daily-report-7f3a", "daily-report", "v3", "running", "", at(10), {}, (
        step(0, "extract", "agent-1", "succeeded", 0,
             stdout="connecting to warehouse\nextracted 1204 rows\n",
             stderr="warning: 3 rows without customer id\n"),
        step(1, "load", "agent-2", "running",
             stdout="loading batch 1/4\nloading batch 2/4\n")), 1, at(10, 5)),
    Order("hello-0001", "hello", "v1", "running", "", at(9), {},
          (step(0, "say", "agent-1", "ready"),), 0, at(9)),
    Order("cleanup-42", "cleanup", "v2", "failed",
          "job 'purge' on Agent 'agent-1' failed: return code 2", at(7), {},
          (step(0, "purge", "agent-1", "failed", 2, message="return code 2",
                stderr="rm: cannot remove '/data/tmp/lock': Permission denied\n"),),
          0, at(7, 2)),
    Order("sleepy-9c1d", "sleepy", "v1", "cancelled", "cancelled", at(5), {},
          (step(0, "nap", "agent-1", "killed", -15, stdout="napping\n"),), 0, at(6)),
    Order("backup-nightly-1", "backup", "v5", "finished", "", at(1), {},
          (step(0, "dump", "agent-1", "succeeded", 0, stdout="dumped 3 databases\n"),
           step(1, "ship", "agent-2", "succeeded", 0, stdout="shipped 2.1 GB\n")),
          1, at(4, 30)),
]


class FixedOrders:
    """``console.orders`` answered from fixed data (what the screen calls, nothing more)."""

    def controllers_for(self, session: Any, *, guard: Any = None) -> list[str]:
        return ["controller-1", "controller-2"]

    def list(self, session: Any, controller: str, *, guard: Any = None) -> list[Order]:
        return ORDERS

    def show(self, session: Any, controller: str, order_id: str, *, guard: Any = None
             ) -> Order:
        return next(o for o in ORDERS if o.id == order_id)

    def workflows(self, session: Any, controller: str, *, guard: Any = None) -> list[str]:
        return ["backup", "cleanup", "daily-report", "hello", "sleepy"]

    def output(self, session: Any, controller: str, order_id: str, position: int, *,
               stdout: int = 0, stderr: int = 0, guard: Any = None) -> Output:
        order = self.show(session, controller, order_id)
        s = order.steps[position]
        out, out_at = output_slice(s.stdout.encode(), stdout)
        err, err_at = output_slice(s.stderr.encode(), stderr)
        return Output(order.id, order.state, position, s.job_name, s.agent, s.state, out, err,
                      out_at, err_at)


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
