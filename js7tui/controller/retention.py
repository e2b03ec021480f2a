"""What the Controller's journal keeps: the SQL of retention, in one place (so the journal's
own class can take it over).

- Orders that ended (finished, failed, cancelled) more than ``finished_orders`` ago go, with
  their steps and their output.
- Of each item's versions, the current one and every version an order in the journal still
  names are kept, plus the ``item_versions`` newest of the others; older ones go, with their
  Agent attachment records (the Agents prune their own copies).

Applied by the server at start and then every ``[retention] interval``
(:meth:`js7tui.engine.app.EngineServer.prune`), each run one transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from js7tui.clock import to_iso
from js7tui.engine.config import Retention


def prune_orders(conn: sqlite3.Connection, ended_before: str) -> int:
    """Orders that ended before ``ended_before`` (ISO), with their steps; returns how many."""
    old = ("SELECT order_id FROM orders WHERE state <> 'running' AND updated < ?")
    conn.execute(f"DELETE FROM steps WHERE order_id IN ({old})", (ended_before,))
    return conn.execute(f"DELETE FROM orders WHERE order_id IN ({old})",
                        (ended_before,)).rowcount


def prune_item_versions(conn: sqlite3.Connection, keep: int) -> int:
    """Versions neither current nor named by an order, beyond the ``keep`` newest of each
    item; returns how many went."""
    return conn.execute(
        "DELETE FROM item_versions WHERE rowid IN (SELECT id FROM ("
        " SELECT v.rowid AS id, ROW_NUMBER() OVER (PARTITION BY v.item_type, v.path"
        "  ORDER BY v.deployed DESC, v.rowid DESC) AS n FROM item_versions v"
        " WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.item_type = v.item_type AND"
        "  i.path = v.path AND i.version_id = v.version_id)"
        " AND NOT (v.item_type = 'Workflow' AND EXISTS (SELECT 1 FROM orders o WHERE"
        "  o.workflow_path = v.path AND o.version_id = v.version_id))"
        ") WHERE n > ?)", (keep,)).rowcount


def prune(conn: sqlite3.Connection, retention: Retention, now: datetime) -> dict[str, int]:
    """One retention run in the caller's transaction; what went, by kind."""
    pruned = {"orders": 0, "itemVersions": 0}
    if retention.finished_orders > 0:
        pruned["orders"] = prune_orders(
            conn, to_iso(now - timedelta(seconds=retention.finished_orders)))
    if retention.item_versions >= 0:
        pruned["itemVersions"] = prune_item_versions(conn, retention.item_versions)
    return pruned
