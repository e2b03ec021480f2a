"""Section 6: live console sessions; d cancels the highlighted one (with permission)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding

from js7tui.identity.sessions import SessionInfo
from js7tui.permissions.names import ACCOUNTS_MANAGE
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal


def _time(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


class SessionsScreen(SectionScreen):
    SECTION = "sessions"
    BINDINGS = [
        Binding("d", "cancel_session", "Cancel session", id="sessions.cancel",
                tooltip="End the highlighted session at once"),
    ]
    ACTION_PERMISSIONS = {"cancel_session": ACCOUNTS_MANAGE}
    MUTATING = frozenset({"cancel_session"})
    HELP = "Live sessions of the console, newest use first. **d** cancels one."

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.sessions: dict[str, SessionInfo] = {}

    def compose_body(self) -> ComposeResult:
        yield HouseTable(("Id", "Account", "Services", "Source", "Last used", "Expires"),
                         id="sessions-table", empty="no live sessions")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#sessions-table", HouseTable)

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("sessions", self.ctx.console.sessions.list, session,
                             then=self._loaded)

    def _loaded(self, infos: list[SessionInfo]) -> None:
        mine = self.ctx.session.id if self.ctx.session else None
        self.sessions = {str(i.id): i for i in infos}
        self.table.set_rows(
            Row(str(i.id), (f"{i.id}{' (you)' if i.id == mine else ''}", i.account,
                            ", ".join(i.services), i.source, _time(i.last_used),
                            _time(i.expires_at)))
            for i in infos)

    def action_cancel_session(self) -> None:
        key = self.table.current_key
        info = self.sessions.get(key) if key else None
        if info is None:
            return
        own = self.ctx.session is not None and info.id == self.ctx.session.id
        warning = " This is your own session: you will be logged out." if own else ""

        def done(ok: bool | None) -> None:
            if not ok:
                return

            def after(_: object) -> None:
                self.show_done(f"session {info.id} of {info.account} cancelled")
                if own:
                    self.app.session_ended("you cancelled your own session")  # type: ignore[attr-defined]
                else:
                    self.reload()
            self.change(f"cancel session {info.id} of '{info.account}'",
                        self.ctx.console.sessions.cancel, [info.id], then=after)
        self.app.push_screen(ConfirmModal(
            f"Cancel session {info.id} of '{info.account}' ({info.source})?{warning}"), done)
