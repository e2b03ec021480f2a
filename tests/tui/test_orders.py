"""Section 4 with keys only against a real Controller and Agent: add an order and watch it
finish, read its log, cancel a running ``sleep 30``, follow a job's output as it is printed,
and keys per Controller. Assertions go to the Controller (``console.orders`` as root) and the
audit log, not only to the screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.permissions.names import ORDERS_CREATE, ORDERS_VIEW
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.order_log import OrderLogScreen
from js7tui.tui.screens.orders import OrdersScreen
from js7tui.tui.widgets.modals import ConfirmModal, FormModal
from tests.conftest import ROOT_PASSWORD, make_account
from tests.estate import Estate, running_estate
from tests.order_fixtures import prepare
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("tui-orders")) as estate:
        prepare(estate)
        yield estate


@pytest.fixture
def app(estate: Estate, env: dict[str, str]) -> Js7App:
    return make_app(estate.console, env=env)


async def wait_until(pilot: Pilot, condition: Callable[[], Any], what: str,
                     timeout: float = 20.0) -> Any:
    """Let the app run (its own polling does the work) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
        await pilot.pause()
    return result


async def open_orders(pilot: Pilot, account: str = "root",
                      password: str = ROOT_PASSWORD) -> OrdersScreen:
    await login(pilot, account, password)
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, OrdersScreen)
    return screen


def state_on_controller(console: Console, admin: Session, order_id: str) -> str:
    return console.orders.show(admin, "controller-1", order_id).state


async def test_add_an_order_watch_it_finish_and_read_its_log(app: Js7App, estate: Estate
                                                             ) -> None:
    console, admin = estate.console, estate.admin
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_orders(pilot)
        assert screen.controller == "controller-1"
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormModal)  # workflow: say-hello, the first deployed
        await pilot.press("tab", "ctrl+u")
        await type_text(pilot, "tui-hello")
        await pilot.press("tab")
        await type_text(pilot, "who=the-pilot")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        # the screen reads the Controller every second: the order reaches "finished" there
        await wait_until(pilot, lambda: "tui-hello" in screen.orders
                         and screen.orders["tui-hello"].state == "finished", "finished")
        assert state_on_controller(console, admin, "tui-hello") == "finished"
        assert screen.table.current_key == "tui-hello"
        row = screen.table.get_row("tui-hello")
        assert row[:4] == ["tui-hello", "say-hello", "finished", "1 say"] and row[6] == "0"
        entry = console.store.conn.execute(
            "SELECT account, controller_id, path, parameters FROM audit_log WHERE request = "
            "'./orders/add' ORDER BY id DESC LIMIT 1 OFFSET 1").fetchone()
        assert tuple(entry)[:3] == ("root", "controller-1", "say-hello")
        assert '"phase": "intent"' in entry["parameters"]   # audited before it was sent

        await pilot.press("enter")
        await settle(pilot)
        log = app.screen
        assert isinstance(log, OrderLogScreen)
        assert "hello from the-pilot" in log.view.lines
        assert log.view.lines[0].startswith("--- step 1: job say on agent-1: succeeded")
        await pilot.press("s", "s")  # both -> stdout -> stderr: the line is not on stderr
        assert log.stream == "stderr" and "hello from the-pilot" not in log.view.lines
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_cancel_a_running_sleep_from_the_tui(app: Js7App, estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_orders(pilot)
        console.orders.add(admin, "controller-1", "sleepy", order_id="tui-nap")
        await wait_until(pilot, lambda: screen.orders.get("tui-nap") is not None
                         and screen.table.get_row("tui-nap")[2] == "running", "running")
        await pilot.press("g")  # newest first
        assert screen.table.current_key == "tui-nap"
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        await wait_until(pilot, lambda: screen.orders["tui-nap"].state == "cancelled",
                         "cancelled on screen")
        assert state_on_controller(console, admin, "tui-nap") == "cancelled"
        step = console.orders.log(admin, "controller-1", "tui-nap").steps[0]
        assert step.state == "killed"
        entry = console.store.conn.execute(
            "SELECT account, controller_id, path, outcome FROM audit_log WHERE request = "
            "'./orders/cancel' ORDER BY id DESC LIMIT 1 OFFSET 1").fetchone()
        assert tuple(entry) == ("root", "controller-1", "sleepy", "OK")


async def test_follow_mode_shows_lines_as_the_job_prints_them(app: Js7App, estate: Estate
                                                              ) -> None:
    console, admin = estate.console, estate.admin
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_orders(pilot)
        console.orders.add(admin, "controller-1", "ticker-slow", order_id="tui-tick")
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("g", "enter")
        await settle(pilot)
        log = app.screen
        assert isinstance(log, OrderLogScreen) and log.order_id == "tui-tick"
        await pilot.press("f")
        assert log.following and log.is_polling
        seen = await wait_until(pilot, lambda: [x for x in log.view.lines if
                                                x.startswith("tick-")], "the first ticks")
        assert "tick-20" not in seen  # lines arrive while the job still runs
        await wait_until(pilot, lambda: "tick-5" in log.view.lines, "tick-5")
        assert "err| tock-5" in log.view.lines  # both streams, stderr marked in words
        # a scroll key stops following: no more polling
        await pilot.press("k")
        assert not log.following and not log.is_polling
        await pilot.press("f")
        await wait_until(pilot, lambda: "tick-20" in log.view.lines, "the last tick",
                         timeout=30)
        await wait_until(pilot, lambda: not log.following, "follow mode ending with the order")
        ticks = [x for x in log.view.lines if x.startswith("tick-")]
        assert ticks == [f"tick-{i}" for i in range(1, 21)]  # each line once, in order
        assert state_on_controller(console, admin, "tui-tick") == "finished"
        assert not log.is_polling
        await pilot.press("escape")
        await settle(pilot)
        assert screen.is_polling  # the list polls again when shown...
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert not screen.is_polling  # ...and never after logout


async def test_keys_follow_the_permissions_on_the_controller_shown(
        app: Js7App, estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    console.roles.create(admin, "tui-order-role", meta=AuditMeta())
    for controller in ("controller-1", "controller-down"):
        console.roles.set_permission(admin, "tui-order-role", ORDERS_VIEW,
                                     controller=controller, meta=AuditMeta())
    console.roles.set_permission(admin, "tui-order-role", ORDERS_CREATE,
                                 controller="controller-1", meta=AuditMeta())
    make_account(console, admin, "tui-operator", ["tui-order-role"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_orders(pilot, "tui-operator", "a-good-password-42")
        assert screen.controllers == ["controller-1", "controller-down"]
        assert screen.check_action("add", ()) and not screen.check_action("cancel", ())
        await pilot.press("c")
        await settle(pilot)
        assert screen.controller == "controller-down"
        assert not screen.check_action("add", ())
        status = str(screen.query_one("#orders-where").render())
        assert "unreachable" in status and "cannot reach the Controller" in status
        # the key is hidden: nothing opens
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
