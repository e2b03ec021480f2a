"""Checking the audit log's hash chain: the first entry that was changed, deleted or moved."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from js7tui.audit.log import GENESIS_HASH, AuditEntry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_id: int
    head_hash: str
    broken_id: int | None = None
    problem: str = ""

    def summary(self) -> str:
        if self.ok:
            if not self.checked:
                return "the audit log is empty"
            return (f"the audit log is intact: {self.checked} entries, head entry {self.head_id} "
                    f"with hash {self.head_hash}")
        return f"the audit log was tampered with: {self.problem}"


def verify_chain(conn: sqlite3.Connection, batch: int = 5000,
                 progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk the log in id order; stop at the first entry that does not chain. ``progress``
    hears the number of entries checked after each batch (a million take tens of seconds)."""
    expected_prev = GENESIS_HASH
    checked, last_id = 0, 0
    cursor = conn.execute("SELECT * FROM audit_log ORDER BY id")
    while rows := cursor.fetchmany(batch):
        for row in rows:
            entry = AuditEntry.from_row(row)
            if entry.prev_hash != expected_prev:
                after = f"entry {last_id}" if last_id else "the start of the log"
                return ChainReport(
                    False, checked, last_id, expected_prev, entry.id,
                    f"entry {entry.id} does not follow {after}: an entry between them was "
                    "deleted, or entries were reordered",
                )
            if entry.compute_hash() != entry.hash:
                return ChainReport(
                    False, checked, last_id, expected_prev, entry.id,
                    f"entry {entry.id} was changed after it was written (its content no longer "
                    "matches its hash)",
                )
            expected_prev, last_id = entry.hash, entry.id
            checked += 1
        if progress is not None:
            progress(checked)
    head = conn.execute("SELECT last_id, hash, entries FROM audit_head WHERE id = 1").fetchone()
    head_id, head_hash, head_count = (head[0], head[1], head[2]) if head else (0, GENESIS_HASH, 0)
    if (head_id, head_hash, head_count) != (last_id, expected_prev, checked):
        return ChainReport(
            False, checked, last_id, expected_prev, last_id + 1 if head_id > last_id else head_id,
            f"the log ends at entry {last_id} ({checked} entries) but its head records entry "
            f"{head_id} ({head_count} entries): entries were removed from the end, or the head "
            "was altered",
        )
    return ChainReport(True, checked, last_id, expected_prev)
