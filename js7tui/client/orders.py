"""Orders on the registered Controllers, for an acting session: list, show, read job output,
add and cancel (``console.orders``; the TUI's Orders section and tests use it).

Every method names the Controller and checks the permission on that Controller first:
``controller:orders:view`` to list, show, read logs and the deployed workflows;
``controller:orders:create`` to add; ``controller:orders:cancel`` to cancel. A refusal is a
security event, audited by ``Operations.authorize``. Adding and cancelling go the road of
:mod:`js7tui.remote`: the intent and its audit entry (category CONTROLLER, the Controller id,
the order ids and the workflow; argument names, never values) are written before the
Controller is asked, and its outcome after; a lost answer is UNKNOWN until reconciliation asks
the Controller whether it holds the order (``js7tui deployment reconcile``).

No store transaction is open while a Controller answers, and no lock is held: the store gives
each calling thread its own connection, so the TUI calls these from its workers side by side.
Clients are kept per registration (one login per Controller, not per poll) until
:meth:`close`; ``_lock`` guards only that cache.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from js7tui.audit import AuditMeta, Category
from js7tui.client.errors import ControllerRefused
from js7tui.client.registry import ControllerService
from js7tui.clock import Clock
from js7tui.errors import ValidationError
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import ORDERS_CANCEL, ORDERS_CREATE, ORDERS_VIEW
from js7tui.remote import Intent, RemoteChanges, RemoteOutcome, RemoteState, reconcile_quietly
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.client.controller import ControllerClient, Order, Output

CAT = Category.CONTROLLER
VIEW_REQUEST = "./orders"
ADD_REQUEST = "./orders/add"
CANCEL_REQUEST = "./orders/cancel"


def new_order_id(workflow: str) -> str:
    """A fresh order id: the workflow's name and a random suffix (the Controller refuses a
    duplicate, so two consoles never clash)."""
    return f"{workflow.rsplit('/', 1)[-1][:40]}-{uuid.uuid4().hex[:8]}"


def parse_arguments(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by spaces, commas or new lines (as typed in a form)."""
    out: dict[str, str] = {}
    for part in text.replace(",", " ").split():
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise ValidationError(f"'{part}' is not key=value (arguments are key=value pairs "
                                  "separated by spaces)")
        out[key] = value
    return out


def _probe_added(client: ControllerClient, intent: Intent) -> RemoteOutcome:
    """Added orders are all or none: the Controller holds the first exactly when it took
    them."""
    order_id = (intent.probe.get("orderIds") or [intent.reference])[0]
    try:
        client.order(order_id)
    except ControllerRefused as exc:
        if exc.status != 404:
            raise
        return RemoteOutcome(RemoteState.NOT_APPLIED,
                             f"the Controller has no order '{order_id}'")
    return RemoteOutcome(RemoteState.ACCEPTED, f"the Controller holds order '{order_id}'")


def _probe_cancelled(client: ControllerClient, intent: Intent) -> RemoteOutcome:
    ids = list(intent.probe.get("orderIds") or [intent.reference])
    order = client.order(ids[0])
    if order.cancel_requested or order.state == "cancelled":
        return RemoteOutcome(RemoteState.ACCEPTED, f"order '{ids[0]}' is {order.state}"
                             + (" (cancel requested)" if order.cancel_requested else ""))
    return RemoteOutcome(RemoteState.NOT_APPLIED,
                         f"order '{ids[0]}' is {order.state}, no cancel requested")


def register_probes(remote: RemoteChanges) -> None:
    """How reconciliation asks a Controller about order changes."""
    remote.register(("ADD_ORDERS",), _probe_added)
    remote.register(("CANCEL_ORDERS",), _probe_cancelled)


class OrderService:
    def __init__(self, store: Store, ops: Operations, clock: Clock,
                 controllers: ControllerService, remote: RemoteChanges) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.controllers = controllers
        self.remote = remote
        self._clients: dict[str, tuple[tuple[str, str], ControllerClient]] = {}
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------
    def _authorized(self, session: Session, permission: str, controller_id: str,
                    request: str) -> ControllerClient:
        """Check ``permission`` on the Controller (refusals audited) and hand its client."""
        self.ops.authorize(session, [permission], controller=controller_id,
                           request=request, category=CAT)
        record = self.controllers._get(controller_id)
        key = (record.url, record.updated)
        with self._lock:
            cached = self._clients.get(controller_id)
            if cached is not None and cached[0] == key:
                return cached[1]
            client = self.controllers.client(controller_id)
            old, self._clients[controller_id] = cached, (key, client)
        if old is not None:
            old[1].close()
        return client

    def _intent(self, session: Session, kind: str, request: str, permission: str,
                controller_id: str, reference: str, order_ids: Sequence[str], *, path: str,
                parameters: dict[str, Any], meta: AuditMeta) -> Intent:
        """Phase 1: session, permission and comment rule, the intent and its audit entry in
        one transaction (nothing is sent if it cannot be written)."""
        with self.ops.mutate(session, request=request, category=CAT, permissions=[permission],
                             controller=controller_id, meta=meta) as op:
            return self.remote.record(op, kind, reference, [controller_id],
                                      probe={"orderIds": list(order_ids)}, path=path,
                                      object_type="WORKFLOW" if path else "",
                                      parameters=parameters)

    def close(self) -> None:
        """Log out of every Controller this service logged in to."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for _, client in clients:
            client.close()

    # -- reading --------------------------------------------------------------------------
    def controllers_for(self, session: Session) -> list[str]:
        """The registered Controllers on which the session may view orders."""
        fresh = self.ops.authorize(session, request=VIEW_REQUEST, category=CAT)
        ids = [r[0] for r in self.store.conn.execute("SELECT id FROM controllers ORDER BY id")]
        return [i for i in ids if fresh.can(ORDERS_VIEW, i)]

    def list(self, session: Session, controller_id: str, *,
             state: str | None = None) -> list[Order]:
        """The Controller's orders, newest first, each with its steps (no output)."""
        client = self._authorized(session, ORDERS_VIEW, controller_id, VIEW_REQUEST)
        return client.orders(state)

    def show(self, session: Session, controller_id: str, order_id: str) -> Order:
        client = self._authorized(session, ORDERS_VIEW, controller_id, VIEW_REQUEST)
        return client.order(order_id)

    def log(self, session: Session, controller_id: str, order_id: str) -> Order:
        """The order with each step's stdout and stderr as recorded (ended steps)."""
        client = self._authorized(session, ORDERS_VIEW, controller_id, "./orders/log")
        return client.order_log(order_id)

    def output(self, session: Session, controller_id: str, order_id: str, position: int, *,
               stdout: int = 0, stderr: int = 0) -> Output:
        """One step's output from byte offsets on, live while its job runs (follow mode)."""
        client = self._authorized(session, ORDERS_VIEW, controller_id, "./orders/log")
        return client.order_output(order_id, position, stdout=stdout, stderr=stderr)

    def workflows(self, session: Session, controller_id: str) -> list[str]:
        """The workflows deployed on the Controller (what an order can be added to)."""
        client = self._authorized(session, ORDERS_VIEW, controller_id, VIEW_REQUEST)
        return sorted(i.path for i in client.items() if i.item_type == "Workflow")

    # -- changing -------------------------------------------------------------------------
    def add(self, session: Session, controller_id: str, workflow: str, *,
            order_id: str = "", arguments: Mapping[str, str] | None = None,
            meta: AuditMeta = AuditMeta()) -> str:
        """Add an order (a fresh id when none is given); returns its id."""
        workflow = workflow.strip()
        if not workflow:
            raise ValidationError("choose the workflow the order runs")
        order_id = order_id.strip() or new_order_id(workflow)
        client = self._authorized(session, ORDERS_CREATE, controller_id, ADD_REQUEST)
        reconcile_quietly(self.remote, session, controller_id)
        arguments = dict(arguments or {})
        # argument names only: a value may be a secret the redaction cannot recognise
        intent = self._intent(session, "ADD_ORDERS", ADD_REQUEST, ORDERS_CREATE, controller_id,
                              order_id, [order_id], path=workflow, meta=meta,
                              parameters={"orderId": order_id, "workflowPath": workflow,
                                          "argumentNames": sorted(arguments)})

        def send() -> RemoteOutcome:
            client.add_order(order_id, workflow, arguments)
            return RemoteOutcome(RemoteState.ACCEPTED)

        self.remote.send_one(intent, controller_id, send, f"order '{order_id}'")
        return order_id

    def cancel(self, session: Session, controller_id: str, order_ids: Sequence[str], *,
               meta: AuditMeta = AuditMeta()) -> dict[str, str]:
        """Cancel orders; returns each id's state ('cancelled', or 'cancelling' while its
        Agent ends the running job)."""
        ids = list(dict.fromkeys(i.strip() for i in order_ids if i.strip()))
        if not ids:
            raise ValidationError("name at least one order to cancel")
        client = self._authorized(session, ORDERS_CANCEL, controller_id, CANCEL_REQUEST)
        reconcile_quietly(self.remote, session, controller_id)
        workflows = {i: client.order(i).workflow_path for i in ids}
        paths = sorted(set(workflows.values()))
        intent = self._intent(session, "CANCEL_ORDERS", CANCEL_REQUEST, ORDERS_CANCEL,
                              controller_id, ids[0], ids,
                              path=paths[0] if len(paths) == 1 else "", meta=meta,
                              parameters={"orderIds": ids, "workflows": workflows})
        states: dict[str, str] = {}

        def send() -> RemoteOutcome:
            states.update({r["orderId"]: r["state"] for r in client.cancel_orders(ids)})
            return RemoteOutcome(RemoteState.ACCEPTED, ", ".join(
                f"{i}: {s}" for i, s in sorted(states.items()))[:500])

        self.remote.send_one(intent, controller_id, send, f"cancelling {', '.join(ids[:5])}")
        return states
