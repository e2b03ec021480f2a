"""Stylesheet work the console spares itself, and the styles still being right: a section's
first visit does not re-parse every stylesheet, and a theme chosen meanwhile still applies to
the new screen."""

from __future__ import annotations

from js7tui.console import Console
from js7tui.tui.app import Js7App, make_app
from tests.conftest import ROOT_PASSWORD
from tests.tui.conftest import login, settle


async def logged_in(app: Js7App, console: Console, pilot) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    await settle(pilot)
    await login(pilot, "root", ROOT_PASSWORD)
    assert app.current_mode == "dashboard"


async def test_a_sections_first_visit_does_not_reparse_the_stylesheets(
        app: Js7App, console: Console) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await logged_in(app, console, pilot)
        refreshed: list[str] = []
        original = app.refresh_css

        def counting(animate: bool = True) -> None:
            refreshed.append(app.current_mode)
            original(animate)

        app.refresh_css = counting  # type: ignore[method-assign]
        await pilot.press("9")
        await settle(pilot)
        assert app.current_mode == "audit"
        assert refreshed == []


async def test_a_theme_chosen_before_a_section_opens_styles_its_screen(
        console: Console, env: dict[str, str]) -> None:
    """The theme changes on the dashboard; the audit log, built afterwards, has the new
    theme's colours, the same as in a console started with that theme."""
    started_dark = make_app(console, env={**env, "JS7TUI_THEME": "ansi-dark"})
    async with started_dark.run_test(size=(120, 40)) as pilot:
        await logged_in(started_dark, console, pilot)
        await pilot.press("9")
        await settle(pilot)
        expected = (started_dark.screen.styles.background,
                    started_dark.screen.query_one("AuditLogView").styles.border)
        await pilot.press("ctrl+l")
        await settle(pilot)

    switched = make_app(console, env=env)
    async with switched.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        assert switched.theme != "ansi-dark"
        assert switched.screen.styles.background != expected[0]  # the themes differ here
        switched.theme = "ansi-dark"
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)
        got = (switched.screen.styles.background,
               switched.screen.query_one("AuditLogView").styles.border)
    assert got == expected
