"""Per-Agent truth, end to end over real HTTPS (``js7tui controller|agent serve`` processes):
the Controller reports each Agent's state of each item version (``GET /api/item/state``), and
delivers again what an Agent refused or could not get once the Agent's state may have changed:
its trusted keys changed (no restart, no new deploy), it came back, or the retry pause passed.

The links' pace is set in the Controller's ``[links]`` table so that this takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.client import ControllerClient, ControllerRefused, ItemState
from js7tui.engine.shapes import update_items_body
from tests.estate import Estate, running_estate, wait_for, wait_order, workflow

pytestmark = pytest.mark.slow


def _state(client: ControllerClient, version_id: str, path: str) -> ItemState:
    return next(s for s in client.item_states(version_id=version_id) if s.path == path)


def _empty(keys: Path) -> dict[str, bytes]:
    saved = {p.name: p.read_bytes() for p in keys.iterdir()}
    for path in keys.iterdir():
        path.unlink()
    return saved


def _restore(keys: Path, saved: dict[str, bytes]) -> None:
    """As an administrator would copy a certificate in: a dot-file first (never read), then
    renamed into place."""
    for name, data in saved.items():
        (keys / f".{name}.part").write_bytes(data)
        os.replace(keys / f".{name}.part", keys / name)


@pytest.fixture
def trust_estate(tmp_path: Path) -> Iterator[Estate]:
    """Overviews read every second, refused items otherwise retried only after 10 minutes: a
    quick attachment is the trusted-keys fingerprint's doing."""
    with running_estate(tmp_path, ["agent-1", "agent-2"], controller_toml=(
            '[links]\noverview_interval = "1s"\nrefused_retry = "600s"')) as estate:
        yield estate


def test_agent_without_the_signer_refuses_then_attaches_when_its_trust_is_fixed(
        trust_estate: Estate) -> None:
    estate = trust_estate
    keys = estate.dir("agent-2") / "trusted-x509-keys"
    with estate.as_controller("agent-2") as agent:
        before = agent.health()["trustedKeys"]
        saved = _empty(keys)
        emptied = agent.health()["trustedKeys"]
    assert before["certificates"] >= 1 and emptied["certificates"] == 0
    assert emptied["fingerprint"] != before["fingerprint"]
    pid = estate.servers["agent-2"].process.pid
    flow = workflow("two-sites", {"a": ("agent-1", "echo one"), "b": ("agent-2", "echo two")},
                    version="commit-7")
    with estate.client() as ctl:
        assert ctl.deploy([estate.sign(flow)])[0]["outcome"] == "added"  # the Controller trusts

        state = wait_for(lambda: (s := _state(ctl, "commit-7", "two-sites")).agents.get(
            "agent-2") and s.agents["agent-2"].state == "refused" and s, "agent-2 to refuse")
        assert state.current and state.current_version_id == "commit-7"
        assert state.item_type == "Workflow" and state.revision == 1
        assert state.agents["agent-1"].state == "attached"
        refusal = state.agents["agent-2"]
        assert refusal.message.startswith("MessageSignedByUnknown: ")
        assert "unknown key" in refusal.message and refusal.updated
        item = next(i for i in ctl.items() if i.path == "two-sites")
        assert not item.attached and item.agents["agent-2"].state == "refused"

        _restore(keys, saved)  # no restart, no new deploy
        wait_for(lambda: _state(ctl, "commit-7", "two-sites").attached,
                 "agent-2 to attach after its trusted keys changed", timeout=15)
        assert next(i for i in ctl.items() if i.path == "two-sites").attached
        ctl.add_order("two-sites-1", "two-sites")
        order = wait_order(ctl, "two-sites-1")
        assert order.state == "finished", order
        assert [s.stdout for s in order.steps] == ["one\n", "two\n"]
    assert estate.servers["agent-2"].process.pid == pid
    log = estate.log("controller-1")
    assert "Agent agent-2: its trusted signature keys changed" in log
    assert "Agent agent-2: sending 1 refused item(s) again: the Agent's trusted keys changed" in log


def test_item_state_answers_by_version_and_by_path(trust_estate: Estate) -> None:
    """What a console reconciles with: every version held, whether it is current; after a
    revoke (delete) none is."""
    estate = trust_estate
    with estate.client() as ctl:
        ctl.deploy([estate.sign(workflow("kept", {"j": ("agent-1", "true")}, version="c1"))])
        ctl.deploy([estate.sign(workflow("kept", {"j": ("agent-1", "true")}, version="c2"))])
        wait_for(lambda: _state(ctl, "c2", "kept").attached, "c2 attached")
        old = _state(ctl, "c1", "kept")
        assert not old.current and old.current_version_id == "c2" and old.revision == 2
        by_path = ctl.item_states(path="kept", item_type="Workflow")
        assert [(s.version_id, s.current) for s in by_path] == [("c2", True), ("c1", False)]
        assert ctl.item_states(version_id="no-such-commit") == []

        other = workflow("kept", {"j": ("agent-1", "echo other")}, version="c2")
        with pytest.raises(ControllerRefused) as conflict:  # the version rule, on both sides
            ctl.deploy([estate.sign(other)])
        assert conflict.value.status == 409 and conflict.value.code == "VersionConflict"
        assert "version c2 was deployed before with other content" in str(conflict.value)
        with estate.as_controller("agent-1") as agent, pytest.raises(
                ControllerRefused) as conflict:
            agent.call("POST", "/api/item", json=update_items_body([
                estate.sign(other).to_wire()]))
        assert conflict.value.code == "VersionConflict"
        assert "version c2 is attached with other content" in str(conflict.value)

        ctl.deploy(delete=[("Workflow", "kept")])
        revoked = ctl.item_states(path="kept", item_type="Workflow")
        assert revoked and not any(s.current for s in revoked)
        assert all(s.current_version_id is None for s in revoked)
        with pytest.raises(ControllerRefused) as refused:
            ctl.call("GET", "/api/item/state")
        assert refused.value.status == 400


def test_agent_down_is_pending_with_the_reason_then_attached_and_refusals_are_retried(
        tmp_path: Path) -> None:
    """Overviews read once a minute here, refused items retried after 2 s: a fixed trust is
    found by the retry alone."""
    with running_estate(tmp_path, controller_toml=(
            '[links]\noverview_interval = "60s"\nrefused_retry = "2s"')) as estate:
        estate.pin_port("agent-1")
        with estate.client() as ctl:
            estate.stop("agent-1")
            ctl.deploy([estate.sign(workflow("later", {"j": ("agent-1", "echo late")},
                                             version="c-down"))])
            state = wait_for(lambda: (s := _state(ctl, "c-down", "later")).agents[
                "agent-1"].message.startswith("the Agent is not reachable") and s,
                "pending with the link's error")
            assert state.agents["agent-1"].state == "pending"
            estate.start("agent", "agent-1")
            wait_for(lambda: _state(ctl, "c-down", "later").attached, "attached once it runs")
            ctl.add_order("later-1", "later")
            assert wait_order(ctl, "later-1").steps[0].stdout == "late\n"

            keys = estate.dir("agent-1") / "trusted-x509-keys"
            saved = _empty(keys)
            ctl.deploy([estate.sign(workflow("retried", {"j": ("agent-1", "echo again")},
                                             version="c-retry"))])
            wait_for(lambda: _state(ctl, "c-retry", "retried").agents[
                "agent-1"].state == "refused", "agent-1 to refuse")
            _restore(keys, saved)
            wait_for(lambda: _state(ctl, "c-retry", "retried").attached,
                     "the retry to attach it", timeout=15)
        assert "sending again 1 item(s) it refused 2 s ago or longer" in estate.log(
            "controller-1")
