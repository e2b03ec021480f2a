"""A checkbox whose state is in its text, not only in its colour.

Textual draws ``▐X▌`` for both states and tells them apart by colour alone; with ``NO_COLOR``,
on some 16-colour palettes and in a screen capture an unchecked box reads as checked. Here the
mark is ``X`` when on and blank when off.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox


class MarkedCheckbox(Checkbox):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = self._mark()

    def watch_value(self) -> None:
        self.BUTTON_INNER = self._mark()
        self.refresh()
        super().watch_value()

    def _mark(self) -> str:
        return "X" if self.value else " "
