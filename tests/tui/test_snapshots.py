"""Snapshots of the states that matter: login (empty, error), forced change, the sections
loaded, filtered, a modal, read-only; main screens also at 80x24 and with ansi-dark.

Update after a deliberate change with ``pytest tests/tui --snapshot-update`` and look at the
SVGs (``screenshots/`` holds copies for the README: ``python screenshots/update.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD
from tests.tui.conftest import login, settle, type_text

BIG = (120, 40)
SMALL = (80, 24)


def steps(*actions: Callable[[Pilot], Awaitable[None]]) -> Callable[[Pilot], Awaitable[None]]:
    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)
        pilot.app.clear_notifications()
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False     # a blinking cursor would make snapshots flaky
        await pilot.pause()
    return run


def keys(*names: str) -> Callable[[Pilot], Awaitable[None]]:
    async def press(pilot: Pilot) -> None:
        await pilot.press(*names)
    return press


def text(value: str) -> Callable[[Pilot], Awaitable[None]]:
    async def typing(pilot: Pilot) -> None:
        await type_text(pilot, value)
    return typing


def as_root(pilot: Pilot) -> Awaitable[None]:
    return login(pilot, "root", ROOT_PASSWORD)


@pytest.fixture
def seeded(console: Console, root: Session) -> Console:
    """A few accounts and a second service so lists have something to show."""
    console.accounts.create(root, "alice", roles=["it_operator"], email="alice@example.test")
    console.accounts.create(root, "bob", roles=["business_user", "api_user"])
    console.accounts.set_disabled(root, "bob", True)
    console.accounts.block(root, "mallory", "phishing report 4711")
    console.accounts.create(root, "mallory")
    console.identity_services.create(root, "BACKUP", "JOC", disabled=True)
    return console


def test_login_80x24(snap_compare, console: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(console, env=env), terminal_size=SMALL,
                        run_before=steps())


def test_login_error_ansi_dark(snap_compare, console: Console, env: dict[str, str]) -> None:
    app = make_app(console, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=BIG, run_before=steps(
        lambda pilot: login(pilot, "root", "wrong")))


def test_forced_password_change(snap_compare, console: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(console, env=env), terminal_size=BIG, run_before=steps(
        lambda pilot: login(pilot, "root", "root")))


def test_services(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("6")))


def test_services_80x24_ansi_dark(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    app = make_app(seeded, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root, keys("6")))


def test_accounts_filtered(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("7"), keys("slash"), text("!root"), keys("enter")))


def test_new_account_form(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("7"), keys("n"), text("carol")))


def test_accounts_readonly(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    app = make_app(seeded, readonly=True, env=env)
    assert snap_compare(app, terminal_size=BIG, run_before=steps(as_root, keys("7")))


def test_comment_modal_80x24(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    app = make_app(seeded, env=env)
    app.ctx.ask_comments = True
    assert snap_compare(app, terminal_size=SMALL,
                        run_before=steps(as_root, keys("7"), keys("f", "y")))


def test_settings(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("0"), keys("g")))


def test_dashboard_help_80x24(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=SMALL,
                        run_before=steps(as_root, keys("question_mark")))
