"""Section 4: roles of an identity service, and the way into their permission trees.

The list shows each role's order, accounts, Controller sections and entry counts. Keys: enter
opens the permission editor, ``n`` creates, ``R`` renames, ``d`` deletes (confirmed),
``K``/``J`` (or shift+up/down) move a role, ``s`` switches the identity service, ``w`` shows an
account's effective permissions and answers "why can/can't". The undo history of each role
lives here, so it lasts for the session (the section's screens are dropped at logout).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.identity.roles import RoleView
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.tui.role_history import RoleHistory
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal

MANAGE = frozenset({"create", "rename", "delete", "move_up", "move_down"})


class RolesScreen(SectionScreen):
    SECTION = "roles"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("n", "create", "New", id="roles.create", tooltip="Create a role"),
        Binding("R", "rename", "Rename", id="roles.rename", tooltip="Rename the role"),
        Binding("d", "delete", "Delete", id="roles.delete",
                tooltip="Delete the role (its accounts lose it)"),
        Binding("K,shift+up", "move_up", "Up", id="roles.move_up",
                tooltip="Move the role up in the order"),
        Binding("J,shift+down", "move_down", "Down", id="roles.move_down",
                tooltip="Move the role down in the order"),
        Binding("s", "service", "Service", id="roles.service",
                tooltip="Show the roles of another identity service"),
        Binding("w", "effective", "Why", id="roles.effective",
                tooltip="An account's effective permissions: why can or can't it"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        **{action: ACCOUNTS_MANAGE for action in MANAGE},
        "service": ACCOUNTS_VIEW, "effective": ACCOUNTS_VIEW,
    }
    MUTATING: ClassVar[frozenset[str]] = MANAGE

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.service: str | None = None
        self.roles: list[RoleView] = []
        self.histories: dict[tuple[str, str], RoleHistory] = {}
        self._want: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="roles-title")
        yield HouseTable(["#", "Role", "Accounts", "Controller sections", "Entries", "Folders"],
                         id="roles-table", empty="no roles in this identity service")

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one(HouseTable)

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("reading the roles", self.ctx.console.roles.list, session,
                             self.service, then=self._show)

    def _show(self, roles: list[RoleView]) -> None:
        self.roles = roles
        if roles:
            self.service = roles[0].service
        service = self.service or (self.ctx.session.services[0] if self.ctx.session else "")
        self.query_one("#roles-title", Static).update(escape(
            f"Roles of identity service {service}  |  enter: permission tree"))
        self.table.set_rows(
            Row(role.name, (str(role.ordering + 1), role.name,
                            ", ".join(role.accounts) or "-",
                            ", ".join(role.controllers) or "-",
                            f"{sum(not p.excluded for p in role.permissions)}+ "
                            f"{sum(p.excluded for p in role.permissions)}-",
                            str(len(role.folders)) or "-"))
            for role in roles)
        if self._want in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(self._want))
            self._want = None
        self.refresh_bindings()

    def select_item(self, item: str) -> None:
        """Opened from elsewhere (the Controllers section): put the cursor on this role."""
        self._want = item
        if item in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(item))
            self._want = None

    @property
    def current(self) -> str | None:
        return self.table.current_key

    # -- opening the editor -----------------------------------------------------------------
    def on_house_table_opened(self, message: HouseTable.Opened) -> None:
        message.stop()
        self.open_editor(message.key)

    def open_editor(self, role: str) -> None:
        from js7tui.tui.screens.permission_editor import PermissionEditorScreen
        service = self.service or ""
        history = self.histories.setdefault((service, role), RoleHistory())
        self.app.push_screen(PermissionEditorScreen(self.ctx, role, self.service, history))

    # -- changes ----------------------------------------------------------------------------
    def action_create(self) -> None:
        fields = [Field("name", "Name", required=True),
                  Field("empty", "Without the default permission", kind="bool", value=False,
                        help="a new role gets sos:products:controller:view unless this is set")]
        self.app.push_screen(FormModal("New role", fields), self._create)

    def _create(self, values: dict[str, Any] | None) -> None:
        if values:
            name = str(values["name"]).strip()
            self.change(f"create role {name}", self.ctx.console.roles.create, name,
                        service=self.service, empty=bool(values["empty"]),
                        then=lambda _view: self._changed(f"role {name} created"))

    def action_rename(self) -> None:
        role = self.current
        if role is None:
            return
        fields = [Field("name", "New name", value=role, required=True)]
        self.app.push_screen(FormModal(f"Rename role {role}", fields),
                             lambda values: self._rename(role, values))

    def _rename(self, role: str, values: dict[str, Any] | None) -> None:
        if values:
            new = str(values["name"]).strip()
            self.change(f"rename role {role} to {new}", self.ctx.console.roles.rename, role,
                        new, service=self.service,
                        then=lambda _view: self._changed(f"role {role} is now {new}"))

    def action_delete(self) -> None:
        role = self.current
        if role is None:
            return
        accounts = next((r.accounts for r in self.roles if r.name == role), ())
        who = (f" Accounts that lose it: {', '.join(accounts)}." if accounts else "")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(f"delete role {role}", self.ctx.console.roles.delete, [role],
                            service=self.service,
                            then=lambda _none: self._changed(f"role {role} deleted"))

        self.app.push_screen(ConfirmModal(escape(f"Delete role '{role}'?{who}"),
                                          title="Delete role"), confirmed)

    def _move(self, offset: int) -> None:
        role = self.current
        names = [r.name for r in self.roles]
        if role is None or role not in names:
            return
        index = names.index(role)
        target = index + offset
        if not 0 <= target < len(names):
            return
        names[index], names[target] = names[target], names[index]
        self.change(f"move role {role}", self.ctx.console.roles.reorder, names,
                    service=self.service, then=self._show)

    def action_move_up(self) -> None:
        self._move(-1)

    def action_move_down(self) -> None:
        self._move(1)

    def _changed(self, text: str) -> None:
        self.show_done(text)
        self.reload()

    # -- other views ------------------------------------------------------------------------
    def action_service(self) -> None:
        self.run_service("reading the identity services",
                         self.ctx.console.identity_services.list, self.ctx.session,
                         then=self._choose_service)

    def _choose_service(self, services: list[Any]) -> None:
        names = [s.name for s in services]
        fields = [Field("service", "Identity service", kind="choice",
                        value=self.service if self.service in names else names[0],
                        choices=names)]
        self.app.push_screen(FormModal("Roles of", fields), self._service_chosen)

    def _service_chosen(self, values: dict[str, Any] | None) -> None:
        if values and values.get("service"):
            self.service = str(values["service"])
            self.reload()

    def action_effective(self) -> None:
        from js7tui.tui.screens.effective import EffectivePermissionsScreen
        self.app.push_screen(EffectivePermissionsScreen(self.ctx))
