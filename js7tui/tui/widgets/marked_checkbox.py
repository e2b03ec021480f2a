"""A checkbox whose state is in its text, not only in its colour, toggled by space only.

Textual draws ``▐X▌`` for both states and tells them apart by colour alone; with ``NO_COLOR``,
on some 16-colour palettes and in a screen capture an unchecked box reads as checked. Here the
mark is ``X`` when on and blank when off.

Textual toggles on enter too; in a form that silently flipped the box the administrator meant
to submit with (remember me unticked by the enter that was to log in). Here space toggles and
enter posts ``MarkedCheckbox.Submitted``, which the form treats as Input's enter.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Checkbox


class MarkedCheckbox(Checkbox):
    inherit_bindings = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False),
        Binding("enter", "submit", "Submit", show=False),
    ]

    class Submitted(Message):
        """Enter on the box: submit the form it is in."""

        def __init__(self, checkbox: MarkedCheckbox) -> None:
            super().__init__()
            self.checkbox = checkbox

        @property
        def control(self) -> MarkedCheckbox:
            return self.checkbox

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = self._mark()

    def watch_value(self) -> None:
        self.BUTTON_INNER = self._mark()
        self.refresh()
        super().watch_value()

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self))

    def _mark(self) -> str:
        return "X" if self.value else " "
