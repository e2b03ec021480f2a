"""Dialogs of the inventory section: a result to read, schema errors with "edit again", the
archive chooser of import-deploy (a path with completion, keyboard only) and its per-entry
verification report, which is the last stop before anything is sent."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import Suggester
from textual.widgets import Input, Label, Select, Static

from js7tui.deployment.imports import ImportReport
from js7tui.tui.widgets.modals import _Modal


class _WideModal(_Modal):
    """A dialog wide enough for paths and reasons, its text scrolling when long."""

    DEFAULT_CSS = """
    _WideModal .dialog-scroll { height: auto; max-height: 20; }
    """

    def on_mount(self) -> None:
        # the app's stylesheet sets .dialog's width and wins over DEFAULT_CSS
        for box in self.query(".dialog.wide"):
            box.styles.width = 100


class TextModal(_WideModal):
    """Something to read (a deployment's outcome, a detail); enter or escape closes it."""

    BINDINGS = [
        Binding("enter,q", "cancel", "Close", id="text.close", tooltip="Close"),
    ]

    def __init__(self, title: str, body: str, *, wide: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.wide = wide

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide" if self.wide else "dialog"):
            yield Label(escape(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(escape(self.body), classes="dialog-text", id="text-body")
            yield Static("[b]enter[/b]/[b]esc[/b] close", classes="dialog-keys")


class SchemaErrorModal(_WideModal):
    """The service refused the edited JSON: every problem on its own line, led by its field's
    JSON pointer. ``e`` edits the same text again (nothing was saved), escape drops it."""

    BINDINGS = [
        Binding("e", "again", "Edit again", id="schema.again",
                tooltip="Open the editor again on what you wrote"),
    ]

    def __init__(self, what: str, message: str) -> None:
        super().__init__()
        self.what = what
        self.message = message

    @staticmethod
    def problems(message: str) -> list[str]:
        """'X is not valid: /a: ...; /b: ...' as one line per problem."""
        head, sep, rest = message.partition(" is not valid: ")
        if not sep:
            return [message]
        return [f"{head} is not valid:", *(f"  {p}" for p in rest.split("; "))]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(escape(f"Not saved: {self.what}"), classes="dialog-title")
            yield Static(escape("\n".join(self.problems(self.message))),
                         classes="dialog-text error", id="schema-errors")
            yield Static("[b]e[/b] edit again   [b]esc[/b] discard the edit",
                         classes="dialog-keys")

    def action_again(self) -> None:
        self.dismiss(True)


class PathSuggester(Suggester):
    """Completes a file path from the file system (right arrow or end accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        directory, _, start = expanded.rpartition("/")
        base = Path(directory or ".") if directory or not expanded.startswith("/") else Path("/")
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in base.iterdir()
                           if p.name.startswith(start) and not p.name.startswith("."))
        except OSError:
            return None
        if not names or names[0] == start:
            return None
        return value[: len(value) - len(start)] + names[0]


class ImportModal(_Modal):
    """Choose the signed archive (path with completion) and the target Controller; dismisses
    with ``(path, controller)`` or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Verify", id="import.verify",
                tooltip="Verify the archive (nothing is sent yet)"),
    ]

    def __init__(self, controllers: Sequence[str], path: str = "") -> None:
        super().__init__()
        self.controllers = list(controllers)
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label("Import-deploy a signed archive", classes="dialog-title")
            yield Static("Every signature is verified first; you see the report before "
                         "anything is sent.", classes="dialog-text")
            with Horizontal(classes="form-row"):
                yield Label("Archive (.zip/.tar.gz) *", classes="form-label")
                yield Input(self.path, id="import-path", suggester=PathSuggester(),
                            placeholder="path; right arrow completes")
            with Horizontal(classes="form-row"):
                yield Label("Controller *", classes="form-label")
                yield Select([(c, c) for c in self.controllers],
                             value=self.controllers[0] if self.controllers else Select.BLANK,
                             allow_blank=False, id="import-controller")
            yield Static("", id="import-error", classes="error")
            yield Static("[b]enter[/b]/[b]ctrl+s[/b] verify   [b]esc[/b] cancel",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        path = os.path.expanduser(self.query_one("#import-path", Input).value.strip())
        controller = self.query_one("#import-controller", Select).value
        error = self.query_one("#import-error", Static)
        if not path:
            error.update("name the signed archive")
        elif not Path(path).is_file():
            error.update(escape(f"{path} is not a file"))
        elif not isinstance(controller, str):
            error.update("choose the Controller")
        else:
            self.dismiss((path, controller))


def report_lines(report: ImportReport) -> list[str]:
    """The report as lines of words (OK / REFUSED), for the modal and the tests."""
    lines = [f"Archive {report.archive} for Controller {report.controller_id}"]
    if report.signer:
        lines.append(f"Your signing certificate: {report.signer}")
    if report.problem:
        lines += ["", "REFUSED as a whole: " + report.problem]
    for check in report.entries:
        kind = check.object_type.label
        if check.ok:
            lines.append(f"  OK       {check.entry}  ({kind} {check.path}, version "
                         f"{check.version_id}): signature verified")
        else:
            assert check.refused is not None
            lines.append(f"  REFUSED  {check.entry}  ({kind} {check.path}): "
                         f"{check.refused.reason}")
    good = sum(c.ok for c in report.entries)
    lines += ["", f"{good} of {len(report.entries)} object(s) verified."]
    lines.append("Nothing has been sent yet." if report.ok else
                 "Nothing will be sent: every object must verify.")
    return lines


class ImportReportModal(_WideModal):
    """The verification report; ``y`` sends (only when every entry verified)."""

    BINDINGS = [
        Binding("y", "send", "Send", id="report.send",
                tooltip="Deploy the verified archive to the Controller"),
    ]
    CANCEL_VALUE = False

    def __init__(self, report: ImportReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        title = "Verification report" + ("" if self.report.ok else ": REFUSED")
        with Vertical(classes="dialog wide"):
            yield Label(title, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(escape("\n".join(report_lines(self.report))),
                             classes="dialog-text", id="report-body")
            keys = ("[b]y[/b] send to the Controller   [b]esc[/b] cancel" if self.report.ok
                    else "[b]esc[/b] close")
            yield Static(keys, classes="dialog-keys")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return self.report.ok
        return True

    def action_send(self) -> None:
        if self.report.ok:
            self.dismiss(True)
