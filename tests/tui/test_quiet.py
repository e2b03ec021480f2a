"""Quiet on a thin link: the header counts minutes and rewrites a line only when its text
changes (never for a screen that is not shown), the audit log's cursor repaints two rows, a
poll that brings the same rows back redraws nothing, and no field blinks its cursor."""

from __future__ import annotations

from textual.widgets import Input, Static

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.tui.app import make_app
from js7tui.tui.widgets.header import time_left_text
from js7tui.tui.widgets.lists import HouseTable, Row
from tests.conftest import ROOT_PASSWORD
from tests.tui.conftest import login, settle


def test_the_countdown_is_in_minutes_and_names_the_session_timeout() -> None:
    assert time_left_text(1800, 1800) == "30 min left of 30m"
    assert time_left_text(1741, 1800) == "30 min left of 30m"     # rounded up
    assert time_left_text(1739, 1800) == "29 min left of 30m"
    assert time_left_text(59, 1800) == "59 s left of 30m"
    assert time_left_text(3 * 3600, 4 * 3600) == "3 h 0 min left of 4h"
    assert time_left_text(None) == "no idle timeout"


async def test_the_header_writes_only_when_its_text_changes(
        console: Console, env: dict[str, str], clock: FrozenClock) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        header = app.screen.header
        who = header.query_one("#header-who", Static)
        updates: list[str] = []
        original = who.update

        def counting(content: object = "", **kwargs: object) -> None:
            updates.append(str(content))
            original(content, **kwargs)  # type: ignore[arg-type]

        who.update = counting  # type: ignore[method-assign]
        for _ in range(5):                   # five ticks, the same minute: nothing written
            clock.advance(seconds=1)
            header._tick()
        assert updates == []
        clock.advance(seconds=60)
        header._tick()
        minutes = app.ctx.session.idle_timeout // 60   # the default idle timeout's minutes
        assert len(updates) == 1 and f"{minutes - 1} min left of {minutes}m" in updates[0]


async def test_a_poll_with_the_same_rows_redraws_nothing(console: Console,
                                                         env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("0")
        await settle(pilot)
        table = app.screen.query_one(HouseTable)
        calls: list[int] = []
        table.set_rows = lambda rows, **kw: calls.append(1)  # type: ignore[method-assign]
        table.update_rows([Row(r.key, r.cells) for r in table._rows])   # the same, read again
        assert calls == []
        table._rows = []
        table.update_rows([])                # an empty poll of an empty list (Orders at rest)
        assert calls == []


async def test_no_field_blinks(console: Console, env: dict[str, str]) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#login-account", Input)
        assert app.focused is field
        assert field.cursor_blink is False
        await pilot.press("tab")
        assert app.screen.query_one("#login-password", Input).cursor_blink is False
