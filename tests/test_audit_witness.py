"""The audit log anchored outside the store (issue 16, item 5), against a real Controller: the
console sends its chain's head after each change, the Controller journals it, and ``audit
verify`` finds a log rewritten with recomputed hashes, an id gap, and a checkpoint that no
longer matches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.audit.log import GENESIS_HASH, AuditEntry
from js7tui.audit.verify import verify_chain
from tests.estate import Estate, running_estate, wait_for

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    with running_estate(tmp_path) as estate:
        estate.register()
        yield estate


def witnessed(estate: Estate) -> list[dict[str, object]]:
    with estate.client() as ctl:
        return ctl.call("GET", "/api/audit/witness")["witnesses"]


def rewrite(path: Path, *, drop: int | None = None, change: int | None = None) -> None:
    """What an insider with write access does: drop or change an entry, then recompute every
    hash with the project's own code so that the chain and its head check out."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                "tbl_name IN ('audit_log', 'audit_head')").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    if drop is not None:
        conn.execute("DELETE FROM audit_log WHERE id = ?", (drop,))
    if change is not None:
        conn.execute("UPDATE audit_log SET account = 'someone-else' WHERE id = ?", (change,))
    prev, count, last = GENESIS_HASH, 0, 0
    for row in conn.execute("SELECT * FROM audit_log ORDER BY id").fetchall():
        entry = AuditEntry(**{**dict(row), "prev_hash": prev, "hash": ""})
        digest = entry.compute_hash()
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                     (prev, digest, entry.id))
        prev, count, last = digest, count + 1, entry.id
    conn.execute("UPDATE audit_head SET last_id = ?, hash = ?, entries = ?", (last, prev, count))
    conn.commit()
    conn.close()


def test_heads_are_witnessed_and_a_rewritten_log_is_reported(estate: Estate,
                                                             tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    console.inventory.create_folder(admin, "/w1", meta=META)
    console.witness.flush(10)
    head = console.store.conn.execute("SELECT last_id, hash FROM audit_head").fetchone()
    wait_for(lambda: any(w["auditId"] == head[0] and w["hash"] == head[1]
                         for w in witnessed(estate)), "the head witnessed")
    report = console.audit.verify(admin)
    assert report.ok and report.witnessed >= 1, report.summary()
    # A checkpoint for custody, then more changes.
    checkpoint = tmp_path / "audit.checkpoint"
    console.audit.checkpoint(admin, checkpoint)
    console.inventory.create_folder(admin, "/w2", meta=META)
    console.witness.flush(10)
    assert console.audit.verify(admin, checkpoints=[checkpoint]).ok

    rewrite(console.store.path, change=2)
    # The chain itself checks out (recomputed) ...
    assert verify_chain(console.store.conn).ok
    # ... but not against the Controller's witnesses, nor the checkpoint file.
    report = console.audit.verify(admin)
    assert not report.ok and "witnessed" in report.problem and "rewritten" in report.problem
    offline = console.audit.verify(admin, checkpoints=[checkpoint], witnesses=False)
    assert not offline.ok and "checkpoint audit.checkpoint" in offline.problem
    # The Controller keeps what it witnessed: a rewritten head is refused, not replacing it.
    assert "the console's audit log was rewritten" in console.audit.publish_head(
        admin)["controller-1"]


def test_an_id_gap_is_flagged_even_with_recomputed_hashes(estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    for name in ("/g1", "/g2", "/g3"):
        console.inventory.create_folder(admin, name, meta=META)
    rewrite(console.store.path, drop=3)
    for workers in (1, 2):
        report = verify_chain(console.store.conn, workers=workers)
        assert not report.ok and "id gap" in report.problem, (workers, report.problem)
        assert report.broken_id == 4


def test_a_checkpoint_altered_by_hand_is_refused(estate: Estate, tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    checkpoint = tmp_path / "c.json"
    console.audit.checkpoint(admin, checkpoint)
    checkpoint.write_text(checkpoint.read_text().replace('"auditId": ', '"auditId": 1'))
    from js7tui.errors import ValidationError
    with pytest.raises(ValidationError, match="signature does not hold"):
        console.audit.verify(admin, checkpoints=[checkpoint], witnesses=False)
