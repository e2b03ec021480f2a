"""Approvals: four-eyes requests for me (as approver) and mine (as requestor), issue 22.

The list shows each request I may see with its state; the pane below shows what exactly will
happen (the frozen operation, with its diff) for the highlighted one. Keys: ``a`` approves
(a comment is required), ``x`` rejects with a reason, ``w`` withdraws my request, ``e``
executes my approved request (once; refused with the reason if the world changed).
Reached from the palette (``:`` Approvals); the header counts what waits for me.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from js7tui.permissions.names import APPROVALS_APPROVE
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal


class ApprovalsScreen(SectionScreen):
    SECTION = "approvals"
    DEFAULT_CSS = """
    #approvals-table { height: 1fr; }
    #approval-detail { height: 1fr; border-top: solid $panel-lighten-2; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "approve", "Approve", id="approvals.approve",
                tooltip="Approve the request (a comment says what you checked)"),
        Binding("x", "reject", "Reject", id="approvals.reject",
                tooltip="Reject the request, with a reason"),
        Binding("w", "withdraw", "Withdraw", id="approvals.withdraw",
                tooltip="Withdraw my request"),
        Binding("e", "execute", "Execute", id="approvals.run_approved",
                tooltip="Run my approved request (the frozen operation, once)"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "approve": APPROVALS_APPROVE, "reject": APPROVALS_APPROVE,
        "withdraw": None, "execute": None,
    }
    MUTATING: ClassVar[frozenset[str]] = frozenset({"approve", "reject", "withdraw",
                                                    "execute"})

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.requests: dict[str, Any] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="approvals-title")
        yield HouseTable(["Id", "For", "State", "Requestor", "Expires", "Title"],
                         id="approvals-table", empty="no approval requests for you or by you")
        with VerticalScroll(id="approval-detail"):
            yield Static("", id="approval-detail-text")

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one(HouseTable)

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("reading the approval requests", self.ctx.console.approvals.list,
                             session, open_only=False, then=self._show)

    def _show(self, requests: list[Any]) -> None:
        session = self.ctx.session
        me = session.account if session else ""
        now = self.ctx.console.clock.now()
        self.requests = {str(r.id): r for r in requests}
        waiting = sum(1 for r in requests if r.requestor != me and r.state(now) == "PENDING")
        self.query_one("#approvals-title", Static).update(
            f"Approval requests  |  {waiting} waiting for you  |  a approve  x reject  "
            "w withdraw  e execute")
        self.table.set_rows(
            Row(str(r.id), (str(r.id), "mine" if r.requestor == me else "me",
                            r.state(now), r.requestor, r.expires[:16].replace("T", " "),
                            r.title))
            for r in requests)
        self._detail()
        self.refresh_bindings()
        self.header.refresh_session()  # its count follows at once

    @property
    def current(self) -> Any | None:
        key = self.table.current_key
        return self.requests.get(key) if key is not None else None

    @on(HouseTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()

    def _detail(self) -> None:
        request = self.current
        text = self.query_one("#approval-detail-text", Static)
        if request is None:
            text.update("")
            return
        head = [f"[b]request {request.id}[/b]  {escape(request.kind)}  requested by "
                f"{escape(request.requestor)}: {escape(request.reason or '-')}",
                f"digest {request.digest}"]
        if request.approver:
            head.append(f"{request.approver_state.lower()} by {escape(request.approver)}")
        text.update("\n".join(head + [""] + [escape(line) for line in request.lines]))

    # -- keys -------------------------------------------------------------------------------
    def _decide(self, verb: str, label: str) -> None:
        request = self.current
        if request is None:
            return
        fields = [Field("comment", label, required=True)]
        service = self.ctx.console.approvals
        fn = service.approve if verb == "approve" else service.reject

        def done(values: dict[str, Any] | None) -> None:
            if values and self.ctx.session is not None:
                comment = str(values["comment"]).strip()
                self.run_service(f"{verb} request {request.id}", fn, self.ctx.session,
                                 request.id, comment,
                                 then=lambda _r: self._changed(f"request {request.id} "
                                                               f"{verb}d"))

        self.app.push_screen(FormModal(f"{verb.capitalize()} request {request.id}", fields),
                             done)

    def action_approve(self) -> None:
        self._decide("approve", "What you checked (required)")

    def action_reject(self) -> None:
        self._decide("reject", "Why not (required)")

    def action_withdraw(self) -> None:
        request = self.current
        if request is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(f"withdraw request {request.id}",
                            self.ctx.console.approvals.withdraw, request.id,
                            then=lambda _r: self._changed(f"request {request.id} withdrawn"))

        self.app.push_screen(ConfirmModal(escape(f"Withdraw request {request.id}: "
                                                 f"{request.title}?"),
                                          title="Withdraw"), confirmed)

    def action_execute(self) -> None:
        request = self.current
        if request is None or self.ctx.session is None:
            return
        session = self.ctx.session

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_service(f"execute request {request.id}",
                                 self.ctx.console.approvals.run_approved, session, request.id,
                                 then=lambda result: self._changed(
                                     f"request {request.id} executed: {result[1]}"))

        self.app.push_screen(ConfirmModal(escape(f"Execute request {request.id} now: "
                                                 f"{request.title}?"),
                                          title="Execute"), confirmed)

    def _changed(self, text: str) -> None:
        self.show_done(text)
        self.reload()
