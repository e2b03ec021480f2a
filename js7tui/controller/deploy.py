"""Applying a verified UpdateItems request to the Controller's journal, all or nothing.

Besides the signatures (checked before, in :mod:`js7tui.engine.items`) the request must leave a
consistent state: every Agent a workflow names is one of this Controller's, every job resource
a workflow uses is deployed (now or before), nothing deleted is still in use. Then each Agent
gets, as pending attachments, exactly the items whose jobs run there: a workflow goes to the
Agents of its jobs, a job resource to the Agents whose jobs use it. Their links push them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from js7tui.engine.items import Addition, Deletion, item_row
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import Workflow


def workflow_agents(workflow: Workflow) -> dict[str, list[str]]:
    """{agent: the job resources its jobs use}."""
    needs: dict[str, set[str]] = {}
    for job in workflow.jobs.values():
        needs.setdefault(job.agent, set()).update(job.job_resources)
    return {agent: sorted(resources) for agent, resources in sorted(needs.items())}


def current_workflow_agents(conn: sqlite3.Connection) -> dict[str, dict[str, list[str]]]:
    """{workflow path: {agent: job resources}} of the current workflow versions."""
    rows = conn.execute(
        "SELECT i.path, v.agents FROM items i JOIN item_versions v USING "
        "(item_type, path, version_id) WHERE i.item_type = 'Workflow'").fetchall()
    return {row["path"]: json.loads(row["agents"]) for row in rows}


def _current(conn: sqlite3.Connection, item_type: str, path: str) -> Any:
    return conn.execute("SELECT * FROM items WHERE item_type = ? AND path = ?",
                        (item_type, path)).fetchone()


def _check(conn: sqlite3.Connection, additions: Sequence[Addition],
           deletions: Sequence[Deletion], agents: Iterable[str]) -> None:
    known = set(agents)
    deleted = {(d.item_type, d.path) for d in deletions}
    new_resources = {a.path for a in additions if a.item_type == "JobResource"}
    workflows = current_workflow_agents(conn)
    for addition in additions:
        if isinstance(addition.item, Workflow):
            workflows[addition.path] = workflow_agents(addition.item)
            unknown = addition.item.agents - known
            if unknown:
                raise Problem(400, "UnknownAgent",
                              f"workflow '{addition.path}' names the Agent(s) "
                              f"{', '.join(sorted(unknown))}, unknown to this Controller (known: "
                              f"{', '.join(sorted(known)) or 'none'})")
            for resource in sorted(addition.item.job_resources):
                present = _current(conn, "JobResource", resource) is not None and (
                    ("JobResource", resource) not in deleted)
                if resource not in new_resources and not present:
                    raise Problem(400, "UnknownJobResource",
                                  f"workflow '{addition.path}' uses the job resource "
                                  f"'{resource}', which is not deployed; deploy it with the "
                                  "workflow")
    for deletion in deletions:
        if _current(conn, deletion.item_type, deletion.path) is None:
            raise Problem(404, "UnknownItem",
                          f"{deletion.item_type} '{deletion.path}' is not deployed")
        if deletion.item_type == "Workflow":
            workflows.pop(deletion.path, None)
            busy = conn.execute("SELECT COUNT(*) FROM orders WHERE workflow_path = ? AND "
                                "state = 'running'", (deletion.path,)).fetchone()[0]
            if busy:
                raise Problem(409, "ItemInUse",
                              f"workflow '{deletion.path}' has {busy} order(s) not finished; "
                              "cancel them or let them finish first")
    for deletion in deletions:
        if deletion.item_type == "JobResource" and deletion.path not in new_resources:
            users = sorted(path for path, needs in workflows.items()
                           if any(deletion.path in r for r in needs.values()))
            if users:
                raise Problem(409, "ItemInUse",
                              f"job resource '{deletion.path}' is used by the workflow(s) "
                              f"{', '.join(users)}; change or delete them in the same request")


def _attach(conn: sqlite3.Connection, agent: str, item_type: str, path: str, version_id: str,
            now: str, detaching: set[tuple[str, str, str]]) -> None:
    if item_type == "JobResource":  # an Agent keeps the latest version of a job resource only
        conn.execute("DELETE FROM attachments WHERE agent = ? AND item_type = 'JobResource' "
                     "AND path = ? AND version_id <> ?", (agent, path, version_id))
    if (agent, item_type, path) in detaching:
        conn.execute("DELETE FROM detachments WHERE agent = ? AND item_type = ? AND path = ?",
                     (agent, item_type, path))
    conn.execute("INSERT OR IGNORE INTO attachments (agent, item_type, path, version_id, state,"
                 " updated) VALUES (?, ?, ?, ?, 'pending', ?)",
                 (agent, item_type, path, version_id, now))


def apply_update(conn: sqlite3.Connection, additions: Sequence[Addition],
                 deletions: Sequence[Deletion], agents: Iterable[str], now: str
                 ) -> tuple[list[dict[str, Any]], set[str]]:
    """Apply in the caller's transaction; returns per-item outcomes and the Agents to wake."""
    _check(conn, additions, deletions, agents)
    results: list[dict[str, Any]] = []
    wake: set[str] = set()
    detaching = {(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT agent, item_type, path FROM detachments")}
    # Job resources first: a workflow of the same request attaches their new versions.
    for addition in sorted(additions, key=lambda a: a.item_type != "JobResource"):
        row = item_row(addition)
        needs = workflow_agents(addition.item) if isinstance(addition.item, Workflow) else {}
        inserted = conn.execute(
            "INSERT OR IGNORE INTO item_versions (item_type, path, version_id, signed_string, "
            "signature, digest, signer, agents, deployed) VALUES (:item_type, :path, "
            ":version_id, :signed_string, :signature, :digest, :signer, :agents, :now)",
            {**row, "agents": json.dumps(needs), "now": now}).rowcount
        if not inserted and conn.execute(
                "SELECT digest FROM item_versions WHERE item_type = ? AND path = ? AND "
                "version_id = ?", (row["item_type"], row["path"], row["version_id"])
                ).fetchone()["digest"] != row["digest"]:
            raise Problem(409, "VersionConflict",
                          f"{row['item_type']} '{row['path']}' version {row['version_id']} was "
                          "deployed before with other content; give the change a new versionId")
        current = _current(conn, row["item_type"], row["path"])
        if current is not None and current["version_id"] == row["version_id"]:
            outcome, revision = "unchanged", current["revision"]
        else:
            outcome = "changed" if current is not None else "added"
            revision = (current["revision"] + 1) if current is not None else 1
            conn.execute("INSERT OR REPLACE INTO items (item_type, path, version_id, revision, "
                         "deployed) VALUES (?, ?, ?, ?, ?)",
                         (row["item_type"], row["path"], row["version_id"], revision, now))
            if isinstance(addition.item, Workflow):
                for agent in needs:
                    _attach(conn, agent, "Workflow", row["path"], row["version_id"], now,
                            detaching)
                    wake.add(agent)
            else:
                for needs_of in current_workflow_agents(conn).values():
                    for agent, resources in needs_of.items():
                        if row["path"] in resources:
                            _attach(conn, agent, "JobResource", row["path"],
                                    row["version_id"], now, detaching)
                            wake.add(agent)
        if isinstance(addition.item, Workflow) and outcome != "unchanged":
            for agent, resources in needs.items():
                for resource in resources:
                    version = _current(conn, "JobResource", resource)["version_id"]
                    _attach(conn, agent, "JobResource", resource, version, now, detaching)
        results.append({"TYPE": row["item_type"], "path": row["path"],
                        "versionId": row["version_id"], "revision": revision,
                        "outcome": outcome})
    for deletion in deletions:
        holders = [r["agent"] for r in conn.execute(
            "SELECT DISTINCT agent FROM attachments WHERE item_type = ? AND path = ?",
            (deletion.item_type, deletion.path))]
        conn.execute("DELETE FROM attachments WHERE item_type = ? AND path = ?",
                     (deletion.item_type, deletion.path))
        for agent in holders:
            conn.execute("INSERT OR IGNORE INTO detachments (agent, item_type, path) "
                         "VALUES (?, ?, ?)", (agent, deletion.item_type, deletion.path))
            wake.add(agent)
        conn.execute("DELETE FROM items WHERE item_type = ? AND path = ?",
                     (deletion.item_type, deletion.path))
        results.append({"TYPE": deletion.item_type, "path": deletion.path,
                        "outcome": "deleted"})
    return results, wake
