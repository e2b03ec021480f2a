"""A section that is not built yet says so instead of failing."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Static

from js7tui.tui.screens.base import SectionScreen


class PlaceholderScreen(SectionScreen):
    TEXT = "This section is not built yet."

    def compose_body(self) -> ComposeResult:
        yield Static(escape(self.TEXT), classes="placeholder")
