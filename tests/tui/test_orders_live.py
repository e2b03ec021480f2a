"""The Orders section's polling against a Controller that does not answer (no estate): it
says so and keeps trying; a permission taken away while it polls stops the polling after one
audited refusal instead of one a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.permissions.names import ORDERS_VIEW
from js7tui.tui.app import make_app
from js7tui.tui.screens.orders import OrdersScreen
from tests.conftest import ROOT_PASSWORD, login, make_account
from tests.order_fixtures import FixedOrders, dead_controller_console
from tests.tui.conftest import login as tui_login
from tests.tui.conftest import settle


@pytest.fixture
def dead(tmp_path: Path) -> Iterator[Console]:
    console = dead_controller_console(tmp_path / "home")
    yield console
    console.close()


def refusals(console: Console, account: str) -> int:
    return console.store.conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE outcome = 'REFUSED' AND account = ?",
        (account,)).fetchone()[0]


async def test_a_revoked_permission_stops_the_polling(dead: Console, env: dict[str, str]
                                                      ) -> None:
    admin = login(dead, "root", ROOT_PASSWORD)
    dead.roles.create(admin, "watcher", meta=AuditMeta())
    dead.roles.set_permission(admin, "watcher", ORDERS_VIEW, controller="controller-down",
                              meta=AuditMeta())
    make_account(dead, admin, "watch", ["watcher"])
    app = make_app(dead, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_login(pilot, "watch", "a-good-password-42")
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OrdersScreen) and screen.is_polling
        assert "unreachable" in str(screen.query_one("#orders-where").render())
        # the permission taken away: the Controller is no longer offered, nothing refused
        dead.roles.remove_permission(admin, "watcher", ORDERS_VIEW,
                                     controller="controller-down", meta=AuditMeta())
        await wait_for(pilot, lambda: screen.controller is None, "the Controller gone")
        assert "no Controller is registered on which you may view orders" in str(
            screen.query_one("#orders-where").render())
        assert refusals(dead, "watch") == 0
        # a refusal (a password change forced meanwhile) stops the polling after one entry
        dead.accounts.force_password_change(admin, "watch", meta=AuditMeta())
        await wait_for(pilot, lambda: not screen.is_polling, "the polling stopped")
        await settle(pilot)
        assert refusals(dead, "watch") == 1
        assert screen.polling is False


async def wait_for(pilot, condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
        await pilot.pause()


async def test_open_section_selects_an_order(console: Console, env: dict[str, str]) -> None:
    """The dashboard's way in: ``open_section("orders", "controller/order")``."""
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OrdersScreen)
        screen.source = FixedOrders()
        app.open_section("orders", "controller-2/sleepy-9c1d")
        await settle(pilot)
        assert screen.controller == "controller-2" and screen.table.current_key == "sleepy-9c1d"
        assert screen.table.get_row("sleepy-9c1d")[2:4] == ["cancelled", "1 nap"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.view.lines == ["--- step 1: job nap on agent-1: killed, return "
                                         "code -15 ---", "napping"]
