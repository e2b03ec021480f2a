"""The order service (``console.orders``) against a real Controller and Agent: add, list, read
logs (also live while a job runs), cancel a running ``sleep``, and permissions checked and
refusals audited per Controller.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from js7tui.audit import AuditMeta
from js7tui.client import ControllerRefused, ControllerUnreachable
from js7tui.client.orders import parse_arguments
from js7tui.console import Console
from js7tui.engine.shapes import output_slice
from js7tui.errors import PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.permissions.names import ORDERS_CANCEL, ORDERS_CREATE, ORDERS_VIEW
from js7tui.remote import RemoteChangeFailed
from tests.conftest import make_account
from tests.estate import Estate, process_alive, running_estate, wait_for
from tests.order_fixtures import prepare

META = AuditMeta()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("orders")) as estate:
        prepare(estate)
        yield estate


@pytest.fixture(scope="module")
def console(estate: Estate) -> Console:
    return estate.console


@pytest.fixture(scope="module")
def admin(estate: Estate) -> Session:
    return estate.admin


def audit_rows(console: Console, request: str) -> list[sqlite3.Row]:
    return console.store.conn.execute(
        "SELECT * FROM audit_log WHERE request = ? ORDER BY id", (request,)).fetchall()


def wait_state(console: Console, session: Session, order_id: str, *states: str) -> None:
    wait_for(lambda: console.orders.show(session, "controller-1", order_id).state in states,
             f"order {order_id} {'/'.join(states)}")


# -- pure helpers ----------------------------------------------------------------------------
def test_output_slice_never_cuts_a_character() -> None:
    data = "a€b".encode()  # € is three bytes
    assert output_slice(data, 0, limit=2) == ("a", 1)
    assert output_slice(data, 1, limit=2) == ("", 1)       # not a whole character yet
    assert output_slice(data, 1) == ("€b", 5)
    assert output_slice(data, 99) == ("", 5)
    assert output_slice(data[:3], 0) == ("a", 1)          # the rest has not arrived


def test_parse_arguments() -> None:
    assert parse_arguments("who=world, n=3\nempty=") == {"who": "world", "n": "3", "empty": ""}
    with pytest.raises(ValidationError, match="key=value"):
        parse_arguments("who")


# -- against the estate ----------------------------------------------------------------------
pytest_slow = pytest.mark.slow


@pytest_slow
def test_add_list_log_and_audit(console: Console, admin: Session) -> None:
    assert console.orders.controllers_for(admin) == ["controller-1", "controller-down"]
    assert console.orders.workflows(admin, "controller-1") == ["say-hello", "sleepy", "ticker",
                                                              "ticker-slow"]
    order_id = console.orders.add(admin, "controller-1", "say-hello", order_id="hello-1",
                                  arguments={"who": "the tests"},
                                  meta=AuditMeta(comment="smoke test"))
    assert order_id == "hello-1"
    wait_state(console, admin, "hello-1", "finished")
    listed = {o.id: o for o in console.orders.list(admin, "controller-1")}
    order = listed["hello-1"]
    assert order.workflow_path == "say-hello" and order.arguments == {"who": "the tests"}
    assert [(s.job_name, s.state, s.return_code) for s in order.steps] == [
        ("say", "succeeded", 0)]
    log = console.orders.log(admin, "controller-1", "hello-1")
    assert log.steps[0].stdout == "hello from the tests\n"
    entry, outcome = audit_rows(console, "./orders/add")[-2:]
    assert (entry["category"], entry["controller_id"], entry["path"], entry["comment"]) == (
        "CONTROLLER", "controller-1", "say-hello", "smoke test")
    # the intent, written before the Controller was asked; then its outcome
    assert json.loads(entry["parameters"]) == {
        "orderId": "hello-1", "workflowPath": "say-hello", "argumentNames": ["who"],
        "phase": "intent", "targets": {"controller-1": "SENDING"}}
    assert json.loads(outcome["parameters"])["outcome"] == "ACCEPTED"
    assert outcome["id"] == entry["id"] + 1 and outcome["controller_id"] == "controller-1"
    # a generated id, and the Controller's refusal of a duplicate in words
    generated = console.orders.add(admin, "controller-1", "say-hello")
    assert generated.startswith("say-hello-")
    with pytest.raises(RemoteChangeFailed, match=r"refused by the Controller: DuplicateOrder: "
                       r".*exists already") as refused:
        console.orders.add(admin, "controller-1", "say-hello", order_id="hello-1")
    assert refused.value.exit_code == 9
    last = audit_rows(console, "./orders/add")[-1]
    assert last["outcome"] == "REFUSED" and "exists already" in last["parameters"]


@pytest_slow
def test_cancel_a_running_sleep(estate: Estate, console: Console, admin: Session) -> None:
    console.orders.add(admin, "controller-1", "sleepy", order_id="nap-1")
    step = wait_for(lambda: next((s for s in console.orders.show(
        admin, "controller-1", "nap-1").steps if s.state == "running" and s.pid), None),
        "the sleep running")
    assert process_alive(step.pid)
    states = console.orders.cancel(admin, "controller-1", ["nap-1"], meta=META)
    assert states == {"nap-1": "cancelling"}
    wait_state(console, admin, "nap-1", "cancelled")
    wait_for(lambda: not process_alive(step.pid), "the sleep process gone")
    log = console.orders.log(admin, "controller-1", "nap-1")
    assert log.steps[0].state == "killed" and log.steps[0].stdout == "napping\n"
    entry = audit_rows(console, "./orders/cancel")[-2]
    assert (entry["controller_id"], entry["path"], entry["outcome"]) == (
        "controller-1", "sleepy", "OK")
    assert json.loads(entry["parameters"])["workflows"] == {"nap-1": "sleepy"}
    with pytest.raises(RemoteChangeFailed, match="ended already"):
        console.orders.cancel(admin, "controller-1", ["nap-1"], meta=META)


@pytest_slow
def test_output_grows_while_the_job_runs(console: Console, admin: Session) -> None:
    console.orders.add(admin, "controller-1", "ticker", order_id="tick-1")
    first = wait_for(lambda: (o := console.orders.output(admin, "controller-1", "tick-1", 0))
                     .live and "tick-2" in o.stdout and o, "two ticks, live")
    assert first.stdout.startswith("tick-1\ntick-2\n") and "tick-10" not in first.stdout
    stdout, stderr = first.stdout, first.stderr
    offsets = (first.stdout_offset, first.stderr_offset)
    while True:  # what a follower does: ask from where it stopped until the step ended
        piece = console.orders.output(admin, "controller-1", "tick-1", 0, stdout=offsets[0],
                                      stderr=offsets[1])
        stdout, stderr = stdout + piece.stdout, stderr + piece.stderr
        offsets = (piece.stdout_offset, piece.stderr_offset)
        if piece.state not in ("ready", "started", "running") and not piece.stdout:
            break
    expected = "".join(f"tick-{i}\n" for i in range(1, 11))
    assert stdout == expected and stderr == expected.replace("tick", "tock")
    assert piece.live is False and piece.order_state == "finished"
    with pytest.raises(ControllerRefused, match="has no step 5"):
        console.orders.output(admin, "controller-1", "tick-1", 5)


@pytest_slow
def test_permissions_are_checked_and_refusals_audited_per_controller(
        console: Console, admin: Session) -> None:
    for role, permissions in (("order-viewer", (ORDERS_VIEW,)),
                              ("order-operator", (ORDERS_VIEW, ORDERS_CREATE, ORDERS_CANCEL))):
        console.roles.create(admin, role, meta=META)
        for permission in permissions:
            console.roles.set_permission(admin, role, permission, controller="controller-1",
                                         meta=META)
    viewer = make_account(console, admin, "viewer", ["order-viewer"])
    operator = make_account(console, admin, "operator", ["order-operator"])

    assert console.orders.controllers_for(viewer) == ["controller-1"]
    assert "hello-1" in {o.id for o in console.orders.list(viewer, "controller-1")}
    before = len(console.orders.list(admin, "controller-1"))
    with pytest.raises(PermissionDenied, match=r"orders:create.*controller-1"):
        console.orders.add(viewer, "controller-1", "say-hello", order_id="not-by-viewer")
    with pytest.raises(PermissionDenied, match="orders:cancel"):
        console.orders.cancel(viewer, "controller-1", ["hello-1"])
    with pytest.raises(PermissionDenied, match="controller-down"):
        console.orders.list(operator, "controller-down")
    assert len(console.orders.list(admin, "controller-1")) == before  # nothing was added

    refused = console.store.conn.execute(
        "SELECT account, request, controller_id FROM audit_log WHERE outcome = 'REFUSED' AND "
        "account IN ('viewer', 'operator') ORDER BY id").fetchall()
    assert [tuple(r) for r in refused] == [
        ("viewer", "./orders/add", "controller-1"),
        ("viewer", "./orders/cancel", "controller-1"),
        ("operator", "./orders", "controller-down")]

    added = console.orders.add(operator, "controller-1", "say-hello", order_id="by-operator")
    assert added == "by-operator"


@pytest_slow
def test_comment_required_before_anything_is_sent(console: Console, admin: Session) -> None:
    console.settings.set(admin, "force_comments_for_audit_log", True, meta=AuditMeta("test"))
    try:
        with pytest.raises(ValidationError, match="comment is required"):
            console.orders.add(admin, "controller-1", "say-hello", order_id="no-comment")
        assert "no-comment" not in {o.id for o in console.orders.list(admin, "controller-1")}
    finally:
        console.settings.set(admin, "force_comments_for_audit_log", False,
                             meta=AuditMeta("test"))


@pytest_slow
def test_unreachable_controller_says_so(console: Console, admin: Session) -> None:
    with pytest.raises(ControllerUnreachable, match="cannot reach the Controller"):
        console.orders.list(admin, "controller-down")
