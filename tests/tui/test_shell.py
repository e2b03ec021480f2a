"""The shell: login, forced password change, sections by digit, logout, idle timeout."""

from __future__ import annotations

import pytest

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.errors import SessionRequired
from js7tui.tui.app import Js7App
from tests.conftest import ROOT_PASSWORD
from tests.conftest import login as login_directly
from tests.tui.conftest import login, settle, type_text


async def test_forced_password_change_then_login_again(app: Js7App, console: Console) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", "root")
        assert type(app.screen).__name__ == "PasswordChangeScreen"
        await type_text(pilot, "root")
        await pilot.press("enter")
        await type_text(pilot, ROOT_PASSWORD)
        await pilot.press("enter")
        await type_text(pilot, ROOT_PASSWORD)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "dashboard"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.current_mode == "login"
        assert app.ctx.session is None
        # the old password no longer works, the new one does and needs no change
        await login(pilot, "root", "root")
        assert app.current_mode == "login"
        assert "wrong account name or password" in str(
            app.screen.query_one("#login-message").render())
        await pilot.press("ctrl+a", "ctrl+k")
        await pilot.press("shift+tab")
        await pilot.press("ctrl+a", "ctrl+k")
        await login(pilot, "root", ROOT_PASSWORD)
        assert app.current_mode == "dashboard"
    # the store agrees: the new password logs in without a pending change
    assert not login_directly(console, "root", ROOT_PASSWORD).must_change_password


async def test_idle_timeout_returns_to_login(app: Js7App, console: Console,
                                             clock: FrozenClock) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        assert app.current_mode == "dashboard"
        await pilot.press("7")
        assert app.current_mode == "accounts"
        token = app.ctx.session.token if app.ctx.session else None
        clock.advance(minutes=31)
        await pilot.press("2")  # the key that finds the session over is not acted upon
        await settle(pilot)
        assert app.current_mode == "login"
        assert "without a key press" in str(app.screen.query_one("#login-message").render())
        assert token is not None
        with pytest.raises(SessionRequired):
            console.sessions.resume(token)
