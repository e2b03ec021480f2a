"""Modals of the Controllers section: the step-by-step connection test and a Controller's
Agents. The opening screen runs the network call in its worker and hands the result in, so a
modal never blocks and can be closed while a dead Controller times out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from js7tui.client.diagnose import Diagnosis
from js7tui.text import for_terminal
from js7tui.tui.widgets.lists import HouseTable, Row, fit_rows

STEP_WIDTH = 18


def diagnosis_text(diagnosis: Diagnosis) -> str:
    """The steps as lines: a word for the state (never colour alone), the step, the sentence,
    and under a failed step what to check."""
    lines = []
    for step in diagnosis.steps:
        state = "ok    " if step.ok else "FAILED"
        lines.append(f"[b]{state}[/b]  {escape(step.name):<{STEP_WIDTH}} {escape(step.text)}")
        if step.hint:
            lines.append(f"{'':8}[i]check:[/i] {escape(step.hint)}")
    verdict = ("[b]Result: login ok[/b] - the console can work with this Controller."
               if diagnosis.ok else
               f"[b]Result: stopped at {escape(diagnosis.failed.name)}[/b]"  # type: ignore[union-attr]
               " - the steps after it were not tried.")
    return "\n".join([*lines, "", verdict])


class _ResultModal(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="result.close", tooltip="Back to the list"),
    ]
    WIDTH = 110     # wider than the house dialog: a step's sentence fits on one line

    def __init__(self, title: str, again: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.again = again

    def on_mount(self) -> None:
        self.query_one(".dialog").styles.width = self.WIDTH

    def action_close(self) -> None:
        self.dismiss(None)

    def action_again(self) -> None:
        if self.again is not None:
            self.again()


class DiagnosisModal(_ResultModal):
    """The connection test of one Controller, step by step."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("t", "again", "Test again", id="diagnosis.again",
                tooltip="Run the connection test again"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="form-fields"):
                yield Static("testing: URL, DNS, TCP, TLS handshake, server certificate, DN, "
                             "login, health...", id="diagnosis-steps", classes="dialog-text")
            yield Static("[b]t[/b] test again   [b]esc[/b] close", classes="dialog-keys")

    def testing(self) -> None:
        if self.is_attached:
            self.query_one("#diagnosis-steps", Static).update("testing again...")

    def show(self, diagnosis: Diagnosis) -> None:
        if self.is_attached:
            self.query_one("#diagnosis-steps", Static).update(diagnosis_text(diagnosis))

    def show_error(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#diagnosis-steps", Static).update(
                f"[b]FAILED[/b]  {escape(for_terminal(text))}")


def agent_state(agent: dict[str, Any]) -> str:
    return "connected" if agent.get("connected") else "not connected"


class AgentsModal(_ResultModal):
    """A Controller's Agents as it reports them: URL, link state, last error."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("r", "again", "Reload", id="agents.reload", tooltip="Ask the Controller again"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield HouseTable(("Agent", "URL", "State", "Last error"), id="agents-table",
                             empty="asking the Controller...")
            yield Static("", id="agents-error", classes="error")
            yield Static("[b]r[/b] reload   [b]esc[/b] close", classes="dialog-keys")

    def on_mount(self) -> None:
        super().on_mount()
        fit_rows(self.query_one(HouseTable), [])
        self.query_one(HouseTable).focus()

    def show(self, agents: list[dict[str, Any]]) -> None:
        if not self.is_attached:
            return
        table = self.query_one(HouseTable)
        table.empty_text = "the Controller has no Agents"
        fit_rows(table, [Row(str(a.get("name", "?")), (
            str(a.get("name", "?")), str(a.get("url", "")), agent_state(a),
            str(a.get("lastError") or "-"))) for a in agents], 15)
        self.query_one("#agents-error", Static).update("")

    def show_error(self, text: str) -> None:
        if self.is_attached:
            self.query_one(HouseTable).empty_text = "no answer"
            fit_rows(self.query_one(HouseTable), [])
            self.query_one("#agents-error", Static).update(escape(text))
