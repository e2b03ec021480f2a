"""Section 2: the registered Controllers, their connection test and their Agents.

The list shows each Controller's id, URL, hop user and client certificate, and the result of
the last test in words. Keys: ``t`` tests the connection step by step (DNS, TCP, TLS, the
server certificate, DN, login) in a modal, enter or ``a`` lists its Agents as the Controller
reports them, ``n`` registers one (with an optional CA file, the trust anchor of its
certificate), ``d`` removes one after typing its id. Below the list: the roles that have a
permission section for the highlighted Controller (enter opens the Roles section).

Every call to a Controller runs in a worker (``run_service``) with no lock held, so a dead
Controller never blocks keys or other calls.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from js7tui.client.diagnose import Diagnosis
from js7tui.client.registry import ControllerRecord, read_ca_file
from js7tui.identity.roles import RoleView
from js7tui.permissions.names import (
    ACCOUNTS_VIEW,
    AGENTS_VIEW,
    CONTROLLERS_MANAGE,
    CONTROLLERS_VIEW,
)
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.screens.controller_modals import AgentsModal, DiagnosisModal
from js7tui.tui.widgets.lists import HouseTable, Row, fit_rows
from js7tui.tui.widgets.modals import Field, FormModal, TypedConfirmModal


def role_sections(roles: list[RoleView], controller_id: str) -> list[tuple[str, int, int]]:
    """(role, permission entries, folders) of each role with a section for this Controller."""
    found = []
    for role in roles:
        entries = sum(1 for p in role.permissions if p.controller == controller_id)
        folders = sum(1 for f in role.folders if f.controller == controller_id)
        if entries or folders:
            found.append((role.name, entries, folders))
    return found


class ControllersScreen(SectionScreen):
    SECTION = "controllers"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("t", "test", "Test", id="controllers.test",
                tooltip="Test the connection step by step: DNS, TCP, TLS, certificate, DN, "
                        "login"),
        Binding("a", "agents", "Agents", id="controllers.agents",
                tooltip="The Controller's Agents and their state"),
        Binding("n", "register", "Register", id="controllers.register",
                tooltip="Register a Controller: id, URL, hop user, password, its CA file"),
        Binding("d", "remove", "Remove", id="controllers.remove",
                tooltip="Remove the Controller's registration (typed confirmation)"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "test": CONTROLLERS_VIEW, "register": CONTROLLERS_MANAGE,
        "remove": CONTROLLERS_MANAGE,
    }
    MUTATING: ClassVar[frozenset[str]] = frozenset({"register", "remove"})
    HELP = ("Registered Controllers. **t** tests a connection, **enter**/**a** its Agents, "
            "**n** registers, **d** removes. **tab** reaches the roles with a section for it.")
    DEFAULT_CSS = """
    ControllersScreen #controllers-table, ControllersScreen #controller-roles { height: 4; }
    ControllersScreen #controller-roles-title { margin-top: 1; padding: 0 1; }
    """

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.records: dict[str, ControllerRecord] = {}
        self.tested: dict[str, str] = {}
        self.roles: list[RoleView] | None = None
        self._want: str | None = None

    def compose_body(self) -> ComposeResult:
        yield HouseTable(("Id", "URL", "Hop user", "Client certificate", "Last test"),
                         id="controllers-table",
                         empty="no Controller registered yet (n registers one)")
        yield Static("", id="controller-roles-title")
        yield HouseTable(("Role", "Permission entries", "Folders"), id="controller-roles",
                         empty="no role has a section for this Controller")

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#controllers-table", HouseTable)

    @property
    def current(self) -> str | None:
        return self.table.current_key

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.run_service("reading the Controllers", self.ctx.console.controllers.list,
                         session, then=self._loaded)
        if self.ctx.can(ACCOUNTS_VIEW):
            self.run_service("reading the roles", self.ctx.console.roles.list, session,
                             then=self._roles_loaded)

    def _loaded(self, records: list[ControllerRecord]) -> None:
        self.records = {r.id: r for r in records}
        fit_rows(self.table, [Row(r.id, (r.id, r.url, r.hop_user, r.client_name,
                                          self.tested.get(r.id, "not tested")))
                              for r in records], 12)
        if self._want is not None:
            self._select(self._want)
        self._show_roles()
        self.refresh_bindings()

    def _roles_loaded(self, roles: list[RoleView]) -> None:
        self.roles = roles
        self._show_roles()

    def _show_roles(self) -> None:
        current = self.current
        title = self.query_one("#controller-roles-title", Static)
        table = self.query_one("#controller-roles", HouseTable)
        if current is None:
            title.update("")
            table.set_rows([])
            return
        if not self.ctx.can(ACCOUNTS_VIEW):
            title.update(escape(f"Roles with a section for {current}: not permitted "
                                "(needs accounts:view)"))
            table.set_rows([])
            return
        title.update(escape(f"Roles with a permission section for {current} "
                            "(enter opens Roles):"))
        found = role_sections(self.roles or [], current)
        fit_rows(table, [Row(name, (name, str(entries), str(folders)))
                         for name, entries, folders in found])

    @on(DataTable.RowHighlighted, "#controllers-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_roles()
        self.refresh_bindings()

    def select_item(self, item: str) -> None:
        """Opened from the dashboard: put the cursor on this Controller."""
        self._want = item
        self._select(item)

    def _select(self, item: str) -> None:
        keys = self.table.visible_keys
        if item in keys:
            self.table.move_cursor(row=keys.index(item))
            self._want = None
            self._show_roles()

    # -- permission gating per Controller ---------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "agents":
            return self.ctx.can(AGENTS_VIEW, self.current or "")
        return super().check_action(action, parameters)

    # -- opening ----------------------------------------------------------------------------
    @on(HouseTable.Opened)
    def _opened(self, message: HouseTable.Opened) -> None:
        message.stop()
        if message.table.id == "controller-roles":
            self.app.open_section("roles", message.key)  # type: ignore[attr-defined]
        elif self.ctx.can(AGENTS_VIEW, message.key):
            self.show_agents(message.key)
        else:
            self.show_error(f"the Agents of {message.key}: not permitted (needs agents:view "
                            "on this Controller)")

    def action_agents(self) -> None:
        if self.current is not None:
            self.show_agents(self.current)

    def show_agents(self, controller_id: str) -> None:
        modal = AgentsModal(f"Agents of Controller {controller_id}",
                            again=lambda: self._ask_agents(controller_id, modal))
        self.app.push_screen(modal)
        self._ask_agents(controller_id, modal)

    def _ask_agents(self, controller_id: str, modal: AgentsModal) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.run_service(f"the Agents of {controller_id}",
                         self.ctx.console.controllers.agents, session, controller_id,
                         then=modal.show, failed=lambda exc: modal.show_error(str(exc)))

    # -- the connection test ----------------------------------------------------------------
    def action_test(self) -> None:
        controller_id = self.current
        if controller_id is None:
            return
        record = self.records.get(controller_id)
        title = f"Connection test: {controller_id}" + (f" ({record.url})" if record else "")
        modal = DiagnosisModal(title, again=lambda: self._test(controller_id, modal, True))
        self.app.push_screen(modal)
        self._test(controller_id, modal)

    def _test(self, controller_id: str, modal: DiagnosisModal, again: bool = False) -> None:
        session = self.ctx.session
        if session is None:
            return
        if again:
            modal.testing()

        def done(diagnosis: Diagnosis) -> None:
            modal.show(diagnosis)
            self.tested[controller_id] = ("login ok" if diagnosis.ok else
                                          f"failed at {diagnosis.failed.name}")  # type: ignore[union-attr]
            self._loaded(list(self.records.values()))

        self.run_service(f"testing {controller_id}",
                         self.ctx.console.controllers.diagnose, session, controller_id,
                         then=done, failed=lambda exc: modal.show_error(str(exc)))

    # -- changes ----------------------------------------------------------------------------
    def action_register(self) -> None:
        fields = [
            Field("id", "Controller id", required=True, placeholder="controller-1"),
            Field("url", "URL", required=True, placeholder="https://host:port"),
            Field("hop_user", "Hop user", value="console", required=True),
            Field("password", "Hop password", kind="password", required=True),
            Field("client", "Client certificate", value="console", required=True,
                  help="the console certificate to present (js7tui cert list)"),
            Field("ca_file", "CA file (optional)", placeholder="/path/to/controller-ca.pem",
                  help="the CA that issued the Controller's certificate, if not the "
                       "console's own CA"),
        ]
        self.app.push_screen(FormModal("Register a Controller", fields,
                                       validate=lambda v: read_ca_file(v["ca_file"])),
                             self._register)

    def _register(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        controller_id = str(values["id"]).strip()
        ca_pem = read_ca_file(str(values["ca_file"]))

        def done(record: ControllerRecord) -> None:
            self.show_done(f"Controller {record.id} registered; t tests the connection")
            self._want = record.id
            self.reload()

        self.change(f"register Controller {controller_id}",
                    self.ctx.console.controllers.register, controller_id,
                    str(values["url"]).strip(), str(values["hop_user"]).strip(),
                    str(values["password"]), ca_pem=ca_pem,
                    client_name=str(values["client"]).strip(), then=done)

    def action_remove(self) -> None:
        controller_id = self.current
        if controller_id is None:
            return

        def confirmed(ok: bool | None) -> None:
            if not ok:
                return

            def done(_: object) -> None:
                self.show_done(f"Controller {controller_id} removed")
                self.tested.pop(controller_id, None)
                self.reload()
            self.change(f"remove Controller {controller_id}",
                        self.ctx.console.controllers.remove, controller_id, then=done)

        self.app.push_screen(TypedConfirmModal(
            f"Remove the registration of Controller {escape(controller_id)}? The console "
            "forgets its URL and hop password; the Controller itself keeps running and keeps "
            "what was deployed.", controller_id, title="Remove Controller"), confirmed)
