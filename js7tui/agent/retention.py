"""What the Agent's journal keeps: the SQL of retention, in one place.

- Tasks that ended more than ``finished_tasks`` ago go with their events, once their Controller
  has read those events (its polls ask for events after the last one it applied).
- Of each workflow's attached versions, the newest, those a task still running uses, and the
  ``item_versions`` newest of the others are kept (job resources: the latest only, always).
- Script and output files under ``STATE/`` of tasks that ended (or are unknown) go.

Applied by the server at start and then every ``[retention] interval``, one transaction each.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from js7tui.clock import to_iso
from js7tui.engine.config import Retention

_ENDED = "state NOT IN ('starting', 'running')"


def prune_tasks(conn: sqlite3.Connection, ended_before: str, acknowledged: int) -> int:
    """Tasks ended before ``ended_before`` whose events all are at or before the Controller's
    ``acknowledged`` event id; returns how many went."""
    old = (f"SELECT task_id FROM tasks t WHERE {_ENDED} AND ended < ? AND NOT EXISTS "
           "(SELECT 1 FROM events e WHERE e.task_id = t.task_id AND e.event_id > ?)")
    conn.execute(f"DELETE FROM events WHERE task_id IN ({old})", (ended_before, acknowledged))
    return conn.execute(f"DELETE FROM tasks WHERE task_id IN ({old})",
                        (ended_before, acknowledged)).rowcount


def prune_item_versions(conn: sqlite3.Connection, keep: int) -> int:
    return conn.execute(
        "DELETE FROM items WHERE rowid IN (SELECT id FROM ("
        " SELECT i.rowid AS id, ROW_NUMBER() OVER (PARTITION BY i.item_type, i.path"
        "  ORDER BY i.attached DESC, i.rowid DESC) AS n FROM items i"
        " WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.state IN ('starting', 'running')"
        "  AND t.workflow_path = i.path AND t.version_id = i.version_id"
        "  AND i.item_type = 'Workflow')"
        ") WHERE n > ?)", (keep + 1,)).rowcount


def prune_files(conn: sqlite3.Connection, state_dir: Path) -> int:
    """Scripts and output files whose task ended or is unknown; returns how many went."""
    count = 0
    for directory in (state_dir / "scripts", state_dir / "output"):
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            task_id = path.name.rsplit(".", 1)[0]
            row = conn.execute("SELECT state FROM tasks WHERE task_id = ?",
                               (task_id,)).fetchone()
            if row is None or row["state"] not in ("starting", "running"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    count += 1
    return count


def prune(conn: sqlite3.Connection, retention: Retention, now: datetime, acknowledged: int,
          state_dir: Path) -> dict[str, int]:
    """One retention run in the caller's transaction; what went, by kind."""
    pruned = {"tasks": 0, "itemVersions": 0}
    if retention.finished_tasks > 0:
        pruned["tasks"] = prune_tasks(
            conn, to_iso(now - timedelta(seconds=retention.finished_tasks)), acknowledged)
    if retention.item_versions >= 0:
        pruned["itemVersions"] = prune_item_versions(conn, retention.item_versions)
    pruned["files"] = prune_files(conn, state_dir)
    return pruned
