"""The Approvals section with keys only (issue 22): a requestor's change in the Roles section
says "sent for approval"; the approver sees it with its diff, rejects with a reason and
approves with a comment; the requestor withdraws one and executes another; the header counts
what waits. Assertions on the store."""

from __future__ import annotations

from js7tui.approval import SentForApproval
from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW, APPROVALS_APPROVE
from js7tui.tui.app import make_app
from js7tui.tui.screens.approvals import ApprovalsScreen
from tests.conftest import login as service_login
from tests.conftest import make_account
from tests.tui.conftest import login, settle, type_text

META = AuditMeta()
ORDERS_VIEW = "sos:products:controller:orders:view"
PASSWORD = "a-good-password-42"


def setup(console: Console, root: Session) -> Session:
    for role, permissions in (("req", [ACCOUNTS_VIEW, ACCOUNTS_MANAGE]),
                              ("appr", [ACCOUNTS_VIEW, APPROVALS_APPROVE]), ("target", [])):
        console.roles.create(root, role, meta=META)
        for permission in permissions:
            console.roles.set_permission(root, role, permission, meta=META)
    alice = make_account(console, root, "alice", ["req"], PASSWORD)
    make_account(console, root, "bob", ["appr"], PASSWORD)
    console.settings.set(root, "approval_requestor_roles", "req", meta=META)
    return alice


def request(console: Console, alice: Session) -> int:
    try:
        console.roles.set_permission(alice, "target", ORDERS_VIEW, meta=AuditMeta("t-1"))
    except SentForApproval as sent:
        return sent.request_id
    raise AssertionError("not sent for approval")


def states(console: Console) -> dict[int, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in console.store.conn.execute(
        "SELECT id, requestor_state, approver_state FROM approval_requests")}


async def open_approvals(app, pilot, account: str) -> ApprovalsScreen:
    await login(pilot, account, PASSWORD)
    await pilot.press("colon")
    await type_text(pilot, "Approvals")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, ApprovalsScreen)
    return app.screen


async def test_approver_rejects_and_approves_with_keys(console: Console, root: Session,
                                                      env: dict[str, str]) -> None:
    alice = setup(console, root)
    first, second = request(console, alice), request(console, alice)
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_approvals(app, pilot, "bob")
        assert "2 approval(s)" in str(screen.header.query_one("#header-who").render())
        detail = str(screen.query_one("#approval-detail-text").render())
        assert f"request {second}" in detail and f"+grant {ORDERS_VIEW}" in detail
        await pilot.press("x")                     # reject the highlighted (newest) one
        await type_text(pilot, "not in this window")
        await pilot.press("enter")
        await settle(pilot)
        assert states(console)[second] == ("REQUESTED", "REJECTED")
        await pilot.press("j", "a")                # approve the older one
        await pilot.press("enter")                 # an empty comment is refused by the form
        await type_text(pilot, "checked: orders view only")
        await pilot.press("enter")
        await settle(pilot)
        assert states(console)[first] == ("REQUESTED", "APPROVED")
        assert "approval(s)" not in str(screen.header.query_one("#header-who").render())


async def test_requestor_sends_withdraws_and_executes_with_keys(
        console: Console, root: Session, env: dict[str, str]) -> None:
    alice = setup(console, root)
    approved = request(console, alice)
    console.approvals.approve(service_login(console, "bob", PASSWORD), approved, "ok")
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "alice", PASSWORD)
        # a change in the Roles section is sent for approval, not done
        await pilot.press("8")
        await settle(pilot)
        await pilot.press("n")
        await type_text(pilot, "newrole")
        await pilot.press("enter")
        await settle(pilot)
        assert any("Sent for approval" in (n.title or "") for n in app._notifications)
        assert "newrole" not in {r.name for r in console.roles.list(root)}
        pending = max(states(console))
        await pilot.press("colon")
        await type_text(pilot, "Approvals")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        assert screen.table.current_key == str(pending)
        await pilot.press("w", "y")
        await settle(pilot)
        assert states(console)[pending] == ("WITHDRAWN", "PENDING")
        await pilot.press("j", "e", "y")
        await settle(pilot)
        assert states(console)[approved] == ("EXECUTED", "APPROVED")
        assert ORDERS_VIEW in {p.permission for p in console.roles.show(root, "target")
                               .permissions}
        # approving is not offered to a requestor without the permission
        assert screen.check_action("approve", ()) is False
