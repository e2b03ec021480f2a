"""The login form: account, password, remember me; the identity-service chain decides.

Outcomes: logged in (on to the forced password change or the sections), a refusal shown as the
chain words it (wrong credentials, blocked, disabled, service unreachable), or an interaction
the provider needs, shown in a panel with a key to continue, which repeats the login with the
interaction attached.

Remember me: when the console kept a session for this home (its own file, apart from the CLI's)
the screen starts with a "resuming" line instead of the form, so nothing can be typed into a
form that is about to go away; the form is shown only if the session cannot be resumed, and
once shown it is never switched away from by itself.

A device-flow login (OIDC: ctrl+o, or enter with an empty password) shows the device panel -
URL, code, QR code, expiry - and polls by itself in a worker, waiting the provider's interval
between polls; esc cancels it at the provider's side of the console.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Static
from textual.worker import get_current_worker

from js7tui.errors import Js7Error
from js7tui.tui.screens.base import ServiceScreen
from js7tui.tui.widgets.marked_checkbox import MarkedCheckbox

if TYPE_CHECKING:
    from js7tui.identity.chain import LoginResult
    from js7tui.identity.providers.base import LoginRequest
    from js7tui.tui.widgets.device_flow import DeviceFlowPanel

# The identity chain and the providers are imported after the first frame (``warm``), so the
# form paints before them; the names below are looked up when a login runs.


class LoginDone(Message):
    def __init__(self, result: LoginResult | None, error: str | None, keep: bool) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.keep = keep


class DeviceUpdate(Message):
    """A device-flow poll that is still waiting (or was told to slow down)."""

    def __init__(self, result: LoginResult) -> None:
        super().__init__()
        self.result = result


def is_device_prompt(result: LoginResult | None) -> bool:
    from js7tui.identity.chain import LoginStatus
    from js7tui.identity.providers.base import DEVICE_CODE_PROMPT as PROMPT_TYPE
    return (result is not None and result.status is LoginStatus.INTERACTION_NEEDED
            and (result.interaction or {}).get("type") == PROMPT_TYPE)


class LoginScreen(ServiceScreen):
    BINDINGS = [
        Binding("ctrl+r", "continue_login", "Continue", id="login.continue",
                tooltip="Repeat the login after completing the step shown in the panel"),
        Binding("ctrl+o", "provider_login", "Identity provider", id="login.provider",
                tooltip="Log in at an identity provider (OIDC device flow): a code to confirm "
                        "in a browser on any device; the account may stay empty"),
        Binding("escape", "cancel_device", "Cancel", id="login.cancel_device",
                tooltip="Cancel the device-flow login"),
        # priority, as Textual's own (hidden) ctrl+q is: the footer then shows this one
        Binding("ctrl+q", "app.quit", "Quit", id="login.quit", tooltip="Leave js7tui",
                priority=True),
    ]
    HELP = "Log in with an account of one of the identity services. **enter** logs in."

    def __init__(self, ctx: Any, message: str = "") -> None:
        super().__init__(ctx, id="login")
        self.message = message
        self.interaction: dict[str, Any] | None = None
        self.busy = False
        self.device: dict[str, Any] | None = None     # the device-flow prompt being shown
        self._request: LoginRequest | None = None
        self._device_cancel = threading.Event()
        self._device_list: list[str] | None = None
        saved = ctx.remembered_session()
        # A remembered session is being resumed: no form until that is decided.
        self.resuming: str | None = saved.account if saved is not None else None

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box", classes="dialog"):
            yield Label("js7tui · log in", classes="dialog-title")
            # the level is read from the store, which may open just after this first frame
            level = self.ctx.security_level if self.ctx.console_ready else "…"
            yield Static(f"security level {level}", id="login-level", classes="dim")
            yield Input(id="login-account", placeholder="account")
            yield Input(id="login-password", placeholder="password", password=True)
            yield MarkedCheckbox("remember me on this machine", id="login-remember")
            yield Static(escape(self.message), id="login-message", classes="error")
            yield Static("[b]enter[/b] next field, log in from the password or the box   "
                         "[b]space[/b] tick   [b]ctrl+q[/b] quit", classes="dialog-keys")
            with Vertical(id="login-interaction"):
                yield Static("", id="login-interaction-text")
        with Center(id="login-resuming-box"):
            yield Static(f"resuming the remembered session of "
                         f"{escape(self.resuming or '')}…", id="login-resuming",
                         classes="dialog")

    def _mount_the_rest(self) -> None:
        """The footer, the rest of the interaction panel and the (hidden) device-flow panel
        come once the home is open: the form is what the administrator types into, and it
        paints sooner without them; the home opens sooner with the UI thread idle."""
        from js7tui.tui.widgets.device_flow import DeviceFlowPanel
        from js7tui.tui.widgets.keys import KeysFooter
        interaction = self.query_one("#login-interaction")
        interaction.mount(Label("Action needed", classes="dialog-title"), before=0)
        interaction.mount(Static("then press [b]ctrl+r[/b] to continue",
                                 classes="dialog-keys"))
        box = Center(DeviceFlowPanel(id="login-device"), id="login-device-box")
        box.display = False
        self.mount(box)
        self.mount(KeysFooter())

    @property
    def device_panel(self) -> DeviceFlowPanel:
        return self.query_one("#login-device")  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.query_one("#login-interaction").display = False
        if self.ctx.console_ready:
            self.query_one("#login-remember").display = self.ctx.remember_me_enabled
        resuming = self.resuming is not None
        box = self.query_one("#login-box")
        box.display = not resuming
        box.disabled = resuming          # nothing in it takes focus (and keys) meanwhile
        self.query_one("#login-resuming-box").display = resuming
        if not resuming:
            self.query_one("#login-account", Input).focus()

    def resume_failed(self, message: str = "") -> None:
        """The remembered session could not be resumed (ended, expired, remember me turned
        off): the form, for the first time on this start."""
        self.resuming = None
        self.query_one("#login-resuming-box").display = False
        box = self.query_one("#login-box")
        box.display = True
        box.disabled = False
        self.say(message)
        self.query_one("#login-account", Input).focus()

    def home_opened(self, level: str, remember_me: bool) -> None:
        """The home opened after the first frame (the app calls this once): its security
        level, whether it lets a session be remembered (the box is shown until then, as the
        setting's default is), and the rest of the screen."""
        self.query_one("#login-level", Static).update(f"security level {level}")
        self.query_one("#login-remember").display = remember_me
        self._mount_the_rest()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "continue_login":
            return self.interaction is not None
        if action == "cancel_device":
            return self.device is not None
        if action == "provider_login":
            return self.device is None and bool(self._device_services())
        return True

    def _device_services(self) -> list[str]:
        """The services offering a provider login; [] until ``warm`` has read them (the
        footer asks on the first frame, which must not wait for the identity chain)."""
        return self._device_list or []

    def warm(self) -> None:
        """Build the login chain and read the device-flow services (a worker thread, after
        the first frame); the key for a provider login appears then."""
        from js7tui.identity.providers.base import DEVICE
        try:
            self._device_list = self.ctx.console.login.services_taking(DEVICE)
        except Js7Error:
            self._device_list = []
        self.app.call_from_thread(self.refresh_bindings)

    def reset(self, message: str = "") -> None:
        """Back to an empty form (logout, idle timeout): unsaved input is dropped."""
        self.interaction = None
        self.busy = False
        self.resuming = None
        self.query_one("#login-resuming-box").display = False
        box = self.query_one("#login-box")
        box.display = True
        box.disabled = False
        self.query_one("#login-account", Input).value = ""
        self.query_one("#login-password", Input).value = ""
        self.query_one("#login-remember", Checkbox).value = False
        self.query_one("#login-remember").display = self.ctx.remember_me_enabled
        self.query_one("#login-interaction").display = False
        self._device_cancel.set()
        self._hide_device()
        self.run_worker(self.warm, thread=True, group="warm")
        self.say(message)
        self.query_one("#login-account", Input).focus()

    def say(self, text: str) -> None:
        self.query_one("#login-message", Static).update(escape(text))

    @on(Input.Submitted, "#login-account")
    def _account_done(self) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    @on(MarkedCheckbox.Submitted, "#login-remember")
    def _password_done(self) -> None:
        self.submit()

    def submit(self, extra: dict[str, Any] | None = None) -> None:
        if self.busy or self.resuming is not None:
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
        from js7tui.identity.providers.base import LoginRequest
        request = LoginRequest(account, password, self.ctx.source, extra=extra or {})
        self._request = replace(request, extra={})
        self._login(request, keep)

    # -- device flow ----------------------------------------------------------------------
    def action_provider_login(self) -> None:
        services = self._device_services()
        if self.busy or not services:
            return
        if len(services) == 1:
            self._start_device(services[0])
            return

        def chosen(values: dict[str, Any] | None) -> None:
            if values and values.get("service"):
                self._start_device(values["service"])

        from js7tui.tui.widgets.modals import Field, FormModal
        self.app.push_screen(FormModal(
            "Log in at an identity provider",
            [Field("service", "identity service", kind="choice", choices=services,
                   value=services[0], required=True)]), chosen)

    def _start_device(self, service: str) -> None:
        account = self.query_one("#login-account", Input).value.strip()
        keep = bool(self.query_one("#login-remember", Checkbox).value)
        self.busy = True
        self.say(f"asking '{service}' for a device code…")
        from js7tui.identity.providers.base import LoginRequest
        self._request = LoginRequest(account, None, self.ctx.source, service=service)
        self._login(self._request, keep)

    def _show_device(self, result: LoginResult) -> None:
        self.device = dict(result.interaction or {})
        panel = self.device_panel
        panel.show(self.device, result.message, dark_background=self.app.current_theme.dark)
        self.query_one("#login-box").display = False
        self.query_one("#login-device-box").display = True
        self.refresh_bindings()

    def _hide_device(self) -> None:
        self.device = None
        self.query_one("#login-device-box").display = False
        self.query_one("#login-box").display = True
        self.refresh_bindings()

    def action_cancel_device(self) -> None:
        if self.device is not None:
            self._device_cancel.set()
            self.device_panel.update_status("cancelling…")

    @work(thread=True, group="login", exclusive=True)
    def _poll_device(self, request: LoginRequest, interaction: dict[str, Any],
                     keep: bool) -> None:
        """Poll until the login ends: wait the provider's interval (waking at once for esc
        or when the app closes), then repeat the login with the device handle."""
        worker = get_current_worker()
        while True:
            steps = max(1, int(float(interaction.get("interval") or 5) * 10))
            for _ in range(steps):
                if self._device_cancel.is_set() or worker.is_cancelled:
                    break
                self._device_cancel.wait(0.1)
            if worker.is_cancelled:
                return
            continued = replace(request, extra={"device_handle": interaction["device_handle"],
                                                **({"cancel": True}
                                                   if self._device_cancel.is_set() else {})})
            try:
                result = self.ctx.console.login.login(continued)
            except Js7Error as exc:
                self.post_message(LoginDone(None, str(exc), keep))
                return
            except Exception as exc:
                self.post_message(LoginDone(None, f"{type(exc).__name__}: {exc}", keep))
                return
            if not is_device_prompt(result):
                self.post_message(LoginDone(result, None, keep))
                return
            interaction = dict(result.interaction or {})
            self.post_message(DeviceUpdate(result))

    def on_device_update(self, message: DeviceUpdate) -> None:
        if self.device is not None:
            self.device = dict(message.result.interaction or {})
            self.device_panel.update_status(
                message.result.message)

    @work(thread=True, group="login", exclusive=True)
    def _login(self, request: LoginRequest, keep: bool) -> None:
        try:
            result = self.ctx.console.login.login(request)
        except Js7Error as exc:
            self.post_message(LoginDone(None, str(exc), keep))
        except Exception as exc:
            self.post_message(LoginDone(None, f"{type(exc).__name__}: {exc}", keep))
        else:
            self.post_message(LoginDone(result, None, keep))

    def on_login_done(self, message: LoginDone) -> None:
        self.busy = False
        if self.device is not None:
            self._hide_device()
        if message.error is not None:
            self.say(message.error)
            password = self.query_one("#login-password", Input)
            password.value = ""
            password.focus()
            return
        result = message.result
        assert result is not None
        from js7tui.identity.chain import LoginStatus
        if is_device_prompt(result) and self._request is not None:
            self.busy = True
            self._device_cancel = threading.Event()
            self.say("")
            self._show_device(result)
            self._poll_device(self._request, dict(result.interaction or {}), message.keep)
            return
        if result.status is LoginStatus.INTERACTION_NEEDED:
            self.show_interaction(result)
            return
        if result.status is LoginStatus.SECOND_FACTOR_REQUIRED:
            self.show_second_factor(result, message.keep)
            return
        assert result.session is not None
        self.hide_second_factor()
        self.query_one("#login-password", Input).value = ""
        self.interaction = None
        self.query_one("#login-interaction").display = False
        self.say("")
        self.app.logged_in(result.session, keep=message.keep)  # type: ignore[attr-defined]

    # -- second factor (js7tui.tui.widgets.second_factor) ----------------------------------
    def show_second_factor(self, result: LoginResult, keep: bool) -> None:
        """The first factor passed: the second-factor panel takes over from the form."""
        from js7tui.tui.widgets.second_factor import SecondFactorPanel
        self._pending = (result.pending or "", keep)
        found = self.query("#login-second-factor")
        if found:
            panel = found.first(SecondFactorPanel)
        else:
            panel = SecondFactorPanel(id="login-second-factor", classes="dialog")
            self.query_one("#login-box").mount(panel)
        self.say("")
        for name in ("#login-account", "#login-password"):
            self.query_one(name).disabled = True
        self.call_after_refresh(panel.show, result.interaction, result.message)

    def hide_second_factor(self) -> None:
        for name in ("#login-account", "#login-password"):
            self.query_one(name).disabled = False
        for panel in self.query("#login-second-factor"):
            panel.display = False

    def on_second_factor_panel_answered(self, message: Any) -> None:
        pending, keep = getattr(self, "_pending", ("", False))
        if message.error is not None:
            self.hide_second_factor()
            self.say(f"second factor not given: {message.error}; log in again")
            self.query_one("#login-password", Input).focus()
            return
        self.busy = True
        self.say("checking the second factor…")
        self._continue_login(pending, message.evidence, keep)

    def on_second_factor_panel_gave_up(self, message: Any) -> None:
        self.hide_second_factor()
        self.say("login cancelled")
        self.query_one("#login-password", Input).value = ""
        self.query_one("#login-password", Input).focus()

    @work(thread=True, group="login", exclusive=True)
    def _continue_login(self, pending: str, evidence: dict[str, Any], keep: bool) -> None:
        try:
            result = self.ctx.console.login.continue_login(pending, evidence, self.ctx.source)
        except Js7Error as exc:
            self.app.call_from_thread(self.hide_second_factor)
            self.post_message(LoginDone(None, str(exc), keep))
        except Exception as exc:
            self.app.call_from_thread(self.hide_second_factor)
            self.post_message(LoginDone(None, f"{type(exc).__name__}: {exc}", keep))
        else:
            self.post_message(LoginDone(result, None, keep))

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
