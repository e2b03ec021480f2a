"""The console app: a thin shell over the console's services, built by ``make_app``.

One Textual mode per section (see ``sections.py``) plus the ``login`` mode. Logging out, an
idle timeout or a session ended elsewhere switch back to the login form and throw the sections'
screens away, so no unsaved input survives. The idle timeout counts key presses on the
console's clock, so tests advance a frozen clock instead of waiting.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from js7tui.tui.commands import ActionCommands, SectionCommands
from js7tui.tui.context import TuiContext
from js7tui.tui.screens.login import LoginScreen
from js7tui.tui.sections import BY_MODE, SECTIONS, Section

if TYPE_CHECKING:
    from js7tui.console import Console
    from js7tui.identity.sessions import Session

THEME_ENV = "JS7TUI_THEME"
# Thread workers run in the event loop's default executor, which on a small machine has a
# handful of threads (cores + 4): a few Controllers that do not answer would hold them all and
# queue every store call behind their timeouts. The app's executor has room for both.
WORKER_THREADS = 32


def _section_bindings() -> list[Binding]:
    return [Binding(s.key, f"section('{s.mode}')", s.title, show=False,
                    id=f"section.{s.mode}", tooltip=f"Go to {s.title}: {s.description}")
            for s in SECTIONS if s.key]


class Js7App(App[int]):
    CSS_PATH: ClassVar = ["styles/app.tcss"]  # the sections add theirs (SectionScreen)
    TITLE = "js7tui"
    DEFAULT_MODE = "login"
    COMMANDS: ClassVar = App.COMMANDS | {SectionCommands, ActionCommands}
    BINDINGS: ClassVar = [
        # f1 too: in a text field ? is typed (the footer then shows f1)
        Binding("question_mark,f1", "toggle_help", "Help", id="app.help",
                tooltip="Every key of this screen with what it does: the screen's own, the "
                        "focused widget's, then these global ones"),
        # both keys: a binding of ':' alone made Textual drop its own ctrl+p
        Binding("colon,ctrl+p", "command_palette", "Palette", id="app.palette",
                tooltip="Find a section or an action by name"),
        Binding("ctrl+l", "logout", "Log out", id="app.logout",
                tooltip="End the console's session (its remembered token too; a CLI session "
                        "goes on) and show the login form"),
        Binding("ctrl+t", "toggle_comments", "Comments", show=False, id="app.comments",
                tooltip="Ask for an audit comment on every change (always on when the "
                        "setting force_comments_for_audit_log is)"),
        *_section_bindings(),
    ]

    def __init__(self, ctx: TuiContext, *, theme: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.animation_level = "none"
        if self.no_color:
            # Textual's NO_COLOR filter on a true-colour terminal draws in greys (38;5;248):
            # still colour codes. NO_COLOR means none: bold, reverse and underline carry it.
            from js7tui.tui._no_color import StripColor
            self._filters = [f for f in self._filters
                             if type(f).__name__ not in ("Monochrome", "NoColor")]
            self._filters.append(StripColor())
        # The home could not be opened (raised by ``run_tui`` once the terminal is restored).
        self.startup_error: BaseException | None = None
        for section in SECTIONS:
            self.add_mode(section.mode, self._section_factory(section))
        if theme and theme in self.available_themes:
            self.theme = theme

    # -- modes ----------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        """The login form is the default screen of the ``login`` mode, not a screen built
        from the mode table: Textual re-parses the whole stylesheet for a screen made from
        the mode table, which cost the form's first paint about 20 ms. The mode is
        registered here, as its stack is made, so ``switch_mode("login")`` returns to this
        screen (the factory is never called: the stack exists)."""
        self.add_mode("login", self._login_screen)
        return self._login_screen()

    def _login_screen(self) -> Screen:
        return LoginScreen(self.ctx)

    def _section_factory(self, section: Section) -> Callable[[], Screen]:
        def build() -> Screen:
            screen = section.factory()(self.ctx)
            # A new screen's widgets take their styles from the app's current stylesheet as
            # they mount. Marking the screen current spares the two full re-parses of every
            # stylesheet Textual runs when it first switches to a screen of the mode table
            # (about 80 ms of a section's first visit, the audit log's included); after a
            # theme change the count moves on and the screen is refreshed as usual.
            screen._css_update_count = self._css_update_count
            return screen
        return build

    # Set by ``run_tui`` (a real terminal, not a test): a closed terminal (SIGHUP: an SSH
    # connection dropped, ``tmux kill-session``) or SIGTERM leaves the app the normal way, so
    # whoever started it (``js7tui demo``) can stop what it started.
    exit_on_signals: ClassVar[tuple[int, ...]] = ()

    def on_mount(self) -> None:
        import asyncio
        from concurrent.futures import ThreadPoolExecutor
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(WORKER_THREADS,
                                                     thread_name_prefix="js7tui-worker"))
        self.set_interval(1.0, self.check_session_idle, name="idle")
        self.call_after_refresh(self._warm)
        if self.exit_on_signals:
            for sig in self.exit_on_signals:
                loop.add_signal_handler(sig, partial(self.exit, return_code=128 + sig))

    @work(thread=True, group="warm")
    def _warm(self) -> None:
        """After the first frame: open the home (unless the app was handed an open console),
        build the identity chain and the session services (their modules load here, not
        before the login form paints), then resume the console's remembered session (the
        screen shows no form while it does). A home that cannot be opened ends the app with
        the reason."""
        try:
            console = self.ctx.open_home()
            facts = (self.ctx.security_level, self.ctx.remember_me_enabled)
        except Exception as exc:
            self.call_from_thread(self._home_failed, exc)
            return
        self.call_from_thread(self._home_opened, *facts)
        console.warm("login", "sessions")
        self.login_screen.warm()
        if self.login_screen.resuming is None:
            return        # the form is on screen: it is never switched away from by itself
        session = self.ctx.resume_remembered()
        if session is not None:
            self.call_from_thread(self.logged_in, session)
        else:
            self.call_from_thread(self.login_screen.resume_failed,
                                  "the remembered session has ended; log in again")

    def _home_opened(self, level: str, remember_me: bool) -> None:
        theme = self.ctx.env.get(THEME_ENV) or self.ctx.console.config.tui.theme
        if theme in self.available_themes and theme != self.theme:
            self.theme = theme
        self.login_screen.home_opened(level, remember_me)

    def _home_failed(self, error: BaseException) -> None:
        self.startup_error = error
        self.exit(return_code=int(getattr(error, "exit_code", 1)))

    @property
    def login_screen(self) -> LoginScreen:
        stack = self._screen_stacks.get("login") or []
        return stack[0]  # type: ignore[return-value]

    # -- session life ---------------------------------------------------------------------
    def logged_in(self, session: Session, *, keep: bool = False) -> None:
        self.ctx.sign_in(session, keep=keep)
        if session.must_change_password:
            from js7tui.tui.screens.password import PasswordChangeScreen
            minimum = self.ctx.console.minimum_password_length
            self.push_screen(PasswordChangeScreen(self.ctx, session.account, minimum))
            return
        self.enter_sections()

    def password_changed(self, session: Session) -> None:
        self.ctx.sign_in(session)
        if self.screen is not self.login_screen:
            self.pop_screen()
        self.notify("password changed")
        self.enter_sections()

    def enter_sections(self) -> None:
        first = next(s for s in SECTIONS if self.ctx.can(s.permission))
        self.switch_mode(first.mode)

    def logout(self, message: str = "logged out") -> None:
        self._end_session(message, sign_out=True)

    def session_ended(self, message: str) -> None:
        """The store refused the session (cancelled, blocked, expired): back to the form."""
        self._end_session(message, sign_out=False)

    def _end_session(self, message: str, *, sign_out: bool) -> None:
        if sign_out:
            self._sign_out()
        else:
            self.ctx.drop_session()
        self.run_worker(self._back_to_login(message), group="navigation", exclusive=True)

    @work(thread=True, group="signout")
    def _sign_out(self) -> None:
        self.ctx.sign_out()

    async def _back_to_login(self, message: str) -> None:
        if self.current_mode != "login":
            await self.switch_mode("login")
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.login_screen.reset(message)
        for section in SECTIONS:
            if section.mode in self._screen_stacks:
                await self.remove_mode(section.mode)
                self.add_mode(section.mode, self._section_factory(section))

    # -- idle timeout ---------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown) and self.ctx.session is not None:
            if self.check_session_idle():
                return  # the key that found the session over is not acted upon
            self.ctx.touch()
        await super().on_event(event)

    def check_session_idle(self) -> bool:
        """End the session when the idle timeout passed without a key; True if it did."""
        left = self.ctx.idle_left()
        if left is None or left > 0:
            return False
        session = self.ctx.session
        timeout = session.idle_timeout if session else 0
        from js7tui.durations import format_duration
        self.logout(f"the session ended after {format_duration(timeout)} without a key press; "
                    "log in again")
        return True

    # -- actions --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "section":
            section = BY_MODE.get(str(parameters[0])) if parameters else None
            return section is not None and self.ctx.can(section.permission)
        if action in ("logout", "toggle_comments"):
            # during the forced password change its screen offers its own way out
            return self.ctx.session is not None and not self.ctx.session.must_change_password
        return True

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """No blinking cursor: it writes about 1.5 KB/s to the terminal while a field has the
        focus (Textual's default; ``animation_level`` does not cover it)."""
        if hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False  # type: ignore[attr-defined]

    def action_section(self, mode: str) -> None:
        section = BY_MODE[mode]
        if self.ctx.can(section.permission):
            self.switch_mode(mode)

    def open_section(self, mode: str, item: str | None = None) -> None:
        """Switch to a section and, when ``item`` is given, let its screen select it (the
        dashboard opens a Controller, a certificate, an audit entry this way). A section
        screen that can select something defines ``select_item(item: str)``."""
        section = BY_MODE[mode]
        if not self.ctx.can(section.permission):
            self.notify(f"{section.title}: not permitted for this account", severity="warning")
            return
        self.run_worker(self._open_section(mode, item), group="navigation", exclusive=True)

    async def _open_section(self, mode: str, item: str | None) -> None:
        await self.switch_mode(mode)
        select = getattr(self.screen, "select_item", None)
        if item is not None and select is not None:
            select(item)

    def action_logout(self) -> None:
        self.logout()

    def action_toggle_comments(self) -> None:
        self.ctx.ask_comments = not self.ctx.ask_comments
        state = "on" if self.ctx.ask_comments else "off (unless the setting forces them)"
        self.notify(f"asking for audit comments: {state}")

    def action_toggle_help(self) -> None:
        from js7tui.tui.widgets.keys import HelpScreen, live_keys
        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss(None)
            return
        section = BY_MODE.get(self.current_mode)
        title = section.title if section is not None and self.current_mode != "login" \
            else "log in" if self.current_mode == "login" else self.current_mode
        if len(self.screen_stack) > 1:
            title = f"{title} · {type(screen).__name__.removesuffix('Screen')}"
        self.push_screen(HelpScreen(live_keys(screen), title,
                                    note=getattr(screen, "HELP", "")))


def make_app(console: Console | None = None, *, readonly: bool = False,
             env: Mapping[str, str] = os.environ,
             opener: Callable[[], Console] | None = None,
             home: Path | None = None) -> Js7App:
    """The console app over ``console`` (the CLI, tests and demos all build it here), or over
    the console ``opener`` opens after the first frame (``js7tui`` on a terminal: the login
    form paints before the home's store, configuration and services load).

    ``env`` supplies the state directory (remember me), ``JS7TUI_THEME`` (else the home's
    ``[tui] theme``, applied once the home is open), ``NO_COLOR`` and ``SSH_CLIENT`` (login
    source). ``home`` is the home's directory when the console opens it itself: its
    remembered session is looked up before the first frame.
    """
    if env is not os.environ and "NO_COLOR" in env:
        os.environ["NO_COLOR"] = env["NO_COLOR"]  # Textual reads (and removes) it at start
    ctx = TuiContext(console, readonly=readonly, env=env, opener=opener, home_hint=home)
    theme = env.get(THEME_ENV) or (console.config.tui.theme if console is not None else None)
    return Js7App(ctx, theme=theme)


def run_tui(console: Console | None = None, readonly: bool = False, **kwargs: Any) -> int:
    """Run the app on this terminal; a console it opened itself is closed when it ends, and a
    home it could not open is raised once the terminal is restored."""
    app = make_app(console, readonly=readonly, **kwargs)
    app.exit_on_signals = (signal.SIGHUP, signal.SIGTERM)
    try:
        app.run()
    finally:
        app.ctx.close_opened()
    if app.startup_error is not None:
        raise app.startup_error
    return app.return_code or 0
