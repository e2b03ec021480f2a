"""A store-only console with what the dashboard shows, built through the services as an
administrator would: a Controller registered at a fixed address where nothing listens, a
certificate issued for 10 days, a failed login, a deployment refused for lack of permission.
Deterministic (frozen clock, fixed names) so snapshots can show it."""

from __future__ import annotations

import json

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.errors import PermissionDenied
from js7tui.home import Home
from js7tui.identity.chain import LoginFailed, LoginRequest
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.permissions.names import INVENTORY_VIEW
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from js7tui.security_level import SecurityLevel
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login
from tests.inventory_fixtures import folder_account

META = AuditMeta()
DOWN_URL = "https://127.0.0.1:9"     # the discard port: nothing listens on loopback


def hello_workflow() -> str:
    return json.dumps({
        "TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "say"}],
        "jobs": {"say": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": "#!/bin/sh\necho hello\n"}}}})


def refuse_a_deployment(console: Console, admin: Session, controller: str,
                        account: str = "viewer") -> None:
    """A real refusal: an account that may see the inventory but not deploy tries."""
    console.inventory.create_folder(admin, "/app", meta=META)
    console.inventory.create(admin, ObjectType.WORKFLOW, "/app/hello", hello_workflow(),
                             meta=META)
    console.signing_keys.generate(admin, meta=META)
    viewer = folder_account(console, admin, account, ["/"], (INVENTORY_VIEW,))
    try:
        console.deployments.deploy(viewer, ["/app"], [controller], meta=META)
    except PermissionDenied:
        return
    raise AssertionError("the deployment was not refused")


def fail_a_login(console: Console, account: str = "mallory") -> None:
    try:
        console.login.login(LoginRequest(account, "wrong-password", "test"))
    except LoginFailed:
        return
    raise AssertionError("the login did not fail")


def dashboard_console(home: Home) -> tuple[Console, Session]:
    clock = FrozenClock()
    console = initialize(home, SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                         ca_key_type=KeyType.EC_P256)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    admin = login(console, "root", ROOT_PASSWORD)
    console.controllers.register(admin, "controller-down", DOWN_URL, "console",
                                 "hop-password", meta=META)
    console.certificates.issue(admin, IssueRequest(Purpose.AGENT, "short-lived", days=10))
    fail_a_login(console)
    refuse_a_deployment(console, admin, "controller-down")
    clock.advance(minutes=5)
    return console, login(console, "root", ROOT_PASSWORD)
