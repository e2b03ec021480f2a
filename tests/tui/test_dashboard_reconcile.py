"""The dashboard says what of the deployments needs attention, and settles it on its refresh
(issue 15): a deploy whose answer a proxy dropped shows as "unknown outcome" until the
dashboard has asked the real Controller, then the history says ACCEPTED."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.inventory import ObjectType
from js7tui.tui.app import Js7App, make_app
from tests.conftest import ROOT_PASSWORD
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate
from tests.tcp_proxy import proxy_to
from tests.tui.conftest import login, settle

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    with running_estate(tmp_path / "estate") as estate:
        console, admin = estate.console, estate.admin
        console.signing_keys.generate(admin, meta=META)
        console.inventory.create_folder(admin, "/d", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/d/big", json.dumps({
            "TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
            "jobs": {"j": {"agentPath": "agent-1", "executable": {
                "TYPE": "ShellScriptExecutable",
                "script": "#!/bin/sh\ntrue\n# " + "x" * 40_000 + "\n"}}}}), meta=META)
        yield estate


async def test_an_unknown_outcome_is_shown_then_settled_by_the_refresh(
        estate: Estate, tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    with proxy_to(estate.servers["controller-1"].url, threshold=16_384) as proxy:
        console.controllers.register(admin, "controller-1", proxy.url, "console",
                                     CONSOLE_PASSWORD, meta=META)
        proxy.mode = "drop_answer"
        result = console.deployments.deploy(admin, ["/d"], ["controller-1"], meta=META)
        assert result.targets[0].state == "UNKNOWN"
        assert "1 change(s) with unknown outcome" in console.deployments.attention(admin).words
        proxy.mode = "pass"
        app: Js7App = make_app(console, env={"HOME": str(tmp_path),
                                             "XDG_STATE_HOME": str(tmp_path / "state")})
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, "root", ROOT_PASSWORD)
            await settle(pilot)
            for _ in range(50):   # the reconcile worker, then the summary read again
                await settle(pilot)
                if console.deployments.show(admin, result.commit_id).targets[0].done:
                    break
            await settle(pilot)
            head = str(app.screen.query_one("#dashboard-head").render())
        found = console.deployments.show(admin, result.commit_id).targets[0]
        assert found.state == "ACCEPTED" and found.done, found
        assert "unknown outcome" not in head, head
        assert console.deployments.attention(admin).words == ""
