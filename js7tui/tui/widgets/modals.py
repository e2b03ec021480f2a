"""Small modal dialogs every screen uses; each returns a typed value through ``dismiss``.

``ConfirmModal`` (y/n) before a change, ``TypedConfirmModal`` (type the name) before an
irreversible one, ``CommentModal`` for the audit comment (comment, ticket link, minutes spent ->
``AuditMeta``), ``FormModal`` for short forms built from a list of ``Field``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Label, OptionList, Select, SelectionList, Static

from js7tui.errors import ValidationError
from js7tui.tui.widgets.marked_checkbox import MarkedCheckbox


class _Modal(ModalScreen):
    """Escape cancels (dismisses with None/False); the dialog box has the class ``dialog``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel",
                tooltip="Close without doing anything"),
    ]
    CANCEL_VALUE: Any = None

    def action_cancel(self) -> None:
        self.dismiss(self.CANCEL_VALUE)


class ConfirmModal(_Modal):
    """A yes/no question; y confirms, n or escape declines."""

    BINDINGS = [
        Binding("y", "yes", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n", "cancel", "No", id="confirm.no", tooltip="Decline"),
    ]
    CANCEL_VALUE = False

    def __init__(self, question: str, *, title: str = "Confirm") -> None:
        super().__init__()
        self.question = question
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.question, classes="dialog-text")
            yield Static("[b]y[/b] yes   [b]n[/b] no", classes="dialog-keys")

    def action_yes(self) -> None:
        self.dismiss(True)


class TypedConfirmModal(_Modal):
    """For irreversible changes: the person types ``expected`` exactly (k9s/lazygit habit)."""

    CANCEL_VALUE = False

    def __init__(self, question: str, expected: str, *, title: str = "Confirm") -> None:
        super().__init__()
        self.question = question
        self.expected = expected
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.question, classes="dialog-text")
            yield Static(f"Type [b]{_escape(self.expected)}[/b] and press enter, or escape.",
                         classes="dialog-text")
            yield Input(id="typed", placeholder=self.expected)
            yield Static("", id="typed-error", classes="error")

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.expected:
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Static).update(
                f"that is not '{_escape(self.expected)}'; nothing was changed yet")


class CommentModal(_Modal):
    """The audit comment for a change. ``required``: the setting forces a comment."""

    BINDINGS = [
        Binding("ctrl+s", "save", "OK", id="comment.ok", tooltip="Use this comment"),
    ]

    def __init__(self, what: str, *, required: bool, choices: Sequence[str] = ()) -> None:
        super().__init__()
        self.what = what
        self.required = required
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label("Audit comment", classes="dialog-title")
            note = ("required: every change needs a comment (force_comments_for_audit_log)"
                    if self.required else "optional")
            yield Static(f"{_escape(self.what)}\n[dim]{note}[/dim]", classes="dialog-text")
            yield Input(id="comment", placeholder="reason (tab completes a predefined one)",
                        suggester=SuggestFromList(self.choices, case_sensitive=False),
                        max_length=255)
            yield Input(id="ticket", placeholder="ticket link (optional)")
            yield Input(id="minutes", placeholder="minutes spent (optional)", type="integer")
            yield Static("", id="comment-error", classes="error")
            yield Static("[b]enter[/b] OK   [b]esc[/b] cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#comment", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "comment" and not event.value.strip() and self.required:
            self._error("a comment is required")
            return
        self.action_save()

    def action_save(self) -> None:
        comment = self.query_one("#comment", Input).value.strip()
        if self.required and not comment:
            self._error("a comment is required")
            return
        minutes = self.query_one("#minutes", Input).value.strip()
        try:
            from js7tui.audit import AuditMeta
            meta = AuditMeta(comment=comment,
                             ticket_link=self.query_one("#ticket", Input).value.strip(),
                             time_spent=int(minutes) if minutes else None).validated()
        except (ValueError, ValidationError) as exc:
            self._error(str(exc))
            return
        self.dismiss(meta)

    def _error(self, text: str) -> None:
        self.query_one("#comment-error", Static).update(_escape(text))


class CheckList(SelectionList[str]):
    """A checklist whose state is written in each line (``[+]`` chosen, ``[ ]`` not), so it
    reads right without colour (NO_COLOR, monochrome terminals, screen readers). Textual's own
    button (``▐X▌`` on every row, chosen or not) is not drawn: the project's mark is the one."""

    def render_line(self, y: int) -> Strip:
        return OptionList.render_line(self, y)   # the prompt alone, without the button

    def _get_left_gutter_width(self) -> int:
        return 0

    def __init__(self, choices: Sequence[str], chosen: Sequence[str], **kwargs: Any) -> None:
        self._labels = list(choices)
        picked = set(chosen)
        super().__init__(*[(_mark(c, c in picked), c, c in picked) for c in choices], **kwargs)

    @on(SelectionList.SelectedChanged)
    def _marks(self) -> None:
        picked = set(self.selected)
        for index, label in enumerate(self._labels):
            self.replace_option_prompt_at_index(index, _mark(label, label in picked))


def _mark(label: str, on: bool) -> Text:
    return Text(f"[{'+' if on else ' '}] {label}")


@dataclass
class Field:
    """One field of a ``FormModal``. kind: text, password, bool, choice or multi."""

    name: str
    label: str
    kind: str = "text"
    value: Any = None
    choices: Sequence[str] = ()
    help: str = ""
    placeholder: str = ""
    required: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class FormModal(_Modal):
    """A short form; dismisses with ``{name: value}`` (text as typed) or None.

    ``validate`` (optional) takes the values and raises ValidationError to keep the form open
    with the message shown; enter in any field (a text field or a yes/no box) or ctrl+s
    submits, tab moves on, space ticks a box.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", tooltip="Save the form"),
    ]

    def __init__(self, title: str, fields: Sequence[Field], *, note: str = "",
                 validate: Any = None) -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)
        self.note = note
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label(self.title_text, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-text")
            with VerticalScroll(classes="form-fields"):
                for f in self.fields:
                    yield from self._compose_field(f)
            yield Static("", id="form-error", classes="error")
            yield Static("[b]enter[/b] save (from any field)   [b]tab[/b] next field   "
                         "[b]space[/b] tick   [b]esc[/b] cancel", classes="dialog-keys")

    def _compose_field(self, f: Field) -> ComposeResult:
        wid = f"field-{f.name}"
        label = f.label + (" *" if f.required else "")
        if f.kind == "bool":
            yield MarkedCheckbox(label, bool(f.value), id=wid)
        elif f.kind == "choice":
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield Select([(c, c) for c in f.choices], value=f.value or Select.BLANK,
                             allow_blank=not f.required, id=wid)
        elif f.kind == "multi":
            yield Label(label, classes="form-label")
            yield CheckList(f.choices, list(f.value or ()), id=wid, classes="form-multi")
        else:
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield Input("" if f.value is None else str(f.value), id=wid,
                            password=f.kind == "password", placeholder=f.placeholder)
        if f.help:
            yield Static(f.help, classes="form-help")

    def on_mount(self) -> None:
        for widget in self.query("Input, Checkbox, Select, SelectionList"):
            widget.focus()
            break

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#field-{f.name}")
            if isinstance(widget, Checkbox):
                out[f.name] = widget.value
            elif isinstance(widget, Select):
                out[f.name] = None if widget.value is Select.BLANK else widget.value
            elif isinstance(widget, SelectionList):
                out[f.name] = list(widget.selected)
            else:
                out[f.name] = widget.value  # type: ignore[attr-defined]
        return out

    @on(Input.Submitted)
    @on(MarkedCheckbox.Submitted)
    def _submitted(self, event: Input.Submitted | MarkedCheckbox.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        values = self.values()
        missing = [f.label for f in self.fields
                   if f.required and (values.get(f.name) in (None, "", []))]
        if missing:
            self._error("required: " + ", ".join(missing))
            return
        if self.validate is not None:
            try:
                self.validate(values)
            except ValidationError as exc:
                self._error(str(exc))
                return
        self.dismiss(values)

    def _error(self, text: str) -> None:
        self.query_one("#form-error", Static).update(_escape(text))


def _escape(text: str) -> str:
    from rich.markup import escape
    return escape(text)
