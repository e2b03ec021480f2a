"""Four-eyes approval of local changes (issue 22): a requestor's role change becomes a request
holding the role before and after; it is rejected, requested again, approved, executed once.
Own approval, an expired request, a role edited after the request and a forged approval row
are refused, and every step is audited."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from js7tui.approval import SentForApproval
from js7tui.approval.proof import ApprovalUnproven
from js7tui.approval.rules import request_digest
from js7tui.approval.service import ExecutionRefused
from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.errors import PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW, APPROVALS_APPROVE
from tests.conftest import make_account

META = AuditMeta()
ORDERS_VIEW = "sos:products:controller:orders:view"


@pytest.fixture
def people(console: Console, root: Session) -> tuple[Session, Session]:
    """alice (requestor role) and bob (approver); role 'target' is what alice changes."""
    for role, permissions in (("ops-requestor", [ACCOUNTS_VIEW, ACCOUNTS_MANAGE]),
                              ("approver", [ACCOUNTS_VIEW, APPROVALS_APPROVE]),
                              ("target", [])):
        console.roles.create(root, role, meta=META)
        for permission in permissions:
            console.roles.set_permission(root, role, permission, meta=META)
    alice = make_account(console, root, "alice", ["ops-requestor"])
    bob = make_account(console, root, "bob", ["approver"])
    console.settings.set(root, "approval_requestor_roles", "ops-requestor", meta=META)
    return alice, bob


def request_change(console: Console, alice: Session) -> int:
    with pytest.raises(SentForApproval) as sent:
        console.roles.set_permission(alice, "target", ORDERS_VIEW, meta=AuditMeta("ticket 7"))
    assert "bob" in sent.value.approvers and "alice" not in sent.value.approvers
    return sent.value.request_id


def target_permissions(console: Console, root: Session) -> set[str]:
    return {p.permission for p in console.roles.show(root, "target").permissions}


def phases(console: Console, request_id: int) -> list[str]:
    out = []
    for row in console.store.conn.execute("SELECT request, outcome, parameters FROM audit_log "
                                          "WHERE request LIKE './approval/%' ORDER BY id"):
        parameters = json.loads(row["parameters"] or "{}")
        if parameters.get("approvalRequest") == request_id:
            out.append(parameters.get("phase") or f"{row['outcome']}: {row['request']}")
    return out


def test_a_role_change_rejected_then_approved_and_executed_once(
        console: Console, root: Session, people: tuple[Session, Session]) -> None:
    alice, bob = people
    before = target_permissions(console, root)
    first = request_change(console, alice)
    assert target_permissions(console, root) == before     # nothing changed
    shown = console.approvals.show(bob, first)
    assert shown.requestor == "alice" and shown.reason == "ticket 7"
    assert f"+grant {ORDERS_VIEW}" in shown.lines           # the role's after, as a diff
    assert any(line.startswith("--- before") for line in shown.lines)
    assert [r.id for r in console.approvals.list(bob, for_me=True)] == [first]
    assert [r.id for r in console.approvals.list(alice, mine=True)] == [first]
    assert console.approvals.pending_count(bob) == 1
    with pytest.raises(ValidationError, match="reason"):
        console.approvals.reject(bob, first, "")
    rejected = console.approvals.reject(bob, first, "not this sprint")
    assert rejected.state(console.clock.now()) == "REJECTED"
    with pytest.raises(ExecutionRefused, match="rejected"):
        console.approvals.run_approved(alice, first)

    second = request_change(console, alice)
    with pytest.raises(ValidationError, match="comment"):
        console.approvals.approve(bob, second, "  ")
    with pytest.raises(ExecutionRefused, match="not approved yet"):
        console.approvals.run_approved(alice, second)
    console.approvals.approve(bob, second, "checked the diff: orders view only")
    assert console.approvals.pending_count(alice) == 1     # mine, approved, to execute
    with pytest.raises(PermissionDenied, match="requestor"):
        console.approvals.run_approved(bob, second)
    request, summary = console.approvals.run_approved(alice, second)
    assert request.state(console.clock.now()) == "EXECUTED" and "done" in summary
    assert target_permissions(console, root) == before | {ORDERS_VIEW}
    with pytest.raises(ExecutionRefused, match="executed already"):
        console.approvals.run_approved(alice, second)
    assert phases(console, first) == ["requested", "rejected",
                                      "REFUSED: ./approval/execute"]
    assert phases(console, second)[:2] == ["requested", "REFUSED: ./approval/execute"]
    assert phases(console, second)[2:] == ["approved", "REFUSED: ./approval/execute",
                                           "execution started", "executed",
                                           "REFUSED: ./approval/execute"]
    # the change itself is audited as the requestor's, as a direct change would be
    change = console.store.conn.execute(
        "SELECT account FROM audit_log WHERE request = './iam/permissions/store' "
        "ORDER BY id DESC LIMIT 1").fetchone()
    assert change[0] == "alice"


def test_own_approval_is_refused_and_audited(console: Console, root: Session,
                                             people: tuple[Session, Session]) -> None:
    alice, _ = people
    console.roles.set_permission(root, "ops-requestor", APPROVALS_APPROVE, meta=META)
    request_id = request_change(console, alice)
    with pytest.raises(PermissionDenied, match="own request"):
        console.approvals.approve(alice, request_id, "looks fine to me")
    assert console.approvals.show(alice, request_id).approver_state == "PENDING"
    refused = console.store.conn.execute(
        "SELECT parameters FROM audit_log WHERE request = './approval/approve' AND "
        "outcome = 'REFUSED'").fetchall()
    assert refused and "own request" in refused[-1][0]


def test_an_expired_request_is_refused(console: Console, clock: FrozenClock, root: Session,
                                       people: tuple[Session, Session]) -> None:
    alice, bob = people
    late = request_change(console, alice)
    approved = request_change(console, alice)
    console.approvals.approve(bob, approved, "fine")
    clock.advance(hours=25)
    with console.store.transaction() as conn:     # keep the sessions alive across 25 h
        conn.execute("UPDATE sessions SET last_used = ?", (clock.now().isoformat(),))
    assert console.approvals.show(bob, late).state(clock.now()) == "EXPIRED"
    with pytest.raises(ExecutionRefused, match="EXPIRED"):
        console.approvals.approve(bob, late, "too late")
    with pytest.raises(ExecutionRefused, match="expired"):
        console.approvals.run_approved(alice, approved)
    assert ORDERS_VIEW not in target_permissions(console, root)
    clock.advance(days=7)
    with console.store.transaction() as conn:
        conn.execute("UPDATE sessions SET last_used = ?", (clock.now().isoformat(),))
    assert console.approvals.list(root) == []          # cleaned up after approval_requests_age


def test_a_role_edited_after_the_request_is_refused_at_execution(
        console: Console, root: Session, people: tuple[Session, Session]) -> None:
    alice, bob = people
    request_id = request_change(console, alice)
    console.approvals.approve(bob, request_id, "ok")
    console.roles.add_folder(root, "target", "/elsewhere", meta=META)
    with pytest.raises(ExecutionRefused, match="changed after the request"):
        console.approvals.run_approved(alice, request_id)
    assert ORDERS_VIEW not in target_permissions(console, root)
    assert console.approvals.show(alice, request_id).requestor_state == "REQUESTED"
    assert phases(console, request_id)[-1] == "refused at execution"


def test_the_requestor_who_lost_the_permission_is_refused_at_execution(
        console: Console, root: Session, people: tuple[Session, Session]) -> None:
    alice, bob = people
    request_id = request_change(console, alice)
    console.approvals.approve(bob, request_id, "ok")
    console.roles.remove_permission(root, "ops-requestor", ACCOUNTS_MANAGE, meta=META)
    with pytest.raises(ExecutionRefused, match="permission denied"):
        console.approvals.run_approved(alice, request_id)
    assert ORDERS_VIEW not in target_permissions(console, root)


def forge(conn: sqlite3.Connection, request_id: int, approver: str) -> None:
    digest = conn.execute("SELECT digest FROM approval_requests WHERE id = ?",
                          (request_id,)).fetchone()[0]
    conn.execute("UPDATE approval_requests SET approver_state = 'APPROVED', approver = ? "
                 "WHERE id = ?", (approver, request_id))
    conn.execute(
        "INSERT INTO approval_decisions (request_id, decision, approver, comment, digest, "
        "session_id, session_token_hash, decided, audit_id, proof) VALUES "
        "(?, 'APPROVED', ?, 'ok', ?, 1, 'x', '2026-01-01T00:00:00+00:00', 1, ?)",
        (request_id, approver, digest, "0" * 64))


def test_an_approval_row_forged_or_edited_in_the_store_does_not_execute(
        console: Console, root: Session, people: tuple[Session, Session]) -> None:
    alice, bob = people
    forged = request_change(console, alice)
    with console.store.transaction() as conn:
        forge(conn, forged, "bob")
    with pytest.raises(ApprovalUnproven, match="proof does not match"):
        console.approvals.run_approved(alice, forged)

    edited = request_change(console, alice)
    console.approvals.approve(bob, edited, "only orders view")
    with console.store.transaction() as conn:      # the frozen change is swapped afterwards
        payload = json.loads(conn.execute("SELECT payload FROM approval_requests WHERE id = ?",
                                          (edited,)).fetchone()[0])
        payload["arguments"]["permission"] = "sos:products"
        conn.execute("UPDATE approval_requests SET payload = ? WHERE id = ?",
                     (json.dumps(payload), edited))
    with pytest.raises(ApprovalUnproven, match="changed in the store"):
        console.approvals.run_approved(alice, edited)
    fields = console.approvals.show(bob, edited).fields()
    with console.store.transaction() as conn:      # ... and its digest recomputed too
        conn.execute("UPDATE approval_requests SET digest = ? WHERE id = ?",
                     (request_digest(fields), edited))
    with pytest.raises(ApprovalUnproven, match="different version"):
        console.approvals.run_approved(alice, edited)
    assert {ORDERS_VIEW, "sos:products"}.isdisjoint(target_permissions(console, root))


def test_withdraw_and_who_sees_what(console: Console, root: Session,
                                    people: tuple[Session, Session]) -> None:
    alice, bob = people
    request_id = request_change(console, alice)
    with pytest.raises(PermissionDenied):
        console.approvals.withdraw(bob, request_id)
    console.approvals.withdraw(alice, request_id)
    with pytest.raises(Exception, match="WITHDRAWN"):
        console.approvals.approve(bob, request_id, "too late")
    assert phases(console, request_id)[:2] == ["requested", "withdrawn"]
    # root is no requestor: its changes are made at once
    console.roles.set_permission(root, "target", ORDERS_VIEW, meta=META)
    assert ORDERS_VIEW in target_permissions(console, root)


def test_the_cli_loop(tmp_path: Path) -> None:
    """``js7tui approval list|show|approve|reject|withdraw|execute``; a requestor's change
    ends with exit 11, "sent for approval"."""
    from tests.test_cli import logged_in_root, make_cli
    cli = make_cli(tmp_path)
    logged_in_root(cli)
    for argv in (("role", "create", "target"), ("role", "create", "req"),
                 ("role", "grant", "req", ACCOUNTS_VIEW, ACCOUNTS_MANAGE),
                 ("role", "create", "appr"), ("role", "grant", "appr", APPROVALS_APPROVE)):
        code, _, err = cli(*argv)
        assert code == 0, err
    for name, role in (("alice", "req"), ("bob", "appr")):
        code, _, err = cli("account", "create", name, "--role", role, "--password-stdin",
                           stdin="a-good-password-42\n")
        assert code == 0, err
    assert cli("settings", "set", "approval_requestor_roles", "req")[0] == 0
    alice = {"XDG_STATE_HOME": str(tmp_path / "alice")}
    bob = {"XDG_STATE_HOME": str(tmp_path / "bob")}
    for who, env in (("alice", alice), ("bob", bob)):
        code, _, err = cli("login", "--account", who, "--password-stdin",
                           stdin="a-good-password-42\n", **env)
        assert code == 0, err
    # a preferred approver must be one who may approve
    code, _, err = cli("role", "grant", "target", ORDERS_VIEW, "--approver", "alice", **alice)
    assert code == 2 and "'alice' cannot approve this request (approvers: bob" in err, err
    code, _, err = cli("role", "grant", "target", ORDERS_VIEW, "--comment", "ticket 9",
                       "--approver", "bob", **alice)
    assert code == 11 and "sent for approval as request 1" in err and "bob" in err
    code, out, _ = cli("approval", "list", "--for-me", **bob)
    assert code == 0 and "alice" in out and "PENDING" in out and "(bob?)" in out
    code, out, _ = cli("approval", "show", "1", **bob)
    assert code == 0 and f"+grant {ORDERS_VIEW}" in out and "ticket 9" in out
    assert "preferred approver: bob" in out
    code, _, err = cli("approval", "approve", "1", "--comment", "mine", **alice)
    assert code == 5 and "own request" in err
    code, out, err = cli("approval", "reject", "1", "--comment", "not now", **bob)
    assert code == 0, err
    assert cli("role", "grant", "target", ORDERS_VIEW, **alice)[0] == 11
    assert cli("approval", "approve", "2", "--comment", "read the diff", **bob)[0] == 0
    code, out, err = cli("approval", "execute", "2", **alice)
    assert code == 0 and "executed request 2" in out, err
    code, _, err = cli("approval", "execute", "2", **alice)
    assert code == 4 and "executed already" in err
    code, out, _ = cli("role", "show", "target")
    assert ORDERS_VIEW in out
    assert cli("role", "grant", "target", "sos:products:joc", **alice)[0] == 11
    code, out, err = cli("approval", "withdraw", "3", **alice)
    assert code == 0 and "withdrew request 3" in out, err
    code, out, _ = cli("approval", "list", "--all", "--mine", **alice)
    assert "WITHDRAWN" in out and "EXECUTED" in out and "REJECTED" in out


def test_an_approver_with_a_signing_key_signs_the_approval(
        console: Console, root: Session, people: tuple[Session, Session]) -> None:
    from js7tui.pki.keys import KeyType
    alice, bob = people
    console.certificates.create_ca(root, KeyType.EC_P256)
    with console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'MEDIUM' WHERE id = 1")
    console.signing_keys.generate(root, account="bob", meta=META)
    request_id = request_change(console, alice)
    decided = console.approvals.approve(bob, request_id, "signed approval").decisions[-1]
    signature = json.loads(decided["signature"])
    assert signature["signerCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert signature["signatureString"]
    with console.store.transaction() as conn:       # a signature that is not bob's statement
        other = dict(signature, signatureString=signature["signatureString"][::-1])
        conn.execute("UPDATE approval_decisions SET signature = ? WHERE request_id = ?",
                     (json.dumps(other), request_id))
    with pytest.raises(ApprovalUnproven, match="signature does not verify"):
        console.approvals.run_approved(alice, request_id)
    with console.store.transaction() as conn:
        conn.execute("UPDATE approval_decisions SET signature = ? WHERE request_id = ?",
                     (decided["signature"], request_id))
    console.approvals.run_approved(alice, request_id)
    assert ORDERS_VIEW in target_permissions(console, root)
