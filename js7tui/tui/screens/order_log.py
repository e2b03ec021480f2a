"""One order's job output: each step's stdout and stderr in a Log view, with follow mode.

Opened with enter on the Orders section. The first read takes every step's output; ``f``
follows: every half second the screen asks the Controller only for what came since the offsets
it has (``console.orders.output``, live from the Agent while a job runs), appends it and keeps
the end in view; any scroll key stops following, and it stops by itself when the order ended.
``s`` shows both streams (stderr lines marked ``err|``), stdout only or stderr only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.identity.sessions import Session
from js7tui.permissions.names import ORDERS_VIEW
from js7tui.tui.screens.live import LiveScreen
from js7tui.tui.widgets.job_log import STREAMS, JobLog, JobLogView, show

MAX_PIECES = 64  # pieces read per step and poll (256 KiB each): a huge backlog comes in turns


class OrderLogScreen(LiveScreen):
    SECTION = "orders"
    FOLLOW_INTERVAL = 0.5
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="orderlog.back", tooltip="Back to the orders"),
        Binding("f", "follow", "Follow", id="orderlog.follow",
                tooltip="Follow new output as it comes (any scroll key stops)"),
        Binding("s", "stream", "Stream", id="orderlog.stream",
                tooltip="Show both streams, stdout only or stderr only"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {"follow": ORDERS_VIEW}
    HELP = ("An order's job output, step by step. **f** follows new output, **s** switches "
            "stdout/stderr/both, **j/k/space/b/g/G** scroll (and stop following), **esc** "
            "back.")

    def __init__(self, ctx: Any, controller: str, order_id: str, *, source: Any = None
                 ) -> None:
        super().__init__(ctx)
        self.controller = controller
        self.order_id = order_id
        self.source = source if source is not None else ctx.console.orders
        self.model = JobLog(order_id)
        self.stream = "both"
        self.following = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="orderlog-title")
        yield JobLogView(id="orderlog-view")

    def on_mount(self) -> None:
        self.view.focus()
        self._title()

    @property
    def view(self) -> JobLogView:
        return self.query_one("#orderlog-view", JobLogView)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "follow":
            return self.ctx.can(ORDERS_VIEW, self.controller)
        return super().check_action(action, parameters)

    # -- reading --------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the whole log again."""
        self.model = JobLog(self.order_id)
        self.view.clear()
        self._fetch()

    def on_screen_resume(self) -> None:
        # SectionScreen's handler (Textual calls each class's) reads the log first
        if self.following:
            self.start_polling(self.FOLLOW_INTERVAL)

    def poll(self) -> None:
        self._fetch()

    def _fetch(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        model = self.model
        self.polling = True
        self.run_service("job log", self._read, session, set(model.steps), model.wanted(),
                         then=lambda result: self._apply(model, result),
                         failed=self.poll_failed)

    def _read(self, session: Session, known: set[int], wanted: dict[int, dict[str, int]]
              ) -> tuple[Any, list[Any]]:
        """Runs in a worker: the order's steps, then the output of each step that is new or
        may still grow, from the offsets the view has."""
        order = self.source.show(session, self.controller, self.order_id)
        pieces = []
        for step in order.steps:
            if step.position in known and step.position not in wanted:
                continue
            offsets = wanted.get(step.position, {"stdout": 0, "stderr": 0})
            for _ in range(MAX_PIECES):
                piece = self.source.output(session, self.controller, self.order_id,
                                           step.position, stdout=offsets["stdout"],
                                           stderr=offsets["stderr"])
                pieces.append(piece)
                offsets = {"stdout": piece.stdout_offset, "stderr": piece.stderr_offset}
                if not piece.stdout and not piece.stderr:
                    break
        return order, pieces

    def _apply(self, model: JobLog, result: tuple[Any, list[Any]]) -> None:
        self.poll_done()
        if model is not self.model:
            return  # read again meanwhile (r): this answer belongs to the old view
        order, pieces = result
        redraw = model.update_order(order) or not self.view.lines
        appended: list[tuple[str, str]] = []
        for piece in pieces:
            new = model.feed(piece)
            if new is None:
                redraw = True
            else:
                appended += new
        if redraw:
            self._draw()
        elif appended and (lines := show(appended, self.stream)):
            self.view.write_lines(lines, scroll_end=self.following)
        if self.following and model.ended and not model.wanted():
            self.following = False
            self.stop_polling()
            self.notify(f"order {self.order_id} {model.state}; follow mode is off", timeout=4)
        self._title()

    def poll_failed(self, error: Exception) -> None:
        super().poll_failed(error)
        if self.following:
            self.following = False
            self._title()

    def _draw(self) -> None:
        view = self.view
        view.clear()
        view.write_lines(self.model.lines(self.stream), scroll_end=self.following)
        if not self.following:
            view.scroll_home(animate=False)

    def _title(self) -> None:
        model = self.model
        follow = "[b]following[/b]" if self.following else "not following"
        state = f"  [b]{escape(model.state)}[/b]" if model.state else ""
        workflow = f" ({escape(model.workflow)})" if model.workflow else ""
        streams = "stdout+stderr" if self.stream == "both" else self.stream
        self.query_one("#orderlog-title", Static).update(
            f" order [b]{escape(self.order_id)}[/b]{workflow} @ {escape(self.controller)}"
            f"{state}  {streams}, {follow}")

    # -- actions --------------------------------------------------------------------------
    def action_back(self) -> None:
        self.stop_polling()
        self.app.pop_screen()

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self.view.scroll_end(animate=False)
            self.start_polling(self.FOLLOW_INTERVAL)
            if not self.polling:
                self._fetch()
        else:
            self.stop_polling()
        self._title()

    def action_stream(self) -> None:
        self.stream = STREAMS[(STREAMS.index(self.stream) + 1) % len(STREAMS)]
        self._draw()
        self._title()

    @on(JobLogView.ScrolledByHand)
    def _scrolled(self) -> None:
        if self.following:
            self.following = False
            self.stop_polling()
            self._title()
