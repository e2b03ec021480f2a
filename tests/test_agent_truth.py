"""Per-Agent truth as the administrator sees it (issue 15 point 2): a deploy that an Agent
refuses is not "deployed"; once the Agent's trust is fixed, the Controller delivers again by
itself and ``js7tui deployment reconcile`` shows it attached. Real Controller and Agents.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.inventory import ObjectType
from tests.conftest import ROOT_PASSWORD
from tests.estate import Estate, running_estate, wait_for
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
