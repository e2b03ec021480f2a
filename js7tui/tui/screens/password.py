"""The forced password change: before anything else, old, new, repeated; minimum shown."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Input, Label, Static

from js7tui.identity.sessions import Session
from js7tui.tui.screens.base import ServiceScreen
from js7tui.tui.widgets.keys import KeysFooter


class PasswordChangeScreen(ServiceScreen):
    BINDINGS = [
        Binding("escape", "give_up", "Log out", id="password.logout",
                tooltip="Log out without changing the password"),
    ]
    HELP = "The password must be changed before anything else. **enter** in the last field saves."

    def __init__(self, ctx: Any, account: str, minimum: int | None) -> None:
        super().__init__(ctx, id="password-change")
        self.account = account
        self.minimum = minimum

    def compose(self) -> ComposeResult:
        minimum = f"at least {self.minimum} characters" if self.minimum else ""
        with Center(), Vertical(id="password-box", classes="dialog"):
            yield Label("Change your password", classes="dialog-title")
            yield Static(f"The password of [b]{escape(self.account)}[/b] must be changed "
                         f"before anything else. New password: {minimum}, not the initial "
                         "password.", classes="dialog-text")
            yield Input(id="pw-old", placeholder="current password", password=True)
            yield Input(id="pw-new", placeholder="new password", password=True)
            yield Input(id="pw-repeat", placeholder="repeat the new password", password=True)
            yield Static("", id="pw-message", classes="error")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#pw-old", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "pw-repeat":
            self.save()
        else:
            self.focus_next()

    def save(self) -> None:
        old = self.query_one("#pw-old", Input).value
        new = self.query_one("#pw-new", Input).value
        repeated = self.query_one("#pw-repeat", Input).value
        self.query_one("#pw-message", Static).update("changing…")
        self.run_service("password not changed", self._change, old, new, repeated,
                         then=self._changed, failed=self._failed)

    def _change(self, old: str, new: str, repeated: str) -> Session:
        """In the worker: change the password, then read the session again (no longer
        pending a change)."""
        console = self.ctx.console
        console.accounts.change_password(account=self.account, old=old, new=new,
                                         repeated=repeated, source=self.ctx.source)
        session = self.ctx.session
        assert session is not None and session.token is not None
        return console.sessions.resume(session.token)

    def _changed(self, session: Session) -> None:
        self.app.password_changed(session)  # type: ignore[attr-defined]

    def _failed(self, error: Exception) -> None:
        self.query_one("#pw-message", Static).update(escape(str(error)))
        for wid in ("#pw-old", "#pw-new", "#pw-repeat"):
            self.query_one(wid, Input).value = ""
        self.query_one("#pw-old", Input).focus()

    def show_error(self, text: str) -> None:  # shown in the form, not as a toast
        pass

    def action_give_up(self) -> None:
        self.app.logout("logged out without changing the password")  # type: ignore[attr-defined]
