"""The two header lines: the sections with their digits, and who is logged in for how long.

States are words (``READ-ONLY``, ``[3 Accounts]`` for the current section), never colour alone.
The time left is the idle timeout minus the time since the last key press, read from the
console's clock so tests with a frozen clock see exact values.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from js7tui.tui.context import TuiContext
from js7tui.tui.sections import SECTIONS


def time_left_text(seconds: float | None) -> str:
    if seconds is None:
        return "no idle timeout"
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
    return f"{clock} left"


class SessionHeader(Vertical):
    DEFAULT_CSS = """
    SessionHeader { height: 2; dock: top; background: $panel; }
    SessionHeader > Static { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, ctx: TuiContext, current: str) -> None:
        super().__init__(id="session-header")
        self.ctx = ctx
        self.current = current

    def compose(self) -> ComposeResult:
        yield Static(self._tabs(), id="header-tabs")
        yield Static(self._who(), id="header-who")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_session)

    def _tabs(self) -> str:
        """Every permitted section as ``digit name``; when that does not fit the width (80
        columns), only the current section keeps its name and the others show their digit."""
        allowed = [s for s in SECTIONS if self.ctx.can(s.permission)
                   and (s.in_tabs or s.mode == self.current)]
        full = [f"{s.key} {s.tab}".strip() for s in allowed]
        width = self.size.width or self.app.size.width
        compact = sum(len(text) + 1 for text in full) + 2 > width
        parts = []
        for section, text in zip(allowed, full, strict=True):
            current = section.mode == self.current
            label = escape(text if current or not compact or not section.key else section.key)
            parts.append(f"[reverse b]\\[{label}][/]" if current else label)
        return " ".join(parts)

    def on_resize(self) -> None:
        self.query_one("#header-tabs", Static).update(self._tabs())

    def _who(self) -> str:
        session = self.ctx.session
        if session is None:
            return "not logged in"
        level = self.ctx.security_level
        services = ", ".join(session.services)
        readonly = "  [b]READ-ONLY[/b]" if self.ctx.readonly else ""
        waiting = self._approvals(session)
        approvals = f"  ·  [b]{waiting} approval(s)[/b] (: Approvals)" if waiting else ""
        return (f"{escape(session.account)} @ {escape(services)}  ·  security {level}  ·  "
                f"{time_left_text(self.ctx.idle_left())}{readonly}{approvals}")

    def _approvals(self, session: object) -> int:
        """Requests waiting for me (to decide, or mine to execute): a small store read."""
        try:
            return int(self.ctx.console.approvals.pending_count(session))
        except Exception:
            return 0

    def refresh_session(self) -> None:
        self.query_one("#header-tabs", Static).update(self._tabs())
        self.query_one("#header-who", Static).update(self._who())

