"""NO_COLOR (https://no-color.org): no colour codes at all, only text attributes.

The console never says anything by colour alone (states are words and marks), so dropping the
colours loses nothing but the cursor rows' backgrounds, which ``app.tcss`` draws reversed
under ``App:nocolor``.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter


class StripColor(LineFilter):
    """Every segment keeps its attributes (bold, reverse, underline...) without colours."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, None if style is None else style.without_color, control)
                for text, style, control in segments]
