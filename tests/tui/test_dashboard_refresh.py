"""The dashboard refreshes by itself only while it is shown (store-only console; the refresh
interval is shortened for the test instead of waiting 30 seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from js7tui.home import Home
from js7tui.tui import screens
from js7tui.tui.app import make_app
from js7tui.tui.screens.dashboard import DashboardScreen
from tests.conftest import ROOT_PASSWORD
from tests.dashboard_fixtures import dashboard_console
from tests.tui.conftest import login, settle


async def test_refresh_runs_while_shown_and_stops_when_left(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screens.dashboard, "REFRESH_SECONDS", 0.1)
    console, _ = dashboard_console(Home(tmp_path / "home"))
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        first = dashboard.generation
        for _ in range(100):
            if dashboard.generation >= first + 2:
                break
            await pilot.pause(0.05)
        assert dashboard.generation >= first + 2, "the dashboard did not refresh by itself"
        await pilot.press("2")
        await settle(pilot)
        left = dashboard.generation
        await pilot.pause(0.6)
        assert dashboard.generation == left, "the dashboard refreshed while hidden"
        await pilot.press("1")
        await settle(pilot)
        assert dashboard.generation > left        # shown again: read at once, timer resumed
        await pilot.press("2")                    # stop the quick timer before the store closes
        await settle(pilot)
    console.close()
