"""Section 7: the global settings; e or enter edits the highlighted one."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding

from js7tui.errors import ValidationError
from js7tui.identity.settings import SPECS
from js7tui.permissions.names import SETTINGS_MANAGE
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import Field, FormModal

BOOLEAN = {"force_comments_for_audit_log", "enable_remember_me"}


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class SettingsScreen(SectionScreen):
    SECTION = "settings"
    BINDINGS = [
        Binding("e", "edit", "Edit", id="settings.edit", tooltip="Change the highlighted setting"),
    ]
    ACTION_PERMISSIONS = {"edit": SETTINGS_MANAGE}
    MUTATING = frozenset({"edit"})
    HELP = "Global settings of identity services and the audit log. **e** edits one."

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.values: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield HouseTable(("Setting", "Value", "Meaning"), id="settings-table")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#settings-table", HouseTable)

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("settings", self.ctx.console.settings.show, session,
                             then=self._loaded)

    def _loaded(self, values: dict[str, str]) -> None:
        self.values = values
        rows = [Row("security_level", ("security_level", self.ctx.security_level,
                                       "Fixed at init; can never be lowered"))]
        rows += [Row(key, (key, _short(value), SPECS[key].description))
                 for key, value in values.items()]
        self.table.set_rows(rows)

    @on(HouseTable.Opened)
    def _opened(self) -> None:
        if self.check_action("edit", ()):
            self.action_edit()

    def action_edit(self) -> None:
        key = self.table.current_key
        if key is None:
            return
        if key not in SPECS:
            self.show_error("the security level is fixed at init and can never be lowered")
            return
        spec = SPECS[key]
        if spec.secret:
            fields = [Field("value", "New value", kind="password", required=True),
                      Field("repeat", "Repeat", kind="password", required=True)]
        elif key in BOOLEAN:
            fields = [Field("value", key, kind="bool", value=self.values.get(key) == "true")]
        else:
            fields = [Field("value", key, value=self.values.get(key, ""), required=True)]

        def validate(values: dict[str, Any]) -> None:
            if spec.secret and values["value"] != values["repeat"]:
                raise ValidationError("the two entries differ")
            spec.parse(values["value"])

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return

            def then(shown: str) -> None:
                note = ""
                if key == "idle_session_timeout":
                    note = ("; it applies from the next login (this session keeps its own, "
                            "shown in the header)")
                self.show_done(f"{key} = {shown}{note}")
                self.reload()
            self.change(f"set {key}", self.ctx.console.settings.set, key, values["value"],
                        then=then)
        self.app.push_screen(FormModal(f"Setting {key}", fields, note=spec.description,
                                       validate=validate), done)
