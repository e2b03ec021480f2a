"""Section 4: the orders on one Controller, live (read again every second while shown).

Keys: c next Controller, n add an order (workflow from the Controller's deployed workflows,
generated order id, key=value arguments), d cancel (confirmation), enter the order's job log
(``OrderLogScreen``: f follow, s stdout/stderr/both), / filter. Everything goes through
``console.orders`` (``source``), which checks the permission on the Controller shown and
audits additions, cancellations and refusals; keys are hidden when the session lacks the
permission on that Controller.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.client.orders import new_order_id, parse_arguments
from js7tui.errors import Js7Error, SessionRequired, ValidationError
from js7tui.identity.sessions import Session
from js7tui.operations import SECURITY_EVENTS
from js7tui.permissions.names import (
    ENCIPHERMENT_ENCRYPT,
    ORDERS_CANCEL,
    ORDERS_CREATE,
    ORDERS_VIEW,
)
from js7tui.tui.screens.live import LiveScreen
from js7tui.tui.screens.order_log import OrderLogScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal
from js7tui.tui.widgets.quiet import update_quietly
from js7tui.words import plural

COLUMNS = ("Order", "Workflow", "State", "Step", "Started", "Ended", "RC")


def when(stamp: str) -> str:
    """``MM-DD HH:MM:SS`` of an ISO time in UTC (the header says UTC)."""
    return stamp[5:19].replace("T", " ") if stamp else ""


def state_words(order: Any) -> str:
    """The order's state in words: a running order says whether it waits, runs or is being
    cancelled."""
    if order.state != "running":
        return str(order.state)
    if order.cancel_requested:
        return "cancelling"
    current = next((s for s in order.steps if s.position == order.position), None)
    return "waiting" if current is not None and current.state == "ready" else "running"


def order_row(order: Any) -> Row:
    current = next((s for s in order.steps if s.position == order.position), None)
    step = f"{order.position + 1} {current.job_name}" if current else str(order.position + 1)
    last = order.steps[-1] if order.steps else None
    rc = "" if last is None or last.return_code is None else str(last.return_code)
    return Row(order.id, (order.id, order.workflow_path, state_words(order), step,
                          when(order.created), when(order.updated) if order.ended else "",
                          rc))


# GET /api/order answers at most this many orders (js7tui/engine/wire.py)
CONTROLLER_ORDER_LIMIT = 1000

class OrdersScreen(LiveScreen):
    SECTION = "orders"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("c", "next_controller", "Controller", id="orders.controller",
                tooltip="Show the orders of the next Controller"),
        Binding("n", "add", "Add", id="orders.add",
                tooltip="Add an order to a workflow deployed on this Controller"),
        Binding("d", "cancel", "Cancel", id="orders.cancel",
                tooltip="Cancel the order (its running job is killed)"),
        Binding("l", "log", "Log", show=False, id="orders.log",
                tooltip="The order's job output (enter does the same)"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "add": ORDERS_CREATE, "cancel": ORDERS_CANCEL, "log": ORDERS_VIEW}
    MUTATING: ClassVar[frozenset[str]] = frozenset({"add", "cancel"})
    HELP = ("Orders on one Controller, newest first, read again every second. **c** next "
            "Controller, **n** add, **d** cancel, **enter** job log, **/** filter.")

    def __init__(self, ctx: Any, source: Any = None) -> None:
        super().__init__(ctx)
        self.source = source if source is not None else ctx.console.orders
        self.controllers: list[str] = []
        self.controller: str | None = None
        self.orders: dict[str, Any] = {}
        self.error = ""
        self._select: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(" reading...", id="orders-where")
        yield HouseTable(COLUMNS, id="orders-table", empty="no orders")

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#orders-table", HouseTable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Permissions are per Controller: the one shown decides."""
        if action == "next_controller":
            return len(self.controllers) > 1
        if action in self.ACTION_PERMISSIONS:
            if action in self.MUTATING and self.ctx.readonly:
                return False
            return self.controller is not None and self.ctx.can(
                self.ACTION_PERMISSIONS[action], self.controller)
        return super().check_action(action, parameters)

    # -- reading --------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        # SectionScreen's handler (Textual calls each class's) reads the section first
        self.start_polling()

    def reload(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.polling = True
        self.run_service("orders", self._read, session, self.controller,
                         then=self._loaded, failed=self.poll_failed)

    def poll(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        """Read again now, and keep reading (after a refusal stopped it)."""
        self.start_polling()
        self.reload()

    def _read(self, session: Session, wanted: str | None
              ) -> tuple[list[str], str | None, list[Any] | None, str]:
        """Runs in a worker: the Controllers the session may view orders on, and the orders
        of the chosen one (None and the reason when it does not answer)."""
        controllers = self.source.controllers_for(session)
        controller = wanted if wanted in controllers else (controllers[0] if controllers
                                                           else None)
        if controller is None:
            return controllers, None, [], ""
        try:
            return controllers, controller, self.source.list(session, controller), ""
        except (*SECURITY_EVENTS, SessionRequired):
            raise
        except Js7Error as exc:  # unreachable, refused, no client certificate...
            return controllers, controller, None, str(exc)

    def _loaded(self, result: tuple[list[str], str | None, list[Any] | None, str]) -> None:
        self.poll_done()
        controllers, controller, orders, error = result
        changed = (controllers, controller) != (self.controllers, self.controller)
        self.controllers, self.controller, self.error = controllers, controller, error
        self.orders = {o.id: o for o in orders or []}
        update_quietly(self.query_one("#orders-where", Static), self._where(orders))
        self.table.empty_text = ("the Controller did not answer" if orders is None
                                 else "no orders")
        self.table.update_rows(order_row(o) for o in orders or [])
        if self._select and self._select in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(self._select))
            self._select = None
        if changed:
            self.refresh_bindings()

    def _where(self, orders: list[Any] | None) -> str:
        if self.controller is None:
            return (" no Controller is registered on which you may view orders "
                    "(register one in section 2, Controllers)")
        others = len(self.controllers) - 1
        more = f"  ([b]c[/b]: {others} more)" if others > 0 else ""
        where = f" Controller [b]{escape(self.controller)}[/b]{more}"
        if orders is None:
            return f"{where}  [b]unreachable[/b]: {escape(self.error)}"
        running = sum(1 for o in orders if not o.ended)
        count = plural(len(orders), "order")
        if len(orders) >= CONTROLLER_ORDER_LIMIT:
            # the Controller answers at most this many (GET /api/order); it says no total
            count = f"the newest {len(orders):,} orders (the Controller's limit; maybe more)"
        return f"{where}  {count}, {running:,} not ended; live, times UTC"

    def select_item(self, item: str) -> None:
        """Select the order ``item`` (``controller/order`` chooses the Controller too)."""
        controller, sep, order_id = item.rpartition("/")
        if sep and controller:
            self.controller = controller
        self._select = order_id
        if order_id in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(order_id))
            self._select = None
        else:
            self.reload()

    @property
    def current(self) -> Any | None:
        key = self.table.current_key
        return self.orders.get(key) if key else None

    # -- actions --------------------------------------------------------------------------
    def action_next_controller(self) -> None:
        if len(self.controllers) > 1 and self.controller in self.controllers:
            index = self.controllers.index(self.controller)
            self.controller = self.controllers[(index + 1) % len(self.controllers)]
            self.table.set_rows([])
            update_quietly(self.query_one("#orders-where", Static),
                           f" Controller [b]{escape(self.controller)}[/b]  reading...")
            self.refresh_bindings()
            self.reload()

    @on(HouseTable.Opened)
    def _opened(self) -> None:
        self.action_log()

    def action_log(self) -> None:
        order = self.current
        if order is None or self.controller is None:
            return
        self.app.push_screen(OrderLogScreen(self.ctx, self.controller, order.id,
                                            source=self.source))

    def action_add(self) -> None:
        session, controller = self.ctx.session, self.controller
        if session is None or controller is None:
            return
        console = self.ctx.console

        def read(session: Session, controller: str) -> tuple[list[str], list[Any]]:
            flows = self.source.workflows(session, controller)
            # the encrypt fields only for who may encrypt (issue 21)
            views = (console.encipherment.choices(session)
                     if session.can(ENCIPHERMENT_ENCRYPT) else [])
            return flows, views

        self.run_service("workflows", read, session, controller,
                         then=lambda found: self._add_form(controller, *found))

    def _add_form(self, controller: str, workflows: list[str],
                  views: list[Any] | None = None) -> None:
        if not workflows:
            self.show_error(f"no workflow is deployed on Controller '{controller}': deploy one "
                            "in section 3, Inventory")
            return
        fields = [
            Field("workflow", "Workflow", kind="choice", choices=workflows,
                  value=workflows[0], required=True),
            Field("order_id", "Order id", value=new_order_id(workflows[0]),
                  help="generated; change it if you like (letters, digits, _ # . : @ + -)"),
            Field("arguments", "Arguments", placeholder="key=value key2=value2",
                  help="passed to the jobs; separated by spaces"),
        ]
        readers = {v.cert.alias: ", ".join(v.readers) or "no Agent yet" for v in views or []}
        note = ""
        if readers:
            fields += [
                Field("secret_name", "Encrypted argument", placeholder="name",
                      help="an argument whose value is encrypted for the Agents below"),
                Field("secret_value", "Its value", kind="password"),
                Field("secret_for", "Encrypt for", kind="choice", choices=list(readers),
                      value=next(iter(readers)))]
            note = "Encrypted arguments can be read by:\n" + "\n".join(
                f"  {alias}: {agents}" for alias, agents in readers.items())

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            workflow, order_id = values["workflow"], values["order_id"].strip()
            arguments = parse_arguments(values["arguments"])
            name = (values.get("secret_name") or "").strip()
            value, alias = values.get("secret_value") or "", values.get("secret_for")
            values.clear()

            def add(session: Session, meta: Any = None) -> str:
                if name:
                    arguments[name] = self.ctx.console.encipherment.encrypt(
                        session, str(alias), value, f"order:{workflow}:{name}",
                        meta=meta).value
                return self.source.add(session, controller, workflow, order_id=order_id,
                                       arguments=arguments, meta=meta)
            self.change(f"add order to {workflow}", add, then=self._added)

        def validate(v: dict[str, Any]) -> None:
            parse_arguments(v["arguments"])
            if (v.get("secret_name") or "").strip() and not v.get("secret_value"):
                raise ValidationError("give the encrypted argument's value")

        self.app.push_screen(FormModal(
            f"Add an order on Controller {controller}", fields, note=note,
            validate=validate), done)

    def _added(self, order_id: str) -> None:
        self.show_done(f"order {order_id} added")
        self._select = order_id
        self.reload()

    def action_cancel(self) -> None:
        order, controller = self.current, self.controller
        if order is None or controller is None:
            return
        if order.ended:
            self.show_error(f"order {order.id} has ended already ({order.state})")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(f"cancel order {order.id}", self.source.cancel, controller,
                            [order.id], then=self._cancelled)

        self.app.push_screen(ConfirmModal(
            f"Cancel order [b]{escape(order.id)}[/b] ({escape(order.workflow_path)}) on "
            f"Controller [b]{escape(controller)}[/b]? Its running job is killed.",
            title="Cancel order"), confirmed)

    def _cancelled(self, states: dict[str, str]) -> None:
        self.show_done(", ".join(f"order {k}: {v}" for k, v in states.items()))
        self.reload()
