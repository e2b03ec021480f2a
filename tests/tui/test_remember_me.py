"""Remember me without a race: a start that resumes the console's remembered session never
shows the form, a form on screen keeps every key typed into it however slow the resume check
is, and the console's and the CLI's remembered sessions end apart."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from textual.widgets import Input

from js7tui.cli import run
from js7tui.cli.context import CliContext
from js7tui.console import Console
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD
from tests.conftest import login as login_directly
from tests.tui.conftest import login, settle, type_text


def _cli(env: dict[str, str], home: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    ctx = CliContext(env={**env, "JS7TUI_HOME": str(home)}, stdin=io.StringIO(stdin),
                     stdout=out, stderr=io.StringIO())
    code = run(list(args), ctx)
    return code, out.getvalue()


def _home(console: Console) -> Path:
    assert console.home is not None
    return console.home.root


async def test_a_form_on_screen_keeps_every_key_while_the_home_opens_slowly(
        console: Console, env: dict[str, str]) -> None:
    """A valid session of the CLI exists: the console does not resume it (apart by default),
    so the form stays and the password typed while the home opens lands in the field, '/'
    and digits included."""
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    from js7tui import remember
    root = login_directly(console, "root", ROOT_PASSWORD)
    assert root.token
    remember.remember(env, console.installation_id, home=_home(console), account="root",
                      token=root.token)                     # what `js7tui login` writes
    gate = threading.Event()

    def opener() -> Console:
        assert gate.wait(30)
        return console

    app = make_app(env=env, opener=opener, home=_home(console))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#login-box").display
        await type_text(pilot, "root")
        await pilot.press("enter")
        await pilot.press("a", "slash", "5", "b")            # section and filter keys
        gate.set()                                           # the home opens mid-typing
        await pilot.press("c", "9", "d")
        await settle(pilot)
        await pilot.press("e")
        assert app.current_mode == "login"
        assert screen.query_one("#login-password", Input).value == "a/5bc9de"
        assert app.ctx.session is None


async def test_a_remembered_console_session_never_shows_the_form(
        console: Console, env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    first = make_app(console, env=env)
    async with first.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD, remember=True)
        assert first.current_mode == "dashboard"
    gate = threading.Event()

    def opener() -> Console:
        assert gate.wait(30)
        return console

    again = make_app(env=env, opener=opener, home=_home(console))
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = again.screen
        assert not screen.query_one("#login-box").display
        assert "resuming the remembered session of root" in str(
            screen.query_one("#login-resuming").render())
        await pilot.press("r", "o")                           # nothing to type into
        assert screen.query_one("#login-account", Input).value == ""
        gate.set()
        await settle(pilot)
        assert again.current_mode == "dashboard"


async def test_an_ended_remembered_session_shows_the_form_with_the_reason(
        console: Console, env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    first = make_app(console, env=env)
    async with first.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD, remember=True)
        token = first.ctx.session.token if first.ctx.session else ""
    console.sessions.logout(token)
    again = make_app(console, env=env)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert again.current_mode == "login"
        assert again.screen.query_one("#login-box").display
        assert "remembered session has ended" in str(
            again.screen.query_one("#login-message").render())
        assert again.focused is again.screen.query_one("#login-account")


async def test_the_console_and_the_cli_log_out_apart(console: Console,
                                                     env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    home = _home(console)
    code, _ = _cli(env, home, "login", "--account", "root", "--password-stdin",
                   stdin=ROOT_PASSWORD + "\n")
    assert code == 0
    code, out = _cli(env, home, "whoami")
    assert code == 0 and "root" in out
    app = make_app(console, env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.current_mode == "login"                 # the CLI's session is not taken
        await login(pilot, "root", ROOT_PASSWORD, remember=True)
        await pilot.press("ctrl+l")                         # the console's logout
        await settle(pilot)
        assert app.current_mode == "login"
    code, out = _cli(env, home, "whoami")
    assert code == 0 and "root" in out                     # the CLI's session goes on

    again = make_app(console, env=env)
    async with again.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD, remember=True)
    code, _ = _cli(env, home, "logout")                     # the CLI's logout
    assert code == 0
    third = make_app(console, env=env)
    async with third.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert third.current_mode == "dashboard"            # the console's session goes on


async def test_enter_on_the_remember_box_logs_in_and_keeps_it_ticked(
        console: Console, env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await type_text(pilot, "root")
        await pilot.press("enter")
        await type_text(pilot, ROOT_PASSWORD)
        await pilot.press("tab", "space")
        box = app.screen.query_one("#login-remember")
        assert box.value is True
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "dashboard"
    assert app.ctx.remembered_session() is not None
