"""The login form's second-factor step: shown after the first factor passed on a TWO-FACTOR
service (and for a CERTIFICATE or FIDO service chosen alone).

Certificate: the certificate file (empty: the one bound to the account) and the key file
(empty: the ssh-agent signs, over SSH the laptop's forwarded agent); **enter** answers.
FIDO: **enter** asks the security key on this machine; **ctrl+p** serves a one-time page on
127.0.0.1 for the laptop's browser (the panel shows the ``ssh -L`` forward and the address).
**escape** gives up (the first factor must be given again).

The panel only builds the evidence (in a worker thread: a touch or an agent's confirmation may
take a while); the login screen hands it to the login chain.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

CERTIFICATE_PROMPT = "certificate_challenge"
FIDO_PROMPT = "fido_assertion"


class SecondFactorPanel(Vertical, can_focus=True):
    BINDINGS = [
        Binding("escape", "give_up", "Cancel", id="second_factor.cancel",
                tooltip="Give up this login; the first factor must be given again"),
        Binding("enter", "answer", "Answer", id="second_factor.answer", show=True,
                tooltip="Sign the challenge / ask the security key on this machine"),
        Binding("ctrl+p", "page", "Page for the laptop", id="second_factor.page",
                tooltip="FIDO over SSH: a one-time page for the laptop's browser"),
    ]

    class Answered(Message):
        def __init__(self, evidence: dict[str, Any] | None, error: str | None) -> None:
            super().__init__()
            self.evidence = evidence
            self.error = error

    class GaveUp(Message):
        pass

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prompt: dict[str, Any] = {}
        self.busy = False
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield Label("Second factor", classes="dialog-title")
        yield Static("", id="second-factor-text")
        yield Input(id="second-factor-certificate",
                    placeholder="certificate file (empty: the one bound to the account)")
        yield Input(id="second-factor-key",
                    placeholder="key file (empty: the ssh-agent signs)")
        yield Static("", id="second-factor-status", classes="dim")

    @property
    def is_certificate(self) -> bool:
        return self.prompt.get("type") == CERTIFICATE_PROMPT

    def show(self, prompt: dict[str, Any] | None, message: str) -> None:
        self.prompt = dict(prompt or {})
        self.busy = False
        self._cancel = threading.Event()
        if self.is_certificate:
            text = (f"{escape(message)}\nThe certificate's key signs a one-time challenge. "
                    "Over SSH: log in with [b]ssh -A[/b] and keep the key in the laptop's "
                    "agent. [b]enter[/b] signs, [b]esc[/b] cancels.")
        elif self.prompt.get("type") == FIDO_PROMPT:
            text = (f"{escape(message)}\n[b]enter[/b]: touch the security key on this machine"
                    ".  [b]ctrl+p[/b]: over SSH, a page for the laptop's browser.  [b]esc[/b] "
                    "cancels.")
        else:
            text = f"{escape(message)}\nThis console cannot answer this second factor."
        self.query_one("#second-factor-text", Static).update(text)
        for name in ("#second-factor-certificate", "#second-factor-key"):
            self.query_one(name).display = self.is_certificate
        self.status("")
        self.display = True
        (self.query_one("#second-factor-certificate") if self.is_certificate else self).focus()

    def status(self, text: str) -> None:
        self.query_one("#second-factor-status", Static).update(escape(text))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "second-factor-certificate":
            self.query_one("#second-factor-key", Input).focus()
        else:
            self.action_answer()

    def action_give_up(self) -> None:
        self._cancel.set()
        self.post_message(self.GaveUp())

    def action_answer(self) -> None:
        if self.busy or not self.prompt:
            return
        self.busy = True
        self.status("signing…" if self.is_certificate else "touch the security key…")
        self._evidence(page=False)

    def action_page(self) -> None:
        if self.busy or self.prompt.get("type") != FIDO_PROMPT:
            return
        self.busy = True
        self._evidence(page=True)

    @work(thread=True, group="second-factor", exclusive=True)
    def _evidence(self, page: bool) -> None:
        try:
            evidence = self._build(page)
        except Exception as exc:   # a refusal of the agent, no key plugged in, a bad file
            self.post_message(self.Answered(None, str(exc) or type(exc).__name__))
            return
        self.post_message(self.Answered(evidence, None))

    def _build(self, page: bool) -> dict[str, Any]:
        if self.is_certificate:
            from js7tui.identity.factors.client import certificate_evidence
            cert = self.query_one("#second-factor-certificate", Input).value.strip()
            key = self.query_one("#second-factor-key", Input).value.strip()
            return certificate_evidence(
                self.prompt, certificate=Path(cert).expanduser().read_bytes() if cert else None,
                key=Path(key).expanduser().read_bytes() if key else None)
        if page:
            from js7tui.identity.factors.fido_page import FidoPage
            fido_page = FidoPage(self.prompt)
            url = fido_page.start()
            self.app.call_from_thread(
                self.status, f"on the laptop: ssh -L {fido_page.port}:127.0.0.1:"
                f"{fido_page.port} ...  then open {url}")
            return fido_page.wait(timeout=120, cancel=self._cancel)
        from js7tui.identity.factors import fido_client
        return fido_client.assertion(self.prompt, cancel=self._cancel)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            return self.prompt.get("type") == FIDO_PROMPT
        return True
