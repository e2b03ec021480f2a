"""Per-Agent truth as the administrator sees it (issue 15 point 2): a deploy that an Agent
refuses is not "deployed"; once the Agent's trust is fixed, the Controller delivers again by
itself and ``js7tui deployment reconcile`` shows it attached. Real Controller and Agents.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.client import ControllerRefused
from js7tui.inventory import ObjectType
from js7tui.pki.issuing import Issued
from js7tui.pki.profiles import Purpose
from tests.conftest import ROOT_PASSWORD
from tests.estate import Estate, running_estate, wait_attached, wait_for, wait_order, workflow
from tests.test_cli import Cli

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    with running_estate(tmp_path / "estate", ["agent-1", "agent-2"], controller_toml=(
            '[links]\noverview_interval = "1s"\nrefused_retry = "600s"')) as estate:
        estate.register()
        console, admin = estate.console, estate.admin
        console.signing_keys.generate(admin, meta=META)
        console.inventory.create_folder(admin, "/two", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/two/sites", json.dumps({
            "TYPE": "Workflow",
            "instructions": [{"TYPE": "Execute.Named", "jobName": "a"},
                             {"TYPE": "Execute.Named", "jobName": "b"}],
            "jobs": {name: {"agentPath": agent, "executable": {
                "TYPE": "ShellScriptExecutable", "script": f"#!/bin/sh\necho {name}\n"}}
                for name, agent in (("a", "agent-1"), ("b", "agent-2"))}}), meta=META)
        yield estate


def test_an_agents_refusal_is_reported_and_its_fix_seen_without_a_new_deploy(
        estate: Estate, tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    keys = estate.dir("agent-2") / "trusted-x509-keys"
    saved = {p.name: p.read_bytes() for p in keys.iterdir()}
    for path in keys.iterdir():
        path.unlink()
    cli = Cli(tmp_path)
    cli.env["JS7TUI_HOME"] = str(estate.root / "home")
    assert cli("login", "--account", "root", "--password-stdin",
               stdin=ROOT_PASSWORD + "\n")[0] == 0

    code, out, err = cli("deploy", "/two", "--controller", "controller-1")
    # the Controller accepted; agent-2 refused: not deployed, and the reason is the Agent's
    assert code == 9, out + err
    assert re.search(r"controller-1 +agent-refused +refused by Agent 'agent-2'", out), out
    assert re.search(r"controller-1 +agent-2 +refused +Workflow 'sites': "
                     r"MessageSignedByUnknown", out), out
    assert re.search(r"controller-1 +agent-1 +attached", out), out
    commit = out.split()[1].rstrip(":")
    shown = console.deployments.show(admin, commit).targets[0]
    assert shown.state == "ACCEPTED" and not shown.done and shown.word == "agent-refused"

    for name, data in saved.items():   # the administrator copies the certificate back
        (keys / f".{name}.part").write_bytes(data)
        os.replace(keys / f".{name}.part", keys / name)

    seen: list[str] = []

    def attached() -> str | None:
        code, out, err = cli("deployment", "reconcile")
        seen.append(f"{code} {out}{err}")
        return out if code == 0 and re.search(r"controller-1 +agent-2 +attached", out) else None
    try:
        out = wait_for(attached, "agent-2 attached after its trust was fixed", timeout=30,
                       interval=0.5)
    except AssertionError:
        raise AssertionError(seen[-1] + estate.log("controller-1")[-3000:]) from None
    assert f"commit {commit}: the Agents' states read again" in out
    assert console.deployments.show(admin, commit).targets[0].done
    code, out, _ = cli("deployment", "list")
    assert code == 0 and "controller-1:deployed" in out.replace(" ", ""), out


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[tuple[Estate, Issued]]:
    """An estate and a signing certificate that expires 15 s from now (issued on the
    console's frozen clock set back by a day less those seconds)."""
    with running_estate(tmp_path / "short") as estate:
        now = datetime.now(UTC)
        estate.clock.current = now - timedelta(days=1) + timedelta(seconds=15)
        signer = estate.issue(Purpose.SIGNING, "short-lived", days=1)
        estate.clock.current = now
        yield estate, signer


def test_an_item_keeps_running_after_its_signer_expires_but_is_not_taken_anew(
        short_lived: tuple[Estate, Issued]) -> None:
    """The rule of README 'Signing certificates that expire', at the engines: the Agent
    verifies before each job as of the attachment (revocation as of now), the Controller
    refuses a new version signed after the certificate's last day."""
    estate, signer = short_lived
    not_after = signer.cert.not_valid_after_utc
    flow = workflow("calendar", {"say": ("agent-1", "echo still running")}, version="v1")
    with estate.client() as client:
        client.deploy([estate.sign(flow, signer)])
        wait_attached(client, "calendar")
        time.sleep(max(0.0, (not_after - datetime.now(UTC)).total_seconds()) + 1.5)
        client.add_order("after-expiry", "calendar")
        order = wait_order(client, "after-expiry")
        assert order.state == "finished", order
        assert order.steps[0].stdout == "still running\n"
        newer = workflow("calendar", {"say": ("agent-1", "echo newer")}, version="v2")
        with pytest.raises(ControllerRefused) as refused:
            client.deploy([estate.sign(newer, signer)])
        assert refused.value.code == "CertificateExpired", refused.value
