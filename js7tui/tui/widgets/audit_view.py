"""The audit log as a virtual line view: a million entries without a widget (or a row) each.

Toolong's model: a line-API ``ScrollView`` whose virtual height is the number of entries, that
renders only the lines on screen from an :class:`~js7tui.audit.pager.AuditPager`. Missing pages
are fetched by thread workers (``source.page``) that post :class:`PageLoaded`; the total comes
from a count worker afterwards, so the first page paints without waiting for it. The view never
touches the store: ``source`` is the screen's adapter over ``console.audit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from js7tui.audit.log import AuditEntry
from js7tui.audit.pager import AuditPager, PageRequest
from js7tui.audit.query import AuditFilter, AuditKey

_CONTROL = {code: " " for code in range(32)} | {127: " "}
COLUMNS = f"  {'Id':>8} {'Time (UTC)':<16} {'Account':<12} {'Category':<12} {'Outcome':<8}What"


@dataclass(frozen=True)
class AuditSource:
    """How the view reads: three blocking calls, run in workers (the screen binds the
    session)."""

    newest: Callable[[], AuditKey | None]
    page: Callable[[AuditFilter, PageRequest], list[AuditEntry]]
    counter: Callable[[AuditFilter, AuditKey | None], Counter]


class Counter(Protocol):
    """A count authorized already; ``run`` blocks, ``cancel`` stops it from another thread."""

    def run(self) -> int: ...

    def cancel(self) -> None: ...


def clean(text: str) -> str:
    """One line: control characters (a newline in a comment) become spaces."""
    return text.translate(_CONTROL)


def format_line(entry: AuditEntry) -> str:
    when = entry.created[:16].replace("T", " ")
    outcome = "REFUSED" if entry.outcome == "REFUSED" else "ok"
    what = entry.path or entry.request
    if entry.controller_id:
        what += f" @{entry.controller_id}"
    if entry.comment:
        what += f"  # {entry.comment}"
    return clean(f"{entry.id:>8} {when:<16} {cut(entry.account, 12):<12} "
                 f"{cut(entry.category, 12):<12} {outcome:<8}{what}")


def cut(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut with an ellipsis (never silently)."""
    return text if len(text) <= width else text[:width - 1] + "…"


class AuditLogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Entries newest first, one line each; the cursor row is marked ``>`` (not by colour)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "audit-view--cursor", "audit-view--refused", "audit-view--loading",
    }
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="audit.down",
                tooltip="Next (older) entry"),
        Binding("up,k", "cursor_up", "Up", show=False, id="audit.up",
                tooltip="Previous (newer) entry"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="audit.page_down",
                tooltip="One screen older"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="audit.page_up",
                tooltip="One screen newer"),
        Binding("g,home", "first", "Newest", show=False, id="audit.first",
                tooltip="The newest entry"),
        Binding("G,end", "last", "Oldest", show=False, id="audit.last",
                tooltip="The oldest entry (after counting)"),
    ]
    HELP = ("The audit log, newest first. **j/k** move, **space/b** page, **g/G** newest/"
            "oldest. Entries load page by page as you scroll.")

    cursor: reactive[int] = reactive(0, repaint=False)  # watch_cursor repaints the two rows

    class Highlighted(Message):
        """The cursor is on ``entry`` (None while its page loads)."""

        def __init__(self, view: AuditLogView, position: int, entry: AuditEntry | None) -> None:
            super().__init__()
            self.view = view
            self.position = position
            self.entry = entry

    class Counted(Message):
        def __init__(self, view: AuditLogView, total: int) -> None:
            super().__init__()
            self.view = view
            self.total = total

    class Opened(Message):
        """The first page of a new filter/snapshot is on screen."""

        def __init__(self, view: AuditLogView) -> None:
            super().__init__()
            self.view = view

    class LoadFailed(Message):
        def __init__(self, view: AuditLogView, error: Exception) -> None:
            super().__init__()
            self.view = view
            self.error = error

    class _PageLoaded(Message):
        def __init__(self, pager: AuditPager, request: PageRequest,
                     entries: list[AuditEntry] | None, error: Exception | None) -> None:
            super().__init__()
            self.pager = pager
            self.request = request
            self.entries = entries
            self.error = error

    class _CountDone(Message):
        def __init__(self, pager: AuditPager, total: int) -> None:
            super().__init__()
            self.pager = pager
            self.total = total

    def __init__(self, source: AuditSource, *, page_size: int = 100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.page_size = page_size
        self.pager: AuditPager | None = None
        self.marked_id: int | None = None  # e.g. the first broken entry found by verify
        self._jump: int | None = None      # a position to go to once its page/total is known
        self._counting: Counter | None = None
        self._generation = 0  # which open() the answer in flight belongs to

    # -- opening ----------------------------------------------------------------------------
    def open(self, filter: AuditFilter, *, jump_to: AuditKey | None = None) -> None:
        """Show ``filter`` from a fresh snapshot (first page in one worker, then the count)."""
        if self._counting is not None:
            self._counting.cancel()  # the old filter's count is of no use any more
            self._counting = None
        self._generation += 1
        self._open_worker(filter, jump_to, self._generation)

    @work(thread=True, group="audit-open")
    def _open_worker(self, filter: AuditFilter, jump_to: AuditKey | None,
                     generation: int) -> None:
        try:
            newest = self.source.newest()
            ceiling = None if newest is None else AuditKey(newest.created, newest.id + 1)
            pager = AuditPager(filter, ceiling, page_size=self.page_size)
            request = pager.plan(0)
            entries = self.source.page(filter, request) if ceiling is not None else []
            position = total = None
            if jump_to is not None:
                total = self.source.counter(filter, ceiling).run()
                position = total - self.source.counter(filter, jump_to).run() - 1
        except Exception as exc:  # shown by the screen; the view keeps what it had
            self.post_message(self.LoadFailed(self, exc))
            return
        self.app.call_from_thread(self._opened, pager, request, entries, position, total,
                                  generation)

    def _opened(self, pager: AuditPager, request: PageRequest, entries: list[AuditEntry],
                position: int | None, total: int | None, generation: int) -> None:
        if generation != self._generation:
            return  # a newer filter was asked for while this one was read
        pager.store(request, entries)
        if total is not None:
            pager.set_total(total)
            self.post_message(self.Counted(self, total))
        if self._counting is not None:
            self._counting.cancel()  # the old filter's count is of no use any more
            self._counting = None
        self.pager = pager
        self._jump = None
        self.cursor = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._resize_virtual()
        self.refresh()
        self.post_message(self.Opened(self))
        self._announce()
        if pager.total is None:
            self._count_worker(pager)
        if position is not None and position >= 0:
            self.go_to(position)
        else:
            self._request_visible()

    @work(thread=True, group="audit-count")
    def _count_worker(self, pager: AuditPager) -> None:
        try:
            counter = self.source.counter(pager.filter, pager.ceiling)
            if pager is not self.pager:
                return
            self._counting = counter
            total = counter.run()
        except Exception as exc:
            if pager is self.pager:  # a cancelled count of an old filter is no error
                self.post_message(self.LoadFailed(self, exc))
            return
        self.post_message(self._CountDone(pager, total))

    def on_audit_log_view__count_done(self, message: _CountDone) -> None:
        message.stop()
        if message.pager is not self.pager:
            return
        message.pager.set_total(message.total)
        self._resize_virtual()
        self.post_message(self.Counted(self, message.total))
        if self._jump is not None:
            target, self._jump = self._jump, None
            self.go_to(min(target, message.total - 1))
        self.refresh()

    # -- pages ------------------------------------------------------------------------------
    def _request_visible(self) -> None:
        pager = self.pager
        if pager is None:
            return
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        for index in pager.missing(top, top + height):
            self._page_worker(pager, pager.plan(index))

    @work(thread=True, group="audit-pages")
    def _page_worker(self, pager: AuditPager, request: PageRequest) -> None:
        try:
            entries = self.source.page(pager.filter, request)
        except Exception as exc:
            self.post_message(self._PageLoaded(pager, request, None, exc))
            return
        self.post_message(self._PageLoaded(pager, request, entries, None))

    def on_audit_log_view__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        pager = message.pager
        if pager is not self.pager:
            return
        if message.error is not None or message.entries is None:
            pager.forget(message.request)
            self.post_message(self.LoadFailed(self, message.error or RuntimeError("no page")))
            return
        pager.store(message.request, message.entries)
        self._resize_virtual()
        self.refresh()
        self._announce()
        self._request_visible()

    def _resize_virtual(self) -> None:
        rows = self.pager.known_rows if self.pager else 0
        self.virtual_size = Size(self.size.width, rows)
        if rows and self.cursor >= rows:
            self.cursor = rows - 1

    # -- what is shown ----------------------------------------------------------------------
    @property
    def total(self) -> int | None:
        return self.pager.total if self.pager else None

    @property
    def current(self) -> AuditEntry | None:
        return self.pager.entry(self.cursor) if self.pager else None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = int(self.scroll_offset.y) + y
        pager = self.pager
        base = self.rich_style
        if pager is not None and pager.total == 0 and y == 0:
            text = "  no entries match (esc clears the filter)"
            return Strip([Segment(text, base)]).crop_extend(0, width, base)
        if pager is None or row >= pager.known_rows:
            return Strip.blank(width, base)
        entry = pager.entry(row)
        if entry is None:
            text, style = f"  {'...':>8} loading", self.get_component_rich_style(
                "audit-view--loading")
        else:
            mark = "!" if entry.id == self.marked_id else " "
            text = mark + " " + format_line(entry)
            style = (self.get_component_rich_style("audit-view--refused")
                     if entry.outcome == "REFUSED" else Style())
        if row == self.cursor:
            text = ">" + text[1:]
            style = self.get_component_rich_style("audit-view--cursor")
        return Strip([Segment(text, base + style)]).crop_extend(0, width, base + style)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._request_visible()

    def on_resize(self) -> None:
        self._resize_virtual()
        # The detail pane below grew or shrank: keep the cursor row on screen.
        self.call_after_refresh(self._scroll_to_cursor)
        self._request_visible()

    # -- the cursor -------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        self._scroll_to_cursor()
        # A jump right after the virtual height grew: the scroll range follows on the next
        # refresh, so look again then.
        self.call_after_refresh(self._scroll_to_cursor)
        if int(self.scroll_offset.y) == top:
            # no scroll: only the two rows whose cursor mark changed (thin links)
            self.refresh_line(old)
            self.refresh_line(new)
        else:
            self.refresh()
        self._announce()

    def _scroll_to_cursor(self) -> None:
        height = self.size.height
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        if self.pager is not None:
            self.post_message(self.Highlighted(self, self.cursor, self.current))

    def _rows(self) -> int:
        return self.pager.known_rows if self.pager else 0

    def go_to(self, position: int) -> None:
        """Put the cursor on ``position`` (its page loads if needed)."""
        rows = self._rows()
        if rows:
            self.cursor = max(0, min(position, rows - 1))
            self._request_visible()

    def on_click(self, event: events.Click) -> None:
        """The mouse is optional, but a click puts the cursor on the row."""
        row = int(self.scroll_offset.y) + event.y
        if self.pager is not None and row < self._rows():
            self.go_to(row)

    def action_cursor_down(self) -> None:
        self.go_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.go_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.go_to(self.cursor + max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self.go_to(self.cursor - max(self.size.height - 1, 1))

    def action_first(self) -> None:
        self.go_to(0)

    def action_last(self) -> None:
        total = self.total
        if total is None:
            self._jump = 10**12  # go there once counted
            self.notify("counting the entries; the cursor moves to the oldest when done",
                        timeout=3)
            return
        self.go_to(total - 1)
