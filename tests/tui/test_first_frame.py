"""The first frame comes before the home opens (``js7tui`` on a terminal): the login form
paints and takes keys while a worker opens the store, then the level, the remember box and the
rest of the screen arrive; a home that cannot be opened ends the app with its reason."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from textual.widgets import Footer, Input

from js7tui.console import Console
from js7tui.errors import StoreError
from tests.conftest import ROOT_PASSWORD
from tests.terminal import Terminal
from tests.tui.conftest import login, settle, type_text


async def test_the_form_takes_keys_before_the_home_opens(console: Console,
                                                        env: dict[str, str]) -> None:
    from js7tui.tui.app import make_app
    gate = threading.Event()
    opened: list[str] = []

    def opener() -> Console:
        assert gate.wait(30), "the test never let the home open"
        opened.append("yes")
        return console

    app = make_app(env=env, opener=opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert not app.ctx.console_ready
        assert str(screen.query_one("#login-level").render()) == "security level …"
        assert not screen.query(Footer)          # the rest comes with the home
        await type_text(pilot, "root")           # typing does not wait for the store
        assert screen.query_one("#login-account", Input).value == "root"
        assert opened == []

        gate.set()
        await settle(pilot)
        assert opened == ["yes"]
        assert str(screen.query_one("#login-level").render()) == "security level LOW"
        assert screen.query_one("#login-remember").display
        assert screen.query(Footer)
        await pilot.press("enter")
        await type_text(pilot, "root")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "PasswordChangeScreen"


async def test_a_remember_me_setting_off_hides_the_box_once_the_home_opens(
        console: Console, env: dict[str, str]) -> None:
    from js7tui.tui.app import make_app
    from tests.conftest import login as login_directly
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    root = login_directly(console, "root", ROOT_PASSWORD)
    console.settings.set(root, "enable_remember_me", "false")
    app = make_app(env=env, opener=lambda: console)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#login-remember").display
        await login(pilot, "root", ROOT_PASSWORD)
        assert app.current_mode == "dashboard"


async def test_a_home_that_does_not_open_ends_the_app_with_the_reason(
        env: dict[str, str]) -> None:
    from js7tui.tui.app import make_app

    def opener() -> Console:
        raise StoreError("the store /x/js7tui.db has schema version 99, newer than this js7tui")

    app = make_app(env=env, opener=opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
    assert isinstance(app.startup_error, StoreError)
    assert app.return_code == StoreError.exit_code


def test_js7tui_on_a_terminal_reports_a_broken_home_after_the_screen_is_gone(
        tmp_path: Path) -> None:
    """The whole process on a pseudo-terminal: a home whose configuration is refused shows the
    form for a moment, then the terminal is restored and the reason is printed with the
    error's exit code, like any other refusal of the command line."""
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "js7tui", "--home", str(home), "init",
                    "--security-level", "low", "--no-ca"], check=True, capture_output=True)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("[tui]\n", "[tui]\ncolour = 'red'\n"))
    terminal = Terminal("--home", str(home))
    try:
        assert terminal.process.wait(timeout=60) == 2
        terminal.wait_text(b"js7tui: ", "the reason on the terminal", 10)
    finally:
        terminal.close()
    text = terminal.text
    tail = text[text.index("js7tui: "):]
    assert "config.toml" in tail
    assert "Traceback" not in text
