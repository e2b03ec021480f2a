"""A disk that fills after phase 1 of a deploy (issue 15): the change is live on the Controller,
its outcome cannot be written, and yet nothing is live without its audit entry; once there is
room again, reconciliation writes the truth.

The console's home is a small tmpfs of its own (mounted by the test; root only), so the full
disk is a real ENOSPC that SQLite reports as "database or disk is full".
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.inventory import ObjectType
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate, wait_for
from tests.tcp_proxy import proxy_to

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "estate" / "home"
    home.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs",
                              str(home)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def fill(directory: Path) -> Path:
    """Write until the file system says no more."""
    filler = directory / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        block = b"\0" * (1 << 20)
        while True:
            out.write(block)
            out.flush()
    return filler


def test_a_full_disk_after_the_intent_leaves_nothing_unaudited(small_home: Path,
                                                               tmp_path: Path) -> None:
    with running_estate(tmp_path / "estate") as estate:
        _run(estate, small_home)


def _run(estate: Estate, home: Path) -> None:
    console, admin = estate.console, estate.admin
    assert str(console.store.path).startswith(str(home))
    console.signing_keys.generate(admin, meta=META)
    console.inventory.create_folder(admin, "/full", meta=META)
    console.inventory.create(admin, ObjectType.WORKFLOW, "/full/w", json.dumps({
        "TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
        "jobs": {"j": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable",
            "script": "#!/bin/sh\ntrue\n# " + "x" * 40_000 + "\n"}}}}), meta=META)
    with proxy_to(estate.servers["controller-1"].url, threshold=16_384) as proxy:
        console.controllers.register(admin, "controller-1", proxy.url, "console",
                                     CONSOLE_PASSWORD, meta=META)
        console.controllers.timeout = 3.0
        proxy.mode = "hold_answer"
        errors: list[BaseException] = []

        def deploy() -> None:
            try:
                console.deployments.deploy(admin, ["/full"], ["controller-1"], meta=META)
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=deploy)
        worker.start()
        wait_for(proxy.held.is_set, "the Controller's answer at the proxy")
        # the Controller has applied it; the console is waiting for the answer: fill the disk,
        # with the WAL truncated so that the outcome needs new room
        conn = console.store.conn
        conn.execute("PRAGMA journal_size_limit = 0")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(home)
        worker.join(30)
        assert not worker.is_alive()
        assert errors and isinstance(errors[0], sqlite3.OperationalError), errors
        assert "full" in str(errors[0])

        filler.unlink()
        proxy.mode = "pass"
        # what is live was audited before it was sent
        held = {i.path: i.version_id for i in estate.client().items()}
        row = conn.execute(
            "SELECT c.reference, c.audit_id, t.state FROM remote_changes c JOIN remote_targets "
            "t ON t.change_id = c.id ORDER BY c.id DESC LIMIT 1").fetchone()
        assert row["state"] == "SENDING" and held["w"] == row["reference"]
        intent = conn.execute("SELECT commit_id, parameters FROM audit_log WHERE id = ?",
                              (row["audit_id"],)).fetchone()
        assert intent["commit_id"] == row["reference"] and '"phase": "intent"' in (
            intent["parameters"])
        # the process that sent it is this one and no longer delivering: reconcile settles it
        reconciled, _ = console.deployments.reconcile(admin)
        assert [(r.target, r.after.state.value if r.after else None) for r in reconciled] == [
            ("controller-1", "ACCEPTED")]
        assert console.deployments.show(admin, row["reference"]).targets[0].done
        console.controllers.remove(admin, "controller-1", meta=META)
