"""Updating a line of text without repainting the screen around it (thin links).

``Static.update`` runs a layout pass of the whole screen by default, which rewrites every
widget whose region moved or might have (scroll bars of scrolling views included), and it does
so even when the text is the same. Here an update that changes nothing is skipped, and one
that keeps the widget's height (the same number of lines at its width) repaints only the widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def _lines(markup: str, width: int) -> int:
    try:
        plain = Text.from_markup(markup).plain
    except Exception:
        plain = markup
    width = max(1, width)
    return sum(max(1, -(-Text(line).cell_len // width)) for line in plain.split("\n"))


def update_quietly(widget: Static, text: str) -> None:
    old = getattr(widget, "_quiet_text", None)
    if old == text:
        return
    width = widget.content_size.width or widget.app.size.width
    height = _lines(text, width)
    same_height = old is not None and getattr(widget, "_quiet_height", None) == height
    widget._quiet_text = text  # type: ignore[attr-defined]
    widget._quiet_height = height  # type: ignore[attr-defined]
    widget.update(text, layout=not same_height)
