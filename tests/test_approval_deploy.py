"""Four-eyes approval of a deploy to a real Controller (tests/estate.py; issue 22): a
requestor's deploy is frozen as the signed items with a diff against what the Controller holds,
rejected, requested again, approved and executed once through the remote-change road (intent,
outcome); an object edited after the request, a Controller holding a newer version and a
forged approval are refused at execution, and nothing reaches the Controller then."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from js7tui.approval import SentForApproval
from js7tui.approval.proof import ApprovalUnproven
from js7tui.approval.service import ExecutionRefused
from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.permissions.names import (
    APPROVALS_APPROVE,
    CONTROLLER_DEPLOY,
    CONTROLLER_VIEW,
    INVENTORY_DEPLOY,
    INVENTORY_MANAGE,
    INVENTORY_VIEW,
)
from tests.conftest import make_account
from tests.estate import Estate, running_estate
from tests.inventory_fixtures import folder_account
from tests.test_approval import forge

pytestmark = pytest.mark.slow
META = AuditMeta()
DEPLOYER = (INVENTORY_VIEW, INVENTORY_MANAGE, INVENTORY_DEPLOY, CONTROLLER_DEPLOY,
            CONTROLLER_VIEW)


def workflow_text(message: str) -> str:
    return json.dumps({
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "say"}],
        "jobs": {"say": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": f"#!/bin/sh\necho {message}\n"}}},
    })


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("approval")) as estate:
        console, admin = estate.console, estate.admin
        estate.register()
        console.signing_keys.generate(admin, meta=META)
        console.inventory.create_folder(admin, "/app", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/app/hello",
                                 workflow_text("hello-one"), meta=META)
        yield estate


@pytest.fixture(scope="module")
def people(estate: Estate) -> tuple[Session, Session]:
    console, admin = estate.console, estate.admin
    dora = folder_account(console, admin, "dora", ["/"], DEPLOYER)
    console.roles.create(admin, "approver", meta=META)
    for permission in (APPROVALS_APPROVE, INVENTORY_VIEW):
        console.roles.set_permission(admin, "approver", permission, meta=META)
    vera = make_account(console, admin, "vera", ["approver"])
    console.settings.set(admin, "approval_requestor_roles", "dora-role", meta=META)
    return dora, vera


def held(estate: Estate, name: str = "hello") -> str | None:
    with estate.client() as client:
        return next((i.version_id for i in client.items() if i.path == name), None)


def request_deploy(console: Console, dora: Session) -> int:
    with pytest.raises(SentForApproval) as sent:
        console.deployments.deploy(dora, ["/app/hello"], ["controller-1"],
                                   meta=AuditMeta("release 1"))
    return sent.value.request_id


def test_a_deploy_rejected_then_approved_and_executed_once_through_the_road(
        estate: Estate, people: tuple[Session, Session]) -> None:
    console, (dora, vera) = estate.console, people
    first = request_deploy(console, dora)
    assert held(estate) is None                       # nothing was sent
    shown = console.approvals.show(vera, first)
    text = "\n".join(shown.lines)
    assert "deploy 1 object(s) to controller-1" in text
    assert "held now: nothing" in text and '+  "TYPE": "Workflow",' in text
    item = shown.payload["items"][0]
    assert item["path"] == "/app/hello" and len(item["digest"]) == 64
    assert f"sha256 {item['digest']}" in text
    console.approvals.reject(vera, first, "wait for the change window")

    second = request_deploy(console, dora)
    console.approvals.approve(vera, second, "diff read: one echo job")
    commit = console.approvals.show(dora, second).payload["commit"]
    request, summary = console.approvals.run_approved(dora, second)
    assert request.requestor_state == "EXECUTED" and "deployed" in summary
    assert held(estate) == commit                      # the frozen commit, signed at request
    with pytest.raises(ExecutionRefused, match="executed already"):
        console.approvals.run_approved(dora, second)
    # the road of a direct deploy: an intent audited before sending, then the outcome
    rows = console.store.conn.execute(
        "SELECT parameters FROM audit_log WHERE commit_id = ? ORDER BY id", (commit,)).fetchall()
    phases = [json.loads(r[0]).get("phase") for r in rows]
    assert phases[:2] == ["intent", "outcome"]
    change = console.store.conn.execute(
        "SELECT account FROM remote_changes WHERE reference = ?", (commit,)).fetchone()
    assert change[0] == "dora"
    # the diff of the next request is against what the Controller holds now
    console.inventory.update(estate.admin, "/app/hello", workflow_text("hello-two"), meta=META)
    third = request_deploy(console, dora)
    text = "\n".join(console.approvals.show(vera, third).lines)
    assert f"held now: version {commit}" in text
    assert any(line.startswith("-") and "hello-one" in line for line in text.splitlines())
    assert any(line.startswith("+") and "hello-two" in line for line in text.splitlines())
    console.approvals.withdraw(dora, third)


def test_an_object_edited_after_the_request_is_refused_at_execution(
        estate: Estate, people: tuple[Session, Session]) -> None:
    console, (dora, vera) = estate.console, people
    before = held(estate)
    request_id = request_deploy(console, dora)
    console.approvals.approve(vera, request_id, "ok")
    console.inventory.update(estate.admin, "/app/hello", workflow_text("hello-edited"),
                             meta=META)
    with pytest.raises(ExecutionRefused, match="edited after the request"):
        console.approvals.run_approved(dora, request_id)
    assert held(estate) == before


def test_a_controller_holding_a_newer_version_is_refused_at_execution(
        estate: Estate, people: tuple[Session, Session]) -> None:
    console, (dora, vera) = estate.console, people
    request_id = request_deploy(console, dora)
    console.approvals.approve(vera, request_id, "ok")
    direct = console.deployments.deploy(estate.admin, ["/app/hello"], ["controller-1"],
                                        meta=META)             # root is no requestor
    assert direct.ok
    with pytest.raises(ExecutionRefused, match="holds another version now"):
        console.approvals.run_approved(dora, request_id)
    assert held(estate) == direct.commit_id


def test_a_forged_approval_of_a_deploy_does_not_execute(
        estate: Estate, people: tuple[Session, Session]) -> None:
    console, (dora, _) = estate.console, people
    before = held(estate)
    request_id = request_deploy(console, dora)
    with console.store.transaction() as conn:
        forge(conn, request_id, "vera")
    with pytest.raises(ApprovalUnproven):
        console.approvals.run_approved(dora, request_id)
    assert held(estate) == before
