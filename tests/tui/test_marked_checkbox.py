"""The remember-me box (and every yes/no field of a form) shows its state as a mark, so it
reads right without colour."""

from __future__ import annotations

from js7tui.tui.app import Js7App


async def test_the_remember_box_shows_x_only_when_checked(app: Js7App) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#login-remember")
        assert "▐ ▌" in str(box.render())
        box.focus()
        await pilot.press("space")
        assert box.value is True
        assert "▐X▌" in str(box.render())
        await pilot.press("space")
        assert "▐ ▌" in str(box.render())
