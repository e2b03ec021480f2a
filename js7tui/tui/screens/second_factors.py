"""Second factors of one CERTIFICATE or FIDO service (from Identity services, **F**): the
accounts' certificate bindings, or the FIDO devices and the registration requests waiting for
an administrator. Keyboard only: **a** approves, **f** defers a request, **d** removes a
device, **R** resets the highlighted account (recovery: its binding or all its devices)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal


class SecondFactorsScreen(SectionScreen):
    SECTION = "services"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="factors.back", tooltip="Back to the services"),
        Binding("a", "approve", "Approve", id="factors.approve",
                tooltip="Approve the highlighted registration request: account and device"),
        Binding("f", "defer", "Defer", id="factors.defer",
                tooltip="Defer the highlighted registration request (it stays refused)"),
        Binding("d", "remove", "Remove device", id="factors.remove",
                tooltip="Remove the highlighted FIDO device"),
        Binding("R", "reset", "Reset account", id="factors.reset", key_display="R",
                tooltip="Recovery: forget the account's certificate binding or every device"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "approve": ACCOUNTS_MANAGE, "defer": ACCOUNTS_MANAGE, "remove": ACCOUNTS_MANAGE,
        "reset": ACCOUNTS_MANAGE, "back": ACCOUNTS_VIEW}
    MUTATING = frozenset({"approve", "defer", "remove", "reset"})
    HELP = ("Certificate bindings or FIDO devices and registration requests. **a** approve, "
            "**f** defer, **d** remove a device, **R** reset an account.")

    def __init__(self, ctx: Any, service: str, kind: str, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.service = service
        self.kind = kind
        self.rows: dict[str, dict[str, Any]] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(f"[b]{self.service}[/b] ({self.kind})", id="factors-title")
        yield HouseTable(("What", "Account", "Detail", "State", "When"), id="factors-table",
                         empty="nothing bound, registered or requested")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "defer", "remove") and self.kind != "FIDO":
            return False
        return super().check_action(action, parameters)

    def reload(self, then_select: str | None = None) -> None:
        session = self.ctx.session
        if session is None:
            return
        admin = self.ctx.console.second_factors

        def read(session: Any) -> list[dict[str, Any]]:
            if self.kind == "CERTIFICATE":
                return [{"key": f"b:{b['account_name']}", "what": "binding", **b}
                        for b in admin.certificate_bindings(session, self.service)]
            found = [{"key": f"d:{d['id']}", "what": "device", **d}
                     for d in admin.devices(session, self.service)]
            if self.ctx.can(ACCOUNTS_MANAGE):
                found += [{"key": f"r:{r['id']}", "what": "request", **r}
                          for r in admin.registrations(session, self.service)
                          if r["state"] != "approved"]
            return found

        self.run_service("second factors", read, session, then=self._loaded)

    def _loaded(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {r["key"]: r for r in rows}
        table = self.query_one(HouseTable)
        table.set_rows(Row(r["key"], _cells(r)) for r in rows)

    @property
    def current(self) -> dict[str, Any] | None:
        key = self.query_one(HouseTable).current_key
        return self.rows.get(key) if key else None

    def _then(self, done: str) -> Any:
        def then(_: object) -> None:
            self.show_done(done)
            self.reload()
        return then

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_approve(self) -> None:
        row = self.current
        if row and row["what"] == "request":
            self.change(f"approve the registration of '{row['account_name']}'",
                        self.ctx.console.second_factors.approve, row["id"],
                        then=self._then(f"approved {row['account_name']}"))

    def action_defer(self) -> None:
        row = self.current
        if row and row["what"] == "request":
            self.change(f"defer the registration of '{row['account_name']}'",
                        self.ctx.console.second_factors.defer, row["id"],
                        then=self._then(f"deferred {row['account_name']}"))

    def action_remove(self) -> None:
        row = self.current
        if row and row["what"] == "device":
            self.change(f"remove the device '{row['name']}' of '{row['account_name']}'",
                        self.ctx.console.second_factors.remove_device, self.service, row["id"],
                        then=self._then(f"removed {row['name']}"))

    def action_reset(self) -> None:
        row = self.current
        if row is None or row["what"] == "request":
            return
        account = row["account_name"]
        admin = self.ctx.console.second_factors
        fn = admin.reset_certificate if self.kind == "CERTIFICATE" else admin.reset_devices
        what = "certificate binding" if self.kind == "CERTIFICATE" else "devices"

        def done(ok: bool | None) -> None:
            if ok:
                self.change(f"reset the {what} of '{account}'", fn, self.service, account,
                            then=self._then(f"reset the {what} of {account}"))
        self.app.push_screen(ConfirmModal(
            f"Reset the {what} of '{account}'? They log in with a new one afterwards.",
            title="Reset"), done)


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    if row["what"] == "binding":
        return ("binding", row["account_name"], f"{row['subject']} serial {row['serial']}",
                f"until {row['not_after'][:10]}", f"{row['bound'][:16]} by {row['bound_by']}")
    if row["what"] == "device":
        return ("device", row["account_name"], f"{row['name']} (counter {row['sign_count']})",
                "registered", (row["last_used"] or row["created"])[:16])
    return ("request", row["account_name"], f"{row['device_name']} {row['email'] or ''}",
            row["state"], f"{row['requested'][:16]} from {row['source']}")
