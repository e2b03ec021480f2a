"""Snapshots of the dashboard and the Controllers section from a store-only console
(tests/dashboard_fixtures.py: frozen clock, a Controller at a fixed address where nothing
listens, a certificate for 10 days, a failed login, a refused deployment), so nothing on screen
depends on ports, pids or the wall clock.

Update with ``pytest tests/tui/test_snapshots_ctl.py --snapshot-update`` (this file only), then
``python screenshots/update.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from js7tui.console import Console
from js7tui.home import Home
from js7tui.tui.app import make_app
from tests.dashboard_fixtures import dashboard_console
from tests.tui.test_snapshots import BIG, SMALL, as_root, keys, steps


@pytest.fixture
def estate_free(tmp_path: Path) -> Console:
    console, _ = dashboard_console(Home(tmp_path / "home"))
    return console


def test_dashboard(snap_compare, estate_free: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(estate_free, env=env), terminal_size=BIG,
                        run_before=steps(as_root))


def test_dashboard_80x24_ansi_dark(snap_compare, estate_free: Console,
                                   env: dict[str, str]) -> None:
    app = make_app(estate_free, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root))


def test_controllers(snap_compare, estate_free: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(estate_free, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("2")))


def test_controller_diagnosis(snap_compare, estate_free: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(estate_free, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("2"), keys("t")))


def test_controllers_readonly_80x24(snap_compare, estate_free: Console,
                                    env: dict[str, str]) -> None:
    app = make_app(estate_free, readonly=True, env=env)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root, keys("2")))
