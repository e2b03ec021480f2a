"""Retention ([retention] of an engine's config.toml): the Controller drops ended orders after
``finished_orders`` and item versions beyond ``item_versions`` that nothing uses; the Agent
ended tasks (once its Controller read their events), old workflow versions and stray files.
The SQL runs against real journals (the migrations the servers use); the last test against a
real Controller that applies it periodically.
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from js7tui.agent import retention as agent_retention
from js7tui.client import ControllerRefused
from js7tui.clock import to_iso
from js7tui.controller import retention as controller_retention
from js7tui.engine.config import Retention
from js7tui.engine.journal import open_journal
from js7tui.store import Store
from tests.estate import running_estate, wait_for, wait_order, workflow

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def ago(days: float) -> str:
    return to_iso(NOW - timedelta(days=days))


def _controller(tmp_path: Path) -> Store:
    journal = open_journal(tmp_path / "controller", "js7tui.controller")
    with journal.transaction() as conn:
        for number in range(1, 6):  # v1 (oldest) .. v5 (current)
            conn.execute("INSERT INTO item_versions (item_type, path, version_id, signed_string,"
                         " signature, digest, signer, deployed) VALUES ('Workflow', 'w', ?, "
                         "'{}', '{}', ?, 'CN=x', ?)", (f"v{number}", f"d{number}",
                                                      ago(50 - number)))
            conn.execute("INSERT INTO attachments (agent, item_type, path, version_id, state, "
                         "updated) VALUES ('agent-1', 'Workflow', 'w', ?, 'attached', ?)",
                         (f"v{number}", ago(1)))
        conn.execute("INSERT INTO items (item_type, path, version_id, revision, deployed) "
                     "VALUES ('Workflow', 'w', 'v5', 5, ?)", (ago(45),))
        for order_id, version, state, updated in (("old", "v1", "finished", ago(31)),
                                                  ("running", "v2", "running", ago(40)),
                                                  ("recent", "v3", "failed", ago(29))):
            conn.execute("INSERT INTO orders (order_id, workflow_path, version_id, state, "
                         "created, updated) VALUES (?, 'w', ?, ?, ?, ?)",
                         (order_id, version, state, updated, updated))
            conn.execute("INSERT INTO steps (order_id, position, job_name, agent, task_id, "
                         "state, stdout) VALUES (?, 0, 'j', 'agent-1', ?, 'succeeded', 'out')",
                         (order_id, f"t:{order_id}"))
    return journal


def test_controller_keeps_current_used_and_newest_versions_and_recent_orders(
        tmp_path: Path) -> None:
    journal = _controller(tmp_path)
    with journal.transaction() as conn:
        pruned = controller_retention.prune(
            conn, Retention(item_versions=1, finished_orders=30 * 86400.0), NOW)
    conn = journal.conn
    assert pruned == {"orders": 1, "itemVersions": 1}
    assert {r[0] for r in conn.execute("SELECT order_id FROM orders")} == {"running", "recent"}
    assert {r[0] for r in conn.execute("SELECT order_id FROM steps")} == {"running", "recent"}
    # v1 lost its last order and is the oldest unused one; v4 is the newest unused one (kept),
    # v2 and v3 have orders, v5 is current
    kept = {r[0] for r in conn.execute("SELECT version_id FROM item_versions")}
    assert kept == {"v2", "v3", "v4", "v5"}
    assert {r[0] for r in conn.execute("SELECT version_id FROM attachments")} == kept
    journal.close()


def test_controller_retention_can_be_switched_off(tmp_path: Path) -> None:
    journal = _controller(tmp_path)
    with journal.transaction() as conn:
        pruned = controller_retention.prune(
            conn, Retention(item_versions=-1, finished_orders=0.0), NOW)
    assert pruned == {"orders": 0, "itemVersions": 0}
    with journal.transaction() as conn:
        assert controller_retention.prune(conn, Retention(item_versions=0), NOW) == {
            "orders": 1, "itemVersions": 2}  # v1 and v4: nothing uses them
    journal.close()


def test_agent_prunes_acknowledged_old_tasks_old_versions_and_stray_files(
        tmp_path: Path) -> None:
    state = tmp_path / "agent"
    journal = open_journal(state, "js7tui.agent")
    with journal.transaction() as conn:
        for number in range(1, 5):
            conn.execute("INSERT INTO items (item_type, path, version_id, signed_string, "
                         "signature, digest, signer, attached) VALUES ('Workflow', 'w', ?, "
                         "'{}', '{}', ?, 'CN=x', ?)", (f"v{number}", f"d{number}",
                                                      ago(50 - number)))
        for task, version, task_state, ended in (("old-read", "v2", "succeeded", ago(8)),
                                                 ("old-unread", "v2", "failed", ago(8)),
                                                 ("recent", "v2", "succeeded", ago(1)),
                                                 ("busy", "v1", "running", None)):
            conn.execute("INSERT INTO tasks (task_id, order_id, workflow_path, version_id, "
                         "job_name, position, state, created, ended) VALUES (?, 'o', 'w', ?, "
                         "'j', 0, ?, ?, ?)", (task, version, task_state, ago(9), ended))
            conn.execute("INSERT INTO events (task_id, type) VALUES (?, 'TaskFinished')",
                         (task,))
    acknowledged = journal.conn.execute(
        "SELECT event_id FROM events WHERE task_id = 'old-read'").fetchone()[0]
    for directory, name in (("scripts", "busy.sh"), ("scripts", "old-read.sh"),
                            ("output", "busy.stdout"), ("output", "gone.stderr")):
        (state / directory).mkdir(exist_ok=True)
        (state / directory / name).write_text("x")
    with journal.transaction() as conn:
        pruned = agent_retention.prune(conn, Retention(item_versions=1), NOW, acknowledged,
                                       state)
    conn = journal.conn
    assert pruned == {"tasks": 1, "itemVersions": 1, "files": 2}
    assert {r[0] for r in conn.execute("SELECT task_id FROM tasks")} == {
        "old-unread", "recent", "busy"}
    assert "old-read" not in {r[0] for r in conn.execute("SELECT task_id FROM events")}
    # v4 newest, v3 the one older kept, v1 used by a running task; v2 goes
    assert {r[0] for r in conn.execute("SELECT version_id FROM items")} == {"v1", "v3", "v4"}
    assert sorted(p.name for p in state.glob("*/*") if p.suffix != ".db"
                  and p.parent.name in ("scripts", "output")) == ["busy.sh", "busy.stdout"]
    journal.close()


@pytest.mark.slow
def test_a_controller_applies_retention_periodically(tmp_path: Path) -> None:
    with running_estate(tmp_path) as estate:
        with estate.client() as ctl:
            for version in ("v1", "v2", "v3"):
                ctl.deploy([estate.sign(workflow("kept", {"j": ("agent-1", "echo done")},
                                                 version=version))])
            ctl.add_order("short-lived", "kept")
            assert wait_order(ctl, "short-lived").state == "finished"
        estate.stop("controller-1", signal.SIGTERM)
        config = estate.dir("controller-1") / "config.toml"
        config.write_text(config.read_text() + '\n[retention]\ninterval = "1s"\n'
                          'item_versions = 0\nfinished_orders = "1s"\n')
        estate.start("controller", "controller-1")
        with estate.client() as ctl:
            def gone() -> bool:
                try:
                    ctl.order("short-lived")
                except ControllerRefused as refused:
                    return refused.code == "UnknownOrder"
                return False
            wait_for(gone, "the finished order to be pruned", timeout=10, interval=0.2)
            with pytest.raises(ControllerRefused):
                ctl.signed_item("Workflow", "kept", "v1")
            assert json.loads(ctl.signed_item("Workflow", "kept").string)["versionId"] == "v3"
        assert "retention: removed" in estate.log("controller-1")
