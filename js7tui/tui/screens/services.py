"""Section 2: identity services in login order.

Keys: K/J or shift+up/down move the highlighted service up/down; o toggles required/optional,
x disabled/enabled; n adds, R renames, d deletes (type the name), e or enter opens the
settings form of the service's type (built from the type's schema; secrets only as set/not set).
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.identity.providers.base import ServiceRecord
from js7tui.identity.service_settings import Kind, SettingView
from js7tui.identity.types import SERVICE_TYPES
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW, SETTINGS_VIEW
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import Field, FormModal, TypedConfirmModal


def describe(record: ServiceRecord) -> tuple[str, ...]:
    scheme = record.auth_scheme
    if record.second_factor_service:
        scheme += f" → {record.second_factor_service}"
    if record.second_factor:
        scheme += " (2nd factor only)"
    return (str(record.ordering + 1), record.name, record.type,
            "required" if record.required else "optional",
            "DISABLED" if record.disabled else "enabled", scheme)


class ServicesScreen(SectionScreen):
    SECTION = "services"
    BINDINGS = [
        Binding("K", "move(-1)", "Up", id="services.up", key_display="K",
                tooltip="Move the service up in the login order"),
        Binding("shift+up", "move(-1)", "Up", show=False, id="services.up-arrow",
                tooltip="Move the service up in the login order"),
        Binding("J", "move(1)", "Down", id="services.down", key_display="J",
                tooltip="Move the service down in the login order"),
        Binding("shift+down", "move(1)", "Down", show=False, id="services.down-arrow",
                tooltip="Move the service down in the login order"),
        Binding("o", "toggle_required", "Req/opt", id="services.required",
                tooltip="Toggle required/optional: every required service must succeed"),
        Binding("x", "toggle_disabled", "Dis/enable", id="services.disabled",
                tooltip="Disable or enable the service (disabling ends its sessions)"),
        Binding("n", "new", "New", id="services.new", tooltip="Add an identity service"),
        Binding("R", "rename", "Rename", id="services.rename", key_display="R",
                tooltip="Rename the service"),
        Binding("d", "delete", "Delete", id="services.delete",
                tooltip="Delete the service with its accounts and roles (type its name)"),
        Binding("e", "settings", "Type settings", id="services.settings",
                tooltip="Edit the settings of the service's type"),
        Binding("f", "two_factor", "Two-factor", id="services.two_factor",
                tooltip="Require a second factor (a CERTIFICATE or FIDO service) after this "
                        "service, or none"),
        Binding("F", "second_factors", "Factors", id="services.factors", key_display="F",
                tooltip="Certificate bindings, FIDO devices and registration requests of "
                        "this CERTIFICATE or FIDO service"),
        Binding("s", "global_settings", "Settings", id="services.global",
                tooltip="The global settings: idle timeout, initial password, minimum length, "
                        "audit comments"),
    ]
    ACTION_PERMISSIONS = {a: ACCOUNTS_MANAGE for a in (
        "move", "toggle_required", "toggle_disabled", "new", "rename", "delete",
        "two_factor")} | {
        "settings": ACCOUNTS_VIEW, "global_settings": SETTINGS_VIEW,
        "second_factors": ACCOUNTS_VIEW}
    MUTATING = frozenset({"move", "toggle_required", "toggle_disabled", "new", "rename",
                          "delete", "two_factor"})
    HELP = ("Identity services are tried in this order at login. **K/J** move, **o** "
            "required/optional, **x** disable, **e** settings.")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.records: dict[str, ServiceRecord] = {}

    def compose_body(self) -> ComposeResult:
        yield HouseTable(("#", "Name", "Type", "Login", "State", "Scheme"), id="services-table",
                         empty="no identity services")
        yield Static("", id="services-detail", classes="detail")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#services-table", HouseTable)

    def reload(self, then_select: str | None = None) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.run_service("identity services", self.ctx.console.identity_services.list, session,
                         then=lambda records: self._loaded(records, then_select))

    def _loaded(self, records: list[ServiceRecord], select: str | None) -> None:
        self.records = {r.name: r for r in records}
        self.table.set_rows(Row(r.name, describe(r)) for r in records)
        if select and select in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(select))
        self._detail()

    @on(HouseTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()

    def _detail(self) -> None:
        record = self.current
        text = ""
        if record is not None:
            kind = SERVICE_TYPES.get(record.type)
            schema = self.ctx.console.registry.schema(record.type)
            views = schema.views(record.settings)
            text = f"[b]{escape(record.name)}[/b] ({record.type}): " \
                f"{escape(kind.description if kind else '')}"
            if views:
                text += "\n" + "\n".join(f"  {escape(v.spec.key)} = {escape(v.shown)}"
                                         for v in views)
            else:
                text += "\n  this type has no settings"
        self.query_one("#services-detail", Static).update(text)

    @property
    def current(self) -> ServiceRecord | None:
        key = self.table.current_key
        return self.records.get(key) if key else None

    # -- actions --------------------------------------------------------------------------
    def _after(self, name: str | None, done: str) -> Any:
        def then(_: object) -> None:
            self.show_done(done)
            self.reload(then_select=name)
        return then

    def action_move(self, offset: int) -> None:
        record = self.current
        if record is None:
            return
        self.change(f"move '{record.name}' {'up' if offset < 0 else 'down'}",
                    self.ctx.console.identity_services.move, record.name, offset,
                    then=self._after(record.name, f"moved {record.name}"))

    def action_toggle_required(self) -> None:
        record = self.current
        if record is None:
            return
        word = "optional" if record.required else "required"
        self.change(f"make '{record.name}' {word}", self.ctx.console.identity_services.update,
                    record.name, required=not record.required,
                    then=self._after(record.name, f"{record.name} is {word}"))

    def action_toggle_disabled(self) -> None:
        record = self.current
        if record is None:
            return
        word = "enabled" if record.disabled else "disabled"
        self.change(f"{word[:-1]} '{record.name}'", self.ctx.console.identity_services.update,
                    record.name, disabled=not record.disabled,
                    then=self._after(record.name, f"{record.name} is {word}"))

    def action_new(self) -> None:
        types = self.ctx.console.registry.types()
        fields = [
            Field("name", "Name", required=True),
            Field("type", "Type", kind="choice", choices=types, value=types[0], required=True),
            Field("required", "Required", kind="bool"),
            Field("disabled", "Disabled", kind="bool"),
        ]

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            name = values["name"].strip()
            self.change(f"add identity service '{name}'",
                        self.ctx.console.identity_services.create, name, values["type"],
                        required=values["required"], disabled=values["disabled"],
                        then=self._after(name, f"added {name}"))
        self.app.push_screen(FormModal("New identity service", fields,
                                       note="Added at the end of the login order."), done)

    def action_rename(self) -> None:
        record = self.current
        if record is None:
            return

        def rename(new: str) -> None:
            self.change(f"rename '{record.name}' to '{new}'",
                        self.ctx.console.identity_services.rename, record.name, new,
                        then=self._after(new, f"renamed to {new}"))
        self.ask_name(f"Rename {record.name}", "New name", rename, value=record.name)

    def action_delete(self) -> None:
        record = self.current
        if record is None:
            return

        def done(ok: bool | None) -> None:
            if ok:
                self.change(f"delete identity service '{record.name}'",
                            self.ctx.console.identity_services.delete, record.name,
                            then=self._after(None, f"deleted {record.name}"))
        self.app.push_screen(TypedConfirmModal(
            f"Delete the identity service '{record.name}' with all its accounts and roles? "
            "Its sessions end. This cannot be undone.", record.name, title="Delete"), done)

    def action_two_factor(self) -> None:
        record = self.current
        if record is None:
            return
        if SERVICE_TYPES.get(record.type) and SERVICE_TYPES[record.type].can_be_second_factor:
            self.show_done(f"{record.name} is a {record.type} service: it is a second factor "
                           "itself")
            return
        none = "(single factor)"
        seconds = [r.name for r in self.records.values()
                   if SERVICE_TYPES.get(r.type) and SERVICE_TYPES[r.type].can_be_second_factor]
        choices = [none, *seconds]
        fields = [Field("second", "Second factor", kind="choice", choices=choices,
                        value=record.second_factor_service or none, required=True)]

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            chosen = values["second"]
            if chosen == none:
                self.change(f"make '{record.name}' single-factor",
                            self.ctx.console.identity_services.update, record.name,
                            auth_scheme="SINGLE-FACTOR", second_factor_service="",
                            then=self._after(record.name, f"{record.name} is single-factor"))
                return
            self.change(f"make '{record.name}' two-factor with '{chosen}'",
                        self.ctx.console.identity_services.update, record.name,
                        auth_scheme="TWO-FACTOR", second_factor_service=chosen,
                        then=self._after(record.name, f"{record.name} asks {chosen} second"))
        note = ("After this service's password (or provider login) the person proves a "
                "certificate's key or touches a FIDO key. Administrators without a usable "
                "second factor do not count as able to log in: give yours first.")
        if not seconds:
            note = "There is no CERTIFICATE or FIDO service yet: add one with n first."
        self.app.push_screen(FormModal(f"{record.name}: two-factor", fields, note=note), done)

    def action_second_factors(self) -> None:
        record = self.current
        if record is None or record.type not in ("CERTIFICATE", "FIDO"):
            self.show_done("choose a CERTIFICATE or FIDO service")
            return
        from js7tui.tui.screens.second_factors import SecondFactorsScreen
        self.app.push_screen(SecondFactorsScreen(self.ctx, record.name, record.type))

    def action_global_settings(self) -> None:
        self.app.action_section("settings")  # type: ignore[attr-defined]

    def action_settings(self) -> None:
        record = self.current
        if record is None:
            return
        session = self.ctx.session
        self.run_service("settings", self.ctx.console.identity_services.settings, session,
                         record.name, then=lambda views: self._settings_form(record, views))

    def _settings_form(self, record: ServiceRecord, views: list[SettingView]) -> None:
        if not views:
            self.show_done(f"{record.name} ({record.type}) has no settings")
            return
        readonly = not self.ctx.may_change(ACCOUNTS_MANAGE)
        fields = [settings_field(view) for view in views]
        note = (f"Settings of {record.type}. Empty a field to return it to its default; a "
                "secret left empty is kept.")
        if readonly:
            note += " Read-only: you may look, not change."

        def done(values: dict[str, Any] | None) -> None:
            if values is None or readonly:
                return
            changes = settings_changes(views, values)
            if not changes:
                self.show_done("nothing changed")
                return
            self.change(f"change settings of '{record.name}'",
                        self.ctx.console.identity_services.set_settings, record.name, changes,
                        then=self._after(record.name, f"settings of {record.name} saved"))

        schema = self.ctx.console.registry.schema(record.type)

        def validate(values: dict[str, Any]) -> None:
            for key, value in settings_changes(views, values).items():
                if isinstance(value, str):
                    schema.spec(key).parse(value)
        self.app.push_screen(FormModal(f"{record.name}: settings", fields, note=note,
                                       validate=validate), done)


def settings_field(view: SettingView) -> Field:
    spec = view.spec
    default = spec.shown(spec.default) if spec.default is not None else ""
    help_text = spec.description + (f" (default {default})" if default else "") + \
        (f"; e.g. {spec.example}" if spec.example else "")
    if spec.kind is Kind.BOOL:
        value = view.value if view.value is not None else bool(spec.default)
        return Field(spec.key, spec.key, kind="bool", value=value, help=help_text)
    if spec.kind is Kind.CHOICE:
        return Field(spec.key, spec.key, kind="choice", choices=spec.choices,
                     value=view.value if view.value is not None else spec.default,
                     help=help_text, required=spec.required)
    if spec.kind is Kind.SECRET:
        state = "set; leave empty to keep" if view.value is not None else "not set"
        return Field(spec.key, spec.key, kind="password", value="", placeholder=f"({state})",
                     help=help_text, required=False)
    shown = "" if view.value is None else spec.shown(view.value)
    if spec.kind is Kind.DURATION and view.value is not None:
        shown = f"{view.value}s"
    return Field(spec.key, spec.key, value=shown, placeholder=default or spec.example,
                 help=help_text, required=False)


def settings_changes(views: list[SettingView], values: dict[str, Any]) -> dict[str, Any]:
    """What the form changed: text to parse, typed booleans/choices, None to unset."""
    changes: dict[str, Any] = {}
    for view in views:
        spec = view.spec
        value = values.get(spec.key)
        if spec.kind is Kind.SECRET:
            if value:
                changes[spec.key] = value
            continue
        if spec.kind is Kind.BOOL:
            current = view.value if view.value is not None else bool(spec.default)
            if bool(value) != current:
                changes[spec.key] = bool(value)
            continue
        if spec.kind is Kind.CHOICE:
            current = view.value if view.value is not None else spec.default
            if value != current:
                changes[spec.key] = value
            continue
        text = (value or "").strip()
        before = "" if view.value is None else (
            f"{view.value}s" if spec.kind is Kind.DURATION else spec.shown(view.value))
        if text == before:
            continue
        changes[spec.key] = text if text else None
    return changes
