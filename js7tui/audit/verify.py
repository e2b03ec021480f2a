"""Checking the audit log's hash chain: the first entry that was changed, deleted or moved.

Besides the chain itself (each entry's hash over its content and the previous hash, the head
row) the walk flags id gaps (ids are consecutive from 1: a gap is a deleted entry, even when
the hashes after it were recomputed), and checks the witnesses (:mod:`js7tui.audit.witness`:
the heads the Controllers journalled, a checkpoint file): each witnessed id must still carry
the witnessed hash, and no witnessed id may be beyond the log's end. A log rewritten with the
project's own code and recomputed hashes passes the chain check but fails the witnesses.

A large log is checked by two processes (each half of the ids, stitched at the boundary by the
stored previous hash), the chain allowing it because every entry stores its predecessor's hash.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from js7tui.audit.log import GENESIS_HASH
from js7tui.audit.witness import Witness

PARALLEL_FROM = 200_000  # entries from which a second process helps
_COLUMNS = ("id", "created", "account", "request", "category", "outcome", "controller_id",
            "object_type", "path", "folder", "comment", "ticket_link", "time_spent",
            "parameters", "commit_id", "prev_hash", "hash")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_id: int
    head_hash: str
    broken_id: int | None = None
    problem: str = ""
    witnessed: int = 0            # witnesses that matched
    unreachable: tuple[str, ...] = field(default=())   # witnesses that could not be asked

    def summary(self) -> str:
        if self.ok:
            if not self.checked:
                return "the audit log is empty"
            text = (f"the audit log is intact: {self.checked} entries, head entry "
                    f"{self.head_id} with hash {self.head_hash}")
            if self.witnessed:
                text += f"; {self.witnessed} witness(es) agree"
            if self.unreachable:
                text += f"; not asked: {', '.join(self.unreachable)}"
            return text
        return f"the audit log was tampered with: {self.problem}"


def _content_hash(row: Sequence[Any]) -> str:
    """The entry's hash as ``AuditEntry.compute_hash`` gives it (keys in sorted order)."""
    (id_, created, account, request, category, outcome, controller_id, object_type, path,
     folder, comment, ticket_link, time_spent, parameters, commit_id, prev_hash) = row[:16]
    canonical = _ENCODER.encode({
        "account": account, "category": category, "comment": comment, "commitId": commit_id,
        "controllerId": controller_id, "created": created, "folder": folder, "id": id_,
        "objectType": object_type, "outcome": outcome, "parameters": parameters,
        "path": path, "request": request, "ticketLink": ticket_link, "timeSpent": time_spent})
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Segment:
    first_id: int
    first_prev: str
    last_id: int
    last_hash: str
    checked: int
    broken_id: int | None = None
    problem: str = ""
    seen: tuple[tuple[int, str], ...] = ()   # (id, hash) of the witnessed ids found


def _walk(conn: sqlite3.Connection, low: int, high: int | None, witnessed: frozenset[int],
          batch: int, progress: Callable[[int], None] | None = None) -> _Segment:
    sql = (f"SELECT {', '.join(_COLUMNS)} FROM audit_log WHERE id >= ?"
           + (" AND id < ?" if high is not None else "") + " ORDER BY id")
    cursor = conn.execute(sql, (low,) if high is None else (low, high))
    first_id, first_prev, last_id, expected_prev, checked = 0, "", 0, None, 0
    seen = []
    while rows := cursor.fetchmany(batch):
        for row in rows:
            entry_id, prev_hash, digest = row[0], row[15], row[16]
            if expected_prev is None:
                first_id, first_prev = entry_id, prev_hash
            else:
                gap = entry_id != last_id + 1
                if prev_hash != expected_prev:
                    return _Segment(first_id, first_prev, last_id, expected_prev, checked,
                                    entry_id, f"entry {entry_id} does not follow entry "
                                    f"{last_id}: an entry between them was deleted, or "
                                    "entries were reordered" + (" (an id gap)" if gap else ""))
                if gap:
                    return _Segment(first_id, first_prev, last_id, expected_prev, checked,
                                    entry_id, f"the ids jump from {last_id} to {entry_id}: "
                                    f"{entry_id - last_id - 1} entr"
                                    f"{'y was' if entry_id - last_id == 2 else 'ies were'} "
                                    "deleted (an id gap; the hashes after it were recomputed)")
            if _content_hash(row) != digest:
                return _Segment(first_id, first_prev, last_id, expected_prev or prev_hash,
                                checked, entry_id, f"entry {entry_id} was changed after it was "
                                "written (its content no longer matches its hash)")
            if entry_id in witnessed:
                seen.append((entry_id, digest))
            expected_prev, last_id = digest, entry_id
            checked += 1
        if progress is not None:
            progress(checked)
    return _Segment(first_id, first_prev, last_id, expected_prev or "", checked,
                    seen=tuple(seen))


def _walk_in_process(args: tuple[str, int, int | None, frozenset[int], int]) -> _Segment:
    path, low, high, witnessed, batch = args
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _walk(conn, low, high, witnessed, batch)
    finally:
        conn.close()


def _database_path(conn: sqlite3.Connection) -> str | None:
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main" and path:
            return str(path)
    return None


def verify_chain(conn: sqlite3.Connection, batch: int = 5000,
                 progress: Callable[[int], None] | None = None,
                 witnesses: Sequence[Witness] = (), unreachable: Sequence[str] = (),
                 workers: int | None = None) -> ChainReport:
    """Walk the log in id order; stop at the first entry that does not chain, the first id
    gap, or the first witness that disagrees. ``progress`` hears the number of entries checked
    (one process: after each batch). ``workers``: processes (default: 2 when the machine has
    two cores and the log has ``PARALLEL_FROM`` entries or more)."""
    wanted = frozenset(w.audit_id for w in witnesses)
    head = conn.execute("SELECT last_id, hash, entries FROM audit_head WHERE id = 1").fetchone()
    head_id, head_hash, head_count = (head[0], head[1], head[2]) if head else (0, GENESIS_HASH, 0)
    bounds = conn.execute("SELECT min(id), max(id), count(*) FROM audit_log").fetchone()
    path = _database_path(conn)
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 and bounds[2] >= PARALLEL_FROM else 1
    if workers > 1 and path and bounds[2]:
        step = (bounds[1] - bounds[0] + 1) // workers + 1
        cuts = [bounds[0] + i * step for i in range(workers)]
        end = bounds[1] + 1  # what this snapshot holds, whatever is appended meanwhile
        ranges = [(path, low, (cuts[i + 1] if i + 1 < workers else end), wanted, batch)
                  for i, low in enumerate(cuts)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            segments = pool.map(_walk_in_process, ranges)
        if progress is not None:
            progress(sum(s.checked for s in segments))
    else:
        segments = [_walk(conn, 0, None, wanted, batch,
                          progress)]
    return _stitch(segments, witnesses, unreachable, head_id, head_hash, head_count)


def _stitch(segments: Sequence[_Segment], witnesses: Sequence[Witness],
            unreachable: Sequence[str], head_id: int, head_hash: str,
            head_count: int) -> ChainReport:
    checked, last_id, expected_prev = 0, 0, GENESIS_HASH
    found: dict[int, str] = {}
    for segment in segments:
        if segment.checked or segment.broken_id is not None:
            gap = segment.first_id != last_id + 1
            if segment.first_prev != expected_prev:
                after = f"entry {last_id}" if last_id else "the start of the log"
                return ChainReport(False, checked, last_id, expected_prev, segment.first_id,
                                   f"entry {segment.first_id} does not follow {after}: an entry "
                                   "between them was deleted, or entries were reordered"
                                   + (" (an id gap)" if gap else ""))
            if gap:
                what = (f"the log does not start at entry 1 but at {segment.first_id}"
                        if not last_id else f"the ids jump from {last_id} to "
                        f"{segment.first_id}")
                return ChainReport(False, checked, last_id, expected_prev, segment.first_id,
                                   f"{what}: entries were deleted (an id gap; the hashes "
                                   "after it were recomputed)")
        if segment.broken_id is not None:
            return ChainReport(False, checked + segment.checked, segment.last_id,
                               segment.last_hash, segment.broken_id, segment.problem)
        if segment.checked:
            checked += segment.checked
            last_id, expected_prev = segment.last_id, segment.last_hash
        found.update(segment.seen)
    if (head_id, head_hash, head_count) != (last_id, expected_prev, checked):
        return ChainReport(
            False, checked, last_id, expected_prev, last_id + 1 if head_id > last_id else head_id,
            f"the log ends at entry {last_id} ({checked} entries) but its head records entry "
            f"{head_id} ({head_count} entries): entries were removed from the end, or the head "
            "was altered",
        )
    agreed = 0
    for witness in sorted(witnesses, key=lambda w: w.audit_id):
        if witness.audit_id == 0:
            agreed += 1
            continue
        held = found.get(witness.audit_id)
        if held is None:
            return ChainReport(False, checked, last_id, expected_prev, witness.audit_id,
                               f"{witness.controller_id} witnessed entry {witness.audit_id} "
                               f"(received {witness.received or '?'}), which the log no longer "
                               "holds: entries were removed")
        if held != witness.hash:
            return ChainReport(False, checked, last_id, expected_prev, witness.audit_id,
                               f"entry {witness.audit_id} has the hash {held}, but "
                               f"{witness.controller_id} witnessed {witness.hash} (received "
                               f"{witness.received or '?'}): the log was rewritten (its hashes "
                               "recomputed) since")
        agreed += 1
    return ChainReport(True, checked, last_id, expected_prev, witnessed=agreed,
                       unreachable=tuple(unreachable))
