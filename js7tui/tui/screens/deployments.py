"""The deployment history (``h`` in the inventory): newest first, one line per commit with its
account, time, Controllers and outcome; enter shows the objects and each Controller's answer
(with the reason when it failed). Folder permissions apply: the service leaves out what the
account may not see."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.deployment.service import Deployment
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.screens.inventory import outcome_lines
from js7tui.tui.widgets.deploy_modals import TextModal
from js7tui.tui.widgets.lists import HouseTable, Row

LIMIT = 500


def outcome(result: Deployment) -> str:
    """'ok' when done everywhere, else what is not: refused, unknown or pending."""
    open_ = [t for t in result.targets if not t.done]
    if not open_:
        return "ok"
    words = sorted({t.word for t in open_})
    return f"{'/'.join(words).upper()} on {len(open_)} of {len(result.targets)}"


class DeploymentsScreen(SectionScreen):
    SECTION = "inventory"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="deployments.back",
                tooltip="Back to the inventory"),
    ]

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.found: dict[str, Deployment] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(f"Deployment history, newest first (at most {LIMIT})  |  enter: detail",
                     id="deployments-title")
        yield HouseTable(["Commit", "Operation", "Account", "Time", "Controllers", "Outcome"],
                         id="deployments-table", empty="no deployments that you may see")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("reading the deployment history",
                             self.ctx.console.deployments.history, session, limit=LIMIT,
                             then=self._show)

    def _show(self, found: list[Deployment]) -> None:
        self.found = {d.commit_id: d for d in found}
        self.query_one(HouseTable).set_rows(
            Row(d.commit_id, (d.commit_id[:8], d.operation.lower(), d.account, d.created[:19],
                              ", ".join(f"{t.controller_id} {t.word}"
                                        for t in d.targets), outcome(d)))
            for d in found)

    def on_house_table_opened(self, message: HouseTable.Opened) -> None:
        message.stop()
        found = self.found.get(message.key)
        if found is not None:
            body = "\n".join([*outcome_lines(found), f"at {found.created}",
                              f"signed by {found.signer}" if found.signer else "no signature",
                              "versions:", *(f"  {path}  {version or '-'}"
                                             for _, path, version in found.objects)])
            self.app.push_screen(TextModal(f"Deployment {found.commit_id}", body))

    def action_back(self) -> None:
        self.app.pop_screen()



