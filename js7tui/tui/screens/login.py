"""The login form: account, password, remember me; the identity-service chain decides.

Outcomes: logged in (on to the forced password change or the sections), a refusal shown as the
chain words it (wrong credentials, blocked, disabled, service unreachable), or an interaction
the provider needs (a device-flow code to enter elsewhere) shown in a panel with a key to
continue, which repeats the login with the interaction attached.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Label, Static

from js7tui.errors import Js7Error
from js7tui.identity.chain import LoginResult, LoginStatus
from js7tui.identity.providers.base import LoginRequest
from js7tui.tui.screens.base import ServiceScreen


class LoginDone(Message):
    def __init__(self, result: LoginResult | None, error: str | None, keep: bool) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.keep = keep


class LoginScreen(ServiceScreen):
    BINDINGS = [
        Binding("ctrl+r", "continue_login", "Continue", id="login.continue",
                tooltip="Repeat the login after completing the step shown in the panel"),
        Binding("ctrl+q", "app.quit", "Quit", id="login.quit", tooltip="Leave js7tui"),
    ]
    HELP = "Log in with an account of one of the identity services. **enter** logs in."

    def __init__(self, ctx: Any, message: str = "") -> None:
        super().__init__(ctx, id="login")
        self.message = message
        self.interaction: dict[str, Any] | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box", classes="dialog"):
            yield Label("js7tui · log in", classes="dialog-title")
            yield Static(f"security level {self.ctx.security_level}", id="login-level",
                         classes="dim")
            yield Input(id="login-account", placeholder="account")
            yield Input(id="login-password", placeholder="password", password=True)
            yield Checkbox("remember me on this machine", id="login-remember")
            yield Static(escape(self.message), id="login-message", classes="error")
            yield Static("[b]enter[/b] log in   [b]tab[/b] next field   [b]ctrl+q[/b] quit",
                         classes="dialog-keys")
            with Vertical(id="login-interaction"):
                yield Label("Action needed", classes="dialog-title")
                yield Static("", id="login-interaction-text")
                yield Static("then press [b]ctrl+r[/b] to continue", classes="dialog-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-interaction").display = False
        self.query_one("#login-remember").display = self.ctx.remember_me_enabled
        self.query_one("#login-account", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "continue_login":
            return self.interaction is not None
        return True

    def reset(self, message: str = "") -> None:
        """Back to an empty form (logout, idle timeout): unsaved input is dropped."""
        self.interaction = None
        self.busy = False
        self.query_one("#login-account", Input).value = ""
        self.query_one("#login-password", Input).value = ""
        self.query_one("#login-remember", Checkbox).value = False
        self.query_one("#login-remember").display = self.ctx.remember_me_enabled
        self.query_one("#login-interaction").display = False
        self.say(message)
        self.query_one("#login-account", Input).focus()

    def say(self, text: str) -> None:
        self.query_one("#login-message", Static).update(escape(text))

    @on(Input.Submitted, "#login-account")
    def _account_done(self) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    def _password_done(self) -> None:
        self.submit()

    def submit(self, extra: dict[str, Any] | None = None) -> None:
        if self.busy:
            return
        account = self.query_one("#login-account", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if not account:
            self.say("enter the account name")
            self.query_one("#login-account", Input).focus()
            return
        self.busy = True
        self.say("logging in…")
        keep = bool(self.query_one("#login-remember", Checkbox).value)
        request = LoginRequest(account, password, self.ctx.source, extra=extra or {})
        self._login(request, keep)

    @work(thread=True, group="login", exclusive=True)
    def _login(self, request: LoginRequest, keep: bool) -> None:
        try:
            result = self.ctx.call(self.ctx.console.login.login, request)
        except Js7Error as exc:
            self.post_message(LoginDone(None, str(exc), keep))
        except Exception as exc:
            self.post_message(LoginDone(None, f"{type(exc).__name__}: {exc}", keep))
        else:
            self.post_message(LoginDone(result, None, keep))

    def on_login_done(self, message: LoginDone) -> None:
        self.busy = False
        if message.error is not None:
            self.say(message.error)
            password = self.query_one("#login-password", Input)
            password.value = ""
            password.focus()
            return
        result = message.result
        assert result is not None
        if result.status is LoginStatus.INTERACTION_NEEDED:
            self.show_interaction(result)
            return
        if result.status is LoginStatus.SECOND_FACTOR_REQUIRED:
            self.say(f"{result.message}: the console cannot take a second factor yet; use "
                     "the service's own client")
            return
        assert result.session is not None
        self.query_one("#login-password", Input).value = ""
        self.interaction = None
        self.query_one("#login-interaction").display = False
        self.say("")
        self.app.logged_in(result.session, keep=message.keep)  # type: ignore[attr-defined]

    def show_interaction(self, result: LoginResult) -> None:
        self.interaction = dict(result.interaction or {})
        lines = [escape(result.message)]
        for key, value in self.interaction.items():
            lines.append(f"[b]{escape(str(key))}[/b]: {escape(str(value))}")
        self.query_one("#login-interaction-text", Static).update("\n".join(lines))
        self.query_one("#login-interaction").display = True
        self.say("")
        self.refresh_bindings()

    def action_continue_login(self) -> None:
        if self.interaction is not None:
            self.submit(extra={"interaction": self.interaction})
