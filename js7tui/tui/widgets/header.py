"""The two header lines: the sections with their digits, and who is logged in for how long.

States are words (``READ-ONLY``, ``[3 Accounts]`` for the current section), never colour alone.
The time left is the idle timeout minus the time since the last key press, read from the
console's clock so tests with a frozen clock see exact values. It is shown in whole minutes
(seconds only in the last minute), with the session's own timeout: a timeout changed in the
settings applies from the next login, and "of 30m" says which one this session keeps.

Quiet on a thin link: the lines are rewritten only when their text changes and only while the
screen is the one shown (a pushed screen above is repainted whenever the screen below
changes), so a console at rest writes nothing for a minute at a time.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from js7tui.tui.context import TuiContext
from js7tui.tui.sections import SECTIONS, Section


def time_left_text(seconds: float | None, timeout: int | None = None) -> str:
    """``29 min left of 30m``: minutes (rounded up) until the last one, then seconds."""
    if seconds is None:
        return "no idle timeout"
    seconds = max(0, int(seconds))
    of = ""
    if timeout is not None and timeout > 0:
        from js7tui.durations import format_duration
        of = f" of {format_duration(timeout)}"
    if seconds < 60:
        return f"{seconds} s left{of}"
    minutes = -(-seconds // 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"{clock} left{of}"


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
        self.set_interval(1.0, self._tick, name="header")

    def _tick(self) -> None:
        if self.screen.is_current:
            self.refresh_session()

    def _tabs(self) -> str:
        """Every permitted section as ``digit name``; when that does not fit the width, the
        names are shortened (with an ellipsis), then only the current section keeps its name
        and the others show their digit. A section without a digit (Settings, reached with
        ``:``) stands apart after a ``·``, so it never reads as the digit before it. A section
        kept out of the tabs (Approvals, reached with ``:``) shows only while it is open."""
        allowed = [s for s in SECTIONS if self.ctx.can(s.permission)
                   and (s.in_tabs or s.mode == self.current)]
        width = self.size.width or self.app.size.width
        for level in ("full", "short", "digits"):
            texts = [self._tab(s, level) for s in allowed]
            if sum(len(t) + 1 for t in texts) + 2 <= width:
                break
        parts = []
        for section, text in zip(allowed, texts, strict=True):
            current = section.mode == self.current
            label = escape(text)
            parts.append(f"[reverse b]\\[{label}][/]" if current else label)
            if not section.key:
                parts[-1] = "· " + parts[-1]
        return " ".join(parts)

    def _tab(self, section: Section, level: str) -> str:
        key, name = section.key, section.tab
        if section.mode == self.current or level == "full" or not key:
            return f"{key} {name}".strip()
        if level == "short":
            return f"{key} {name if len(name) <= 5 else name[:4] + '…'}"
        return key

    def on_resize(self) -> None:
        self._set("#header-tabs", self._tabs())

    def _set(self, selector: str, text: str) -> None:
        """Update a line only when its text changed (an update relayouts and repaints)."""
        line = self.query_one(selector, Static)
        if getattr(line, "_shown_text", None) != text:
            line._shown_text = text  # type: ignore[attr-defined]
            line.update(text, layout=False)    # one line, never wrapped: same height

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
                f"{time_left_text(self.ctx.idle_left(), session.idle_timeout)}{readonly}"
                f"{approvals}")

    def _approvals(self, session: object) -> int:
        """Requests waiting for me (to decide, or mine to execute): a small store read."""
        try:
            return int(self.ctx.console.approvals.pending_count(session))
        except Exception:
            return 0

    def refresh_session(self) -> None:
        self._set("#header-tabs", self._tabs())
        self._set("#header-who", self._who())

