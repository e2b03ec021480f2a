"""Section 1: a placeholder overview until the Controllers arrive (issue 7)."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.sections import SECTIONS


class DashboardScreen(SectionScreen):
    SECTION = "dashboard"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dashboard"):
            yield Static(id="dashboard-text")

    def reload(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        lines = [f"Logged in as [b]{escape(session.account)}[/b] via "
                 f"{escape(', '.join(session.services))}; security level "
                 f"{self.ctx.security_level}.", "",
                 "Sections (press the digit, or [b]:[/b] for the palette, [b]?[/b] for keys):"]
        for section in SECTIONS:
            state = "" if self.ctx.can(section.permission) else "  (not permitted)"
            lines.append(f"  [b]{section.key or ' '}[/b]  {section.title:<26} "
                         f"{escape(section.description)}{state}")
        if self.ctx.readonly:
            lines += ["", "[b]READ-ONLY[/b]: every changing key is hidden."]
        lines += ["", "[dim]The Controller overview comes here in a later release.[/dim]"]
        self.query_one("#dashboard-text", Static).update("\n".join(lines))
